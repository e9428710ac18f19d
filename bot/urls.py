"""URL hygiene: tracking parameters out, AMP and mobile variants folded, site domains."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from yarl import URL

from bot.errors import InvalidURLError

# Query parameters that only say where a click came from; they never change the page.
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ocid", "smid",
        "smtyp", "icid", "xtor", "spm", "sr_share", "share", "ito", "wt_mc", "wt.mc_id",
        "cmp", "ncid", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname",
        "ns_fee", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
        "at_custom4", "s_cid", "soc_src", "soc_trk", "mbid", "rss", "feedtype",
        "__twitter_impression", "amp", "outputtype", "utm",
    }
)
_TRACKING_PREFIXES = ("utm_", "ga_", "hsa_", "pk_", "mtm_", "vero_", "oly_", "at_")
_AMP_PATH = re.compile(r"(/amp/?$|/amp(?=/)|\.amp(?=\.html?$)|\.amp$|/amp\.html?$)", re.I)
_MOBILE_HOST = re.compile(r"^(www\d*|m|mobile|amp)\.", re.I)
_NOT_A_LINK = "That doesn't look like a web link."
_SPACES = "A web link can't contain spaces or control characters."
# Another link after a space or a list separator: several links in one string.
_SECOND_LINK = re.compile(r"[\s,;|<>]https?://", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s")
# A label of an (IDNA-encoded) host name; "_" is common in real subdomains.
_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]+")
# Second-level labels under which registrations happen (co.uk, com.au, ...).
_SLD = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gob"})


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only carry campaign or click tracking."""
    low = name.lower()
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def url_problem(url: str, *, strict: bool = True) -> str | None:
    """Why ``url`` is not one http(s) link we could fetch, in a sentence (None if it is).

    Refused: other schemes, several links in one string, control characters, a host name
    no resolver would take (an empty or over-long label: "a..b"), a port outside 1-65535.
    ``strict`` also refuses spaces anywhere (a link typed or posted by someone); without
    it a space in the path is left alone (feeds sometimes have them).
    """
    url = (url or "").strip()
    if _SECOND_LINK.search(url):
        return "Send one link at a time."
    if _CONTROL.search(url):
        return _SPACES
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return _NOT_A_LINK
    if parts.scheme.lower() not in ("http", "https") or not host:
        return _NOT_A_LINK
    if strict and _SPACE.search(url):
        return _SPACES
    if not _valid_host(host):
        return "That link's host name is not valid."
    try:
        port = parts.port  # digits in 0-65535, or None
    except ValueError:
        port = 0
    if port == 0:
        return "That link's port is not valid (it must be 1 to 65535)."
    return None


def _valid_host(host: str) -> bool:
    """A host name every resolver accepts (labels of 1-63 characters), or an IP address."""
    if ":" in host:  # only an IPv6 literal may hold colons
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    if _SPACE.search(host):
        return False
    if not host.isascii():
        try:  # as the fetcher will send it (yarl: IDNA 2008, then 2003)
            host = URL.build(scheme="http", host=host).raw_host or ""
        except (ValueError, UnicodeError):
            return False
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    return len(name) <= 253 and all(
        0 < len(label) <= 63 and _HOST_LABEL.fullmatch(label) for label in labels)


def check_web_url(url: str) -> str:
    """``url`` stripped, if it is one http(s) link we could fetch; else InvalidURLError."""
    problem = url_problem(url)
    if problem is not None:
        raise InvalidURLError(problem, (url or "")[:200])
    return url.strip()


def clean_url(url: str, base: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters or fragment, else None."""
    url = (url or "").strip()
    if not url:
        return None
    if base:
        url = urljoin(base, url)
    if url_problem(url, strict=False) is not None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not is_tracking_param(k)]
    netloc = parts.netloc.lower()
    for scheme, port in (("http", ":80"), ("https", ":443")):
        if parts.scheme.lower() == scheme and netloc.endswith(port):
            netloc = netloc[: -len(port)]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def canonical_key(url: str) -> str:
    """A key equal for the same article's URL variants (tracking, AMP, mobile, www, http)."""
    cleaned = clean_url(url) or url
    parts = urlsplit(cleaned)
    host = _MOBILE_HOST.sub("", (parts.hostname or "").lower())
    path = _AMP_PATH.sub("", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = "&".join(sorted(q for q in parts.query.split("&") if q))
    return f"{host}{path}" + (f"?{query}" if query else "")


def registered_domain(url_or_host: str) -> str | None:
    """The registrable domain ("france24.com" from "https://www.france24.com/x")."""
    host = url_or_host
    if "/" in url_or_host:
        try:
            host = urlsplit(url_or_host).hostname or ""
        except ValueError:
            return None
    host = host.lower().strip(".")
    if not host or re.fullmatch(r"[\d.:]+", host):
        return host or None
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SLD and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
