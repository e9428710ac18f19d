"""Benchmarks name their data and refuse to measure something else under the same name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.mark.parametrize("script,option", [("bench/quality.py", "--cases"),
                                           ("bench/extract.py", "--pages")])
def test_without_its_data_a_benchmark_says_where_to_put_it(
        script: str, option: str, tmp_path: Path) -> None:
    res = bench(script, "--quick", option, str(tmp_path / "nothing-here"))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "../shared/devset" in res.stderr and option in res.stderr


def test_extract_measures_only_the_pages_it_was_given_and_names_them() -> None:
    res = bench("bench/extract.py", "--quick", "--pages", "tests/pages")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["data"] == "tests/pages"


def test_match_refuses_to_fall_back_to_generated_texts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT))
    import bench.match as match

    monkeypatch.setattr(match, "CASES", tmp_path / "nothing-here")
    with pytest.raises(SystemExit) as stopped:
        match.load_articles(None)
    assert stopped.value.code == 2
    assert len(match.load_articles(3, generated=True)) == 3
