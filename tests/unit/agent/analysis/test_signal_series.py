"""The one-pass month-end signals equal the from-scratch ones, signal for signal.

The reference is :func:`point_in_time_signal`: the snapshot and every
indicator of each month end's window built from scratch, as a report of
that day would. :class:`SignalSeries` must give the same verdicts on every
ticker of the simulated universe, on planted series with and without a
benchmark, and when every bounded figure is forced onto its exact path.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from stock_agent.analysis import signal_series
from stock_agent.analysis.signal_series import SignalSeries
from stock_agent.analysis.track_record import (
    _Series,
    month_end_indices,
    point_in_time_signal,
    signals_of,
)
from stock_agent.market_data import DailyHistory, SimulatedProvider, history_start
from stock_agent.records import TrackSignal

from .test_track_record import planted

PROVIDER = SimulatedProvider()
UNIVERSE = sorted(PROVIDER._universe)
STRIDE = 6  # each ticker checks every 6th month end, a different one per ticker


def _month_ends(history: DailyHistory) -> list[int]:
    return [
        i
        for i in month_end_indices(history.prices)
        if history_start(history.prices[i].day) >= history.start
    ]


def _assert_same(history: DailyHistory, indices: list[int]) -> None:
    running = SignalSeries.of(history)
    assert running is not None
    series = _Series.of(history)
    for index in indices:
        fast = running.signal(index)
        assert fast is not None
        assert fast == point_in_time_signal(series, index), history.prices[index].day


@pytest.mark.parametrize("offset_symbol", list(enumerate(UNIVERSE)), ids=UNIVERSE)
def test_every_simulated_ticker_gets_the_from_scratch_verdicts(
    offset_symbol: tuple[int, str],
) -> None:
    offset, symbol = offset_symbol
    history = PROVIDER.history(symbol, start=date(2006, 1, 2), end=date(2026, 12, 7))
    ends = _month_ends(history)
    assert len(ends) > 200
    _assert_same(history, ends[offset % STRIDE :: STRIDE])


@pytest.mark.parametrize("momentum", [True, False])
def test_planted_series_get_the_from_scratch_verdicts(momentum: bool) -> None:
    history = planted(7, momentum=momentum, years=8)
    _assert_same(history, _month_ends(history))


def test_without_a_benchmark_the_verdicts_are_the_from_scratch_ones() -> None:
    history = dataclasses.replace(planted(3, momentum=True, years=6), benchmark=None)
    _assert_same(history, _month_ends(history))


def test_every_figure_on_its_exact_path_gives_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bounds so wide that no figure is clear of a threshold: each is recomputed exactly."""
    calls: list[str] = []
    for name in ("annualized_volatility", "last_year"):
        real = getattr(signal_series, name)
        monkeypatch.setattr(
            signal_series,
            name,
            lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a),
        )
    monkeypatch.setattr(signal_series, "ROUNDING", 1e6)
    monkeypatch.setattr(signal_series, "SUM_TOLERANCE", 1e6)
    history = PROVIDER.history("TSLA", start=date(2014, 1, 1), end=date(2026, 12, 7))
    ends = _month_ends(history)[::6]
    _assert_same(history, ends)
    assert calls.count("annualized_volatility") == len(ends)
    assert calls.count("last_year") == 2 * len(ends)  # the beta's two years


def test_a_benchmark_on_other_days_leaves_the_signals_to_the_from_scratch_path() -> None:
    history = PROVIDER.history("KO", start=date(2014, 1, 1), end=date(2026, 12, 7))
    assert history.benchmark is not None
    gap = dataclasses.replace(
        history.benchmark, prices=history.benchmark.prices[:100] + history.benchmark.prices[101:]
    )
    shifted = dataclasses.replace(history, benchmark=gap)
    assert SignalSeries.of(shifted) is None
    signals = signals_of(shifted, since=date(2016, 1, 1))
    series = _Series.of(shifted)
    by_day = {p.day: i for i, p in enumerate(shifted.prices)}
    for signal in signals[::10]:
        reference = point_in_time_signal(series, by_day[signal.day])
        assert _verdict(signal) == _verdict(reference)


def test_a_window_shorter_than_the_bounds_need_is_computed_from_scratch() -> None:
    history = PROVIDER.history("KO", start=date(2014, 1, 1), end=date(2026, 12, 7))
    running = SignalSeries.of(history)
    assert running is not None
    short = signal_series.MIN_WINDOW - 1
    assert running.signal(short - 1) is None  # the window from the first session is too short
    assert SignalSeries.of(dataclasses.replace(history, prices=history.prices[:short])) is None


def _verdict(signal: TrackSignal) -> TrackSignal:
    return dataclasses.replace(
        signal, end_1m=None, return_1m=None, excess_1m=None, end_3m=None, return_3m=None,
        excess_3m=None,
    )  # fmt: skip
