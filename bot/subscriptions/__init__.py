"""The subscriptions wing: topics people follow, kept in Redis, and matching cards to them.

Face: the store (``SubscriptionStore``), the topic grammar (``parse_topic``), the
in-process match index (``Matcher``, ``MatchIndex``) and per-tenant settings
(``TenantSettings``); the last day's cards in short (``record_recent``,
``recent_matches``) for the subscribe-time "matches nothing lately" note.
"""

from .matcher import (
    STRONG,
    DestinationMatch,
    Explanation,
    Matcher,
    MatchIndex,
    SubscriptionMatch,
    card_fields,
)
from .normaliser import warm_up
from .recent import recent_matches, record_recent
from .store import Change, SubscriptionStore, stored_fields
from .tenants import TenantSettings
from .topics import (
    MAX_EXPRESSION_CHARS,
    Phrase,
    TopicExpression,
    normalise,
    normalised_text,
    parse_topic,
    phrase_key,
    weak_topic,
)

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "STRONG",
    "Change",
    "DestinationMatch",
    "Explanation",
    "MatchIndex",
    "Matcher",
    "Phrase",
    "SubscriptionMatch",
    "SubscriptionStore",
    "TenantSettings",
    "TopicExpression",
    "card_fields",
    "normalise",
    "normalised_text",
    "parse_topic",
    "phrase_key",
    "recent_matches",
    "record_recent",
    "stored_fields",
    "warm_up",
    "weak_topic",
]
