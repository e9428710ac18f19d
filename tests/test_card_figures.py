"""Key figures and summaries: one test per junk class seen on real cards, one per form
that was missed; each on a sentence or a small body of that shape."""

from __future__ import annotations

import pytest

from bot.article.figures import key_figures
from bot.article.summary import summarise


def values(body: str, lang: str = "en", headline: str = "") -> list[str]:
    return [f.value for f in key_figures(body, headline, language=lang)]


@pytest.mark.parametrize(("body", "lang", "junk"), [
    ("Die Sitzung begann am 28 gennaio 2024 mit 40 Abgeordneten im Saal.", "it", "28"),
    ("The law, signed on July 6, 1999, covers 300 rivers across the state.", "en", "6"),
    ("Am 31.10.2022 zählte die Polizei 120 Fahrzeuge auf der Brücke.", "de", "31"),
    ("Since the Oct. 7 attacks, 240 hostages have been held in Gaza.", "en", "7"),
    ("Um 11.39 Uhr meldeten die Behörden 14 Verletzte.", "de", "11.39"),
    ("Les secours sont arrivés à 12 h avec 30 pompiers.", "fr", "12"),
    ("In 2019 the company hired 450 engineers in Leeds.", "en", "2019"),
    ("The mayor said &#8211; as 35 families waited &#8211; that help was coming.", "en", "8211"),
    ("Apple sold 90 million units of the iPhone 11 in its first year.", "en", "11"),
    ("Players of Destiny 2 spent 80 hours on average in the new season.", "en", "2"),
    ("Le Mouvement 5 étoiles a perdu 12 sièges au Sénat.", "fr", "5"),
    ("Il vous reste 57.09% de cet article à lire. La ville compte 3 écoles.", "fr", "57.09%"),
    ("Ab 40 Euro Bestellwert versandkostenfrei. Der Zug hatte 300 Fahrgäste an Bord.", "de",
     "40 Euro"),
    ("Subscribe for $4.50 a month to read on. The bridge carries 20,000 cars a day.", "en",
     "$4.50"),
])
def test_junk_is_not_a_key_figure(body: str, lang: str, junk: str) -> None:
    assert junk not in values(body, lang), values(body, lang)


@pytest.mark.parametrize(("body", "lang", "wanted"), [
    ("Die Regierung stellt 300 Milliarden Dollar für Klimaschutz bereit.", "de",
     "300 Milliarden Dollar"),
    ("The scheme has reached 24 lakh farmers in the state this year.", "en", "24 lakh"),
    ("La manifestation a réuni 10 000 personnes dans le centre-ville.", "fr", "10 000"),
    ("Eskom said the repairs will cost R4bn over two years.", "en", "R4bn"),
    ("The group posted a net profit of RM6.162 million for the quarter.", "en", "RM6.162 million"),
    ("Die Inflation stieg im Oktober auf 1,2 % an, meldete das Amt.", "de", "1,2 %"),
    ("Rescuers pulled three survivors from the rubble on Tuesday.", "en", "three"),
    ("Die Polizei nahm zwei Verdächtige nach der Razzia fest.", "de", "zwei"),
    ("Arsenal won the derby 4-1 in front of a full stadium.", "en", "4-1"),
    ("The Celtics beat the Heat 112-107 in overtime on Sunday night.", "en", "112-107"),
    ("The fire destroyed a 14-story building in the old town.", "en", "14"),
    ("There are between 400 and 600 water main breaks in the city each year.", "en",
     "400 and 600"),
])
def test_missed_forms_are_read_whole(body: str, lang: str, wanted: str) -> None:
    assert wanted in values(body, lang), values(body, lang)


def test_labels_name_what_is_counted_and_never_end_on_a_function_word() -> None:
    body = ("The airline is withdrawing 25 aircraft from service, and 50 service personnel "
            "have been killed. Tickets cost $9 instead of the usual fare. The dealer said "
            "$4.50 cars will be rare.")
    figures = {f.value: f.label for f in key_figures(body, language="en")}
    assert figures["25"] == "aircraft being withdrawn"
    assert figures["50"] == "service personnel killed"
    for label in figures.values():
        last = label.split()[-1].lower()
        assert last not in ("instead", "will", "the", "of", "a"), figures


def test_a_duration_alone_is_no_key_figure() -> None:
    body = ("Putin, who has dominated Russia's political landscape for the last 17 years, "
            "said 50 service personnel have been killed.")
    assert "17" not in values(body)


def test_every_value_is_a_span_of_the_body_not_the_headline() -> None:
    body = "The council approved 12 new schools on Monday, officials said."
    shown = values(body, headline="Council approves 3 new libraries and 12 schools")
    assert all(v in body for v in shown) and "3" not in shown


HEADLINE = "Floods close 40 schools across the region"
BODY = """Floods close 40 schools across the region

File photo of the river in flood. (Photo: Harbour Agency)

Heavy rain closed 40 schools across the region on Monday, the education authority said.

Heavy rain closed 40 schools across the region on Monday, the authority said again.

and then the rest of a sentence that lost its beginning somewhere

Officials expect the schools to reopen on Thursday once the water has gone down."""


def test_summary_never_repeats_headline_caption_fragment_or_itself() -> None:
    summary = summarise(HEADLINE, BODY)
    assert not summary.startswith("Floods close 40 schools")
    assert "File photo" not in summary and "Photo:" not in summary
    assert "and then the rest" not in summary
    assert summary.count("Heavy rain closed 40 schools") == 1


def test_summary_starts_with_the_standfirst() -> None:
    stand = "Officials expect the schools to reopen on Thursday once the water has gone down."
    assert summarise(HEADLINE, BODY, standfirst=stand).startswith(stand)


LEAD = ("Heavy rain closed 40 schools across the county on Monday as rivers burst their banks. "
        "Officials expect the schools to reopen on Thursday once the water has gone down.")
DEK = "Parents were told to keep their children at home until the end of the week."


@pytest.mark.parametrize("header", [
    # A teaser for another story above the headline repeated in the body.
    f"{DEK}\n\n{HEADLINE}",
    # The headline, its dek and a dateline line: the dek belongs to the page header.
    f"{HEADLINE}\n\n{DEK}\n\nposted on April 21, 2015, at 11:29 a.m.",
    # A dek above the page's tag list.
    f"{DEK}\n\nTopics: floods, schools, weather",
])
def test_summary_skips_the_page_header_kept_in_the_body(header: str) -> None:
    summary = summarise(HEADLINE, f"{header}\n\n{LEAD}")
    assert summary.startswith("Heavy rain closed 40 schools"), summary
    assert "Parents were told" not in summary


def test_summary_keeps_a_teaser_above_a_byline() -> None:
    # Without the headline above it, a teaser over the byline is the article's own lead.
    summary = summarise(HEADLINE, f"{DEK} Officials said so on Monday night.\n\nBy Jane Doe\n\n"
                                  f"{LEAD}")
    assert summary.startswith("Parents were told")


@pytest.mark.parametrize("notice", [
    "有料会員の方のみご利用になれます。保存した記事はスマホでもご覧いただけます。\n\n＞ ログイン",
    "Subscribe now to read the whole of this article and many more every single day.",
    "Dieser Artikel ist nur für Abonnenten unserer Zeitung lesbar, jetzt abonnieren und lesen.",
])
def test_summary_skips_paywall_and_login_notices(notice: str) -> None:
    summary = summarise(HEADLINE, f"{notice}\n\n{LEAD}")
    assert summary.startswith("Heavy rain closed 40 schools"), summary


def test_summary_skips_a_teaser_cut_short() -> None:
    body = ("Heavy rain closed 40 schools across the county on Monday as rivers burst.\n\n"
            "Friday's Best Deals: Children's Books, Circular Lamp, Memory Foam...\n\n"
            "More rain is expected over the weekend, forecasters at the weather office said.")
    assert "Best Deals" not in summarise(HEADLINE, body)


def test_standfirst_from_the_page_header_is_not_the_summary() -> None:
    from bot.article.summary import standfirst_of

    body = f"{DEK}\n\nTopics: floods, schools\n\n{LEAD}"
    assert standfirst_of(DEK, HEADLINE, body) is None
    assert standfirst_of(DEK, HEADLINE, f"{DEK}\n\n{LEAD}") == DEK
