"""Countries and their demonyms, so "Russian" and "Russia" are one subject."""

from __future__ import annotations

# country (lower-case) -> its demonyms and common short names.
_TABLE = """
afghanistan: afghan afghans
albania: albanian albanians
algeria: algerian algerians
argentina: argentine argentinian argentinians argentines
armenia: armenian armenians
australia: australian australians
austria: austrian austrians
azerbaijan: azerbaijani azerbaijanis azeri
bangladesh: bangladeshi bangladeshis
belarus: belarusian belarusians
belgium: belgian belgians
bolivia: bolivian bolivians
bosnia: bosnian bosnians
brazil: brazilian brazilians
bulgaria: bulgarian bulgarians
cambodia: cambodian cambodians
cameroon: cameroonian cameroonians
canada: canadian canadians
chile: chilean chileans
china: chinese
colombia: colombian colombians
congo: congolese
croatia: croatian croatians croat croats
cuba: cuban cubans
cyprus: cypriot cypriots
czechia: czech czechs
denmark: danish dane danes
ecuador: ecuadorian ecuadorians
egypt: egyptian egyptians
estonia: estonian estonians
ethiopia: ethiopian ethiopians
finland: finnish finn finns
france: french frenchman frenchwoman
georgia: georgian georgians
germany: german germans
ghana: ghanaian ghanaians
greece: greek greeks
hungary: hungarian hungarians
iceland: icelandic icelander icelanders
india: indian indians
indonesia: indonesian indonesians
iran: iranian iranians
iraq: iraqi iraqis
ireland: irish
israel: israeli israelis
italy: italian italians
japan: japanese
jordan: jordanian jordanians
kazakhstan: kazakh kazakhs
kenya: kenyan kenyans
kosovo: kosovar kosovars
kuwait: kuwaiti kuwaitis
latvia: latvian latvians
lebanon: lebanese
libya: libyan libyans
lithuania: lithuanian lithuanians
malaysia: malaysian malaysians
mali: malian malians
mexico: mexican mexicans
moldova: moldovan moldovans
morocco: moroccan moroccans
myanmar: burmese burma
nepal: nepali nepalese
netherlands: dutch holland
new zealand: new zealander new zealanders kiwi
nigeria: nigerian nigerians
north korea: north korean north koreans
norway: norwegian norwegians
pakistan: pakistani pakistanis
palestine: palestinian palestinians
peru: peruvian peruvians
philippines: filipino filipinos philippine
poland: polish pole poles
portugal: portuguese
qatar: qatari qataris
romania: romanian romanians
russia: russian russians
rwanda: rwandan rwandans
saudi arabia: saudi saudis
senegal: senegalese
serbia: serbian serbians serb serbs
singapore: singaporean singaporeans
slovakia: slovak slovaks slovakian
slovenia: slovenian slovenians slovene
somalia: somali somalis
south africa: south african south africans
south korea: south korean south koreans korea korean koreans
spain: spanish spaniard spaniards
sri lanka: sri lankan sri lankans
sudan: sudanese
sweden: swedish swede swedes
switzerland: swiss
syria: syrian syrians
taiwan: taiwanese
thailand: thai thais
tunisia: tunisian tunisians
turkey: turkish turk turks turkiye
uganda: ugandan ugandans
ukraine: ukrainian ukrainians
united arab emirates: emirati emiratis uae
united kingdom: british briton britons uk britain u.k u.k.
united states: american americans us usa u.s u.s. u.s.a u.s.a.
uruguay: uruguayan uruguayans
uzbekistan: uzbek uzbeks
venezuela: venezuelan venezuelans
vietnam: vietnamese
yemen: yemeni yemenis
zimbabwe: zimbabwean zimbabweans
europe: european europeans
africa: african africans
asia: asian asians
"""


def _load() -> tuple[dict[str, str], frozenset[str]]:
    aliases: dict[str, str] = {}
    countries: set[str] = set()
    for line in _TABLE.strip().splitlines():
        country, _, rest = line.partition(":")
        countries.add(country)
        words = rest.split()
        # Two-word demonyms ("south korean") are written with a space in the table.
        i = 0
        while i < len(words):
            if i + 1 < len(words) and f"{words[i]} {words[i + 1]}" in (
                "new zealander", "new zealanders", "north korean", "north koreans",
                "south korean", "south koreans", "south african", "south africans",
                "sri lankan", "sri lankans",
            ):
                aliases[f"{words[i]} {words[i + 1]}"] = country
                i += 2
            else:
                aliases[words[i]] = country
                i += 1
    return aliases, frozenset(countries)


DEMONYMS, COUNTRIES = _load()


def place_of(phrase: str) -> str:
    """The country a demonym or alias names ("russian" -> "russia"), else the phrase."""
    return DEMONYMS.get(phrase.lower(), phrase.lower())
