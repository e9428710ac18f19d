"""Sign-in from chat: one-time links, signed session cookies and CSRF tokens.

``/news dashboard`` asks ``LoginTokens.issue`` for a link: a random token whose hash keys
the grant in Redis (``SET NX EX``: ten minutes), so a dump of Redis holds no usable link.
Opening the link shows a button; pressing it takes the grant with ``GETDEL`` (once only)
and sets a session cookie signed with itsdangerous (HttpOnly, SameSite=Strict, 12 h).
Each session has a random nonce; its CSRF token is an HMAC of that nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot import keys

log = logging.getLogger(__name__)

LOGIN_TTL_S = 10 * 60
SESSION_TTL_S = 12 * 3600
COOKIE = "newsbot_panel"
FLASH_COOKIE = "newsbot_flash"
FLASH_TTL_S = 120
SECRET_FILE = "panel-secret.key"


@dataclass(frozen=True, slots=True)
class Grant:
    """Who a sign-in link (and then a session) is for: one user of one workspace."""

    tenant: str
    user: str
    can_manage: bool

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps({"t": self.tenant, "u": self.user, "m": self.can_manage})

    @classmethod
    def from_json(cls, text: str) -> Grant:
        """Inverse of ``to_json``."""
        data = json.loads(text)
        return cls(str(data["t"]), str(data["u"]), bool(data["m"]))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginTokens:
    """One-time sign-in tokens in Redis: issued by the chat command, taken by the panel."""

    def __init__(self, redis: aioredis.Redis, ttl_s: int = LOGIN_TTL_S) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def issue(self, grant: Grant) -> str:
        """A new token for ``grant``, valid ``ttl_s`` seconds and usable once."""
        while True:
            token = secrets.token_urlsafe(32)
            stored = await self.redis.set(
                keys.panel_login_key(_hash(token)), grant.to_json(), nx=True, ex=self.ttl_s)
            if stored:
                return token

    async def peek(self, token: str) -> Grant | None:
        """The grant a token carries, without using it up (None: expired, used or forged)."""
        if not _plausible(token):
            return None
        raw = await self.redis.get(keys.panel_login_key(_hash(token)))
        return Grant.from_json(str(raw)) if raw is not None else None

    async def take(self, token: str) -> Grant | None:
        """Use a token up: its grant, or None if it expired, was used or never existed."""
        if not _plausible(token):
            return None
        raw = await self.redis.getdel(keys.panel_login_key(_hash(token)))
        return Grant.from_json(str(raw)) if raw is not None else None


def _plausible(token: str) -> bool:
    return 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in panel user: the grant and the nonce the CSRF token derives from."""

    grant: Grant
    nonce: str


class OpenSessions:
    """The sessions not signed out yet, in Redis: a signed cookie alone is not enough."""

    def __init__(self, redis: aioredis.Redis, ttl_s: int = SESSION_TTL_S) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def add(self, session: Session) -> None:
        """Record a new session for its lifetime."""
        await self.redis.set(keys.panel_session_key(session.nonce), session.grant.tenant,
                             ex=self.ttl_s)

    async def alive(self, session: Session) -> bool:
        """Whether the session is still open (and for the tenant its cookie names)."""
        tenant = await self.redis.get(keys.panel_session_key(session.nonce))
        return tenant is not None and str(tenant) == session.grant.tenant

    async def end(self, session: Session) -> None:
        """Sign out: the cookie is worthless from now on."""
        await self.redis.delete(keys.panel_session_key(session.nonce))


class Sessions:
    """Signs and reads session cookies; makes and checks CSRF tokens."""

    def __init__(self, secret: str, max_age_s: int = SESSION_TTL_S) -> None:
        self._secret = secret.encode("utf-8")
        self._signer = URLSafeTimedSerializer(secret, salt="newsbot-panel-session")
        self._flash = URLSafeTimedSerializer(secret, salt="newsbot-panel-flash")
        self.max_age_s = max_age_s

    def flash(self, text: str) -> str:
        """A cookie value carrying one notice to the next page (after a redirect)."""
        return self._flash.dumps(text[:500])

    def read_flash(self, value: str | None) -> str:
        """The notice a flash cookie carries ("" when none, forged or stale)."""
        if not value:
            return ""
        try:
            return str(self._flash.loads(value, max_age=FLASH_TTL_S))
        except (BadSignature, ValueError, TypeError):
            return ""

    def open(self, grant: Grant) -> tuple[Session, str]:
        """A new session for ``grant`` and its cookie value."""
        session = Session(grant, secrets.token_urlsafe(16))
        value = self._signer.dumps({"g": grant.to_json(), "n": session.nonce})
        return session, value

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries (None: missing, forged or older than 12 h)."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age_s)
            return Session(Grant.from_json(data["g"]), str(data["n"]))
        except (BadSignature, ValueError, KeyError, TypeError):
            return None

    def csrf_token(self, session: Session) -> str:
        """The CSRF token of a session (every form carries it)."""
        return hmac.new(self._secret, b"csrf:" + session.nonce.encode(), "sha256").hexdigest()

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        """Whether ``given`` is this session's CSRF token."""
        return bool(given) and hmac.compare_digest(self.csrf_token(session), str(given))


def load_secret(configured: str | None, data_dir: Path) -> str:
    """The signing secret: the configured one, else one generated once in the data dir."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Created with owner-only rights and never overwritten (two processes: the first wins).
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    log.info("panel secret generated in the data dir (set NEWSBOT_SECRET_KEY to choose one)")
    return secret
