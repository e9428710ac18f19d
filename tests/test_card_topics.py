"""Card topics: the publisher's tags first, then real names and themes; no filler, ever.

Each test is one junk class seen on real cards (filler words, weekdays, two-letter tokens,
share buttons, glued tokens, countries the text never names, German nouns taken for
names, padding to the limit), on a small page of that shape.
"""

from __future__ import annotations

import html

from bot.article.parse import parse_article
from bot.card import Card


def page(headline: str, paragraphs: list[str], *, lang: str = "en", head: str = "",
         extra_body: str = "") -> str:
    """A plain article page: title, h1, the paragraphs, optional meta tags."""
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(headline)}</title>
<meta property="og:title" content="{html.escape(headline)}">
<meta property="og:site_name" content="Harbour Gazette">
<meta property="article:published_time" content="2024-03-06T10:00:00+01:00">
{head}</head><body><article><h1>{html.escape(headline)}</h1>
{paras}{extra_body}</article></body></html>"""


def card(headline: str, paragraphs: list[str], **kw: str) -> Card:
    return parse_article(page(headline, paragraphs, **kw),
                         "https://www.harbourgazette.com/news/2024/03/06/story")


EN = [
    "The harbour authority of Westport approved a plan on Wednesday to dredge the old "
    "channel, which your correspondents have followed until now with interest.",
    "Officials said the dredging becomes necessary as the channel silts up, and that well "
    "over half of the fishing fleet already avoids it at low tide.",
    "The Westport fishing cooperative welcomed the plan. Its chair, Maria Okafor, said the "
    "cooperative had asked for dredging for a decade.",
    "Work on the channel starts in June, the harbour authority said, and dredging will take "
    "three months.",
]


CHATTY = [
    "Maria Okafor said things really changed in Westport: another boat, another season, "
    "always something. Things never stay the same, she said, and people always notice.",
    "Another skipper said things were really quieter, and that people never really "
    "believed the channel would close. Always another excuse, always another delay.",
]


def test_no_padding_to_the_limit_with_everyday_words() -> None:
    topics = card("Westport approves channel dredging", [*EN, *CHATTY]).topics
    assert 0 < len(topics) < 10, topics
    for word in ("things", "really", "another", "always", "never", "people", "season"):
        assert word not in topics, topics


def test_everyday_words_are_not_topics() -> None:
    topics = card("Westport approves channel dredging", EN).topics
    for word in ("your", "until", "becomes", "well", "officials", "wednesday", "june"):
        assert word not in topics, topics
    assert "westport" in topics and "dredging" in topics


def test_german_everyday_words_weekdays_and_nouns_are_not_topics() -> None:
    de = [
        "Die Stadtwerke Rheinblick haben am Mittwoch angekündigt, dass sie die Preise für "
        "Fernwärme im kommenden Jahr senken. Sie reagieren damit auf Kritik vieler Menschen.",
        "Nach Angaben der Stadtwerke Rheinblick sinkt der Preis um ein Zehntel. Die Regierung "
        "des Landes begrüßte die Entscheidung, die Menschen in der Stadt entlaste.",
        "Im vergangenen Jahr hatten die Stadtwerke Rheinblick die Preise für Fernwärme zweimal "
        "erhöht. Die Menschen hatten sich darüber beschwert, sagte die Sprecherin am Mittwoch.",
    ]
    topics = card("Stadtwerke Rheinblick senken Preise für Fernwärme", de, lang="de").topics
    for word in ("sie", "menschen", "jahr", "mittwoch", "regierung", "die", "preise"):
        assert word not in topics, topics
    assert "stadtwerke rheinblick" in topics


def test_german_inflected_everyday_nouns_are_not_topics() -> None:
    # Plural and case forms rank lower in the word lists than the word itself
    # ("Verbesserungen" 4.0, "Verbesserung" 4.4), and sentences open with prepositions.
    de = [
        "Der Passwortmanager Kennwort-Tresor bringt in Version 7 zahlreiche Verbesserungen. "
        "Neben Zugänge für Familien gibt es Verbesserungen beim Abgleich über Tresor-Cloud.",
        "Die Verbesserungen betreffen auch Technologien zur Anmeldung: Zugänge lassen sich "
        "mit Technologien wie Einmal-Passwörtern schützen, schreibt Kennwort-Tresor. Die "
        "verschlüsselten Daten bleiben verschlüsselten Tresoren vorbehalten, die verschlüsselten "
        "Notizen auch.",
        "Neben Zugänge und Technologien nennt Kennwort-Tresor weitere Neuerungen für "
        "Kennwort-Tresor auf dem Smartphone.",
    ]
    topics = card("Kennwort-Tresor 7 bringt Verbesserungen", de, lang="de").topics
    for word in ("verbesserungen", "technologien", "zugänge", "neben zugänge",
                 "verschlüsselten"):
        assert word not in topics, topics
    assert "kennwort-tresor" in topics


def test_french_everyday_words_are_not_topics() -> None:
    fr = [
        "Depuis lundi, la mairie de Kerbellec veut faire rouvrir la conserverie fermée "
        "depuis deux ans, a annoncé le maire Yann Le Goff.",
        "Pour faire revenir les salariés, la mairie de Kerbellec propose de racheter les "
        "murs de la conserverie, a précisé Yann Le Goff devant le conseil municipal.",
    ]
    topics = card("Kerbellec veut rouvrir sa conserverie", fr, lang="fr").topics
    for word in ("depuis", "faire", "lundi"):
        assert word not in topics, topics
    assert "kerbellec" in topics


def test_two_letter_tokens_and_share_buttons_are_not_topics() -> None:
    share = ('<div class="tools"><p>Twitter</p><p>Share</p><p>WhatsApp</p><p>Email</p>'
             '<p>JN</p><p>MT</p></div>')
    paras = [*EN, "Maria Okafor (JN, MT) said the cooperative will meet again in May."]
    topics = card("Westport approves channel dredging", paras, extra_body=share).topics
    for word in ("twitter", "share", "whatsapp", "email", "jn", "mt"):
        assert word not in topics, topics


def test_glued_tokens_and_word_pieces_are_not_topics() -> None:
    paras = [
        "Donald Trump spoke in Westport on Monday.An aide said Trump.An iPad showed the "
        "speech, and Trump read from the iPad throughout.",
        "Trump said the Westport harbour would get federal money, and Trump repeated the "
        "promise twice before leaving Westport.",
    ]
    topics = card("Trump promises Westport harbour money", paras).topics
    assert "trump" in topics
    assert not any("." in t for t in topics), topics
    assert "pad" not in topics and "monday.an" not in topics


def test_no_country_the_text_never_names() -> None:
    paras = [
        "The group Irish for Trump held a rally in Westport on Saturday, and American "
        "visitors joined local members of Irish for Trump at the harbour.",
        "Organisers of Irish for Trump said about 200 people came, many of them American "
        "tourists staying in Westport hotels.",
    ]
    topics = card("Irish for Trump rally draws crowd to Westport", paras).topics
    assert "united states" not in topics and "ireland" not in topics, topics


def test_publisher_tags_come_first_cleaned_and_are_not_cut() -> None:
    head = "\n".join([
        '<meta property="article:section" content="Harbour">',
        '<meta property="article:tag" content="Dredging">',
        '<meta property="article:tag" content="Westport Harbour Authority">',
        '<meta property="article:tag" content="Harbour Gazette">',
        '<meta property="article:tag" content="News">',
        '<meta property="article:tag" content="smg2_local">',
        '<meta name="news_keywords" content="fishing, Maria Okafor, '
        'the long and winding story of the channel">',
    ])
    topics = card("Westport approves channel dredging", EN, head=head).topics
    assert topics[:4] == ("dredging", "westport harbour authority", "fishing", "maria okafor")
    for junk in ("harbour gazette", "news", "smg2_local", "harbour"):
        assert junk not in topics, topics
    assert not any(len(t.split()) > 4 for t in topics), topics


def test_topics_are_the_same_on_every_run() -> None:
    # Themes were read from a set, whose order changes with the interpreter's hash seed.
    import os
    import subprocess
    import sys

    code = (
        "from bot.article.subjects import subjects\n"
        "body = ' '.join(f'{w} {w} {w} harbour.' for w in ('dredging', 'silt', 'channel', "
        "'trawlers', 'moorings', 'pontoons', 'breakwater', 'slipway'))\n"
        "print(subjects('Westport harbour plan', body, language='en'))\n")
    runs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
        runs.add(out.stdout)
    assert len(runs) == 1, runs
