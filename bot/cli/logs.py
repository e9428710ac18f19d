"""Logging setup: plain text or one JSON object per line, with secrets masked out."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.redis_server import url_password
from bot.settings import Settings

# Extra fields a log call may pass (``extra={"tenant": ...}``) that belong in JSON lines.
_FIELDS = ("tenant", "destination", "article", "platform", "job", "feed", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and known extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class SecretFilter(logging.Filter):
    """Replaces every configured secret in a record's final message with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings (tokens, signing secret, ingest token)."""
    values = [
        settings.discord_token, settings.slack_bot_token, settings.slack_app_token,
        settings.slack_signing_secret, settings.ingest_token,
    ]
    out = [v.get_secret_value() for v in values if v is not None]
    password = url_password(settings.redis_url) if settings.redis_url else None
    if password:
        out.append(password)
    return out


def configure_logging(settings: Settings) -> None:
    """Set up the root logger once, from the settings (level, text or JSON, masking)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets_of(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Libraries that log request details (URLs with tokens, headers) stay at WARNING.
    for noisy in ("aiohttp.access", "discord.http", "discord.gateway", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class OwnRecordsFilter(logging.Filter):
    """Lets through the bot's own records, and other libraries' from ERROR up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.name.split(".")[0] in (
            "bot", "adapters", "__main__")


def quiet_libraries() -> None:
    """For one-shot commands: a library's warnings ("discarding data: None") are no news to
    someone who reads the command's own one-line error."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(OwnRecordsFilter())
