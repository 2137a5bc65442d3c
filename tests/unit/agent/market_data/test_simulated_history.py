"""The simulated market's one history: the past stays put whatever day asks.

Hypothesis draws pairs of as-of dates and checks that every session both
snapshots show has the same close and volume (and the index too); the rest
checks that the one path keeps the profiles' statistical character (drift,
volatility, beta, volume) and price levels, and that dates outside the
simulated market are a clear error.
"""

from __future__ import annotations

import itertools
import math
import statistics
import subprocess
import sys
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.analysis import indicators as ind
from stock_agent.market_data import SIMULATED_UNIVERSE, MarketDataError, SimulatedProvider
from stock_agent.market_data.simulated_history import (
    HISTORY_END,
    HISTORY_ORIGIN,
    PRICE_ANCHOR,
)

PROVIDER = SimulatedProvider()
SYMBOLS = sorted(SIMULATED_UNIVERSE)
FIRST_AS_OF = date(2007, 1, 2)  # the first day with a year of history before it
AS_OF = st.dates(min_value=FIRST_AS_OF, max_value=date(2032, 12, 31))


@settings(max_examples=150, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), first=AS_OF, second=AS_OF)
def test_every_shared_session_is_identical_whatever_day_asks(
    symbol: str, first: date, second: date
) -> None:
    one, two = (PROVIDER.snapshot(symbol, as_of=d) for d in (first, second))
    shared = {p.day for p in one.prices} & {p.day for p in two.prices}
    by_day = {p.day: p for p in two.prices}
    assert all(by_day[p.day] == p for p in one.prices if p.day in shared)
    assert one.benchmark is not None and two.benchmark is not None
    index = {p.day: p.close for p in two.benchmark.prices}
    assert all(index[p.day] == p.close for p in one.benchmark.prices if p.day in index)
    # Nearby dates do share sessions, so the checks above are not vacuous for them.
    if abs((first - second).days) < 300:
        assert shared


@settings(max_examples=40, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), as_of=AS_OF)
def test_a_snapshot_is_a_window_of_the_long_history(symbol: str, as_of: date) -> None:
    snap = PROVIDER.snapshot(symbol, as_of=as_of)
    long = PROVIDER.history(symbol, start=HISTORY_ORIGIN, end=as_of)
    start = long.prices.index(snap.prices[0])
    assert long.prices[start : start + len(snap.prices)] == snap.prices
    assert long.prices[-1] == snap.prices[-1]
    assert long.benchmark is not None and snap.benchmark is not None
    assert long.benchmark.prices[-len(snap.benchmark.prices) :] == snap.benchmark.prices


def test_later_years_do_not_change_earlier_ones_in_a_fresh_process() -> None:
    """Asking 2032 before 2020 in a new process gives the 2020 this process computes."""
    code = (
        "from datetime import date; from stock_agent.market_data import SimulatedProvider;"
        "p = SimulatedProvider(); p.snapshot('TSLA', as_of=date(2032, 6, 1));"
        "print(repr([x.close for x in p.snapshot('TSLA', as_of=date(2020, 3, 2)).prices]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == repr([p.close for p in PROVIDER.snapshot("TSLA", as_of=date(2020, 3, 2)).prices])


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_the_path_keeps_the_profiles_character(symbol: str) -> None:
    """Over 20 years: volatility, beta, volume and drift near the profile's."""
    profile = SIMULATED_UNIVERSE[symbol]
    long = PROVIDER.history(symbol, start=HISTORY_ORIGIN, end=date(2025, 12, 31))
    assert long.benchmark is not None
    closes = [p.close for p in long.prices]
    log_returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    volatility = statistics.stdev(log_returns) * math.sqrt(252)
    assert volatility == pytest.approx(profile.volatility, rel=0.1)
    sens = ind.sensitivity(long.prices, long.benchmark.prices)
    assert sens is not None and sens.beta == pytest.approx(profile.beta, abs=0.1)
    volume = statistics.fmean(p.volume for p in long.prices)
    assert volume == pytest.approx(profile.avg_volume, rel=0.05)
    # Mean annual log-return: the drift less half the variance, within three standard
    # errors (yearly drift shifts of N(0, 8 %) included).
    years = len(log_returns) / 252
    expected = profile.drift - 0.5 * profile.volatility**2
    error = math.sqrt(profile.volatility**2 / years + 0.08**2 / years)
    assert abs(math.log(closes[-1] / closes[0]) / years - expected) < 3 * error


def test_the_index_keeps_its_character() -> None:
    long = PROVIDER.history("SIM_STOCK", start=HISTORY_ORIGIN, end=date(2025, 12, 31))
    assert long.benchmark is not None
    closes = [p.close for p in long.benchmark.prices]
    log_returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    assert statistics.stdev(log_returns) * math.sqrt(252) == pytest.approx(0.16, rel=0.1)
    assert {p.volume for p in long.benchmark.prices} == {0}


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_profile_price_is_the_level_at_the_anchor(symbol: str) -> None:
    """The close on the anchor session is the profile's price times exp(N(0, 8 %))."""
    close = PROVIDER.snapshot(symbol, as_of=PRICE_ANCHOR).current_price
    assert abs(math.log(close / SIMULATED_UNIVERSE[symbol].price)) < 4 * 0.08


@pytest.mark.parametrize(
    ("as_of", "words"),
    [
        (HISTORY_ORIGIN, "opens on 2006-01-02"),
        (FIRST_AS_OF - timedelta(days=1), "opens on 2006-01-02"),
        (HISTORY_END + timedelta(days=3), "ends on 2100-12-31"),  # Monday 3 January 2101
    ],
)
def test_dates_outside_the_market_are_a_clear_error(as_of: date, words: str) -> None:
    with pytest.raises(MarketDataError) as info:
        PROVIDER.snapshot("AAPL", as_of=as_of)
    assert words in info.value.message and info.value.retryable is False
    assert "ask for a date from 2007-01-02 to 2100-12-31" in info.value.message


def test_the_first_and_last_dates_the_market_serves() -> None:
    first = PROVIDER.snapshot("AAPL", as_of=FIRST_AS_OF)
    assert first.prices[0].day == HISTORY_ORIGIN
    last = PROVIDER.snapshot("AAPL", as_of=HISTORY_END)
    assert last.as_of == date(2100, 12, 31)
