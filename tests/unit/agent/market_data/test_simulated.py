"""The simulated universe's invariants, exercised over many symbols and dates (hypothesis)."""

from __future__ import annotations

import itertools
import math
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.market_data import (
    SIMULATED_UNIVERSE,
    SimulatedProvider,
    UnknownTickerError,
    history_start,
    known_symbols,
)

SYMBOLS = sorted(known_symbols())


PROVIDER = SimulatedProvider()


DATES = st.dates(min_value=date(2012, 1, 1), max_value=date(2032, 12, 31))


def _previous_year_last_close(prices: Any, year: int) -> float:
    """Independent recomputation: the last close dated before 1 January of ``year``."""
    return next(p.close for p in reversed(prices) if p.day < date(year, 1, 1))


@settings(max_examples=120, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), as_of=DATES)
def test_simulated_snapshot_invariants(symbol: str, as_of: date) -> None:
    snap = PROVIDER.snapshot(symbol, as_of=as_of)
    closes = [p.close for p in snap.prices]
    days = [p.day for p in snap.prices]

    assert snap.symbol == symbol and snap.data_source == "simulated"
    assert snap.as_of <= as_of and snap.as_of.weekday() < 5 and (as_of - snap.as_of).days < 3
    assert days == sorted(set(days)) and days[-1] == snap.as_of
    assert all(d.weekday() < 5 for d in days)
    assert len(closes) >= 252 and days[0] <= as_of - timedelta(days=364)
    assert all(c > 0 for c in closes)

    assert snap.week52_high >= snap.current_price >= snap.week52_low
    assert snap.week52_high == max(closes) and snap.week52_low == min(closes)
    assert snap.current_price == closes[-1]

    base = _previous_year_last_close(snap.prices, snap.as_of.year)
    assert snap.ytd_return == pytest.approx(snap.current_price / base - 1)
    log_returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    assert snap.annualized_volatility == pytest.approx(
        statistics.stdev(log_returns) * math.sqrt(252)
    )
    assert snap.average_volume == round(statistics.fmean(p.volume for p in snap.prices[-63:]))

    profile = SIMULATED_UNIVERSE[symbol]
    assert snap.market_cap == pytest.approx(snap.current_price * profile.shares)
    assert snap.dividend_yield is not None and 0 <= snap.dividend_yield < 0.2
    if snap.eps is not None and snap.eps > 0:
        assert snap.pe_ratio == pytest.approx(snap.current_price / snap.eps, rel=0.01)
    else:
        assert snap.pe_ratio is None
    assert snap.headlines == ()  # the simulation never invents news

    assert PROVIDER.snapshot(symbol, as_of=as_of) == snap  # deterministic


@pytest.mark.parametrize(
    ("as_of", "base_day"),
    [
        (date(2025, 1, 2), date(2024, 12, 31)),  # first session of the year
        (date(2024, 12, 31), date(2023, 12, 29)),  # 31 Dec 2023 is a Sunday
        (date(2024, 2, 29), date(2023, 12, 29)),  # leap day
        (date(2025, 9, 6), date(2024, 12, 31)),  # Saturday -> Friday 5 Sep
    ],
)
def test_ytd_base_is_previous_years_last_close(as_of: date, base_day: date) -> None:
    snap = PROVIDER.snapshot("SIM_STOCK", as_of=as_of)
    base = next(p for p in snap.prices if p.day == base_day)
    assert snap.ytd_return == pytest.approx(snap.current_price / base.close - 1)
    assert history_start(snap.as_of) <= base_day


def test_one_year_return_is_measured_from_one_year_earlier() -> None:
    snap = PROVIDER.snapshot("AAPL", as_of=date(2025, 9, 4))
    base = [p for p in snap.prices if p.day <= date(2024, 9, 4)][-1]
    assert snap.one_year_return == pytest.approx(snap.current_price / base.close - 1)
    # YTD and 1-year are different measures (the public sample printed one as the other).
    assert snap.one_year_return != pytest.approx(snap.ytd_return)


def test_weekend_and_datetime_inputs_resolve_to_the_last_session() -> None:
    friday = PROVIDER.snapshot("MSFT", as_of=date(2025, 9, 5))
    assert PROVIDER.snapshot("MSFT", as_of=date(2025, 9, 7)) == friday
    assert PROVIDER.snapshot("msft ", as_of=datetime(2025, 9, 5, 18, tzinfo=UTC)) == friday


def test_seed_is_stable_across_processes() -> None:
    """Python's ``hash()`` is salted per process; the seed must not depend on it."""
    code = (
        "from datetime import date; from stock_agent.market_data import SimulatedProvider;"
        "print(repr(SimulatedProvider().snapshot('NVDA', as_of=date(2025, 9, 4)).current_price))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        timeout=60,
    ).stdout.strip()
    assert float(out) == PROVIDER.snapshot("NVDA", as_of=date(2025, 9, 4)).current_price


def test_tickers_differ_in_trend_and_risk() -> None:
    as_of = date(2025, 9, 4)
    snaps = {s: PROVIDER.snapshot(s, as_of=as_of) for s in SYMBOLS}
    assert len({round(s.one_year_return, 4) for s in snaps.values()}) == len(SYMBOLS)
    # Profiles matter: a volatile stock is more volatile than a defensive one on average.
    days = [as_of - timedelta(days=90 * k) for k in range(8)]
    tsla = statistics.fmean(PROVIDER.snapshot("TSLA", as_of=d).annualized_volatility for d in days)
    ko = statistics.fmean(PROVIDER.snapshot("KO", as_of=d).annualized_volatility for d in days)
    assert tsla > 2 * ko


def test_universe_covers_the_article_and_hard_names() -> None:
    required = {"SIM_STOCK", "AAPL", "MSFT", "AMZN", "GOOGL", "META", "NVDA", "TSLA", "BRK.B"}
    required |= {"JPM", "JNJ", "XOM", "KO", "PG", "V", "WMT", "DIS", "INTC", "AMD", "NFLX"}
    required |= {"T", "PFE", "BA"}
    assert required <= known_symbols() and len(known_symbols()) >= 26
    names = [p.name for p in SIMULATED_UNIVERSE.values()]
    assert any("&" in n for n in names) and any("<" in n for n in names)
    assert any(not n.isascii() for n in names)


def test_snapshot_is_fast() -> None:
    start = time.perf_counter()
    for symbol in SYMBOLS:
        PROVIDER.snapshot(symbol, as_of=date(2024, 6, 3))
    per_snapshot = (time.perf_counter() - start) / len(SYMBOLS)
    assert per_snapshot < 0.025, f"{per_snapshot * 1000:.1f} ms per snapshot"


def test_unknown_ticker_is_a_clear_error() -> None:
    with pytest.raises(UnknownTickerError) as info:
        PROVIDER.snapshot("NOPE", as_of=date(2025, 9, 4))
    assert info.value.symbol == "NOPE"
    assert "NOPE" in str(info.value) and "SIM_STOCK" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_simulated_statements_are_deterministic_per_fiscal_year() -> None:
    from stock_agent.market_data.simulated import statement_year_end

    assert statement_year_end(date(2025, 3, 1)) == date(2024, 12, 31)
    assert statement_year_end(date(2025, 2, 28)) == date(2023, 12, 31)  # not published yet
    summer, autumn = (
        PROVIDER.snapshot("KO", as_of=d) for d in (date(2025, 6, 2), date(2025, 10, 1))
    )
    assert summer.revenue_growth_3y == autumn.revenue_growth_3y  # same fiscal year
    assert summer.fiscal_year_end == date(2024, 12, 31)
    spring = PROVIDER.snapshot("KO", as_of=date(2026, 4, 1))
    assert spring.revenue_growth_3y != summer.revenue_growth_3y  # a new fiscal year
    ko = SIMULATED_UNIVERSE["KO"]
    assert summer.fcf_margin == pytest.approx(summer.free_cash_flow / ko.revenue)  # type: ignore[operator]
    assert summer.sources["fcf_margin"].as_of == date(2024, 12, 31)


def test_negative_equity_and_losses_give_reasons_not_numbers() -> None:
    ba = PROVIDER.snapshot("BA", as_of=date(2025, 9, 5))  # negative book value
    assert ba.debt_to_equity is None
    assert ba.sources["debt_to_equity"].missing == "shareholders' equity is not positive"
    assert ba.eps_growth_3y is None
    assert "not positive" in ba.sources["eps_growth_3y"].missing


def test_simulated_benchmark_and_peers() -> None:
    day = date(2025, 9, 5)
    aapl, ko = PROVIDER.snapshot("AAPL", as_of=day), PROVIDER.snapshot("KO", as_of=day)
    assert aapl.benchmark is not None and ko.benchmark is not None
    assert aapl.benchmark == ko.benchmark  # one market per day
    assert aapl.benchmark.symbol == "SIM_INDEX" and "SIM_INDEX" not in known_symbols()
    assert [p.day for p in aapl.benchmark.prices] == [p.day for p in aapl.prices]
    assert PROVIDER.snapshot("AAPL", as_of=day).benchmark == aapl.benchmark  # deterministic
    tech = sorted(s for s, p in SIMULATED_UNIVERSE.items() if p.sector == "Technology")
    assert [p.symbol for p in aapl.peers] == [s for s in tech if s != "AAPL"]
    msft = next(p for p in aapl.peers if p.symbol == "MSFT")
    own = PROVIDER.snapshot("MSFT", as_of=day)
    assert (msft.pe_ratio, msft.one_year_return) == (own.pe_ratio, own.one_year_return)
    assert PROVIDER.snapshot("XOM", as_of=day).peers == ()  # alone in its sector
