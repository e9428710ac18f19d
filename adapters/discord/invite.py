"""``newsbot discord invite``: the OAuth2 URL that adds the bot with exactly what it needs."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

from bot.errors import ConfigError
from bot.settings import Settings

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")

# Permission bits (https://discord.com/developers/docs/topics/permissions).
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
SEND_MESSAGES_IN_THREADS = 1 << 38
PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | READ_MESSAGE_HISTORY
)


def invite_url(application_id: int) -> str:
    """The bot's invite link: scopes ``bot applications.commands`` and ``PERMISSIONS``."""
    query = urlencode(
        {"client_id": str(application_id), "scope": " ".join(SCOPES),
         "permissions": str(PERMISSIONS)}
    )
    return f"{AUTHORIZE_URL}?{query}"


def application_id_from_token(token: str) -> int:
    """The bot's id, read from the token's first part (base64 of the id); no network."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode()
        if decoded.isdigit():
            return int(decoded)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ConfigError(
        "NEWSBOT_DISCORD_TOKEN does not look like a bot token; pass --application-id"
    )


def run(application_id: int | None, settings: Settings) -> int:
    """``newsbot discord invite``: print the invite URL (id given, or read from the token)."""
    if application_id is None:
        token = settings.discord_token
        if token is None:
            raise ConfigError("set NEWSBOT_DISCORD_TOKEN or pass --application-id")
        application_id = application_id_from_token(token.get_secret_value())
    print(invite_url(application_id))
    return 0
