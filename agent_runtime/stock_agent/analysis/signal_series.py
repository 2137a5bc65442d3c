"""Month-end verdicts of a long history from one pass over it, equal to the from-scratch ones.

The track record asks, at every month end, what the technical and risk
rules said on that day from the year of closes a report would have shown.
Recomputing each snapshot and its indicators from scratch costs about 2 ms
a signal (the exact statistics of the standard library, and RSI and MACD
restarted at each window's first close): a quarter of a second per ticker.
Here the figures the rules read are computed for the whole history once,
and each month end's snapshot and indicators are cut from them; the same
rule functions (:func:`analyze_technical`, :func:`assess_risk`) then give
the verdicts. Every verdict equals the from-scratch one:

- Closes, SMAs, returns, the 52-week high and the 1-year maximum drawdown
  are the same float operations on the same numbers, so the same values.
- RSI and MACD run from the history's first close. A window's own averages
  start again at its first close; the rules are linear recursions, so the
  two differ by the gap at the window's start times a factor that decays
  each session (13/14 for RSI, 25/27 for the slow EMA): after a year,
  about 1e-8 of it. Volatility and beta come from float sums of the
  window instead of exact rationals: a sum of n terms errs by at most
  n x 2^-53 of the sum of their magnitudes, about 1e-13 over a year, and
  the mean's part is kept below half of the squares so that it cannot
  cancel digits away.
- Each such figure carries a bound on its distance to the from-scratch
  value, far above float rounding. Where a rule's threshold lies within
  that bound, the figure is recomputed over the window by the indicator
  functions themselves, so a verdict never rests on an approximation that
  could fall on the other side of a threshold.

A history whose benchmark trades on other days than the stock (or a window
too short for the bounds) is left to the from-scratch path.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from operator import mul

from ..market_data.provider import (
    AVERAGE_VOLUME_SESSIONS,
    DailyHistory,
    annualized_volatility,
    history_start,
    one_year_before,
    year_ago_close,
)
from ..records import (
    Benchmark,
    Indicators,
    PeriodReturn,
    PricePoint,
    StockSnapshot,
    TrackSignal,
)
from . import indicators as ind
from .evidence import last_year
from .scoring import (
    RISK_BETA,
    RISK_VOL_ELEVATED,
    RISK_VOL_HIGH,
    RSI_OVERBOUGHT,
    RSI_OVERSOLD,
    VOL_HIGH,
    VOL_LOW,
    analyze_technical,
    assess_risk,
    outlook_for,
)

#: The fundamental score the price-only outlook assumes (the neutral start).
NEUTRAL_FUNDAMENTAL = 3
#: The thresholds the rules compare each approximated figure with.
VOLATILITY_THRESHOLDS = (VOL_LOW, VOL_HIGH, RISK_VOL_ELEVATED, RISK_VOL_HIGH)
BETA_THRESHOLDS = (RISK_BETA,)
RSI_THRESHOLDS = (RSI_OVERSOLD, RSI_OVERBOUGHT)
#: Float rounding of the running sums, relative to the window's highest close (the
#: actual error is below 1e-14 of it); the bounds add this on top of the decay.
ROUNDING = 1e-10
#: Relative error allowed for volatility and beta (the actual one is about 1e-13).
SUM_TOLERANCE = 1e-9
#: Sums of squares whose mean part is above half of them (a trend far steeper than the
#: daily noise) lose digits to cancellation; those figures are computed exactly.
CANCELLATION = 0.5
#: Shorter windows are computed from scratch (the bounds assume MACD is defined).
MIN_WINDOW = 2 * ind.MACD_SLOW + ind.MACD_SIGNAL


def verdicts_of(snapshot: StockSnapshot, indicators: Indicators) -> TrackSignal:
    """The signal of one day: the technical rules, the price-only risk and outlook."""
    technical = analyze_technical(snapshot, indicators)
    risk, _ = assess_risk(snapshot, indicators)
    return TrackSignal(
        day=snapshot.as_of,
        close=snapshot.current_price,
        technical_score=technical.score,
        trend=technical.trend,
        momentum=technical.momentum,
        volatility_level=technical.volatility_level,
        risk_level=risk,
        outlook=outlook_for(technical.score, NEUTRAL_FUNDAMENTAL, risk),
    )


def _clear_of(value: float, thresholds: Sequence[float], tolerance: float) -> bool:
    """True when no threshold lies within ``tolerance`` of ``value``."""
    return all(abs(value - t) > tolerance for t in thresholds)


def _wilder_seed(changes: Sequence[float]) -> tuple[float, float]:
    """RSI's first average gain and loss: the simple means of the first changes."""
    return (
        statistics.fmean([max(c, 0.0) for c in changes]),
        statistics.fmean([max(-c, 0.0) for c in changes]),
    )


@dataclass(frozen=True)
class SignalSeries:
    """One history's running figures; :meth:`signal` cuts a month end's verdict from them."""

    history: DailyHistory
    days: list[date]
    closes: list[float]
    log_returns: list[float]  # log(close[i + 1] / close[i])
    returns: list[float]  # close[i + 1] / close[i] - 1
    bench_closes: list[float] | None
    bench_returns: list[float] | None
    changes: list[float]  # close[i + 1] - close[i]
    gains: list[float]  # Wilder's average gain after change i (from change RSI_PERIOD - 1 on)
    losses: list[float]
    fast: list[float]  # EMA12 of the closes from the first one
    slow: list[float]  # EMA26
    signal_line: list[float]  # EMA9 of the MACD line from index MACD_SLOW - 1 (0 before)
    higher: list[int]  # the next session closing above close[i] (len(closes) when none)

    @classmethod
    def of(cls, history: DailyHistory) -> SignalSeries | None:
        """The series, or ``None`` when the benchmark's sessions are not the stock's."""
        prices, bench = history.prices, history.benchmark
        days = [p.day for p in prices]
        if bench is not None and [p.day for p in bench.prices] != days:
            return None
        closes = [p.close for p in prices]
        if len(closes) < MIN_WINDOW:
            return None
        changes = [b - a for a, b in pairwise(closes)]
        gains, losses = _wilder(changes)
        fast, slow = ind.ema(closes, ind.MACD_FAST), ind.ema(closes, ind.MACD_SLOW)
        start = ind.MACD_SLOW - 1
        line = [f - s for f, s in zip(fast[start:], slow[start:], strict=True)]
        signal_line = [0.0] * start + ind.ema(line, ind.MACD_SIGNAL)
        bench_closes = [p.close for p in bench.prices] if bench is not None else None
        return cls(
            history=history,
            days=days,
            closes=closes,
            log_returns=[math.log(b / a) for a, b in pairwise(closes)],
            returns=ind.daily_returns(closes),
            bench_closes=bench_closes,
            bench_returns=ind.daily_returns(bench_closes) if bench_closes is not None else None,
            changes=changes,
            gains=gains,
            losses=losses,
            fast=fast,
            slow=slow,
            signal_line=signal_line,
            higher=_next_higher(closes),
        )

    # ------------------------------------------------------------------ the day

    def signal(self, index: int) -> TrackSignal | None:
        """The verdict a report of ``days[index]`` gave (``None``: compute it from scratch)."""
        history, closes = self.history, self.closes
        day = history.prices[index].day
        lo = bisect.bisect_left(self.days, history_start(day))
        if index + 1 - lo < MIN_WINDOW:
            return None
        prices = history.prices[lo : index + 1]
        window = closes[lo : index + 1]
        current = window[-1]
        year_base = year_ago_close(prices)
        bench = history.benchmark
        benchmark = (
            Benchmark(bench.symbol, bench.name, bench.prices[lo : index + 1])
            if bench is not None
            else None
        )
        year_from = bisect.bisect_right(self.days, one_year_before(day), lo, index + 1) - 1
        year_from = max(year_from, lo)
        scale = max(window)
        snapshot = StockSnapshot(
            symbol=history.symbol,
            company_name=history.symbol,
            sector="",
            industry="",
            currency=history.currency,
            as_of=day,
            data_source=history.data_source,
            prices=prices,
            current_price=current,
            market_cap=0.0,
            week52_high=scale,
            week52_low=min(window),
            ytd_return=self._ytd(lo, index),
            one_year_return=current / year_base.close - 1.0 if year_base is not None else None,
            annualized_volatility=self._volatility(lo, index),
            average_volume=round(
                statistics.fmean([p.volume for p in prices[-AVERAGE_VOLUME_SESSIONS:]])
            ),
            benchmark=benchmark,
        )
        rsi = self._rsi(lo, index, scale)
        line, signal_value, histogram = self._macd(lo, index, scale)
        lowest = self._lowest_to_peak(year_from, index)
        indicators = Indicators(
            rsi_14=rsi,
            macd_line=line,
            macd_signal=signal_value,
            macd_histogram=histogram,
            bollinger_upper=None,  # not read by the rules
            bollinger_lower=None,
            bollinger_position=None,
            max_drawdown_1y=1.0 - lowest,
            drawdown_peak_day=None,  # only the rules' wording names them
            drawdown_trough_day=None,
            sharpe_1y=None,
            risk_free_rate=0.0,
            benchmark_symbol=bench.symbol if bench is not None else None,
            beta_1y=self._beta(year_from, index, prices, benchmark),
            correlation_1y=None,
            returns=(self._one_year(lo, index, year_base),),
        )
        return verdicts_of(snapshot, indicators)

    def _lowest_to_peak(self, first: int, index: int) -> float:
        """The lowest close over its running peak from ``first`` to ``index`` (1 - max drawdown).

        The peak holds from one higher close to the next, and a division rounds
        monotonically, so each such stretch's lowest ratio is its lowest close over
        its peak: the same float :func:`max_drawdown` finds session by session.
        """
        closes, lowest, start = self.closes, 1.0, first
        while start <= index:
            end = min(self.higher[start], index + 1)
            ratio = min(closes[start:end]) / closes[start]
            if ratio < lowest:
                lowest = ratio
            start = end
        return lowest

    def _ytd(self, lo: int, index: int) -> float:
        """Last close over the previous year's last close (else the window's first)."""
        day = self.history.prices[index].day
        first_of_year = day.replace(month=1, day=1)
        before = bisect.bisect_left(self.days, first_of_year, lo, index + 1) - 1
        base = self.closes[before] if before >= lo else self.closes[lo]
        return self.closes[index] / base - 1.0

    def _one_year(self, lo: int, index: int, year_base: PricePoint | None) -> PeriodReturn:
        """The 1-year return, the benchmark's over the same dates and the excess."""
        if year_base is None:
            return PeriodReturn("1Y", self.history.prices[lo].day, None, None, None)
        start = year_base.day
        base = bisect.bisect_right(self.days, start, lo, index + 1) - 1
        stock = self.closes[index] / self.closes[base] - 1.0
        if self.bench_closes is None:
            return PeriodReturn("1Y", start, stock, None, None)
        bench = self.bench_closes[index] / self.bench_closes[base] - 1.0
        return PeriodReturn("1Y", start, stock, bench, stock - bench)

    # --------------------------------------------------- approximated, bounded

    def _volatility(self, lo: int, index: int) -> float:
        """Annualized volatility of the window's log returns (exact near a threshold)."""
        values = self.log_returns[lo:index]
        count = len(values)
        total, squares = sum(values), sum(map(mul, values, values))
        spread = squares - total * total / count
        if count > 1 and spread > CANCELLATION * squares:
            volatility = math.sqrt(spread / (count - 1)) * math.sqrt(ind.TRADING_DAYS_PER_YEAR)
            if _clear_of(volatility, VOLATILITY_THRESHOLDS, SUM_TOLERANCE * volatility):
                return volatility
        return annualized_volatility(values)

    def _beta(
        self,
        year_from: int,
        index: int,
        prices: tuple[PricePoint, ...],
        benchmark: Benchmark | None,
    ) -> float | None:
        """The 1-year beta against the benchmark (exact near the threshold)."""
        if benchmark is None or self.bench_returns is None:
            return None
        stock = self.returns[year_from:index]
        bench = self.bench_returns[year_from:index]
        count = len(stock)
        if count >= 2:
            s_total, b_total = sum(stock), sum(bench)
            s_squares, b_squares = sum(map(mul, stock, stock)), sum(map(mul, bench, bench))
            s_spread = s_squares - s_total * s_total / count
            b_spread = b_squares - b_total * b_total / count
            cross = sum(map(mul, stock, bench)) - s_total * b_total / count
            if b_spread > CANCELLATION * b_squares and s_spread > CANCELLATION * s_squares:
                beta = cross / b_spread
                tolerance = SUM_TOLERANCE * (1.0 + abs(beta) + math.sqrt(s_spread / b_spread))
                if _clear_of(beta, BETA_THRESHOLDS, tolerance):
                    return beta
        found = ind.sensitivity(last_year(prices), last_year(benchmark.prices))
        return found.beta if found is not None else None

    def _rsi(self, lo: int, index: int, scale: float) -> float | None:
        """RSI(14) of the window: the running one where no threshold is near it."""
        period = ind.RSI_PERIOD
        seeded = lo + period - 1  # the change whose average the window's RSI starts from
        gain, loss = _wilder_seed(self.changes[lo : seeded + 1])
        steps = index - 1 - seeded
        decay = ((period - 1) / period) ** steps
        gain_bound = decay * abs(gain - self.gains[seeded]) + ROUNDING * scale
        loss_bound = decay * abs(loss - self.losses[seeded]) + ROUNDING * scale
        gain, loss = self.gains[index - 1], self.losses[index - 1]
        bound = max(gain_bound, loss_bound)
        if loss > bound and gain >= 0.0:
            rsi = 100.0 - 100.0 / (1.0 + gain / loss)
            if _clear_of(rsi, RSI_THRESHOLDS, 100.0 * bound / (gain + loss) + 1e-9):
                return rsi
        return ind.rsi_series(self.closes[lo : index + 1])[-1]

    def _macd(self, lo: int, index: int, scale: float) -> tuple[float, float, float]:
        """MACD line, signal and histogram of the window, from the running EMAs.

        The window's EMAs start at its first close; the running ones differ
        from them by that gap times (1 - alpha) per session. The window's
        signal EMA starts at its first MACD line value; the bound adds the
        running signal's own gap there and the line's gaps it averages since.
        """
        fast_decay = 1.0 - 2.0 / (ind.MACD_FAST + 1)
        slow_decay = 1.0 - 2.0 / (ind.MACD_SLOW + 1)
        alpha = 2.0 / (ind.MACD_SIGNAL + 1)
        first = self.closes[lo]
        fast_gap, slow_gap = abs(first - self.fast[lo]), abs(first - self.slow[lo])
        rounding = ROUNDING * scale
        sessions = index - lo
        line_bound = fast_gap * fast_decay**sessions + slow_gap * slow_decay**sessions + rounding
        line_start = lo + ind.MACD_SLOW - 1
        gap_at_start = abs(
            self.fast[line_start] - self.slow[line_start] - self.signal_line[line_start]
        ) + (fast_gap + slow_gap) * slow_decay ** (ind.MACD_SLOW - 1)
        signal_bound = (
            gap_at_start * (1.0 - alpha) ** (index - line_start)
            + (fast_gap + slow_gap)
            * alpha
            * slow_decay**sessions
            / (1.0 - (1.0 - alpha) / slow_decay)
            + rounding
        )
        line = self.fast[index] - self.slow[index]
        signal_value = self.signal_line[index]
        histogram = line - signal_value
        if abs(line) > line_bound and abs(histogram) > line_bound + signal_bound:
            return line, signal_value, histogram
        exact = ind.macd_series(self.closes[lo : index + 1])
        values = (exact.line[-1], exact.signal[-1], exact.histogram[-1])
        assert None not in values  # windows of MIN_WINDOW sessions have all three
        return values  # type: ignore[return-value]


def _next_higher(closes: Sequence[float]) -> list[int]:
    """For each session, the next one that closes strictly higher (``len(closes)``: none)."""
    out = [len(closes)] * len(closes)
    waiting: list[int] = []
    for index, close in enumerate(closes):
        while waiting and closes[waiting[-1]] < close:
            out[waiting.pop()] = index
        waiting.append(index)
    return out


def _wilder(changes: Sequence[float]) -> tuple[list[float], list[float]]:
    """Wilder's average gain and loss after each change, seeded as :func:`rsi_series` seeds."""
    period = ind.RSI_PERIOD
    gains = [0.0] * len(changes)
    losses = [0.0] * len(changes)
    gain, loss = _wilder_seed(changes[:period])
    gains[period - 1], losses[period - 1] = gain, loss
    for index in range(period, len(changes)):
        change = changes[index]
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
        gains[index], losses[index] = gain, loss
    return gains, losses
