"""What the market-data cache may serve: only its user's own, fresh, well-formed entries.

Whatever the cache serves becomes a figure in a report, so each test plants
what an attacker or a broken disk would leave (an entry stamped in the future,
a folder another user created, a short history row, a FIFO) and checks that
the provider answers with Yahoo's data instead. Yahoo is the stand-in of
:mod:`tests.support.fake_yfinance` (yfinance's own frame shapes; no network).
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from stock_agent.errors import ERROR_STATUS, AgentError
from stock_agent.market_data import DayCache, MarketDataError, UnknownTickerError
from stock_agent.market_data import cache as cache_module
from stock_agent.tools import gather_stock_data

from tests.support.fake_yfinance import AS_OF, World, make_provider

NOW = 1_000_000.0
POISON_INFO = {"longName": "Poisoned Holdings", "sharesOutstanding": 1, "currency": "USD"}


def _cache(tmp_path: Path, *, ttl: float = 600.0) -> DayCache:
    return DayCache(tmp_path / "cache", ttl_seconds=ttl, clock=lambda: NOW)


def _plant(cache: DayCache, symbol: str, kind: str, value: Any, *, stored_at: float) -> Path:
    """Write an entry as the cache itself would, with the given stamp."""
    path = cache.path(symbol, kind, AS_OF)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps({"stored_at": stored_at, "value": value}))
    path.chmod(0o600)
    return path


def _poison(cache: DayCache, *, stored_at: float) -> None:
    rows = [["2025-09-04", 4242.42, 1], ["2025-09-05", 4242.42, 1]]
    _plant(cache, "AAPL", "history", rows, stored_at=stored_at)
    _plant(cache, "AAPL", "info", POISON_INFO, stored_at=stored_at)


# ---------------------------------------------------------------------------
# freshness: 0 <= age <= ttl
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored_at", "served"),
    [
        (NOW + 1, False),  # one second in the future: a miss, not an entry that never expires
        (NOW + 10 * 365 * 86400, False),
        (NOW, True),  # age 0
        (NOW - 600, True),  # age = ttl
        (NOW - 601, False),
        (math.nan, False),
    ],
)
def test_an_entry_is_served_only_between_zero_and_the_ttl_old(
    tmp_path: Path, stored_at: float, served: bool
) -> None:
    cache = _cache(tmp_path)
    _plant(cache, "AAPL", "info", {"a": 1}, stored_at=stored_at)
    assert (cache.get("AAPL", "info", AS_OF) is not None) is served


def test_a_planted_future_entry_does_not_make_the_report(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    _poison(cache, stored_at=NOW + 10 * 365 * 86400)
    provider, _ = make_provider(World(), tmp_path, cache=cache)
    snap = provider.snapshot("AAPL", as_of=AS_OF)
    assert snap.company_name == "Apple Inc."
    assert snap.current_price != 4242.42
    # The fresh answer replaced the planted one.
    hit = cache.get("AAPL", "info", AS_OF)
    assert hit is not None and hit.stored_at == NOW and hit.value["longName"] == "Apple Inc."


# ---------------------------------------------------------------------------
# ownership: the current user's private folder, or no cache at all
# ---------------------------------------------------------------------------


def test_the_default_folder_is_the_users_cache_folder_not_the_shared_temp_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cache_module.default_cache_dir(
        {"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/a"}
    ) == Path("/x/cache/stock-agent/market-data")
    # A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    assert cache_module.default_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/home/a"}) == Path(
        "/home/a/.cache/stock-agent/market-data"
    )
    monkeypatch.setattr("sys.platform", "darwin")
    assert cache_module.default_cache_dir({"HOME": "/Users/a"}) == Path(
        "/Users/a/Library/Caches/stock-agent/market-data"
    )
    monkeypatch.setattr("sys.platform", "linux")
    without_home = cache_module.default_cache_dir({})
    assert without_home == Path(tempfile.gettempdir()) / (f"stock-agent-{os.getuid()}-market-data")


def test_the_folders_are_created_private(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.put("AAPL", "info", AS_OF, {"a": 1})
    for folder in (cache.directory, cache.path("AAPL", "info", AS_OF).parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert cache.get("AAPL", "info", AS_OF) is not None


@pytest.mark.parametrize("which", ["root", "ticker"])
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_folder_others_may_write_to_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, which: str, mode: int
) -> None:
    cache = _cache(tmp_path)
    _poison(cache, stored_at=NOW)
    folder = cache.directory if which == "root" else cache.path("AAPL", "info", AS_OF).parent
    folder.chmod(mode)
    with caplog.at_level(logging.WARNING):
        assert cache.get("AAPL", "info", AS_OF) is None
        snap = make_provider(World(), tmp_path, cache=cache)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.company_name == "Apple Inc." and snap.current_price != 4242.42
    assert "can be written by other users" in caplog.text
    # Nothing was written into the refused folder either.
    assert json.loads(cache.path("AAPL", "info", AS_OF).read_text())["value"] == POISON_INFO


def test_a_folder_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = _cache(tmp_path)
    _poison(cache, stored_at=NOW)
    assert cache.get("AAPL", "info", AS_OF) is not None
    # Seen from another user id, every folder and entry here belongs to someone else.
    monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 1)
    with caplog.at_level(logging.WARNING):
        assert cache.get("AAPL", "info", AS_OF) is None
        snap = make_provider(World(), tmp_path, cache=cache)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.company_name == "Apple Inc."
    assert "not by the current user" in caplog.text


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_really_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    _poison(cache, stored_at=NOW)
    os.chown(cache.directory, 65534, 65534)
    assert cache.get("AAPL", "info", AS_OF) is None
    os.chown(cache.directory, os.getuid(), os.getgid())
    os.chown(cache.path("AAPL", "info", AS_OF), 65534, 65534)  # the entry alone
    assert cache.get("AAPL", "info", AS_OF) is None
    assert cache.get("AAPL", "history", AS_OF) is not None


def test_an_entry_others_may_write_to_or_a_link_is_a_miss(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    path = _plant(cache, "AAPL", "info", {"a": 1}, stored_at=NOW)
    path.chmod(0o622)
    assert cache.get("AAPL", "info", AS_OF) is None
    path.chmod(0o600)
    assert cache.get("AAPL", "info", AS_OF) is not None
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"stored_at": NOW, "value": POISON_INFO}))
    path.unlink()
    path.symlink_to(elsewhere)
    assert cache.get("AAPL", "info", AS_OF) is None


def test_a_linked_ticker_folder_is_refused(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    (planted / f"{AS_OF.isoformat()}.info.json").write_text(
        json.dumps({"stored_at": NOW, "value": POISON_INFO})
    )
    cache.directory.mkdir(mode=0o700)
    (cache.directory / "AAPL").symlink_to(planted)
    assert cache.get("AAPL", "info", AS_OF) is None
    cache.put("AAPL", "info", AS_OF, {"a": 1})
    assert json.loads((planted / f"{AS_OF.isoformat()}.info.json").read_text())["value"] == (
        POISON_INFO
    )


def test_a_fifo_or_an_oversized_entry_is_a_miss_without_waiting(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    path = cache.path("AAPL", "info", AS_OF)
    path.parent.mkdir(mode=0o700, parents=True)
    os.mkfifo(path, 0o600)
    result: list[object] = []
    reader = threading.Thread(
        target=lambda: result.append(cache.get("AAPL", "info", AS_OF)), daemon=True
    )
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "reading a FIFO entry blocked"
    assert result == [None]
    path.unlink()
    padding = "x" * (
        cache_module.MAX_ENTRY_BYTES - len(json.dumps({"stored_at": NOW, "value": ""}))
    )
    _plant(cache, "AAPL", "info", padding, stored_at=NOW)
    assert path.stat().st_size == cache_module.MAX_ENTRY_BYTES
    assert cache.get("AAPL", "info", AS_OF) is not None  # at the cap
    _plant(cache, "AAPL", "info", padding + "x", stored_at=NOW)
    assert cache.get("AAPL", "info", AS_OF) is None  # one byte over


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
    _plant(cache, "AAPL", kind, value, stored_at=NOW)
    world = World()
    with caplog.at_level(logging.WARNING):
        snap = make_provider(world, tmp_path, cache=cache)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.company_name == "Apple Inc." and len(snap.prices) == 262
    assert ("AAPL", kind) in world.calls  # fetched, not served
    assert f"ignoring malformed cached {kind} of AAPL" in caplog.text


def test_a_well_formed_entry_is_served(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    _plant(cache, "AAPL", "history", GOOD_ROWS, stored_at=NOW)
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
