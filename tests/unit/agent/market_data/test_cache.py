"""What the market-data cache may serve: only its user's own, fresh entries.

Whatever the cache serves becomes a figure in a report, so each test plants
what an attacker or a broken disk would leave (an entry stamped in the future,
a folder another user created, a link, a FIFO) and checks that the provider
answers with Yahoo's data instead. Yahoo is the stand-in of
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
from stock_agent.market_data import DayCache
from stock_agent.market_data import cache as cache_module

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
    with caplog.at_level(logging.WARNING, logger="stock_agent"):
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
    with caplog.at_level(logging.WARNING, logger="stock_agent"):
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
