"""Every Redis key name and prefix newsbot uses, in one place.

Per-tenant keys carry a hash tag ``{t:<tenant>}`` so that all of one tenant's keys
share a Redis Cluster slot and multi-key writes (Lua, MULTI) stay atomic there.
Cross-tenant keys (the tenant registry, the change stream) cannot share that slot,
so they are written separately, after the tenant-local atomic write.
"""

from __future__ import annotations

PREFIX = "newsbot"

# Global (cross-tenant) keys.
TENANTS = f"{PREFIX}:tenants"
"""Set of every tenant id that has (or had) subscriptions; lets loaders avoid SCAN."""

SUB_CHANGES = f"{PREFIX}:subs:changes"
"""Stream of subscription changes (``tenant``, ``id``) that matchers follow."""

SUB_CHANGES_MAXLEN = 100_000
"""Approximate cap on the change stream; a reader that falls behind reloads fully."""


def tenant_tag(tenant: str) -> str:
    """The hash-tagged prefix shared by all of one tenant's keys."""
    return f"{PREFIX}:{{t:{tenant}}}"


def sub_key(tenant: str, sub_id: str) -> str:
    """Hash holding one subscription's fields."""
    return f"{tenant_tag(tenant)}:sub:{sub_id}"


def sub_key_prefix(tenant: str) -> str:
    """Prefix of the subscription hashes of a tenant (Lua builds keys from it)."""
    return f"{tenant_tag(tenant)}:sub:"


def user_key(tenant: str, user: str) -> str:
    """Set of the subscription ids a user owns."""
    return f"{tenant_tag(tenant)}:user:{user}"


def dest_key(tenant: str, destination: str) -> str:
    """Set of the subscription ids delivering to one destination (channel or DM)."""
    return f"{tenant_tag(tenant)}:dest:{destination}"


def tenant_subs_key(tenant: str) -> str:
    """Set of every subscription id of a tenant (the per-tenant index)."""
    return f"{tenant_tag(tenant)}:subs"


def tenant_seq_key(tenant: str) -> str:
    """Counter that hands out subscription ids within a tenant."""
    return f"{tenant_tag(tenant)}:seq"
