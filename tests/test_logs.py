"""Logging: JSON lines carry the post fields, and secrets never reach the output."""

from __future__ import annotations

import io
import json
import logging

from pydantic import SecretStr

from bot.cli.logs import JsonFormatter, SecretFilter, secrets_of
from bot.settings import Settings


def _capture(formatter: logging.Formatter, flt: logging.Filter | None = None) -> tuple[
        logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    if flt is not None:
        handler.addFilter(flt)
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_carry_post_fields() -> None:
    logger, stream = _capture(JsonFormatter())
    logger.info("posted %s", "a1", extra={"tenant": "discord:1", "destination": "channel:9",
                                          "article": "a1"})
    data = json.loads(stream.getvalue())
    assert data["message"] == "posted a1"
    assert (data["tenant"], data["destination"], data["article"]) == (
        "discord:1", "channel:9", "a1")
    assert data["level"] == "info"


def test_secrets_are_masked_in_messages_and_arguments() -> None:
    settings = Settings(discord_token=SecretStr("discord-secret-token"),
                        ingest_token=SecretStr("ingest-secret"),
                        redis_url="redis://user:redis-password@localhost:6379/0")
    logger, stream = _capture(logging.Formatter("%(message)s"), SecretFilter(secrets_of(settings)))
    logger.info("token=%s url=%s", "discord-secret-token", settings.redis_url)
    logger.info("Bearer ingest-secret")
    out = stream.getvalue()
    for secret in ("discord-secret-token", "ingest-secret", "redis-password"):
        assert secret not in out
    assert out.count("***") == 3


def test_settings_repr_never_shows_secrets() -> None:
    settings = Settings(slack_bot_token=SecretStr("xoxb-abcdef"),
                        slack_signing_secret=SecretStr("sign-secret"))
    assert "xoxb-abcdef" not in repr(settings)
    assert "sign-secret" not in str(settings)


def test_bad_settings_are_one_readable_line() -> None:
    import pytest

    from bot.errors import ConfigError
    from bot.settings import load_settings

    cases = {
        "NEWSBOT_REDIS_URL": {"redis_url": "localhost:6379"},
        "NEWSBOT_DIGEST_TIMEZONE": {"digest_timezone": "Mars/Base"},
        "NEWSBOT_LOG_LEVEL": {"log_level": "loud"},
        "NEWSBOT_SLACK_SIGNING_SECRET": {"slack_bot_token": "xoxb-1"},
    }
    for name, overrides in cases.items():
        with pytest.raises(ConfigError) as info:
            load_settings(**overrides)
        assert name in info.value.user_message
        assert "\n" not in info.value.user_message
