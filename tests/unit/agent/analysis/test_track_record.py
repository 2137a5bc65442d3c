"""The track record: point in time, no look-ahead, honest about chance.

- No look-ahead: every price after a date is perturbed and every signal on
  or before that date stays the same; each forward window starts at its
  signal day's close.
- Same rules as the report: a month-end signal of the simulated market is
  the technical score a report of that day gives.
- Edges: a planted momentum series shows an edge; pure random walks show
  none beyond chance; too few signals give "n/a (k signals, need at least N)".
"""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.analysis import analyze
from stock_agent.analysis.intervals import effective_size, t_quantile
from stock_agent.analysis.track_record import (
    MIN_SIGNALS,
    bucket_stats,
    compute_track_record,
    month_end_indices,
    signals_of,
    track_record_for,
)
from stock_agent.market_data import DailyHistory, SimulatedProvider, history_start
from stock_agent.records import Benchmark, PricePoint, TrackSignal

PROVIDER = SimulatedProvider()
AS_OF = date(2026, 11, 30)


def _sessions(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def planted(seed: int, *, momentum: bool, years: int = 15) -> DailyHistory:
    """A stock and an index; with ``momentum`` the stock's drift is +-60 % a year in regimes
    that last ten months on average (a predictable series), else a pure random walk."""
    rng = random.Random(seed)
    days = _sessions(date(2000, 1, 3), date(2000 + years, 12, 31))
    index, stock, level_i, level_s, regime, month = [], [], 0.0, 0.0, 1, 0
    for day in days:
        if day.month != month:
            month = day.month
            regime = -regime if rng.random() < 0.1 else regime
        market = rng.gauss(0.0003, 0.01)
        drift = 0.6 * regime / 252 if momentum else 0.0003
        level_i += market
        level_s += drift + market + rng.gauss(0.0, 0.012)
        index.append(PricePoint(day, round(1000 * math.exp(level_i), 2), 0))
        stock.append(PricePoint(day, round(50 * math.exp(level_s), 2), 1000))
    return DailyHistory(
        symbol="PLANT",
        currency="USD",
        data_source="fixture",
        start=days[0],
        prices=tuple(stock),
        benchmark=Benchmark("IDX", "Index", tuple(index)),
        source="fixture closes",
        revision=f"{seed}-{momentum}",
    )


# ---------------------------------------------------------------------------
# no look-ahead
# ---------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(cut=st.dates(date(2019, 1, 1), date(2026, 6, 30)), seed=st.integers(0, 2**16))
def test_perturbing_every_later_price_changes_no_signal_on_or_before(cut: date, seed: int) -> None:
    history = PROVIDER.history("MSFT", start=date(2015, 1, 1), end=AS_OF)
    rng = random.Random(seed)

    def shaken(points: tuple[PricePoint, ...]) -> tuple[PricePoint, ...]:
        return tuple(
            p
            if p.day <= cut
            else dataclasses.replace(p, close=round(p.close * rng.uniform(0.5, 2), 2))
            for p in points
        )

    assert history.benchmark is not None
    changed = dataclasses.replace(
        history,
        prices=shaken(history.prices),
        benchmark=dataclasses.replace(history.benchmark, prices=shaken(history.benchmark.prices)),
    )
    since = date(2016, 1, 1)
    before = [s for s in signals_of(history, since=since) if s.day <= cut]
    after = [s for s in signals_of(changed, since=since) if s.day <= cut]
    assert before and len(before) == len(after)
    verdict = ("day", "close", "technical_score", "trend", "momentum", "volatility_level",
               "risk_level", "outlook")  # fmt: skip
    for one, two in zip(before, after, strict=True):
        assert [getattr(one, f) for f in verdict] == [getattr(two, f) for f in verdict]
        # Outcomes whose window closed by the cut are unchanged too; later ones may move.
        for horizon in ("1m", "3m"):
            end = getattr(one, f"end_{horizon}")
            if end is not None and end <= cut:
                assert getattr(one, f"excess_{horizon}") == getattr(two, f"excess_{horizon}")


def test_every_forward_window_starts_at_its_signal_days_close() -> None:
    history = PROVIDER.history("NVDA", start=date(2015, 1, 1), end=AS_OF)
    closes = {p.day: p.close for p in history.prices}
    assert history.benchmark is not None
    bench = {p.day: p.close for p in history.benchmark.prices}
    signals = signals_of(history, since=date(2016, 1, 1))
    measured = 0
    for signal in signals:
        assert signal.close == closes[signal.day]  # the score saw that close, nothing later
        for horizon in ("1m", "3m"):
            end = getattr(signal, f"end_{horizon}")
            if end is None:
                continue
            measured += 1
            assert end > signal.day
            stock = closes[end] / closes[signal.day] - 1
            assert getattr(signal, f"return_{horizon}") == pytest.approx(stock, abs=1e-12)
            excess = stock - (bench[end] / bench[signal.day] - 1)
            assert getattr(signal, f"excess_{horizon}") == pytest.approx(excess, abs=1e-12)
    assert measured > 200


def test_windows_end_at_the_next_and_third_month_ends() -> None:
    history = PROVIDER.history("KO", start=date(2015, 1, 1), end=AS_OF)
    signals = signals_of(history, since=date(2016, 1, 1))
    ends = {(p.day.year, p.day.month): p.day for p in (history.prices[i] for i in
            month_end_indices(history.prices))}  # fmt: skip
    for signal in signals:
        if signal.end_1m is not None:
            nxt = date(signal.day.year + signal.day.month // 12, signal.day.month % 12 + 1, 1)
            assert signal.end_1m == ends[(nxt.year, nxt.month)]
    # The last signals' windows run past the data: pending, not measured.
    assert signals[-1].day == AS_OF and signals[-1].end_1m is None and signals[-1].excess_3m is None
    assert signals[-3].end_1m is not None and signals[-3].end_3m is None


# ---------------------------------------------------------------------------
# the same rules as the report
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["AAPL", "TSLA", "SIM_JP", "JNJ"])
def test_a_month_end_signal_is_what_a_report_that_day_said(symbol: str) -> None:
    history = PROVIDER.history(symbol, start=date(2015, 1, 1), end=AS_OF)
    signals = signals_of(history, since=date(2016, 1, 1))
    for signal in signals[::9]:
        report = analyze(PROVIDER.snapshot(symbol, as_of=signal.day))
        assert signal.technical_score == report.technical.score
        assert (signal.trend, signal.momentum) == (
            report.technical.trend,
            report.technical.momentum,
        )
        assert signal.volatility_level == report.technical.volatility_level


def test_signals_need_a_full_year_of_history_before_them() -> None:
    history = PROVIDER.history("AAPL", start=date(2006, 1, 2), end=date(2009, 12, 31))
    signals = signals_of(history, since=date(2006, 1, 1))
    assert signals[0].day == date(2007, 1, 31)  # 2006's month ends lack a year before them
    assert all(history_start(s.day) >= history.start for s in signals)


# ---------------------------------------------------------------------------
# too few signals
# ---------------------------------------------------------------------------


def _signal(day: date, excess: float) -> TrackSignal:
    return TrackSignal(day=day, close=10.0, technical_score=4, trend="uptrend",
                       momentum="positive", volatility_level="low", risk_level="LOW",
                       outlook="neutral", end_1m=day + timedelta(days=30), return_1m=excess,
                       excess_1m=excess)  # fmt: skip


@pytest.mark.parametrize("count", [MIN_SIGNALS - 1, MIN_SIGNALS])
def test_a_bucket_needs_min_signals_for_a_figure(count: int) -> None:
    members = [_signal(date(2020, 1, 31) + timedelta(days=31 * i), 0.01 * (i - 3))
               for i in range(count)]  # fmt: skip
    stats = bucket_stats("technical score", "4", "1M", members, min_signals=MIN_SIGNALS,
                         excess=True)  # fmt: skip
    assert stats.signals == count
    if count < MIN_SIGNALS:
        assert stats.mean is None and stats.hit_rate is None and stats.ci_low is None
        assert stats.missing == f"n/a ({count} signals, need at least {MIN_SIGNALS})"
    else:
        values = [0.01 * (i - 3) for i in range(count)]
        assert stats.mean == pytest.approx(sum(values) / count)
        assert stats.hit_rate == pytest.approx(sum(v > 0 for v in values) / count)
        assert stats.ci_low is not None and stats.ci_high is not None
        assert stats.ci_low < stats.mean < stats.ci_high and not stats.missing


def test_pending_signals_do_not_count_towards_a_bucket() -> None:
    members = [dataclasses.replace(_signal(date(2020, 1, 31), 0.01), excess_1m=None,
                                   return_1m=None)] * (MIN_SIGNALS + 5)  # fmt: skip
    stats = bucket_stats("technical score", "4", "1M", members, min_signals=MIN_SIGNALS,
                         excess=True)  # fmt: skip
    assert stats.signals == 0 and stats.missing == f"n/a (0 signals, need at least {MIN_SIGNALS})"


# ---------------------------------------------------------------------------
# an edge where there is one, none where there is none
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_momentum_series_shows_an_edge(seed: int) -> None:
    history = planted(seed, momentum=True)
    record = compute_track_record(history, as_of=history.prices[-1].day, since=date(2001, 1, 1))
    one_month = record.edges[0]
    assert one_month.horizon == "1M" and one_month.verdict == "edge", one_month
    assert one_month.ci_low is not None and one_month.ci_low > 0
    assert "more than chance" in record.reading


def test_pure_random_walks_show_no_edge_beyond_chance() -> None:
    """Ten random walks: a 95 % interval excludes 0 about once in twenty by chance alone;
    more than two of ten (p < 1.2 %) would mean the method finds edges that are not there."""
    verdicts = []
    for seed in range(10):
        history = planted(100 + seed, momentum=False)
        record = compute_track_record(history, as_of=history.prices[-1].day, since=date(2001, 1, 1))
        verdicts += [edge.verdict for edge in record.edges]
    assert verdicts.count("within chance") >= len(verdicts) - 2, verdicts


def test_the_simulated_universe_reads_within_chance() -> None:
    """The simulation is a random walk with drift: its track record says so."""
    record = track_record_for(PROVIDER, "SIM_STOCK", as_of=AS_OF)
    assert record.signals == 121 and record.benchmark_symbol == "SIM_INDEX"
    assert record.edges[0].verdict == "within chance"
    assert "random walk with drift" in record.reading


# ---------------------------------------------------------------------------
# intervals, cache, providers without a history
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 12.7062), (2, 4.3027), (5, 2.5706), (10, 2.2281), (30, 2.0423), (1000, 1.9623)],
)
def test_t_quantiles_match_the_published_table(df: int, quantile: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-4)
    assert t_quantile(0.025, df) == pytest.approx(-quantile, abs=1e-4)


def test_overlapping_windows_count_for_less() -> None:
    assert effective_size(list(range(30)), 1) == 30
    assert effective_size([0, 3, 6, 9], 3) == 4  # no overlap
    assert effective_size(list(range(300)), 3) == pytest.approx(100, rel=0.01)


def test_the_record_is_cached_per_ticker_and_day() -> None:
    first = track_record_for(PROVIDER, "PG", as_of=AS_OF)
    assert track_record_for(SimulatedProvider(), "PG", as_of=AS_OF) is first
    assert track_record_for(PROVIDER, "PG", as_of=AS_OF + timedelta(days=1)) is not first


def test_a_provider_without_a_long_history_gives_a_reason_not_figures() -> None:
    class SnapshotsOnly:
        name = "snapshots-only"

    record = track_record_for(SnapshotsOnly(), "AAPL", as_of=AS_OF)
    assert record.buckets == () and record.signals == 0
    assert "gives no long daily history" in record.source.missing


def test_since_must_come_before_the_as_of_date() -> None:
    with pytest.raises(ValueError, match="must be before"):
        track_record_for(PROVIDER, "AAPL", as_of=AS_OF, since=AS_OF)
