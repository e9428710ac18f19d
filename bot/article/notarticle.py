"""Pages that are not articles: cookie and consent walls, login pages, error pages.

Such a page is readable, and a careless reader would make a card of it ("We value your
privacy", topics "advertising, partners"); it is refused instead, with one line saying
what it is. A paywall teaser is not refused here: it has a real lead, and is posted
marked as paywalled.
"""

from __future__ import annotations

import re

from bot.errors import NotAnArticleError

from .text import looks_like_prose, word_count

# Sentences of consent dialogs, in the languages where such walls are common.
CONSENT = re.compile(
    r"\b(cookies?|consent(ing)?|your privacy|privacy (choices|settings|policy|preferences)|"
    r"personali[sz]ed (ads|advertising|content)|our (\d+ )?partners|(store|access) "
    r"(and/or )?(access )?information on (a|your) device|precise geolocation|"
    r"legitimate interest|accept (all|and continue)|reject all|manage (options|preferences)|"
    r"before you continue|"
    r"einwilligung|zustimmen|zustimmung|datenschutz(erklärung|einstellungen)?|"
    r"alle akzeptieren|werbefrei|tracking|consentement|vie privée|nos partenaires|"
    r"accepter (et fermer|tout)|tout refuser|consentimiento|privacidad|aceptar (todo|y)|"
    r"socios|consenso|informativa( sulla)? privacy|accetta( tutto)?|rifiuta|"
    r"consentimento|privacidade|aceitar)\b",
    re.I,
)
_CONSENT_TITLE = re.compile(
    r"^\W*(before you continue|we value your privacy|your privacy( choices)?|"
    r"cookie(s| consent| settings| policy)?|privacy (settings|notice|choices)|"
    r"consent|datenschutz(einstellungen|hinweis)?|bevor sie fortfahren|"
    r"avant de continuer|votre vie privée|gestion des cookies|antes de continuar|"
    r"su privacidad|prima di continuare|la tua privacy)\b",
    re.I,
)
_LOGIN_TITLE = re.compile(
    r"^\W*(sign ?in|log ?in|login|sign up|register|create (an|your) account|"
    r"anmelden|einloggen|registrieren|connexion|se connecter|identifiez-vous|"
    r"iniciar sesión|inicia sesión|regístrate|accedi|entrar|fazer login|inloggen|"
    r"zaloguj)\b",
    re.I,
)
_ERROR_TITLE = re.compile(
    r"\b(404|410|500|page not found|not found|error|seite nicht gefunden|page introuvable|"
    r"página no encontrada|pagina non trovata|página não encontrada|"
    r"pagina niet gevonden|fehlerseite|erreur)\b",
    re.I,
)


def check_article(headline: str | None, titles: list[str], paragraphs: list[str],
                  has_password_field: bool = False) -> None:
    """Raise NotAnArticleError when the page is a consent wall, login or error page.

    ``titles`` are the page's own title texts (title tag, h1s); ``paragraphs`` the body
    read from it. A long article that merely mentions cookies is never refused.
    """
    body_words = sum(word_count(p) for p in paragraphs)
    title_text = " ".join(filter(None, [headline, *titles]))
    if body_words < 150 and _ERROR_TITLE.search(title_text):
        raise NotAnArticleError("That page looks like an error page, not an article.", "error")
    if body_words >= 400:
        return
    # The prose that is not about cookies and consent: an article's lead, or nothing.
    story = sum(word_count(p) for p in paragraphs
                if looks_like_prose(p) and not CONSENT.search(p))
    consent = sum(1 for p in paragraphs if CONSENT.search(p))
    titled = any(_CONSENT_TITLE.search(t) for t in [headline or "", *titles] if t)
    if (titled and story < 80) or (consent >= 2 and story < 40):
        raise NotAnArticleError(
            "That page is a cookie or consent wall, not the article: nothing to summarise.",
            "consent")
    login = any(_LOGIN_TITLE.search(t) for t in [headline or "", *titles] if t)
    if (login or has_password_field) and story < 60:
        raise NotAnArticleError("That link leads to a login page, not an article.", "login")
