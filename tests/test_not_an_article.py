"""Not an article: cookie walls, consent, login and error pages never become cards; a
paywall teaser with a real lead does, marked as paywalled on every platform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console.card import render_card
from adapters.discord.render import card_embed
from adapters.slack.blocks import card_blocks
from bot.article.parse import parse_article
from bot.errors import NotAnArticleError, ParseError

ROOT = Path(__file__).parent.parent

GERMAN_CONSENT = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>Datenschutzeinstellungen | Rheinblick Zeitung</title>
<meta property="og:title" content="Stadtrat beschließt neues Radwegenetz">
</head><body>
<div class="cmp-layer"><h2>Wir brauchen Ihre Zustimmung</h2>
<p>Wir und unsere 231 Partner speichern und verarbeiten Informationen auf Ihrem Gerät, etwa
Cookies, um personalisierte Werbung und Inhalte anzuzeigen und die Nutzung zu messen.</p>
<p>Mit Klick auf „Alle akzeptieren“ erteilen Sie Ihre Einwilligung. Sie können Ihre
Zustimmung jederzeit in den Datenschutzeinstellungen widerrufen.</p>
<p>Alternativ lesen Sie werbefrei mit unserem Abo für 2,99 Euro im Monat.</p>
<button>Alle akzeptieren</button><button>Einstellungen</button></div>
</body></html>"""

LOGIN = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Sign in | The Harbour Gazette</title></head><body>
<h1>Sign in to your account</h1>
<form action="/login" method="post"><label>Email <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label>
<button>Sign in</button></form>
<p>Forgot your password? Reset it here. New to the Gazette? Create a free account.</p>
</body></html>"""

ERROR = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>Page introuvable - Le Courrier du Lac</title></head><body>
<h1>Oups, page introuvable</h1><p>La page que vous cherchez n'existe plus.</p>
<ul><li><a href="/">Accueil</a></li><li><a href="/sport">Sport</a></li></ul>
</body></html>"""

# A real story about cookie rules: long, and about consent, yet an article.
_PARA = ("The regulator said that websites must let readers refuse cookies as easily as they "
         "accept them, and that consent banners which hide the reject button break the law. "
         "Publishers have until March to change their consent dialogs, the ruling says. ")
COOKIE_STORY = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Regulator orders websites to simplify cookie banners</title>
<meta property="og:title" content="Regulator orders websites to simplify cookie banners">
</head><body><article><h1>Regulator orders websites to simplify cookie banners</h1>
{''.join(f'<p>{_PARA}Paragraph {i} adds more detail about the decision.</p>' for i in range(9))}
</article></body></html>"""


@pytest.mark.parametrize(("page", "kind"), [
    ((ROOT / "tests" / "pages" / "cookie_wall.html").read_text(), "consent"),
    (GERMAN_CONSENT, "consent"),
    (LOGIN, "login"),
    (ERROR, "error"),
])
def test_not_an_article_is_refused_with_what_it_is(page: str, kind: str) -> None:
    with pytest.raises(NotAnArticleError) as info:
        parse_article(page, "https://news.example.com/a/1")
    assert info.value.kind == kind
    assert isinstance(info.value, ParseError)
    assert "\n" not in info.value.user_message


def test_an_article_about_cookies_is_still_an_article() -> None:
    card = parse_article(COOKIE_STORY, "https://news.example.com/cookies")
    assert card.headline == "Regulator orders websites to simplify cookie banners"
    assert not card.paywalled


def test_summarize_says_so_in_one_line(tmp_path: Path) -> None:
    page = tmp_path / "consent.html"
    page.write_text(GERMAN_CONSENT, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
         "summarize", "--json", str(page)],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "cookie or consent wall" in lines[0], res.stderr


def test_paywall_teaser_is_posted_marked_on_every_platform() -> None:
    page = (ROOT / "tests" / "pages" / "paywall_teaser.html").read_bytes()
    truth = json.loads((ROOT / "tests" / "pages" / "paywall_teaser.json").read_text())
    card = parse_article(page, truth["url"])
    assert card.paywalled and card.summary
    embed = card_embed(card)
    assert any("paywall" in (f.value or "").lower() for f in embed.fields)
    context = [b for b in card_blocks(card) if b["type"] == "context"]
    assert "paywalled" in json.dumps(context)
    console = Console(record=True, width=100)
    console.print(render_card(card))
    assert "Paywalled" in console.export_text()
