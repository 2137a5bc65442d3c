"""The Yahoo provider's cached entries and outages: a malformed entry is a miss; an outage
is retryable and leaves nothing in the cache.

Yahoo is the stand-in of :mod:`tests.support.fake_yfinance` (yfinance's own frame
shapes; with ``offline`` set, what yfinance answers when it cannot reach Yahoo).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from stock_agent.errors import ERROR_STATUS, AgentError
from stock_agent.market_data import DayCache, MarketDataError, UnknownTickerError
from stock_agent.tools import gather_stock_data

from tests.support.fake_yfinance import AS_OF, World, make_provider

NOW = 1_000_000.0


def _cache(tmp_path: Path) -> DayCache:
    return DayCache(tmp_path / "cache", ttl_seconds=600.0, clock=lambda: NOW)


def _plant(cache: DayCache, symbol: str, kind: str, value: Any) -> None:
    path = cache.path(symbol, kind, AS_OF)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps({"stored_at": NOW, "value": value}))
    path.chmod(0o600)


# ---------------------------------------------------------------------------
# shape: an entry that is not what that kind of answer looks like is a miss
# ---------------------------------------------------------------------------

GOOD_ROWS = [["2025-09-04", 101.5, 10], ["2025-09-05", 102.0, 11]]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("history", [["2025-09-04", 101.5], ["2025-09-05", 102.0, 11]]),  # short row
        ("history", {"2025-09-05": 102.0}),  # wrong container
        ("history", [["2025-09-04", -101.5, 10], ["2025-09-05", 102.0, 11]]),  # negative close
        ("history", [["2025-09-04", 0, 10], ["2025-09-05", 102.0, 11]]),  # zero close
        ("history", [["2025-09-04", "101", 10], ["2025-09-05", 102.0, 11]]),
        ("history", [["2025-09-04", True, 10], ["2025-09-05", 102.0, 11]]),
        ("history", [["2025-09-04", 101.5, -1], ["2025-09-05", 102.0, 11]]),
        ("history", [["2025-09-04", 101.5, 1.5], ["2025-09-05", 102.0, 11]]),
        ("history", [["2025-09-05", 102.0, 11], ["2025-09-04", 101.5, 10]]),  # out of order
        ("history", [["2025-09-04", 101.5, 10], ["2025-09-08", 102.0, 11]]),  # after as-of
        ("history", [["yesterday", 101.5, 10], ["2025-09-05", 102.0, 11]]),
        ("history", "rows"),
        ("info", ["longName", "Poisoned Holdings"]),
        ("info", {"longName": "Poisoned Holdings", "officers": [{"name": "x"}]}),
        ("news", {"title": "x"}),
        ("news", ["headline"]),
        ("statements", ["Total Revenue"]),
        ("statements", {"Total Revenue": [1.0]}),
        ("statements", {"Total Revenue": {"FY2024": 1.0}}),
        ("statements", {"Total Revenue": {"2024-09-30": "lots"}}),
    ],
)
def test_a_malformed_entry_is_a_miss_and_yahoo_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str, value: Any
) -> None:
    cache = _cache(tmp_path)
    _plant(cache, "AAPL", kind, value)
    world = World()
    with caplog.at_level(logging.WARNING, logger="stock_agent"):
        snap = make_provider(world, tmp_path, cache=cache)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.company_name == "Apple Inc." and len(snap.prices) == 262
    assert ("AAPL", kind) in world.calls  # fetched, not served
    assert f"ignoring malformed cached {kind} of AAPL" in caplog.text


def test_a_well_formed_entry_is_served(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    _plant(cache, "AAPL", "history", GOOD_ROWS)
    world = World()
    snap = make_provider(world, tmp_path, cache=cache)[0].snapshot("AAPL", as_of=AS_OF)
    assert [p.close for p in snap.prices] == [101.5, 102.0]
    assert ("AAPL", "history") not in world.calls


# ---------------------------------------------------------------------------
# outage: retryable, and never cached
# ---------------------------------------------------------------------------


def test_an_outage_is_market_data_unavailable_and_nothing_is_cached(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    world = World()
    world.offline = True
    provider, _ = make_provider(world, tmp_path, cache=cache)
    with pytest.raises(MarketDataError) as info:
        provider.snapshot("AAPL", as_of=AS_OF)
    assert info.value.retryable and "unreachable" in info.value.message
    assert ("SPY", "history") in world.calls  # the benchmark told the outage apart
    with pytest.raises(AgentError) as agent_error:
        gather_stock_data("AAPL", provider=provider, as_of=AS_OF)
    assert agent_error.value.code == "market_data_unavailable"
    assert agent_error.value.http_status == ERROR_STATUS["market_data_unavailable"] == 503
    assert not any(p.is_file() for p in cache.directory.rglob("*"))
    # The network is back: the next request asks Yahoo and succeeds.
    world.offline = False
    assert provider.snapshot("AAPL", as_of=AS_OF).company_name == "Apple Inc."


def test_an_unknown_ticker_is_still_unknown_while_yahoo_answers(tmp_path: Path) -> None:
    world = World()
    provider, _ = make_provider(world, tmp_path)
    with pytest.raises(UnknownTickerError):
        provider.snapshot("ZZZZ", as_of=AS_OF)
    with pytest.raises(AgentError) as info:
        gather_stock_data("ZZZZ", provider=provider, as_of=AS_OF)
    assert info.value.code == "unknown_ticker"
    # The benchmark itself without prices can only be an outage.
    world.offline = True
    with pytest.raises(MarketDataError, match="unreachable"):
        make_provider(world, tmp_path / "empty")[0].snapshot("SPY", as_of=AS_OF)
