"""One table of countries and regions with every other name they go by in English text.

Two uses read it: the card's topics fold "Russian" into "russia" (``place_of``), and the
subscription matcher folds both an expression and an article's text into one token per
place (``PLACES``: ``United States``, ``US``, ``Americans`` → ``usa``), so both agree.

A row is ``name [token]: alias, alias, ...`` (an indented line continues it). ``name`` is
how a card shows the place; ``token`` is the one-word form the matcher uses (default: the
name without spaces).
Aliases written with capitals (``US``, ``U.K.``) count only when written that way, since
"us" is also a pronoun; every other alias ignores case.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

_TABLE = """
afghanistan: afghan, afghans, afghani
africa: african, africans
albania: albanian, albanians
algeria: algerian, algerians
angola: angolan, angolans
argentina: argentine, argentines, argentinian, argentinians, argentinean
armenia: armenian, armenians
asia: asian, asians
australia: australian, australians, aussie
austria: austrian, austrians
azerbaijan: azerbaijani, azerbaijanis, azeri
bahrain: bahraini, bahrainis
bangladesh: bangladeshi, bangladeshis
belarus: belarusian, belarusians, belarussian
belgium: belgian, belgians
bolivia: bolivian, bolivians
bosnia: bosnian, bosnians
brazil: brazilian, brazilians
bulgaria: bulgarian, bulgarians
cambodia: cambodian, cambodians
cameroon: cameroonian, cameroonians
canada: canadian, canadians
central america:
chad: chadian, chadians
chile: chilean, chileans
china: chinese, prc
colombia: colombian, colombians
congo: congolese
costa rica: costa rican, costa ricans
croatia: croatian, croatians, croat, croats
cuba: cuban, cubans
cyprus: cypriot, cypriots
czechia: czech, czechs, czech republic
denmark: danish, dane, danes
dominican republic:
ecuador: ecuadorian, ecuadorians, ecuadorean
egypt: egyptian, egyptians
el salvador: salvadoran, salvadorans
eritrea: eritrean, eritreans
estonia: estonian, estonians
ethiopia: ethiopian, ethiopians
europe: european, europeans
finland: finnish, finn, finns
france: french, frenchman, frenchwoman
georgia: georgian, georgians
germany: german, germans, deutschland
ghana: ghanaian, ghanaians
greece: greek, greeks, hellenic
guatemala: guatemalan, guatemalans
haiti: haitian, haitians
honduras: honduran, hondurans
hong kong:
hungary: hungarian, hungarians
iceland: icelandic, icelander, icelanders
india: indian, indians
indonesia: indonesian, indonesians
iran: iranian, iranians, persia, persian
iraq: iraqi, iraqis
ireland: irish
israel: israeli, israelis
italy: italian, italians
ivory coast:
jamaica: jamaican, jamaicans
japan: japanese
jordan: jordanian, jordanians
kazakhstan: kazakh, kazakhs, kazakhstani
kenya: kenyan, kenyans
kosovo: kosovar, kosovars
kuwait: kuwaiti, kuwaitis
kyrgyzstan: kyrgyz
laos: laotian, laotians, lao
latin america:
latvia: latvian, latvians
lebanon: lebanese
libya: libyan, libyans
lithuania: lithuanian, lithuanians
luxembourg: luxembourgish
madagascar: malagasy
malaysia: malaysian, malaysians
mali: malian, malians
malta: maltese
mexico: mexican, mexicans
moldova: moldovan, moldovans
mongolia: mongolian, mongolians
morocco: moroccan, moroccans
mozambique: mozambican, mozambicans
myanmar: burmese, burma
namibia: namibian, namibians
nepal: nepali, nepalese
netherlands: dutch, holland
new zealand: new zealander, new zealanders
nicaragua: nicaraguan, nicaraguans
niger: nigerien, nigeriens
nigeria: nigerian, nigerians
north america:
north korea: north korean, north koreans
north macedonia [macedonia]:
northern ireland:
norway: norwegian, norwegians
oman: omani, omanis
pakistan: pakistani, pakistanis
palestine: palestinian, palestinians
panama: panamanian, panamanians
paraguay: paraguayan, paraguayans
peru: peruvian, peruvians
philippines: filipino, filipinos, philippine
poland: polish, pole, poles
portugal: portuguese
qatar: qatari, qataris
romania: romanian, romanians
russia: russian, russians
rwanda: rwandan, rwandans
saudi arabia [saudi]: saudis
scotland: scottish, scot, scots
senegal: senegalese
serbia: serbian, serbians, serb, serbs
singapore: singaporean, singaporeans
slovakia: slovak, slovaks, slovakian
slovenia: slovenian, slovenians, slovene
somalia: somali, somalis
south africa: south african, south africans
south america:
south korea: south korean, south koreans, korea, korean, koreans
south sudan:
spain: spanish, spaniard, spaniards
sri lanka: sri lankan, sri lankans
sudan: sudanese
sweden: swedish, swede, swedes
switzerland: swiss
syria: syrian, syrians
taiwan: taiwanese
tajikistan: tajik, tajiks
tanzania: tanzanian, tanzanians
thailand: thai, thais
tunisia: tunisian, tunisians
turkey: turkish, turk, turks, turkiye
turkmenistan: turkmen
uganda: ugandan, ugandans
ukraine: ukrainian, ukrainians
united arab emirates [uae]: emirati, emiratis, emirates, UAE
united kingdom [uk]: great britain, britain, british, briton, britons, brit, UK, U.K., U.K
united states [usa]: united states of america, america, american, americans,
  US, U.S., U.S, U.S.A., U.S.A, USA
uruguay: uruguayan, uruguayans
uzbekistan: uzbek, uzbeks
venezuela: venezuelan, venezuelans
vietnam: vietnamese
wales: welsh
yemen: yemeni, yemenis
zambia: zambian, zambians
zimbabwe: zimbabwean, zimbabweans
"""


@dataclass(frozen=True, slots=True)
class Place:
    """A country or region: its card name, its matcher token and its other names."""

    name: str
    token: str
    aliases: tuple[str, ...]

    @property
    def case_sensitive(self) -> tuple[str, ...]:
        """Aliases that count only as written (``US``: "us" is a pronoun)."""
        return tuple(a for a in self.aliases if a != a.casefold())

    @property
    def any_case(self) -> tuple[str, ...]:
        """Aliases that count in any case."""
        return tuple(a for a in self.aliases if a == a.casefold())


def _load() -> tuple[Place, ...]:
    places = []
    for line in _TABLE.strip().replace(",\n  ", ", ").splitlines():
        head, _, rest = line.partition(":")
        name, _, token = head.partition("[")
        name = name.strip()
        aliases = tuple(a.strip() for a in rest.split(",") if a.strip())
        places.append(Place(name, token.strip(" ]") or name.replace(" ", ""), aliases))
    return tuple(places)


PLACES = _load()
#: every name of a place, lower-case (capitalised aliases too: a card's names are already
#: known to be names) → the place's card name
DEMONYMS: dict[str, str] = {
    alias.casefold(): p.name for p in PLACES for alias in (p.name, p.token, *p.aliases)
}
COUNTRIES = frozenset(p.name for p in PLACES)


def place_of(phrase: str) -> str:
    """The place a demonym or alias names ("russian" -> "russia"), else the phrase."""
    return DEMONYMS.get(phrase.lower(), phrase.lower())


# --- names in other languages (CLDR, through Babel) -----------------------------------

#: Languages whose names of countries, languages and cities are folded (ISO 639-1).
NAME_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "sk",
    "ru", "uk", "tr", "ro", "hu", "el", "hr", "sl", "id", "ca", "et", "lv", "lt", "bg",
    "sr", "ar", "he", "fa", "hi", "ja", "zh", "ko", "vi", "th",
)
# CLDR codes that are not countries (regions, groupings, unknown).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "XK"})
# Languages whose name is not the adjective of one country (spoken too widely).
_NOT_ONE_COUNTRY = frozenset({"en", "ar", "es", "pt", "fr", "sw", "ms", "zh"})


def _fold(name: str) -> str:
    import unicodedata

    name = unicodedata.normalize("NFKD", name.casefold().replace("’", "'"))
    return "".join(c for c in name if not unicodedata.combining(c))


@functools.cache
def _english_tokens() -> dict[str, str]:
    """Every English name of a place in the table, folded → the place's token."""
    out: dict[str, str] = {}
    for place in PLACES:
        for name in (place.name, place.token, *place.aliases):
            out[_fold(name)] = place.token
    return out


@functools.cache
def _babel_tokens() -> dict[str, str]:
    """CLDR territory, language and city code → the token English text folds it into."""
    from babel import Locale
    from babel.core import get_global

    english = Locale.parse("en")
    known = _english_tokens()
    out: dict[str, str] = {}
    for code, name in english.territories.items():
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
            folded = _fold(name)
            out["t:" + code] = known.get(folded, folded.replace(" ", "").replace("&", "and"))
    # A language's name is also the adjective of its main country (russe, Russisch, ruso
    # → russia): CLDR's likely country of the language, for languages official there;
    # languages of many countries (English, Arabic, Spanish, ...) are left out.
    official = get_global("territory_languages")
    for lang, likely in get_global("likely_subtags").items():
        if "_" in lang or lang in _NOT_ONE_COUNTRY:
            continue
        territory = likely.split("_")[-1]
        token = out.get("t:" + territory)
        info = official.get(territory, {}).get(lang, {})
        if token is not None and info.get("official_status") == "official":
            out["l:" + lang] = token
    # Cities from the time-zone names (every capital that has a zone of its own).
    for zone in get_global("zone_territories"):
        city = english.time_zones.get(zone, {}).get("city")
        if city is None:
            from babel.dates import get_timezone_location

            city = get_timezone_location(zone, locale=english, return_city=True)
        if city:
            out["z:" + zone] = _fold(city)
    return out


@functools.cache
def local_names(lang: str) -> dict[str, str]:
    """Names of countries, their languages/adjectives and cities in ``lang`` → token.

    From CLDR (Babel): "Russie", "Russland", "Россия" → ``russia``; "russe", "Russisch"
    → ``russia``; "Moskau", "Moscou" → ``moscow``. Names equal to their token are left out.
    An unknown language gives an empty table.
    """
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return {}
    codes = _babel_tokens()
    out: dict[str, str] = {}
    for code, name in locale.territories.items():
        token = codes.get("t:" + code)
        if token is not None:
            out[_fold(name)] = token
    for code, name in locale.languages.items():
        token = codes.get("l:" + code)
        if token is not None:
            out.setdefault(_fold(name), token)
    for key, token in codes.items():
        if key.startswith("z:"):
            city = locale.time_zones.get(key[2:], {}).get("city")
            if city:
                out.setdefault(_fold(city), token)
    return {name: token for name, token in out.items() if name and name != token}
