"""Turning a match into per-destination work costs what is posted, not what matched."""

from __future__ import annotations

import time
from typing import Any

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


class _Counting(MatchIndex):
    """Counts the per-expression detail (terms and score) worked out for a result."""

    def __init__(self) -> None:
        super().__init__()
        self.detailed = 0

    def _hits_for(self, eid: int, ev: Any) -> Any:
        self.detailed += 1
        return super()._hits_for(eid, ev)


def test_detail_is_worked_out_only_for_what_is_posted() -> None:
    """One tenant's post among 400 tenants' distinct topics: one expression's detail."""
    index = _Counting()
    index.build(
        Subscription(id=str(t), tenant=f"discord:t{t}", owner="u",
                     destination=Destination(f"discord:t{t}", "channel", "c"),
                     expression=f"syria -zzveto{t}")  # a distinct expression per tenant
        for t in range(400)
    )
    result = index.match(CARD, time.time())
    assert len(result) == 400
    (only,) = result.for_tenants({"discord:t7"})
    assert only.destination.tenant == "discord:t7"
    assert [s.subscription_id for s in only.subscriptions] == ["7"]
    assert index.detailed == 1
    assert len(result.for_tenants({"discord:nobody"})) == 0
    assert len(list(result)) == 400 and index.detailed == 401
