"""All configuration, read from ``NEWSBOT_*`` environment variables (and ``.env``).

One class, built once in ``main()`` and passed down; nothing reads the environment
anywhere else. Every field is listed in the README's settings table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot/newsbot; summary-card bot)"


def _split_list(value: object) -> object:
    """Accept ``a,b,c`` (as people write it in .env) as well as a JSON list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    "not a JSON list; write the values comma-separated (a,b) "
                    'or as a JSON list (["a", "b"])'
                ) from None
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/newsbot`` on Linux), whatever the
    working directory: a bot started from elsewhere finds the same store."""
    from platformdirs import user_data_path

    return user_data_path("newsbot", appauthor=False)


class Settings(BaseSettings):
    """Every setting of the bot; see the README table for meanings and defaults."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # An empty value (``NEWSBOT_DISCORD_SHARDS=``, what uncommenting a line of
        # .env.example gives) means unset, not "an empty token" or "not a number".
        env_ignore_empty=True,
    )

    # --- storage -------------------------------------------------------------------
    redis_url: str | None = None
    # The URL names one node of a Redis Cluster: every store, stream and script goes
    # through redis.asyncio.cluster.RedisCluster (also chosen by a redis+cluster:// URL).
    redis_cluster: bool = False
    # Replicas a post's done-marker and a link's delivery entries must reach (WAIT) before
    # their stream entry is acknowledged, on servers that have replicas (0: never wait);
    # how long to wait for them before going on (logged).
    redis_wait_replicas: int = Field(1, ge=0)
    redis_wait_timeout_ms: int = Field(100, ge=1)
    data_dir: Path = Field(default_factory=default_data_dir)

    # --- fetching ------------------------------------------------------------------
    fetch_timeout: float = Field(10.0, gt=0)
    fetch_connect_timeout: float = Field(5.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)
    fetch_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    user_agent: str = USER_AGENT

    # --- parsing (in worker processes) --------------------------------------------
    parse_timeout_s: float = Field(5.0, gt=0)
    parse_max_memory_mb: int = Field(1024, ge=128)
    # Processes parsing pipeline pages; unset: one per CPU, at most one per worker.
    parse_workers: int | None = Field(None, ge=1)

    # --- subscriptions and matching -------------------------------------------------
    max_subscriptions_per_user: int = Field(50, gt=0)
    max_subscriptions_per_channel: int = Field(200, gt=0)
    # A term only found in the body (not headline, summary, lead or topics) must occur
    # at least this many times to count as what the article is about.
    match_min_body_mentions: int = Field(2, ge=1)

    # --- HTTP server and ingest -----------------------------------------------------
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    ingest_token: SecretStr | None = None
    # Where people reach the bot's HTTP server (the panel's sign-in links start with it);
    # unset: the address the server listens on.
    public_url: str | None = None
    # Signs the panel's session cookies; unset: generated once and kept in the data dir.
    secret_key: SecretStr | None = None

    # --- pipeline -------------------------------------------------------------------
    workers: int = Field(2, ge=1)
    # Cap of each work stream (links, each platform's deliveries). Work is never trimmed:
    # links are refused at the cap, a fan-out waits for room.
    stream_maxlen: int = Field(100_000, gt=0)
    # The dead-letter stream keeps about this many records (the oldest go first).
    dead_letter_maxlen: int = Field(100_000, gt=0)
    # A fan-out waits this long for room in a full delivery stream, then dead-letters the rest.
    delivery_backlog_wait_s: float = Field(300.0, gt=0)
    # How long an article's card is kept for its deliveries (they may wait in the backlog).
    card_ttl_s: int = Field(2 * 24 * 3600, ge=600)
    dedupe_ttl_s: int = Field(7 * 24 * 3600, gt=0)
    delivery_max_attempts: int = Field(8, ge=1)
    # An entry idle this long in a dead consumer's pending list is claimed by another;
    # also the lease on an (article, destination) post while it is being sent.
    delivery_lease_s: float = Field(30.0, gt=0)
    delivery_backoff_base_s: float = Field(0.5, gt=0)
    delivery_backoff_max_s: float = Field(60.0, gt=0)
    # 429 answers retried before giving up (they do not count as failed attempts).
    delivery_max_rate_limited: int = Field(50, ge=1)
    delivery_concurrency: int = Field(256, ge=1)
    # A stream consumer idle this long with nothing pending belongs to a dead process and
    # is removed from its group (XGROUP DELCONSUMER).
    consumer_forget_after_s: float = Field(3600.0, ge=1.0)
    # Delivery streams per platform: on a cluster, spread over the primaries (one or two
    # per primary); a sender reads each. Change it only with empty delivery streams.
    delivery_shards: int = Field(1, ge=1, le=64)
    # Connections of the pipeline's Redis pool; more concurrent commands wait for one.
    redis_max_connections: int = Field(64, ge=4)
    worker_concurrency: int = Field(8, ge=1)

    # --- rate budgets (messages per period; 0 = no budget) --------------------------
    discord_channel_rate: int = Field(5, ge=0)
    discord_channel_period_s: float = Field(5.0, gt=0)
    # Discord documents 50 requests/s per bot for all its REST calls; 45 leaves a tenth
    # for the calls this budget does not see (opening DM channels, discord.py's own).
    discord_global_rate: int = Field(45, ge=0)
    discord_global_period_s: float = Field(1.0, gt=0)
    slack_channel_rate: int = Field(1, ge=0)
    slack_channel_period_s: float = Field(1.0, gt=0)
    slack_global_rate: int = Field(0, ge=0)
    slack_global_period_s: float = Field(1.0, gt=0)
    # Added to every window: how much later than its record a request may reach the
    # platform (a slow one is re-recorded when its answer comes; see pipeline/ratelimit).
    rate_margin_s: float = Field(0.01, ge=0)

    # --- feeds and digests ----------------------------------------------------------
    feed_interval_s: int = Field(600, ge=60)
    # Longest wait between polls (a feed's ttl or Cache-Control may ask for more).
    feed_max_interval_s: int = Field(6 * 3600, ge=60)
    # A feed failing for this long is disabled and its channels are told.
    feed_disable_after_s: int = Field(24 * 3600, ge=60)
    feed_concurrency: int = Field(64, ge=1)
    max_feeds_per_channel: int = Field(50, ge=1)
    digest_hour: int = Field(8, ge=0, le=23)
    digest_timezone: str = "UTC"

    # --- Discord --------------------------------------------------------------------
    discord_token: SecretStr | None = None
    discord_shards: int | None = Field(None, ge=1)
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    discord_dev_guild: int | None = None
    discord_read_messages: bool = False

    # --- Slack ----------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    slack_managers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- logging --------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    _split = field_validator("fetch_allow_hosts", "slack_managers", mode="before")(
        _split_list
    )

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _check_allow_hosts(cls, value: list[str]) -> list[str]:
        from bot.fetch import parse_allow_entry

        for entry in value:
            parse_allow_entry(entry)  # a ValueError names the entry
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        schemes = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
        if not value.startswith(schemes):
            raise ValueError("must start with redis://, rediss://, unix:// or redis+cluster://")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.strip().rstrip("/")

    @field_validator("data_dir")
    @classmethod
    def _check_data_dir(cls, value: Path) -> Path:
        path = value.expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file, not a directory")
        return path.absolute()

    @field_validator("digest_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use e.g. UTC or Europe/Paris)"
            ) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @model_validator(mode="after")
    def _check_slack(self) -> Settings:
        if self.slack_bot_token and not (self.slack_app_token or self.slack_signing_secret):
            raise ValueError(
                "NEWSBOT_SLACK_BOT_TOKEN needs NEWSBOT_SLACK_APP_TOKEN (Socket Mode) "
                "or NEWSBOT_SLACK_SIGNING_SECRET (HTTP mode)"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ()
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if not loc:  # a rule across several settings: its message names them
            raise ConfigError(f"bad settings: {message}") from None
        raise ConfigError(f"bad setting NEWSBOT_{str(loc[0]).upper()}: {message}") from None
