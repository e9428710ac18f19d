"""``newsbot match``: the human table and the JSON lines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli import match
from bot.settings import Settings

SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    match.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["match", *argv])
    return int(args.func(args, Settings(redis_url=None)))


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(SEED), "syria", "syria -putin", "france", '"open', "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["expression"] for r in rows] == ["syria", "syria -putin", "france", '"open']
    syria, vetoed, france, invalid = rows
    assert syria["matched"] is True and syria["terms"] == ["syria"]
    assert syria["where"][0] == "headline" and syria["score"] > 0
    assert vetoed["matched"] is False and vetoed["score"] == 0
    assert france == {**france, "matched": False, "terms": []}
    assert set(invalid) == {"expression", "error"} and "quote" in invalid["error"]


def test_human_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(SEED), '"russian troops"', "venezuela"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "MATCH" in out[0] and "russian troops (headline" in out[0]
    assert out[1].split()[1] == "no"


def test_missing_file_is_a_clear_error() -> None:
    from bot.errors import CommandError

    with pytest.raises(CommandError, match="Can't read"):
        run(["/nonexistent/page.html", "syria"])
