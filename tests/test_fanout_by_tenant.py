"""Turning a match into per-destination work costs what is posted, not what matched."""

from __future__ import annotations

import time

from bot.card import Card
from bot.chat.contract import Destination, Subscription
from bot.subscriptions.matcher import MatchIndex

CARD = Card(headline="Syria news today", body="Syria is in the news. Syria again, Syria.")


def _index(tenants: int, per_tenant: int) -> MatchIndex:
    index = MatchIndex()
    index.build(
        Subscription(id=str(i + 1), tenant=f"discord:t{t}", owner=f"u{i}",
                     destination=Destination(f"discord:t{t}", "channel", f"c{i}"),
                     expression="syria" if i % 3 else "syria -football")
        for t in range(tenants) for i in range(per_tenant)
    )
    return index


def test_for_tenants_is_the_filtered_result() -> None:
    index = _index(5, 30)
    now = time.time()
    everything = list(index.match(CARD, now))
    assert len(everything) == 150
    wanted = {"discord:t1", "discord:t3"}
    expected = sorted((str(m.destination), [s.subscription_id for s in m.subscriptions])
                      for m in everything if m.destination.tenant in wanted)
    part = index.match(CARD, now).for_tenants(wanted)
    assert len(part) == 60
    got = sorted((str(m.destination), [s.subscription_id for s in m.subscriptions])
                 for m in part)
    assert got == expected


def test_other_tenants_destinations_are_never_built() -> None:
    index = _index(20, 200)
    result = index.match(CARD, time.time())
    assert len(result) == 4000
    part = result.for_tenants({"discord:t7"})
    assert [m.destination.tenant for m in part] == ["discord:t7"] * 200
    # Destination objects are made (and cached) only for what was walked.
    assert len(index._dest_obj) == 200
