"""The yfinance provider against frames in yfinance's own shapes: cache, retries, degradation.

No network: the ``Ticker`` stand-in of :mod:`tests.support.fake_yfinance`
returns pandas frames laid out as yfinance 1.7.0 returns them. Rate limiting
raises yfinance's real ``YFRateLimitError``.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from stock_agent.analysis import analyze
from stock_agent.formatting import key_figures
from stock_agent.market_data import (
    DayCache,
    MarketDataError,
    UnknownTickerError,
    YFinanceProvider,
    map_statements,
)
from stock_agent.market_data.yahoo import MAX_STALE_DAYS, statement_rows, yahoo_symbol
from stock_agent.records import Narrative
from stock_agent.reports.pdf import render_report
from yfinance.exceptions import YFRateLimitError

from tests.support.fake_yfinance import AS_OF, INFO, World
from tests.support.fake_yfinance import history_frame as _history
from tests.support.fake_yfinance import make_provider as _provider
from tests.support.fake_yfinance import statement_frame as _statement


def test_statements_map_to_growth_cash_flow_and_leverage(tmp_path: Path) -> None:
    rows = statement_rows(_statement("income_stmt"), ("Total Revenue", "Diluted EPS", "Nope"))
    assert set(rows) == {"Total Revenue", "Diluted EPS"}
    assert rows["Diluted EPS"]["2021-09-30"] == 5.61
    snap = _provider(World(), tmp_path)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.revenue_growth_3y == pytest.approx((391.035 / 365.817) ** (1 / 3) - 1)
    assert snap.eps_growth_3y == pytest.approx((6.08 / 5.61) ** (1 / 3) - 1)
    assert snap.free_cash_flow == 108_807_000_000
    assert snap.fcf_margin == pytest.approx(108.807 / 391.035)
    assert snap.debt_to_equity == pytest.approx(106.629 / 56.950)
    assert snap.fiscal_year_end == date(2024, 9, 30)
    growth = snap.sources["revenue_growth_3y"]
    assert growth.as_of == date(2024, 9, 30) and "income_stmt" in growth.source
    # The balance sheet's extra, empty 2020 column does not count as a fiscal year.
    statements = map_statements(
        statement_rows(_statement("balance_sheet"), ("Total Debt", "Stockholders Equity"))
    )
    assert statements is not None and statements.total_debt == 106_629_000_000


def test_free_cash_flow_from_operating_cash_flow_and_capex() -> None:
    rows = {
        "Total Revenue": {"2024-09-30": 100.0},
        "Operating Cash Flow": {"2024-09-30": 30.0},
        "Capital Expenditure": {"2024-09-30": -12.0},
    }
    statements = map_statements(rows)
    assert statements is not None and statements.free_cash_flow == 18.0
    assert map_statements({}) is None


def test_full_snapshot_benchmark_peers_and_sources(tmp_path: Path) -> None:
    snap = _provider(World(), tmp_path)[0].snapshot("aapl", as_of=AS_OF)
    assert snap.symbol == "AAPL" and snap.data_source == "yfinance" and snap.as_of == AS_OF
    assert snap.benchmark is not None and snap.benchmark.symbol == "SPY"
    assert len(snap.benchmark.prices) == 262
    # AMD has no data in this world: skipped; AAPL itself is not its own peer.
    assert [p.symbol for p in snap.peers] == ["MSFT", "NVDA"]
    assert snap.sources["pe_ratio"].source == "yfinance Ticker.info['trailingPE']"
    assert snap.sources["ytd_return"].source.endswith(
        "yfinance daily closes (Ticker.history, auto-adjusted)"
    )
    analysis = analyze(snap)
    assert analysis.indicators is not None and analysis.indicators.benchmark_symbol == "SPY"
    assert analysis.indicators.beta_1y is not None
    assert analysis.peer_comparison is not None


def test_cache_serves_a_repeat_without_calls_until_the_ttl_ends(tmp_path: Path) -> None:
    world = World()
    now = [1_000_000.0]
    cache = DayCache(tmp_path / "c", ttl_seconds=600, clock=lambda: now[0])
    provider, _ = _provider(world, tmp_path, cache=cache)
    first = provider.snapshot("AAPL", as_of=AS_OF)
    calls = len(world.calls)
    assert calls > 0
    assert provider.snapshot("AAPL", as_of=AS_OF) == first
    # Everything came from the cache but the empty answers (AAPL has no news, AMD no
    # data in this world): an empty answer is what an outage looks like, never cached.
    empty = [("AAPL", "news"), ("AMD", "info"), ("AMD", "history")]
    assert world.calls[calls:] == empty
    assert cache.path("AAPL", "history", AS_OF).is_file()
    assert not cache.path("AMD", "history", AS_OF).exists()
    assert cache.path("BRK.B", "info", AS_OF).parent.name == "BRK.B"
    assert cache.path("../x", "info", AS_OF).parent.name == ".._X"  # no path traversal
    now[0] += 600  # at the TTL: still fresh
    provider.snapshot("AAPL", as_of=AS_OF)
    assert world.calls[calls + len(empty) :] == empty
    now[0] += 1  # just past it: fetched again
    provider.snapshot("AAPL", as_of=AS_OF)
    assert len(world.calls) == 2 * calls + 2 * len(empty)


def test_unreadable_cache_entries_are_misses(tmp_path: Path) -> None:
    cache = DayCache(tmp_path)
    cache.put("AAPL", "info", AS_OF, {"a": 1})
    assert cache.get("AAPL", "info", AS_OF).value == {"a": 1}  # type: ignore[union-attr]
    cache.path("AAPL", "info", AS_OF).write_text("{not json")
    assert cache.get("AAPL", "info", AS_OF) is None
    cache.put("AAPL", "bad", AS_OF, {"x": object()})  # not JSON: logged, not raised
    assert cache.get("AAPL", "bad", AS_OF) is None
    assert list(cache.path("AAPL", "x", AS_OF).parent.glob(".tmp-*")) == []
    with pytest.raises(ValueError, match="ttl_seconds must not be negative, got -1"):
        DayCache(tmp_path, ttl_seconds=-1)


def test_rate_limits_are_retried_with_backoff(tmp_path: Path) -> None:
    world = World()
    world.failures[("AAPL", "history")] = [YFRateLimitError(), YFRateLimitError()]
    provider, sleeps = _provider(world, tmp_path, backoff_seconds=0.5)
    snap = provider.snapshot("AAPL", as_of=AS_OF)
    assert snap.symbol == "AAPL"
    assert sleeps == [0.5, 1.0]  # two retries, doubling
    assert world.calls.count(("AAPL", "history")) == 3


def test_rate_limit_that_persists_names_the_ticker_and_cause(tmp_path: Path) -> None:
    world = World()
    world.failures[("AAPL", "history")] = [YFRateLimitError() for _ in range(5)]
    provider, sleeps = _provider(world, tmp_path, max_attempts=3)
    with pytest.raises(MarketDataError) as info:
        provider.snapshot("AAPL", as_of=AS_OF)
    message = str(info.value)
    assert "AAPL" in message and "history" in message and "YFRateLimitError" in message
    assert "after 3 attempts" in message and info.value.retryable
    assert sleeps == [1.0, 2.0]
    with pytest.raises(ValueError, match="max_attempts must be at least 1, got 0"):
        YFinanceProvider(max_attempts=0)


def test_transient_network_errors_are_retried_other_errors_are_not(tmp_path: Path) -> None:
    world = World()
    world.failures[("AAPL", "info")] = [ConnectionError("reset by peer")]
    provider, sleeps = _provider(world, tmp_path)
    assert provider.snapshot("AAPL", as_of=AS_OF).company_name == "Apple Inc."
    assert sleeps == [1.0]

    world = World()
    world.failures[("AAPL", "info")] = [KeyError("regularMarketPrice")]
    provider, sleeps = _provider(world, tmp_path / "other")
    with pytest.raises(MarketDataError, match=r"yfinance info for AAPL failed: KeyError"):
        provider.snapshot("AAPL", as_of=AS_OF)
    assert sleeps == []


def test_missing_or_stale_prices_are_clear_errors(tmp_path: Path) -> None:
    world = World()
    with pytest.raises(UnknownTickerError, match=r"'ZZZZ'.*no prices"):
        _provider(world, tmp_path)[0].snapshot("ZZZZ", as_of=AS_OF)
    monday = date(2025, 9, 8)
    assert MAX_STALE_DAYS == 5
    world.histories["OLD"] = _history(monday - timedelta(days=6), start_price=10, drift=0)
    world.infos["OLD"] = dict(INFO)
    with pytest.raises(
        MarketDataError, match=r"prices for OLD are stale: the last close is 2025-09-02, 6 days"
    ):
        _provider(world, tmp_path)[0].snapshot("OLD", as_of=monday)
    world.histories["LATE"] = _history(monday - timedelta(days=5), start_price=10, drift=0)
    world.infos["LATE"] = dict(INFO)
    assert _provider(world, tmp_path)[0].snapshot("LATE", as_of=monday).as_of == date(2025, 9, 3)


@pytest.mark.parametrize(
    ("ours", "yahoos"),
    [("BRK.B", "BRK-B"), ("BF.B", "BF-B"), ("7203.T", "7203.T"), ("BARC.L", "BARC.L"),
     ("SHOP.TO", "SHOP.TO"), ("AAPL", "AAPL")],
)  # fmt: skip
def test_yahoo_spelling_of_symbols(ours: str, yahoos: str) -> None:
    assert yahoo_symbol(ours) == yahoos


def test_partial_data_degrades_only_the_affected_figures(tmp_path: Path) -> None:
    world = World()
    world.failures[("AAPL", "statements")] = [RuntimeError("Yahoo returned 500")]
    world.failures[("SPY", "history")] = [YFRateLimitError() for _ in range(3)]
    world.failures[("AAPL", "news")] = [RuntimeError("no news today")]
    world.failures[("MSFT", "info")] = [RuntimeError("boom")]
    snap = _provider(world, tmp_path)[0].snapshot("AAPL", as_of=AS_OF)
    assert snap.revenue_growth_3y is None and snap.debt_to_equity is None
    why = snap.sources["revenue_growth_3y"].missing
    assert why.startswith("statements unavailable: yfinance statements for AAPL failed")
    assert "Yahoo returned 500" in why
    assert snap.benchmark is None and "SPY history unavailable" in snap.sources["benchmark"].missing
    assert [p.symbol for p in snap.peers] == ["NVDA"]  # MSFT failed, skipped
    assert snap.pe_ratio == 36.2 and snap.headlines == ()
    analysis = analyze(snap)
    assert analysis.indicators is not None and analysis.indicators.beta_1y is None
    assert "YFRateLimitError" in analysis.sources["beta_1y"].missing

    # The report still renders; the affected figures read n/a with their reason.
    figures = dict(key_figures(snap, analysis))
    assert figures["Revenue Growth (3Y, a year)"] == "n/a"
    assert figures["Beta vs benchmark (1Y)"] == "n/a"
    pdf = render_report(
        snapshot=snap,
        analysis=analysis,
        narrative=Narrative(text="Plain.", source="deterministic"),
        generated_at=datetime(2025, 9, 5, 22, 0, tzinfo=UTC),
        request_id="req-degraded",
    )
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert "Figures not available" in text
    assert "Revenue Growth (3Y, a year): n/a (statements unavailable" in text


def test_non_us_listing_gets_no_benchmark_with_a_reason(tmp_path: Path) -> None:
    world = World()
    world.histories["7203.T"] = world.histories["AAPL"]
    world.infos["7203.T"] = {**INFO, "currency": "JPY", "sector": "Consumer Cyclical"}
    snap = _provider(world, tmp_path)[0].snapshot("7203.T", as_of=AS_OF)
    assert snap.benchmark is None
    assert (
        snap.sources["benchmark"].missing
        == "no benchmark for a listing in JPY (SPY is for US ones)"
    )
    assert ("SPY", "history") not in world.calls
