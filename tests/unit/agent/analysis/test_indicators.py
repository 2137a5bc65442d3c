"""Indicators against independent implementations, hand-computed series and properties.

The independent implementation is the ``ta`` library (pandas/numpy based,
test-only dependency); the agent's own code is plain-Python arithmetic.
Histories: the simulated universe, and real daily closes recorded from
StockCharts' worked examples (``tests/fixtures/market/stockcharts_examples.json``),
including StockCharts' published Wilder RSI table.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.analysis import indicators as ind
from stock_agent.analysis.evidence import (
    compute_indicators,
    last_year,
    period_starts,
    relative_returns,
)
from stock_agent.market_data import SimulatedProvider, known_symbols
from stock_agent.records import PricePoint
from ta.momentum import RSIIndicator
from ta.trend import MACD
from ta.volatility import BollingerBands

from tests.support.paths import FIXTURES

FIXTURE = json.loads((FIXTURES / "market" / "stockcharts_examples.json").read_text())
PROVIDER = SimulatedProvider()
AS_OF = date(2025, 9, 5)
TOLERANCE = 1e-6


def _points(rows: list[list[object]]) -> list[PricePoint]:
    return [PricePoint(date.fromisoformat(str(d)), float(c), 0) for d, c in rows]  # type: ignore[arg-type]


REAL = [p.close for p in _points(FIXTURE["macd_history"])]
SIMULATED = {
    s: [p.close for p in PROVIDER.snapshot(s, as_of=AS_OF).prices]
    for s in ("SIM_STOCK", "TSLA", "KO")
}
HISTORIES = {"real 2009": REAL, **{f"simulated {s}": c for s, c in SIMULATED.items()}}


def _close_enough(mine: list[float | None], theirs: pd.Series, start: int) -> None:
    """Every session from ``start`` on agrees to :data:`TOLERANCE`; ``None`` before it."""
    assert all(v is None for v in mine[:start])
    for i in range(start, len(mine)):
        value = mine[i]
        assert value is not None and math.isfinite(theirs.iloc[i]), i
        assert abs(value - float(theirs.iloc[i])) <= TOLERANCE, (i, value, theirs.iloc[i])


# --- RSI --------------------------------------------------------------------


def test_rsi_matches_stockcharts_published_wilder_table() -> None:
    closes = [float(c) for _, c in FIXTURE["rsi_history"]]
    rsi = ind.rsi_series(closes)
    assert rsi[:14] == [None] * 14
    assert [round(v, 2) for v in rsi[14:] if v is not None] == FIXTURE["rsi_published"]


def test_rsi_seed_by_hand() -> None:
    # 14 changes: seven +1 and seven -0.5 -> average gain 0.5, average loss 0.25, RS 2.
    closes = [10.0]
    for i in range(14):
        closes.append(closes[-1] + (1.0 if i % 2 == 0 else -0.5))
    assert ind.rsi_series(closes)[14] == pytest.approx(100 - 100 / 3, abs=1e-12)
    # One more change of +2: gain (0.5*13 + 2)/14, loss 0.25*13/14.
    closes.append(closes[-1] + 2.0)
    gain, loss = (0.5 * 13 + 2) / 14, 0.25 * 13 / 14
    assert ind.rsi_series(closes)[15] == pytest.approx(100 - 100 / (1 + gain / loss), abs=1e-12)


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_rsi_matches_ta_after_the_same_seed(name: str) -> None:
    """``ta`` seeds its averages at the first change (an EMA), Wilder with the mean of 14.

    Two synthetic changes (+u, -d) bring ta's running averages exactly to
    Wilder's seed (u = G / (a (1 - a)), d = L / a with a = 1/14); the real
    changes that follow must then give the same RSI at every session.
    """
    closes = HISTORIES[name]
    period, alpha = 14, 1 / 14
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gain = sum(max(c, 0.0) for c in changes[:period]) / period
    loss = sum(max(-c, 0.0) for c in changes[:period]) / period
    prefix = [0.0, gain / (alpha * (1 - alpha)), gain / (alpha * (1 - alpha)) - loss / alpha]
    synthetic = prefix + [prefix[-1] + c for c in np.cumsum(changes[period:])]
    theirs = RSIIndicator(pd.Series(synthetic), window=period, fillna=True).rsi()
    mine = ind.rsi_series(closes)
    for k in range(len(closes) - period):
        assert abs(mine[period + k] - theirs.iloc[2 + k]) <= TOLERANCE, k  # type: ignore[operator]


# --- MACD and EMA -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_macd_matches_ta(name: str) -> None:
    closes = HISTORIES[name]
    theirs = MACD(pd.Series(closes), window_slow=26, window_fast=12, window_sign=9)
    mine = ind.macd_series(closes)
    _close_enough(mine.line, theirs.macd(), 25)
    _close_enough(mine.signal, theirs.macd_signal(), 33)
    _close_enough(mine.histogram, theirs.macd_diff(), 33)


def test_ema_matches_pandas_and_rejects_a_bad_span() -> None:
    theirs = pd.Series(REAL).ewm(span=12, adjust=False).mean()
    assert max(abs(a - b) for a, b in zip(ind.ema(REAL, 12), theirs, strict=True)) <= 1e-12
    with pytest.raises(ValueError, match="span must be at least 1, got 0"):
        ind.ema(REAL, 0)
    assert ind.ema(REAL, 1) == REAL


# --- Bollinger ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_bollinger_matches_ta_on_every_session(name: str) -> None:
    closes = HISTORIES[name]
    theirs = BollingerBands(pd.Series(closes), window=20, window_dev=2)
    for end in range(20, len(closes) + 1):
        band = ind.bollinger(closes[:end])
        assert band is not None
        i = end - 1
        assert abs(band.upper - theirs.bollinger_hband().iloc[i]) <= TOLERANCE
        assert abs(band.lower - theirs.bollinger_lband().iloc[i]) <= TOLERANCE
        assert abs(band.middle - theirs.bollinger_mavg().iloc[i]) <= TOLERANCE
        assert abs(band.position - theirs.bollinger_pband().iloc[i]) <= TOLERANCE
    assert ind.bollinger(closes[:19]) is None
    assert ind.bollinger([5.0] * 20) == ind.Bollinger(5.0, 5.0, 5.0, 0.5)  # flat: mid-band


# --- Drawdown and Sharpe: hand-computed -------------------------------------


def _days(closes: list[float], start: date = date(2025, 1, 6)) -> list[PricePoint]:
    return [PricePoint(start + timedelta(days=i), c, 0) for i, c in enumerate(closes)]


def test_max_drawdown_by_hand() -> None:
    prices = _days([100, 120, 90, 110, 60, 130, 117])
    found = ind.max_drawdown(prices)
    # Peak 120 (day 1) to trough 60 (day 4): 50 %; the later 130 -> 117 is only 10 %.
    assert found == ind.Drawdown(0.5, prices[1].day, prices[4].day, 120, 60)
    assert ind.max_drawdown(_days([1, 2, 3])) == ind.Drawdown(
        0.0, prices[0].day, prices[0].day, 1, 1
    )
    assert ind.max_drawdown([]) is None
    # A tie keeps the earlier trough.
    tie = _days([10, 5, 10, 5])
    assert ind.max_drawdown(tie).trough_day == tie[1].day  # type: ignore[union-attr]


def test_sharpe_by_hand() -> None:
    closes = [100, 110, 99, 108.9]  # returns +10 %, -10 %, +10 %
    # mean 1/30, sample stdev sqrt(1/75): Sharpe = sqrt(75) / 30 * sqrt(252) = sqrt(18900) / 30.
    assert ind.sharpe_ratio(closes) == pytest.approx(math.sqrt(18900) / 30, abs=1e-9)
    # A 2.52 % risk-free rate takes 0.0001 off every daily return; the stdev is unchanged.
    expected = (1 / 30 - 0.0001) * math.sqrt(75) * math.sqrt(252)
    assert ind.sharpe_ratio(closes, risk_free_rate=0.0252) == pytest.approx(expected, abs=1e-9)
    assert ind.sharpe_ratio([100, 101]) is None  # one return: no stdev
    assert ind.sharpe_ratio([100, 100, 100]) is None  # never moved


# --- Beta, correlation and returns ------------------------------------------


@pytest.mark.parametrize("symbol", ["SIM_STOCK", "TSLA", "KO", "JPM"])
def test_beta_and_correlation_match_numpy(symbol: str) -> None:
    snap = PROVIDER.snapshot(symbol, as_of=AS_OF)
    assert snap.benchmark is not None
    found = ind.sensitivity(snap.prices, snap.benchmark.prices)
    assert found is not None
    rs = np.diff([p.close for p in snap.prices]) / [p.close for p in snap.prices][:-1]
    b = [p.close for p in snap.benchmark.prices]
    rb = np.diff(b) / b[:-1]
    assert abs(found.beta - np.cov(rs, rb)[0, 1] / np.var(rb, ddof=1)) <= TOLERANCE
    assert abs(found.correlation - np.corrcoef(rs, rb)[0, 1]) <= TOLERANCE
    assert found.observations == len(rs)
    # The simulation builds each stock as beta x market + noise: the estimate lands near it.
    assert found.beta == pytest.approx(
        {"SIM_STOCK": 1.165, "TSLA": 2.3, "KO": 0.45, "JPM": 1.05}[symbol], abs=0.35
    )


def test_sensitivity_needs_common_moving_days() -> None:
    a = _days([1, 2, 3, 4])
    assert ind.sensitivity(a, _days([5, 5, 5, 5])) is None  # benchmark never moved
    assert ind.sensitivity(_days([5, 5, 5, 5]), a) is None  # stock never moved
    assert ind.sensitivity(a, _days([1, 2], start=date(2030, 1, 1))) is None  # no common day
    assert ind.sensitivity(a[:3], a[:3]) is not None  # two returns are enough


def test_returns_and_excess_by_hand() -> None:
    stock = _days([100 + i for i in range(80)], start=date(2025, 1, 1))
    bench = _days([50.0] * 80, start=date(2025, 1, 1))
    returns = {r.period: r for r in relative_returns(tuple(stock), tuple(bench))}
    assert returns["1M"].start == stock[-22].day
    assert returns["1M"].stock == pytest.approx(179 / 158 - 1)
    assert returns["3M"].stock == pytest.approx(179 / 116 - 1)
    assert returns["1M"].benchmark == 0.0 and returns["1M"].excess == returns["1M"].stock
    # The history starts on 1 January: YTD and 1Y fall back to the first session.
    assert returns["YTD"].start == returns["1Y"].start == stock[0].day
    assert ind.return_since(stock, date(2024, 12, 31)) is None
    assert relative_returns((), None) == ()


# --- Properties on random series --------------------------------------------

PRICES = st.lists(
    st.floats(min_value=0.5, max_value=5000, allow_nan=False, allow_infinity=False),
    min_size=30,
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(closes=PRICES)
def test_rsi_and_drawdown_stay_in_range(closes: list[float]) -> None:
    assert all(0.0 <= v <= 100.0 for v in ind.rsi_series(closes) if v is not None)
    found = ind.max_drawdown(_days(closes))
    assert found is not None and 0.0 <= found.depth <= 1.0
    assert found.peak_day <= found.trough_day


@settings(max_examples=100, deadline=None)
@given(closes=PRICES)
def test_benchmark_against_itself(closes: list[float]) -> None:
    prices = _days(closes)
    found = ind.sensitivity(prices, prices)
    if found is not None:
        assert found.beta == pytest.approx(1.0, abs=1e-9)
        assert found.correlation == pytest.approx(1.0, abs=1e-9)
    for period in relative_returns(tuple(prices), tuple(prices)):
        # A history shorter than a year has no 1-year return, so no excess either.
        assert period.excess == 0.0 or (period.period == "1Y" and period.stock is None)


# --- The evidence record ----------------------------------------------------


def test_short_history_degrades_each_figure_with_a_reason() -> None:
    snap = PROVIDER.snapshot("KO", as_of=AS_OF)
    short = snap.__class__(**{**snap.__dict__, "prices": snap.prices[-10:], "benchmark": None})
    found, sources = compute_indicators(short)
    assert found.rsi_14 is None and found.macd_line is None and found.bollinger_position is None
    assert found.beta_1y is None and found.benchmark_symbol is None
    assert sources["rsi_14"].missing == "the history is too short"
    assert sources["beta_1y"].missing == "no benchmark history"
    assert found.max_drawdown_1y is not None  # ten sessions are enough for this
    assert found.sharpe_1y is None  # an annualised one-year ratio needs a year
    assert sources["sharpe_1y"].missing == "the history is shorter than a year"


@pytest.mark.parametrize("symbol", sorted(known_symbols()))
def test_every_simulated_ticker_has_every_indicator(symbol: str) -> None:
    snap = PROVIDER.snapshot(symbol, as_of=AS_OF)
    found, sources = compute_indicators(snap, risk_free_rate=0.04)
    assert found.risk_free_rate == 0.04 and "4.00% a year" in sources["sharpe_1y"].source
    values = [
        found.rsi_14,
        found.macd_line,
        found.macd_signal,
        found.macd_histogram,
        found.bollinger_position,
        found.max_drawdown_1y,
        found.sharpe_1y,
        found.beta_1y,
        found.correlation_1y,
    ]
    assert all(v is not None and math.isfinite(v) for v in values)
    assert [r.period for r in found.returns] == ["1M", "3M", "YTD", "1Y"]
    assert found.returns[2].stock == pytest.approx(snap.ytd_return)
    assert found.returns[3].stock == pytest.approx(snap.one_year_return)
    assert all(s.as_of == snap.as_of and s.source.startswith("computed") for s in sources.values())


# --- Length limits -----------------------------------------------------------


def test_history_length_edges() -> None:
    closes = [float(c) for _, c in FIXTURE["rsi_history"]]
    assert ind.rsi_series(closes[:14]) == [None] * 14  # 13 changes: no RSI
    assert ind.rsi_series(closes[:15])[-1] == pytest.approx(ind.rsi_series(closes)[14])
    assert ind.rsi_series(closes[:15])[:14] == [None] * 14
    macd = ind.macd_series(REAL[:25])
    assert macd.line == [None] * 25 and macd.signal == [None] * 25
    macd = ind.macd_series(REAL[:26])
    assert macd.line[-1] is not None and macd.line[:25] == [None] * 25
    assert macd.signal == [None] * 26  # the signal needs 9 MACD values
    macd = ind.macd_series(REAL[:34])
    assert macd.signal[-1] is not None and macd.signal[-2] is None
    assert macd.histogram[-1] == pytest.approx(macd.line[-1] - macd.signal[-1])  # type: ignore[operator]
    assert ind.sharpe_ratio([100, 110, 99]) is not None  # two returns are enough
    [only] = _days([5.0])
    assert ind.max_drawdown([only]) == ind.Drawdown(0.0, only.day, only.day, 5.0, 5.0)


def test_close_on_or_before_and_return_since() -> None:
    prices = _days([10.0, 11.0, 12.0])
    assert ind.close_on_or_before(prices, prices[1].day) == prices[1]
    assert ind.close_on_or_before(prices, prices[1].day - timedelta(days=1)) == prices[0]
    assert ind.close_on_or_before(prices, prices[0].day - timedelta(days=1)) is None
    assert ind.return_since(prices, prices[1].day) == pytest.approx(12 / 11 - 1)
    assert ind.return_since(prices, prices[2].day) == 0.0
    assert ind.return_since([], prices[0].day) is None


def test_aligned_closes_keep_common_days_only() -> None:
    stock = _days([1.0, 2.0, 3.0, 4.0])
    bench = [p for i, p in enumerate(_days([10.0, 20.0, 30.0, 40.0])) if i != 2]
    assert ind.aligned_closes(stock, bench) == ([1.0, 2.0, 4.0], [10.0, 20.0, 40.0])


def test_rsi_without_losses_is_100_and_without_moves_is_50() -> None:
    assert ind.rsi_series([float(i) for i in range(1, 20)])[-1] == 100.0
    assert ind.rsi_series([5.0] * 20)[-1] == 50.0
    assert ind.rsi_series([float(20 - i) for i in range(20)])[-1] == 0.0


def test_the_record_holds_the_last_value_of_each_series() -> None:
    snap = PROVIDER.snapshot("TSLA", as_of=AS_OF)
    closes = [p.close for p in snap.prices]
    found, _ = compute_indicators(snap)
    macd = ind.macd_series(closes)
    band = ind.bollinger(closes)
    assert band is not None
    assert found.rsi_14 == ind.rsi_series(closes)[-1]
    assert (found.macd_line, found.macd_signal, found.macd_histogram) == (
        macd.line[-1],
        macd.signal[-1],
        macd.histogram[-1],
    )
    assert (found.bollinger_upper, found.bollinger_lower, found.bollinger_position) == (
        band.upper,
        band.lower,
        band.position,
    )
    theirs = MACD(pd.Series(closes))
    assert abs(found.macd_line - theirs.macd().iloc[-1]) <= TOLERANCE  # type: ignore[operator]


def test_last_year_starts_at_the_close_one_year_before_the_last() -> None:
    prices = tuple(_days([100.0 + i for i in range(500)], start=date(2024, 1, 1)))
    year = last_year(prices)
    base = ind.close_on_or_before(prices, date(prices[-1].day.year - 1, prices[-1].day.month,
                                                prices[-1].day.day))  # fmt: skip
    assert base is not None and year[0] == base and year[-1] == prices[-1]
    assert len(year) == 366  # one calendar year of daily points, both ends included
    assert last_year(()) == ()
    short = tuple(_days([1.0, 2.0, 3.0]))
    assert last_year(short) == short  # shorter than a year: all of it


def test_period_starts_on_a_short_history() -> None:
    prices = tuple(_days([10.0 + i for i in range(10)], start=date(2025, 3, 3)))
    starts = dict(period_starts(prices))
    assert starts == {"1M": prices[0].day, "3M": prices[0].day, "YTD": prices[0].day,
                      "1Y": None}  # fmt: skip
    longer = tuple(_days([10.0 + i for i in range(30)], start=date(2025, 3, 3)))
    assert dict(period_starts(longer))["1M"] == longer[-22].day


def test_full_histories_have_no_missing_reason_and_the_default_rate_is_zero() -> None:
    snap = PROVIDER.snapshot("JPM", as_of=AS_OF)
    found, sources = compute_indicators(snap)
    assert {name: s.missing for name, s in sources.items() if s.missing} == {}
    assert found.risk_free_rate == 0.0 and "0.00% a year" in sources["sharpe_1y"].source
    year = [p.close for p in last_year(snap.prices)]
    assert found.sharpe_1y == ind.sharpe_ratio(year, risk_free_rate=0.0)


def test_period_starts_follow_the_last_session_across_new_year() -> None:
    prices = tuple(_days([10.0 + i for i in range(40)], start=date(2024, 11, 23)))
    assert prices[-1].day == date(2025, 1, 1) and prices[-2].day == date(2024, 12, 31)
    starts = dict(period_starts(prices))
    assert starts["YTD"] == date(2024, 12, 31)  # the last session of the previous year
    shorter = prices[:-1]  # ends on 31 December: nothing from 2023, YTD from the first
    assert dict(period_starts(shorter))["YTD"] == shorter[0].day


def test_macd_source_at_the_first_session_with_a_macd_line() -> None:
    snap = PROVIDER.snapshot("KO", as_of=AS_OF)
    short = dataclasses.replace(snap, prices=snap.prices[-26:], benchmark=None)
    found, sources = compute_indicators(short)
    assert found.macd_line is not None and found.macd_signal is None
    assert sources["macd"].missing == ""
