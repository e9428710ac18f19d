"""Dates as pages write them: metadata timestamps and datelines in several languages."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any


def _fold(text: str) -> str:
    """Lower-case without combining accents ("Décembre" -> "decembre")."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


# Month names and abbreviations, lower-case and accent-free, for the languages the bot
# meets most; a number wins over a name when both could be read.
_MONTHS: dict[str, int] = {}
for _names in (
    "january february march april may june july august september october november december",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "januar februar marz april mai juni juli august september oktober november dezember",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
    "januari februari maart april mei juni juli augustus september oktober november december",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
    "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
    "ledna února března dubna května června července srpna září října listopadu prosince",
    "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",
    "januari februari mars april maj juni juli augusti september oktober november december",
    "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie "
    "noiembrie decembrie",
    "január február március április május június július augusztus szeptember október "
    "november december",
    "januari februari maret april mei juni juli agustus september oktober november desember",
    "ιανουαρίου φεβρουαρίου μαρτίου απριλίου μαΐου ιουνίου ιουλίου αυγούστου σεπτεμβρίου "
    "οκτωβρίου νοεμβρίου δεκεμβρίου",
):
    for _i, _name in enumerate(_names.split(), start=1):
        _MONTHS.setdefault(_name, _i)
# Arabic: the Egyptian/Gulf names and the Levantine ones (a page often gives both).
for _names in (
    "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "كانون_الثاني شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين_الأول تشرين_الثاني "
    "كانون_الأول",
):
    for _i, _name in enumerate(_names.split(), start=1):
        _MONTHS.setdefault(_name.replace("_", " "), _i)
_MONTHS.update({"ابريل": 4, "إبريل": 4, "اغسطس": 8, "اكتوبر": 10})
for _i, _abbr in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
):
    _MONTHS.setdefault(_abbr, _i)
_MONTHS.update({"sept": 9, "janv": 1, "fevr": 2, "avr": 4, "juil": 7, "dic": 12, "ene": 1,
                "dez": 12, "okt": 10, "mrz": 3, "maerz": 3, "set": 9, "ago": 8, "abr": 4,
                "mei": 5, "mag": 5, "giu": 6, "lug": 7, "ott": 10, "fev": 2, "out": 10})

# Pages are matched accent-folded when folding keeps their length; fold the names too.
_MONTHS.update({_fold(name): n for name, n in list(_MONTHS.items())})
MONTH_PATTERN = "|".join(sorted(_MONTHS, key=len, reverse=True))


def _trie(words: list[str]) -> str:
    """One pattern matching exactly ``words``, shared beginnings written once."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{group})?" if "" in node else group

    return emit(root)


# The same month names as a trie: it matches the same strings several times faster than
# the list above (whose longest-first order decides which name a date's group takes), so
# it serves where only whether a month name is there counts.
MONTH_TEST_PATTERN = _trie(sorted(_MONTHS))
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?"
_YEAR = r"(?P<y>(?:19|20)\d\d)"
# "24 نيسان / أبريل 2020": a second name for the same month may follow a slash.
_MON = rf"(?P<m>{MONTH_PATTERN})\.?(?:\s*/\s*(?:{MONTH_PATTERN}))?"

# Each pattern names its parts d, m (number or name) and y.
_DATE_PATTERNS = [
    re.compile(rf"\b{_YEAR}-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)\b"),
    re.compile(rf"\b{_YEAR}/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)\b"),
    re.compile(rf"\b(?P<d>[0-3]?\d)\.\s?(?P<m>[01]?\d)\.\s?{_YEAR}\b"),
    re.compile(rf"\b{_DAY}\s+(?:de\s+)?{_MON},?\s+(?:de\s+|del\s+)?{_YEAR}\b", re.I),
    re.compile(rf"\b{_MON}\s+{_DAY},?\s+{_YEAR}\b", re.I),
    # "8/10/2022": day first almost everywhere, month first on US pages (see find_dates).
    re.compile(rf"\b(?P<d>[0-3]?\d)/(?P<m>[0-3]?\d)/{_YEAR}\b"),
    re.compile(r"(?P<y>(?:19|20)\d\d)年\s?(?P<m>[01]?\d)月\s?(?P<d>[0-3]?\d)日"),
    re.compile(r"(?P<y>(?:19|20)\d\d)년\s?(?P<m>[01]?\d)월\s?(?P<d>[0-3]?\d)일"),
    re.compile(rf"\b{_YEAR}\.\s?{_MON}\s+{_DAY}", re.I),
]

_SLASH_DMY = _DATE_PATTERNS[5]
_ANY_YEAR = re.compile(r"(?:19|20)\d\d")  # the year part every pattern above holds
# A date followed by a dash that opens the text after it ("Feb. 23, 2015 -- Life...").
_DATELINE_DASH = re.compile(r"^[^-–—]{4,30}?\s(?:--|-|–|—)\s", re.I)

# Words that introduce the publication or the update date in a dateline.
_PUBLISHED_CUES = re.compile(
    r"(published|posted|date created|first published|publi[ée]e?|mis en ligne|"
    r"ver[öo]ffentlicht|erschienen|publicado|publicada|publicato|pubblicato|gepubliceerd|"
    r"creado|cr[ée]{1,2} le|опубликовано|opublikowano|yayınlanma|yayınlandı|publicerad|"
    r"publiceret|julkaistu|publicat|közzétéve|diterbitkan|δημοσιεύθηκε|发布|發佈|公開|게시)",
    re.I,
)
_UPDATED_CUES = re.compile(
    r"(updated?|latest update|last update|last modified|modified|mis [àa] jour|"
    r"aktualisiert|actualizado|actualizada|aggiornato|atualizado|bijgewerkt|обновлено|"
    r"zaktualizowano|güncellendi|güncelleme|uppdaterad|opdateret|päivitetty|actualizat|"
    r"frissítve|diperbarui|ενημερώθηκε|更新|수정)",
    re.I,
)
_ISO_TS = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)(?:[T ](?P<time>\d\d:\d\d(?::\d\d)?)(?:\.\d+)?"
    r"\s*(?P<tz>Z|[+-]\d\d:?\d\d)?)?"
)
_COMPACT_TS = re.compile(
    r"^((?:19|20)\d\d)(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)?(Z|[+-]\d\d:?\d\d)?$"
)
_URL_DATE = re.compile(
    r"/(?P<y>(?:19|20)\d\d)[/-]?(?P<m>0[1-9]|1[0-2])[/-]?(?P<d>0[1-9]|[12]\d|3[01])?(?:/|[-_]|$)"
)
# "-20161013" or "_20161013.html" inside a slug: a compact date standing alone.
_URL_COMPACT = re.compile(
    r"(?<![\d])(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?![\d])"
)
# "/2015/08/150803-slug": year and month folders, then the day in a yymmdd prefix.
_URL_YYMMDD = re.compile(
    r"/(?P<y>(?:19|20)(?P<yy>\d\d))/(?P<m>0[1-9]|1[0-2])/(?P=yy)(?P=m)(?P<d>0[1-9]|[12]\d|3[01])"
    r"(?:[-_./]|$)"
)


def _ascii_lower(text: str) -> str:
    return _fold(text)


def _valid(y: int, m: int, d: int, latest: date | None) -> date | None:
    try:
        value = date(y, m, d)
    except ValueError:
        return None
    if value.year < 1995:
        return None
    if latest is not None and value > latest:
        return None
    return value


def parse_timestamp(value: str | None, latest: date | None = None) -> str | None:
    """ISO 8601 from a metadata value: a full timestamp when it has an offset, else a day."""
    if not value:
        return None
    text = value.strip()
    compact = _COMPACT_TS.match(text)
    if compact:
        # ISO 8601 basic format: 20180619T055000+0900
        y, mo, d, hh, mi, ss, tz = compact.groups()
        text = f"{y}-{mo}-{d}T{hh}:{mi}:{ss or '00'}{tz or ''}"
    m = _ISO_TS.match(text)
    if m:
        y, mo, d = (int(x) for x in m.group("date").split("-"))
        day = _valid(y, mo, d, latest)
        if day is None:
            return None
        tz = m.group("tz")
        if m.group("time") and tz:
            tm = m.group("time")
            if len(tm) == 5:
                tm += ":00"
            tz = "+00:00" if tz == "Z" else (tz if ":" in tz else f"{tz[:3]}:{tz[3:]}")
            return f"{day.isoformat()}T{tm}{tz}"
        return day.isoformat()
    if re.fullmatch(r"\d{10}(\d{3})?", text):
        # Unix epoch seconds (or milliseconds); only sane in UTC.
        seconds = int(text[:10])
        stamp = datetime.fromtimestamp(seconds, tz=UTC)
        if _valid(stamp.year, stamp.month, stamp.day, latest) is None:
            return None
        return stamp.isoformat()
    parsed = parsedate_tz(text)
    if parsed is not None and parsed[0] >= 1995:
        y, mo, d, hh, mi, ss, offset = *parsed[:6], parsed[9]
        day = _valid(y, mo, d, latest)
        if day is None:
            return None
        if offset is None:
            return day.isoformat()
        tz = timezone(timedelta(seconds=offset))
        return datetime(y, mo, d, hh, mi, ss, tzinfo=tz).isoformat()
    found = find_dates(text, latest=latest)
    return found[0][1].isoformat() if found else None


def find_dates(text: str, latest: date | None = None,
               month_first: bool = False) -> list[tuple[int, date]]:
    """Every date written in ``text``, as (position, day), in order of appearance.

    "8/10/2022" is read day first unless ``month_first`` (a US page); a part above 12
    settles it either way.
    """
    folded = _ascii_lower(text) if not text.isascii() else text.lower()
    if len(folded) != len(text):
        folded = text.lower()
    if not _ANY_YEAR.search(folded):
        return []  # every pattern holds a year: most lines are settled by this one scan
    found: dict[int, date] = {}
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(folded):
            month = m.group("m")
            mo = int(month) if month.isdigit() else _MONTHS.get(month.rstrip(".").lower(), 0)
            d = int(m.group("d"))
            if pattern is _SLASH_DMY and d <= 12 and (mo > 12 or month_first):
                d, mo = mo, d  # month first ("8/10/2022" on a US page, "12/25/2021")
            day = _valid(int(m.group("y")), mo, d, latest)
            if day is not None and not any(abs(p - m.start()) < 4 for p in found):
                found[m.start()] = day
    return sorted(found.items())


def dateline(
    text: str, latest: date | None = None, *, update_counts: bool = True,
    today: date | None = None, month_first: bool = False,
) -> tuple[date | None, date | None]:
    """(published, updated) read from a page's own date lines ("Latest update : 2017-12-11").

    A line with an update cue gives the update date, a line with a publication cue (or
    none, when it is a bare date line) gives the publication date. Only short lines count:
    a date inside a sentence is news, not a dateline. A bare date equal to ``today`` is the
    site's header clock, not the article's date, and is ignored.
    """
    published: date | None = None
    updated: date | None = None
    bare: date | None = None
    update_first = False  # an update line came before any bare date line
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) > 60:
            # "April 17, 2015 -- Imagine being ...": a dateline opening the first paragraph.
            lead = find_dates(line[:40], latest=latest, month_first=month_first)
            if (lead and lead[0][0] < 3 and bare is None and lead[0][1] != today
                    and _DATELINE_DASH.match(line[lead[0][0]:])):
                bare = lead[0][1]
            if len(line) > 120 or (lead and lead[0][0] < 3):
                continue
        if "(@" in line or "pic.twitter.com" in line:
            continue  # an embedded post's signature: "— Name (@handle) May 3, 2020"
        dates = find_dates(line, latest=latest, month_first=month_first)
        if not dates:
            continue
        first = dates[0][1]
        head = line[: dates[0][0] + 1]
        if _UPDATED_CUES.search(head):
            update_first = update_first or (updated is None and bare is None)
            updated = updated or first
            if len(dates) > 1 and _PUBLISHED_CUES.search(line):
                published = published or dates[1][1]
        elif _PUBLISHED_CUES.search(head):
            published = published or first
        elif len(line) <= 60 and bare is None and first != today:
            bare = first
    if published is None and update_counts:
        # A page that only says "Latest update" was first published that day, as far as
        # anyone reading it can tell; a bare date line near the top is the dateline.
        published = (updated or bare) if update_first else (bare or updated)
    return published or bare, updated


def is_date_line(line: str) -> bool:
    """True for a short line that only says when the story was published or updated
    ("posted on April 21, 2015, at 11:29 a.m.", "Updated 9.45pm, 3 May 2021")."""
    if len(line) > 80 or not (_PUBLISHED_CUES.search(line) or _UPDATED_CUES.search(line)):
        return False
    found = find_dates(line)
    return bool(found) and found[0][0] < 40


def url_date(url: str | None, latest: date | None = None) -> date | None:
    """The date in a URL path (/2019/05/07/slug, -20161013, /2015/08/150803-slug), if full."""
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]+", "", url.split("#")[0], flags=re.I)
    for pattern in (_URL_DATE, _URL_YYMMDD, _URL_COMPACT):
        for m in pattern.finditer(path if pattern is _URL_COMPACT else path.split("?")[0]):
            if m.group("d"):
                day = _valid(int(m.group("y")), int(m.group("m")), int(m.group("d")), latest)
                if day is not None:
                    return day
    return None


_DAY_FIRST_COUNTRIES = frozenset(
    "gb uk au nz ie in za sg pk ng ke gh my ph lk bd mt cy jm tt zw zm ug tz hk".split())


def month_first(locale: str | None, url: str | None) -> bool:
    """True for a page that writes numeric dates month first (American English)."""
    loc = (locale or "").lower().replace("_", "-")
    lang, _, country = loc.partition("-")
    if lang and lang != "en":
        return False
    if country:
        return country == "us"
    host = re.sub(r"^[a-z]+://", "", (url or "").lower()).split("/")[0].split(":")[0]
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    return tld in ("com", "org", "net", "us", "gov", "edu", "mil", "news")
