"""The HTTP app on its own: auth, body validation, health and metrics (real Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bot import keys
from bot.httpserver import HttpServer, build_app
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from tests.pipeline_helpers import stream_entries

TOKEN = "s3cret"


@pytest.fixture
async def server(redis: aioredis.Redis) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"ok": True}

    async def health() -> dict[str, Any]:
        return {"ok": state["ok"]}

    metrics = Metrics()

    async def refresh() -> None:
        await metrics.refresh_queues(redis, [keys.INGEST_STREAM])

    app = build_app(ingest=Ingest(redis, metrics, maxlen=100), metrics=metrics, health=health,
                    refresh=refresh, token=SecretStr(TOKEN))
    http = HttpServer(app, "127.0.0.1", 0)
    port = await http.start()
    assert port > 0
    yield http.url, state
    await http.stop()


async def test_links_validation(server: tuple[str, dict[str, Any]],
                                redis: aioredis.Redis) -> None:
    url, _ = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cases: list[tuple[Any, dict[str, str], int]] = [
        ({"url": "https://example.com/a"}, {}, 401),
        ({"url": "https://example.com/a"}, {"Authorization": "Basic s3cret"}, 401),
        ([1, 2], auth, 400),
        ({"url": 5}, auth, 400),
        ({"url": "https://example.com/a", "tenant": 3}, auth, 400),
        ({"url": "javascript:alert(1)"}, auth, 400),
        ({"url": "https://example.com/a", "tenant": "slack:T1"}, auth, 202),
    ]
    async with aiohttp.ClientSession() as http:
        for body, headers, status in cases:
            async with http.post(url + "/v1/links", json=body, headers=headers) as resp:
                assert resp.status == status, (body, headers)
        async with http.post(url + "/v1/links", data="x" * 20_000, headers=auth) as resp:
            assert resp.status == 413
    [(_id, fields)] = await stream_entries(redis, keys.INGEST_STREAM)
    assert fields["tenant"] == "slack:T1" and fields["origin"] == "http"


async def test_health_and_metrics(server: tuple[str, dict[str, Any]]) -> None:
    url, state = server
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/healthz") as resp:
            assert resp.status == 200
        state["ok"] = False
        async with http.get(url + "/healthz") as resp:
            assert resp.status == 503
        async with http.get(url + "/metrics") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/plain"
            text = await resp.text()
    assert 'newsbot_queue_depth{stream="newsbot:{fd}:ingest"} 0.0' in text
