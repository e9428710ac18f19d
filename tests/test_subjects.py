"""Topics: names a person would list, not headline capitals, contractions or duplicates."""

from __future__ import annotations

from bot.article.figures import key_figures
from bot.article.subjects import subjects

BODY = """Just a week into the new year, the first estimate of how much pollution the U.S.
emitted last year is in, according to the Rhodium Group. We’re not done yet, analysts said.

Total emissions fell 2 percent compared with 2018, as coal generation slid 18 percent and
the United States added wind turbines. The city’s utilities said we’re seeing the change.

Emissions from transport rose, the Rhodium Group said, while emissions from buildings held
steady. Analysts at the Rhodium Group expect emissions to keep falling."""


def test_title_case_headline_words_are_not_names_and_us_is_one_country() -> None:
    topics = subjects("Despite Everything, U.S. Emissions Dipped In 2019", BODY)
    assert "despite" not in topics and "everything" not in topics
    assert "united states" in topics and "u.s" not in topics
    assert "rhodium group" in topics
    assert not any("’" in t or "'" in t for t in topics)


def test_a_verb_after_a_percentage_is_not_its_label() -> None:
    figures = {f.value: f.label for f in key_figures(BODY)}
    assert figures["2 percent"] == "Total emissions"
