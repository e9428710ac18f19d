"""Dates as pages write them: timestamps, datelines in several languages, URLs."""

from __future__ import annotations

from datetime import date

import pytest

from bot.article.dates import dateline, find_dates, parse_timestamp, url_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2017-12-11T10:23:00+01:00", "2017-12-11T10:23:00+01:00"),
        ("2017-12-11T09:23:00Z", "2017-12-11T09:23:00+00:00"),
        ("2017-12-11T09:23:00.123+0530", "2017-12-11T09:23:00+05:30"),
        ("2017-12-11 09:23", "2017-12-11"),  # a time without an offset says no more than the day
        ("2017-12-11", "2017-12-11"),
        ("20180619T055000+0900", "2018-06-19T05:50:00+09:00"),
        ("Mon, 11 Dec 2017 10:23:00 +0100", "2017-12-11T10:23:00+01:00"),
        ("December 11, 2017", "2017-12-11"),
        ("not a date", None),
        ("2017-02-30", None),
        ("", None),
    ],
)
def test_parse_timestamp(raw: str, expected: str | None) -> None:
    assert parse_timestamp(raw) == expected


def test_future_dates_are_refused() -> None:
    assert parse_timestamp("2031-01-01", latest=date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Publié le 12 mars 2019 à 14h05", date(2019, 3, 12)),
        ("Veröffentlicht am 4. Oktober 2022", date(2022, 10, 4)),
        ("Stand: 04.10.2022", date(2022, 10, 4)),
        ("15 de agosto de 2020", date(2020, 8, 15)),
        ("March 3, 2021", date(2021, 3, 3)),
        ("Опубликовано 5 марта 2020", date(2020, 3, 5)),
        ("Opublikowano 12 września 2021", date(2021, 9, 12)),
        ("2020年3月5日", date(2020, 3, 5)),
        ("2020년 3월 5일", date(2020, 3, 5)),
        ("تم نشره الجمعة 24 نيسان / أبريل 2020", date(2020, 4, 24)),
    ],
)
def test_find_dates_in_many_languages(text: str, day: date) -> None:
    assert find_dates(text)[0][1] == day


def test_dateline_tells_published_from_updated() -> None:
    text = "Published 3 March 2021\nUpdated 5 March 2021\nSome sentence about 1 May 2020."
    assert dateline(text) == (date(2021, 3, 3), date(2021, 3, 5))


def test_an_update_line_alone_stands_for_publication() -> None:
    assert dateline("Latest update : 2017-12-11") == (date(2017, 12, 11), date(2017, 12, 11))
    assert dateline("Latest update : 2017-12-11", update_counts=False)[0] is None


def test_dates_inside_long_sentences_are_news_not_datelines() -> None:
    text = ("The Kremlin first launched air strikes in Syria in September 2015 in its biggest "
            "Middle East intervention in decades, on 30 September 2015 to be exact.")
    assert dateline(text) == (None, None)


def test_a_dateline_opening_a_paragraph_counts() -> None:
    text = ("April 17, 2015 -- Imagine being sick in the hospital with a bacterial infection "
            "and doctors can't stop it from spreading to the rest of your body.")
    assert dateline(text)[0] == date(2015, 4, 17)


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://example.org/2019/05/07/slug", date(2019, 5, 7)),
        ("https://example.org/news/2019-05-07-slug", date(2019, 5, 7)),
        ("https://example.org/2019/05/slug", None),  # no day: not a date
        ("https://example.org/item/123456", None),
        (None, None),
    ],
)
def test_url_date(url: str | None, day: date | None) -> None:
    assert url_date(url) == day


def test_a_bare_date_of_today_is_a_header_clock_not_a_dateline() -> None:
    today = date(2026, 11, 26)
    assert dateline("Thursday, November 26, 2026", today=today) == (None, None)
    # Stated as the publication date, it counts.
    assert dateline("Published November 26, 2026", today=today)[0] == today
