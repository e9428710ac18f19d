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


def figures_of(body: str, lang: str = "en") -> dict[str, str]:
    return {f.value: f.label for f in key_figures(body, language=lang)}


@pytest.mark.parametrize(("body", "lang", "wanted"), [
    # Votes: "contre", "gegen", "against" join two counts.
    ("Les députés ont adopté le texte à une large majorité (438 contre 86 et 42 abstentions).",
     "fr", "438 contre 86"),
    ("Der Bundestag stimmte mit 390 gegen 210 Stimmen für das Gesetz.", "de", "390 gegen 210"),
    # A price per unit keeps its unit.
    ("Fresh halibut fillets were priced at $16.99 a pound at the new store.", "en",
     "$16.99 a pound"),
    ("El crudo Brent se cotizó a 49 dólares por barril en Londres.", "es",
     "49 dólares por barril"),
    # French "et" after a number is "and", not Eastern Time.
    ("Le billet du TGV coûte désormais 120 euros et reste le plus cher du pays.", "fr",
     "120 euros"),
])
def test_votes_unit_prices_and_french_and_are_read(body: str, lang: str, wanted: str) -> None:
    assert wanted in values(body, lang), values(body, lang)


@pytest.mark.parametrize(("body", "lang", "junk"), [
    # The page's own timestamps: "Hace 28 minutos", "5 hours ago", "vor 3 Stunden".
    ("Hace 28 minutos. El juez imputó a 12 directivos de la empresa.", "es", "28"),
    ("Posted 5 hours ago. The storm left 300 homes without power.", "en", "5"),
    ("Vor 3 Stunden meldete die Feuerwehr 14 Verletzte.", "de", "3"),
    # Vague plurals count nothing: "millions of", "thousands of", "des milliers".
    ("Millions of people watched as thousands of servers went dark.", "en", "thousands"),
    ("Des milliers de manifestants ont défilé, dont 40 élus.", "fr", "milliers"),
    # A number word of another language: "sei" is "be" in German, "once" is not eleven
    # in English.
    ("Er sagte, das sei Unsinn, und nannte 12 Gründe dafür.", "de", "sei"),
    ("Once voters arrive, 200 volunteers will guide them.", "en", "Once"),
])
def test_timestamps_vague_plurals_and_foreign_number_words_are_no_figures(
        body: str, lang: str, junk: str) -> None:
    assert junk not in values(body, lang), values(body, lang)


def test_no_figures_from_slideshow_captions_or_comments() -> None:
    body = ("The hotel charges $1 a night for every $1000 it invested in each of its 80 rooms."
            "\n\n- 22/50 Ralph Lauren saw sales climb 1 per cent to $1.9bn in the quarter. "
            "Its shares rose 4 per cent.\n\nComments\n\nI paid 500 euros for one night "
            "in such a hotel and it was awful.")
    shown = values(body)
    assert not {"$1.9bn", "1 per cent", "4 per cent", "500 euros"} & set(shown), shown


def test_a_value_never_ends_with_the_sentence_full_stop() -> None:
    assert "$460m" in values("The firm, which manages 59 million web domains, raised $460m.")


@pytest.mark.parametrize(("body", "lang", "value", "label"), [
    # A time unit is the value's unit when what follows names the thing.
    ("The visit ended 20 years of hostile relations between the two countries.", "en",
     "20 years", "hostile relations"),
    # An age: the person, not "alte".
    ("Die 32 Jahre alte Claudia Brandes gewann die Wahl deutlich.", "de", "32 Jahre",
     "Claudia Brandes"),
    # People counted need nothing more.
    ("El estadio admite ahora apenas 213 personas, incluidos los jugadores.", "es", "213",
     "personas"),
])
def test_units_ages_and_people_make_readable_labels(body: str, lang: str, value: str,
                                                   label: str) -> None:
    assert figures_of(body, lang).get(value) == label, figures_of(body, lang)


@pytest.mark.parametrize(("body", "lang", "bad"), [
    # A count noun's tail never starts with a conjunction, a negation or a relative word.
    ("He was nominated for seven years when he attended the academy in Paris.", "en", "when"),
    ("Eine Verlängerung um sechs Jahren nicht unbedingt nötig, sagte er.", "de", "nicht"),
    ("Children ate them by 11 months and continuing at home, the study found.", "en", "and"),
])
def test_labels_never_continue_into_another_clause(body: str, lang: str, bad: str) -> None:
    for label in figures_of(body, lang).values():
        assert bad not in label.split(), figures_of(body, lang)


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


@pytest.mark.parametrize(("body", "value", "label"), [
    # A German label is a noun phrase: it ends before the verb, starts at a capitalised
    # word, and a verb alone is no label.
    ("1Password kostet aktuell knapp 50 Euro im Mac App Store.", "50 Euro", "1Password"),
    ("Bei Verstößen droht eine Geldbuße von 200 bis 1000 Euro, sagte der Sprecher.",
     "200 bis 1000 Euro", "Geldbuße"),
    ("Wer die Grenze ohne Grund überquert, muss 250 Euro zahlen.", "250 Euro", None),
])
def test_german_labels_are_noun_phrases(body: str, value: str, label: str | None) -> None:
    shown = figures_of(body, "de")
    if label is None:
        assert all(w[:1].isupper() for w in shown.get(value, "X").split()[:1]), shown
    else:
        assert shown.get(value) == label, shown


def test_an_imprint_number_is_no_figure() -> None:
    body = ("Registro Propietario El Día SAICYF. Edición Nro. 6986 Director: Raúl Pérez.\n\n"
            "La policía aisló a los 4 pasajeros que viajaban en el colectivo.")
    assert "6986" not in values(body, "es"), values(body, "es")


def test_a_count_after_a_place_name_is_a_figure() -> None:
    # Dutch and German put the count after the place: not "Destiny 2", a count of times.
    body = "In de afgelopen dertig dagen is de brandweer van Den Haag 722 keer gealarmeerd."
    assert "722" in values(body, "nl"), values(body, "nl")


def test_a_share_of_a_whole_is_labelled_by_the_whole() -> None:
    shown = figures_of("Cela représente 2,22% du total des produits phytosanitaires.", "fr")
    assert shown.get("2,22%") == "total", shown


@pytest.mark.parametrize(("body", "lang", "value", "label"), [
    # A label read before the value ends on its noun, not on a verb or an auxiliary.
    ("One perk was fresh halibut fillets priced at $16.99 a pound.", "en", "$16.99 a pound",
     "fresh halibut fillets"),
    ("For less healthy ones, the agency has invested more than $1 billion since then.", "en",
     "$1 billion", "agency"),
])
def test_labels_before_a_value_end_on_the_noun(body: str, lang: str, value: str,
                                               label: str) -> None:
    assert figures_of(body, lang).get(value) == label, figures_of(body, lang)
