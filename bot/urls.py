"""URL hygiene: tracking parameters out, AMP and mobile variants folded, site domains."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

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
# Second-level labels under which registrations happen (co.uk, com.au, ...).
_SLD = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gob"})


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only carry campaign or click tracking."""
    low = name.lower()
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def clean_url(url: str, base: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters or fragment, else None."""
    url = (url or "").strip()
    if not url:
        return None
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
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
