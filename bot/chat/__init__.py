"""The chat wing: how the core and the chat platforms talk, and the commands people type.

Face: the neutral contract (``contract.py``: ``Request``, ``Reply``, ``Post``,
``Destination``, ``Subscription``, the ``Adapter`` and ``PostFinder`` protocols, the delivery
errors and ``note_post_failure``) and the
command entry point (``handle``, ``CommandContext``).

The contract sits at the bottom of the core: every wing may use it, and it imports nothing
but ``bot.card`` and ``bot.errors``. The commands sit at the top (they use subscriptions and
feeds), so they are loaded only when asked for: importing the contract never pulls them in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .contract import (
    FORMATS,
    MODES,
    Adapter,
    CommandHandler,
    Destination,
    DestinationGoneError,
    DigestItem,
    HttpMountable,
    MessageGoneError,
    Mode,
    Persona,
    Post,
    PostError,
    PostFinder,
    PostFormat,
    RateLimitedError,
    Reply,
    Request,
    Subscription,
    SubscriptionRef,
    TransientPostError,
    format_of,
    is_role_id,
    note_post_failure,
    pings_everyone,
    role_id,
    split_args,
)

if TYPE_CHECKING:
    from .commands import HELP, CommandContext, handle, parse_command

_LAZY = {"HELP", "CommandContext", "handle", "parse_command"}

__all__ = [
    "FORMATS",
    "HELP",
    "MODES",
    "Adapter",
    "CommandContext",
    "CommandHandler",
    "Destination",
    "DestinationGoneError",
    "DigestItem",
    "HttpMountable",
    "MessageGoneError",
    "Mode",
    "Persona",
    "Post",
    "PostError",
    "PostFinder",
    "PostFormat",
    "RateLimitedError",
    "Reply",
    "Request",
    "Subscription",
    "SubscriptionRef",
    "TransientPostError",
    "format_of",
    "handle",
    "is_role_id",
    "note_post_failure",
    "parse_command",
    "pings_everyone",
    "role_id",
    "split_args",
]


def __getattr__(name: str) -> Any:
    """The command names, imported on first use (they sit above the wings that use the contract)."""
    if name in _LAZY:
        return getattr(importlib.import_module(".commands", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
