"""The track record: the agent's own technical score, recomputed in the past, and what followed.

At each month end of a ticker's history the technical rules are applied to
the closes known on that day only, exactly as a snapshot taken that day
would have shown them (the sessions from :func:`history_start` of that day to
the day itself, the benchmark over the same dates), through the same
functions the analysis uses (:func:`build_snapshot`, :func:`compute_indicators`,
:func:`analyze_technical`, :func:`assess_risk`). Then the forward 1-month and
3-month returns of the stock and its excess over the benchmark are measured
from that day's close, and the signals are summarised per score bucket
(rules: :data:`TRACK_RECORD_METHOD`).

Nothing after the signal day enters the signal (a test perturbs every later
price and finds every signal unchanged), and a forward window starts at the
signal day's close, never earlier.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import statistics
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from ..formatting import fmt_pct
from ..market_data.provider import (
    DailyHistory,
    MarketDataError,
    build_snapshot,
    history_start,
    last_weekday_on_or_before,
)
from ..records import (
    Benchmark,
    BucketStats,
    EdgeTest,
    FigureSource,
    PricePoint,
    TrackRecord,
    TrackSignal,
)
from .evidence import compute_indicators
from .intervals import CONFIDENCE, difference_interval, effective_size, mean_interval
from .signal_series import NEUTRAL_FUNDAMENTAL, SignalSeries, verdicts_of

logger = logging.getLogger(__name__)

#: Fewer signals than this in a bucket give "n/a", never a number from three points.
MIN_SIGNALS = 10
#: How far back the record looks by default.
DEFAULT_YEARS = 10
#: How many of the latest signals the record keeps, pending ones included.
RECENT_SIGNALS = 6
HIGH_SCORES = frozenset({4, 5})
LOW_SCORES = frozenset({1, 2})
HORIZONS: tuple[tuple[Literal["1M", "3M"], int], ...] = (("1M", 1), ("3M", 3))
SCORE_BUCKETS = ("5", "4", "3", "2", "1")
OUTLOOK_BUCKETS = ("positive", "neutral", "negative")
INTERVAL = (
    f"Student t, {CONFIDENCE:.0%}, on the effective number of signals "
    "(overlapping 3-month windows count for less)"
)

NOT_POINT_IN_TIME = (
    "The fundamental score is left out: neither data provider gives statements, P/E, "
    "margins or dividends as they were on a past date, so recomputing it would leak "
    "today's figures into the past. The outlook is the price-only one: the fundamental "
    f"score held at the neutral {NEUTRAL_FUNDAMENTAL} and the risk level from price "
    "factors only (volatility, beta, drawdowns)."
)

TRACK_RECORD_METHOD: tuple[str, ...] = (
    "Signals: at the last session of every month in the period (by default the last "
    f"{DEFAULT_YEARS} years), the technical score and its factors are recomputed by the "
    "same rules from the closes known on that day only: the year of sessions a report "
    "of that day would have shown, and the benchmark over the same dates. A month end "
    "without a full year of history before it gives no signal.",
    "Outcome: the forward 1-month return runs from the signal day's close to the close "
    "of the last session of the next month; the 3-month return to that of the third "
    "month on. The excess return is the stock's minus the benchmark's over the same two "
    "dates. A window that ends after the data is pending and not counted.",
    f"Summary per bucket (technical score 1 to 5; price-only outlook): number of signals, "
    f"mean and median forward excess, hit rate (share with an excess above 0) and a "
    f"{CONFIDENCE:.0%} Student-t interval of the mean. Monthly signals 3 months ahead "
    "share months with their neighbours, so the interval counts them as fewer "
    "independent ones (n squared x h / the months they share). A bucket with fewer "
    f"than {MIN_SIGNALS} measured signals shows n/a.",
    "Edge: the mean forward excess after scores of 4-5 minus that after scores of 1-2, "
    f"with Welch's {CONFIDENCE:.0%} interval; an interval above 0 is an edge, one that "
    "contains 0 is within chance.",
    NOT_POINT_IN_TIME,
    "Limits: the past is the provider's history as it is today (adjusted closes are "
    "revised by later splits and dividends; delisted tickers are missing); one ticker's "
    "few hundred signals detect only large edges; a past edge is no promise.",
)

SIMULATED_NOTE = (
    "simulated prices are a random walk with drift, so no edge beyond chance is expected"
)

SignalCache = dict[date, TrackSignal]
#: A month's last session in the data is its month end only this close to the month's
#: last weekday (holidays); further back, the data has a gap and the month has no end.
MONTH_END_SLACK_DAYS = 4


# ---------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------


def month_end_indices(prices: Sequence[PricePoint]) -> list[int]:
    """Indices of each month's last session: the last one of its month in the data, within
    :data:`MONTH_END_SLACK_DAYS` of the month's last weekday; the data's very last session
    only when it is that weekday (its month is over)."""
    ends = []
    for i in range(len(prices) - 1):
        day = prices[i].day
        last_of_month = day.month != prices[i + 1].day.month
        if last_of_month and (_last_weekday_of_month(day) - day).days <= MONTH_END_SLACK_DAYS:
            ends.append(i)
    if prices and _last_weekday_of_month(prices[-1].day) == prices[-1].day:
        ends.append(len(prices) - 1)
    return ends


def _last_weekday_of_month(day: date) -> date:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return last_weekday_on_or_before(next_month - timedelta(days=1))


def _month_key(day: date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True)
class _Series:
    """A history indexed for fast windows: days of the stock and of the benchmark."""

    history: DailyHistory
    days: list[date]
    bench_days: list[date]
    bench_closes: list[float]

    @classmethod
    def of(cls, history: DailyHistory) -> _Series:
        bench = history.benchmark.prices if history.benchmark else ()
        return cls(
            history=history,
            days=[p.day for p in history.prices],
            bench_days=[p.day for p in bench],
            bench_closes=[p.close for p in bench],
        )

    def window(self, index: int) -> tuple[tuple[PricePoint, ...], tuple[PricePoint, ...]]:
        """The sessions a snapshot of ``days[index]`` shows, and the benchmark's."""
        day = self.days[index]
        first = history_start(day)
        lo = bisect.bisect_left(self.days, first)
        prices = self.history.prices[lo : index + 1]
        bench: tuple[PricePoint, ...] = ()
        if self.history.benchmark is not None:
            b_lo = bisect.bisect_left(self.bench_days, first)
            b_hi = bisect.bisect_right(self.bench_days, day)
            bench = self.history.benchmark.prices[b_lo:b_hi]
        return prices, bench

    def bench_close(self, day: date) -> float | None:
        """The benchmark's close on the last session on or before ``day``."""
        index = bisect.bisect_right(self.bench_days, day) - 1
        return self.bench_closes[index] if index >= 0 else None


def point_in_time_signal(series: _Series, index: int) -> TrackSignal:
    """The verdicts a report on ``days[index]`` would have given from its prices alone,
    computed from scratch: the snapshot and indicators of that day's window."""
    history = series.history
    prices, bench = series.window(index)
    benchmark = (
        Benchmark(history.benchmark.symbol, history.benchmark.name, bench)
        if history.benchmark is not None and len(bench) >= 2
        else None
    )
    snapshot = build_snapshot(
        symbol=history.symbol,
        company_name=history.symbol,
        sector="",
        industry="",
        currency=history.currency,
        data_source=history.data_source,
        prices=prices,
        market_cap=0.0,
        benchmark=benchmark,
        history_source=history.source,
    )
    indicators, _ = compute_indicators(snapshot)
    return verdicts_of(snapshot, indicators)


def _with_outcome(
    signal: TrackSignal, series: _Series, ends_by_month: dict[int, int]
) -> TrackSignal:
    """The signal with its forward returns, each window starting at the signal day's close."""
    outcome: dict[str, Any] = {}
    start_bench = series.bench_close(signal.day)
    for horizon, months in HORIZONS:
        end_index = ends_by_month.get(_month_key(signal.day) + months)
        if end_index is None:
            continue
        end = series.history.prices[end_index]
        stock = end.close / signal.close - 1.0
        end_bench = series.bench_close(end.day)
        excess = None
        if start_bench is not None and end_bench is not None:
            excess = stock - (end_bench / start_bench - 1.0)
        suffix = horizon.lower()
        outcome |= {f"end_{suffix}": end.day, f"return_{suffix}": stock, f"excess_{suffix}": excess}
    return dataclasses.replace(signal, **outcome)


def signals_of(
    history: DailyHistory, *, since: date, cache: SignalCache | None = None
) -> list[TrackSignal]:
    """Every month-end signal from ``since`` on, with its forward returns where measurable.

    Signals not in ``cache`` come from :class:`SignalSeries` (one pass over the
    history, the same verdicts), else from scratch (:func:`point_in_time_signal`).
    """
    series = _Series.of(history)
    ends = month_end_indices(history.prices)
    ends_by_month = {_month_key(history.prices[i].day): i for i in ends}
    cache = {} if cache is None else cache
    wanted = [
        index
        for index in ends
        if history.prices[index].day >= since
        # A report that day would have lacked a full year of history: no signal.
        and history_start(history.prices[index].day) >= history.start
    ]
    missing = [index for index in wanted if history.prices[index].day not in cache]
    running = SignalSeries.of(history) if missing else None
    for index in missing:
        found = running.signal(index) if running is not None else None
        cache[history.prices[index].day] = (
            found if found is not None else point_in_time_signal(series, index)
        )
    return [
        _with_outcome(cache[history.prices[index].day], series, ends_by_month) for index in wanted
    ]


# ---------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------


def _measured(signal: TrackSignal, horizon: str, *, excess: bool) -> float | None:
    suffix = horizon.lower()
    value: float | None = getattr(signal, f"{'excess' if excess else 'return'}_{suffix}")
    return value


def not_enough(count: int, minimum: int) -> str:
    """The n/a reason of a bucket with too few measured signals."""
    return f"n/a ({count} signal{'s' if count != 1 else ''}, need at least {minimum})"


def bucket_stats(
    signal_kind: Literal["technical score", "price-only outlook"],
    bucket: str,
    horizon: Literal["1M", "3M"],
    members: Sequence[TrackSignal],
    *,
    min_signals: int,
    excess: bool,
) -> BucketStats:
    """The summary of one bucket over one horizon (n/a below ``min_signals``)."""
    months = dict(HORIZONS)[horizon]
    measured = [(s, v) for s in members if (v := _measured(s, horizon, excess=excess)) is not None]
    count = len(measured)
    if count < min_signals:
        return BucketStats(
            signal_kind, bucket, horizon, count, missing=not_enough(count, min_signals)
        )
    values = [v for _, v in measured]
    effective = effective_size([_month_key(s.day) for s, _ in measured], months)
    interval = mean_interval(values, effective=effective)
    return BucketStats(
        signal=signal_kind,
        bucket=bucket,
        horizon=horizon,
        signals=count,
        mean=statistics.fmean(values),
        median=statistics.median(values),
        hit_rate=sum(v > 0 for v in values) / count,
        ci_low=interval.low if interval else None,
        ci_high=interval.high if interval else None,
        effective_signals=effective,
        missing="" if interval else "n/a (too few independent signals for an interval)",
    )


def edge_test(
    signals: Sequence[TrackSignal],
    horizon: Literal["1M", "3M"],
    *,
    min_signals: int,
    excess: bool,
) -> EdgeTest:
    """Mean forward excess after scores of 4-5 minus after 1-2, with Welch's interval."""
    months = dict(HORIZONS)[horizon]

    def group(scores: frozenset[int]) -> list[tuple[TrackSignal, float]]:
        return [
            (s, v)
            for s in signals
            if s.technical_score in scores
            and (v := _measured(s, horizon, excess=excess)) is not None
        ]

    high, low = group(HIGH_SCORES), group(LOW_SCORES)
    if len(high) < min_signals or len(low) < min_signals:
        return EdgeTest(
            horizon,
            len(high),
            len(low),
            missing=f"n/a ({len(high)} signals scored 4-5 and {len(low)} scored 1-2, "
            f"need at least {min_signals} each)",
        )
    interval = difference_interval(
        [v for _, v in high],
        [v for _, v in low],
        first_effective=effective_size([_month_key(s.day) for s, _ in high], months),
        second_effective=effective_size([_month_key(s.day) for s, _ in low], months),
    )
    if interval is None:
        return EdgeTest(horizon, len(high), len(low), missing="n/a (too few independent signals)")
    verdict: Literal["edge", "worse than chance", "within chance"] = (
        "edge"
        if interval.low > 0
        else "worse than chance"
        if interval.high < 0
        else "within chance"
    )
    return EdgeTest(
        horizon=horizon,
        high_signals=len(high),
        low_signals=len(low),
        difference=interval.mean,
        ci_low=interval.low,
        ci_high=interval.high,
        verdict=verdict,
    )


def _reading(edges: Sequence[EdgeTest], *, signals: int, data_source: str, measure: str) -> str:
    """One sentence: what the 1-month edge test found, in words and its own figures."""
    edge = next((e for e in edges if e.horizon == "1M"), None)
    if signals == 0:
        return "No month-end signal could be scored in the period."
    if edge is None or edge.difference is None:
        why = edge.missing if edge is not None else "n/a"
        return (
            f"Over {signals} month-end signals there were too few high and low scores to "
            f"compare them ({why.removeprefix('n/a (').removesuffix(')')})."
        )
    words = {
        "edge": "more than chance explains",
        "worse than chance": "worse than chance: high scores did worse than low ones",
        "within chance": "within chance",
    }[edge.verdict]
    note = f"; {SIMULATED_NOTE}" if data_source == "simulated" else ""
    return (
        f"Over {signals} month-end signals, scores of 4-5 were followed by a 1-month {measure} "
        f"{fmt_pct(edge.difference, signed=True)} different from scores of 1-2 "
        f"({CONFIDENCE:.0%} interval {fmt_pct(edge.ci_low, signed=True)} to "
        f"{fmt_pct(edge.ci_high, signed=True)}): {words}{note}."
    )


def summarize(
    history: DailyHistory,
    signals: Sequence[TrackSignal],
    *,
    as_of: date,
    min_signals: int = MIN_SIGNALS,
) -> TrackRecord:
    """The record of ``signals`` (see :data:`TRACK_RECORD_METHOD`)."""
    bench = history.benchmark.symbol if history.benchmark is not None else None
    excess = bench is not None
    measure = f"excess return over {bench}" if excess else "return (no benchmark)"
    buckets: list[BucketStats] = []
    for horizon, _ in HORIZONS:
        for bucket in SCORE_BUCKETS:
            members = [s for s in signals if str(s.technical_score) == bucket]
            buckets.append(
                bucket_stats(
                    "technical score",
                    bucket,
                    horizon,
                    members,
                    min_signals=min_signals,
                    excess=excess,
                )
            )
        for bucket in OUTLOOK_BUCKETS:
            members = [s for s in signals if s.outlook == bucket]
            buckets.append(
                bucket_stats(
                    "price-only outlook",
                    bucket,
                    horizon,
                    members,
                    min_signals=min_signals,
                    excess=excess,
                )
            )
    edges = tuple(
        edge_test(signals, horizon, min_signals=min_signals, excess=excess)
        for horizon, _ in HORIZONS
    )
    first = signals[0].day if signals else None
    last = signals[-1].day if signals else None
    period = f"{first.isoformat()} to {last.isoformat()}" if first and last else "no signal"
    source = FigureSource(
        f"computed: technical score recomputed at each month end from the closes up to that "
        f"day ({history.source}, {len(history.prices)} sessions from "
        f"{history.prices[0].day.isoformat()}), forward returns to later month ends; "
        f"signals {period}",
        as_of,
        "" if signals else "no month end in the period had a full year of history before it",
    )
    return TrackRecord(
        symbol=history.symbol,
        data_source=history.data_source,
        benchmark_symbol=bench,
        measure=measure,
        min_signals=min_signals,
        interval=INTERVAL,
        signals=len(signals),
        measured_1m=sum(s.return_1m is not None for s in signals),
        first_signal=first,
        last_signal=last,
        buckets=tuple(buckets),
        edges=edges,
        recent=tuple(signals[-RECENT_SIGNALS:]),
        reading=_reading(
            edges, signals=len(signals), data_source=history.data_source, measure=measure
        ),
        not_point_in_time=NOT_POINT_IN_TIME,
        source=source,
    )


def compute_track_record(
    history: DailyHistory,
    *,
    as_of: date,
    since: date | None = None,
    min_signals: int = MIN_SIGNALS,
    cache: SignalCache | None = None,
) -> TrackRecord:
    """The track record of ``history`` up to ``as_of`` (a pure function of its inputs).

    ``history`` must end on or before ``as_of``; signals start at ``since``
    (default :func:`default_since`). ``cache`` keeps signals between calls
    for a history whose closes do not change.
    """
    if history.prices and history.prices[-1].day > as_of:
        raise ValueError(
            f"the history of {history.symbol} runs to {history.prices[-1].day}, after as_of {as_of}"
        )
    signals = signals_of(history, since=since or default_since(as_of), cache=cache)
    return summarize(history, signals, as_of=as_of, min_signals=min_signals)


def default_since(as_of: date) -> date:
    """:data:`DEFAULT_YEARS` years before ``as_of`` (28 February for a 29th)."""
    year = as_of.year - DEFAULT_YEARS
    try:
        return as_of.replace(year=year)
    except ValueError:
        return as_of.replace(year=year, day=28)


def unavailable(symbol: str, *, data_source: str, as_of: date, reason: str) -> TrackRecord:
    """The record when the history cannot be had: no figures, and why."""
    return TrackRecord(
        symbol=symbol,
        data_source=data_source,
        benchmark_symbol=None,
        measure="",
        min_signals=MIN_SIGNALS,
        interval=INTERVAL,
        signals=0,
        measured_1m=0,
        first_signal=None,
        last_signal=None,
        buckets=(),
        edges=(),
        recent=(),
        reading=f"No track record: {reason}.",
        not_point_in_time=NOT_POINT_IN_TIME,
        source=FigureSource(f"{data_source} daily history", as_of, reason),
    )


# ---------------------------------------------------------------------------
# cached per ticker and day
# ---------------------------------------------------------------------------


class _Caches:
    """Signals per (source, ticker, history revision) and records per day, both bounded.

    A revision names one version of a history's closes (the simulated path
    never changes; a yfinance history is one day's download), so a signal
    computed once is reused by every later record of the same revision.
    """

    MAX_RECORDS = 512
    MAX_SERIES = 128

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: OrderedDict[tuple[str, ...], TrackRecord] = OrderedDict()
        self.signals: OrderedDict[tuple[str, str, str], SignalCache] = OrderedDict()

    def record(self, key: tuple[str, ...]) -> TrackRecord | None:
        with self.lock:
            found = self.records.get(key)
            if found is not None:
                self.records.move_to_end(key)
            return found

    def keep(self, key: tuple[str, ...], record: TrackRecord) -> None:
        with self.lock:
            self.records[key] = record
            while len(self.records) > self.MAX_RECORDS:
                self.records.popitem(last=False)

    def signal_cache(self, history: DailyHistory) -> SignalCache:
        key = (history.data_source, history.symbol, history.revision)
        with self.lock:
            cache = self.signals.setdefault(key, {})
            self.signals.move_to_end(key)
            while len(self.signals) > self.MAX_SERIES:
                self.signals.popitem(last=False)
            return cache


_CACHES = _Caches()


def track_record_for(
    provider: Any,
    symbol: str,
    *,
    as_of: date,
    since: date | None = None,
) -> TrackRecord:
    """The track record of ``symbol`` from ``provider``'s history, cached per ticker and day.

    A provider without a long history or a failed fetch give a record with
    no figures and the reason (the analysis goes on). Raises
    :class:`UnknownTickerError` for a ticker the provider does not know and
    :class:`ValueError` when ``since`` is not before ``as_of``.
    """
    key_symbol = symbol.strip().upper()
    day = last_weekday_on_or_before(as_of)
    start = since or default_since(day)
    if start >= day:
        raise ValueError(f"since ({start.isoformat()}) must be before {day.isoformat()}")
    name = str(getattr(provider, "name", "unknown"))
    history_of: Callable[..., DailyHistory] | None = getattr(provider, "history", None)
    if history_of is None:
        return unavailable(
            key_symbol, data_source=name, as_of=day,
            reason=f"the {name} provider gives no long daily history",
        )  # fmt: skip
    try:
        history = history_of(key_symbol, start=history_start(start), end=day)
    except MarketDataError as err:
        logger.warning("%s: track record unavailable: %s", key_symbol, err)
        return unavailable(
            key_symbol, data_source=name, as_of=day,
            reason=f"the daily history is unavailable: {err}",
        )  # fmt: skip
    key = (name, key_symbol, history.revision, day.isoformat(), start.isoformat())
    found = _CACHES.record(key)
    if found is not None:
        return found
    record = compute_track_record(
        history, as_of=day, since=start, cache=_CACHES.signal_cache(history)
    )
    _CACHES.keep(key, record)
    return record


def buckets_of(record: TrackRecord, signal: str, horizon: str) -> Iterable[BucketStats]:
    """The record's buckets of one signal kind and horizon, in display order."""
    return (b for b in record.buckets if b.signal == signal and b.horizon == horizon)
