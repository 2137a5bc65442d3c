"""Technical indicators and risk measures computed from daily closes.

Pure standard-library arithmetic (no pandas or numpy: the agent's container
stays small). Each function states its convention, because indicator values
differ between sources mostly by convention:

- EMAs are seeded with the first value and use ``alpha = 2 / (span + 1)``
  (what pandas ``ewm(span=..., adjust=False)`` and most charting tools do);
- RSI uses Wilder's smoothing seeded with the simple mean of the first
  ``period`` gains and losses (Wilder, *New Concepts in Technical Trading
  Systems*, 1978);
- Bollinger bands use the population standard deviation of the window;
- returns are simple returns ``p_t / p_{t-1} - 1``; Sharpe and beta use the
  sample (n - 1) moments.

Every function returns ``None`` where the history is too short instead of
raising, so a short history degrades the affected figure only.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..records import PricePoint

TRADING_DAYS_PER_YEAR = 252
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_WINDOW, BOLLINGER_WIDTH = 20, 2.0


def ema(values: Sequence[float], span: int) -> list[float]:
    """Exponential moving average seeded with the first value (``alpha = 2/(span+1)``)."""
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    alpha = 2.0 / (span + 1.0)
    out: list[float] = []
    for value in values:
        out.append(value if not out else alpha * value + (1.0 - alpha) * out[-1])
    return out


def rsi_series(closes: Sequence[float], period: int = RSI_PERIOD) -> list[float | None]:
    """Wilder's RSI per session; ``None`` for the first ``period`` sessions.

    Average gain and loss start as the simple means of the first ``period``
    changes, then ``avg = (avg * (period - 1) + change) / period``. RSI is
    ``100 - 100 / (1 + gain / loss)``: 100 when there was no loss, 50 when
    the price did not move at all.
    """
    out: list[float | None] = [None] * len(closes)
    if len(closes) <= period:
        return out
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gain = statistics.fmean(max(c, 0.0) for c in changes[:period])
    loss = statistics.fmean(max(-c, 0.0) for c in changes[:period])
    out[period] = _rsi_value(gain, loss)
    for index in range(period, len(changes)):
        change = changes[index]
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
        out[index + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


@dataclass(frozen=True)
class MacdSeries:
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram, per session.

    The line is ``None`` until the slow EMA has ``slow`` closes; the signal
    EMA starts at the first defined line value.
    """

    line: list[float | None]
    signal: list[float | None]
    histogram: list[float | None]


def macd_series(
    closes: Sequence[float],
    fast: int = MACD_FAST,
    slow: int = MACD_SLOW,
    signal: int = MACD_SIGNAL,
) -> MacdSeries:
    """MACD(fast, slow, signal) with EMAs seeded at the first close."""
    count = len(closes)
    fast_ema, slow_ema = ema(closes, fast), ema(closes, slow)
    start = slow - 1
    line: list[float | None] = [None] * count
    for i in range(start, count):
        line[i] = fast_ema[i] - slow_ema[i]
    defined = [v for v in line if v is not None]
    signal_values = ema(defined, signal)
    sig: list[float | None] = [None] * count
    hist: list[float | None] = [None] * count
    for offset, value in enumerate(signal_values):
        i = start + offset
        if offset >= signal - 1:
            sig[i] = value
            line_value = line[i]
            assert line_value is not None
            hist[i] = line_value - value
    return MacdSeries(line=line, signal=sig, histogram=hist)


@dataclass(frozen=True)
class Bollinger:
    """Bollinger bands of the last session and where the close sits in them."""

    middle: float
    upper: float
    lower: float
    position: float  # 0 at the lower band, 1 at the upper band (may leave 0..1)


def bollinger(
    closes: Sequence[float], window: int = BOLLINGER_WINDOW, width: float = BOLLINGER_WIDTH
) -> Bollinger | None:
    """Bands ``SMA(window) ± width * population stdev`` of the last ``window`` closes."""
    if len(closes) < window:
        return None
    recent = closes[-window:]
    middle = statistics.fmean(recent)
    spread = width * statistics.pstdev(recent, middle)
    upper, lower = middle + spread, middle - spread
    position = 0.5 if spread == 0 else (closes[-1] - lower) / (upper - lower)
    return Bollinger(middle=middle, upper=upper, lower=lower, position=position)


@dataclass(frozen=True)
class Drawdown:
    """The largest peak-to-trough fall of a price series (a fraction in [0, 1])."""

    depth: float
    peak_day: date
    trough_day: date
    peak: float
    trough: float


def max_drawdown(prices: Sequence[PricePoint]) -> Drawdown | None:
    """Maximum of ``1 - close / running peak``; the earliest trough wins a tie."""
    if not prices:
        return None
    peak = prices[0]
    best = Drawdown(0.0, prices[0].day, prices[0].day, prices[0].close, prices[0].close)
    for point in prices:
        if point.close > peak.close:
            peak = point
        depth = 1.0 - point.close / peak.close
        if depth > best.depth:
            best = Drawdown(depth, peak.day, point.day, peak.close, point.close)
    return best


def daily_returns(closes: Sequence[float]) -> list[float]:
    """Simple returns ``p_t / p_{t-1} - 1``."""
    return [b / a - 1.0 for a, b in itertools.pairwise(closes)]


def sharpe_ratio(
    closes: Sequence[float],
    *,
    risk_free_rate: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """Annualised Sharpe ratio of daily simple returns.

    ``mean(r - rf / periods) / stdev(r - rf / periods) * sqrt(periods)`` with
    the sample standard deviation; ``None`` with fewer than three closes or
    no variation at all.
    """
    returns = daily_returns(closes)
    if len(returns) < 2:
        return None
    excess = [r - risk_free_rate / periods_per_year for r in returns]
    spread = statistics.stdev(excess)
    if spread == 0.0:
        return None
    return statistics.fmean(excess) / spread * math.sqrt(periods_per_year)


@dataclass(frozen=True)
class Sensitivity:
    """Beta and correlation of a stock's daily returns against a benchmark's."""

    beta: float
    correlation: float
    observations: int


def aligned_closes(
    stock: Sequence[PricePoint], benchmark: Sequence[PricePoint]
) -> tuple[list[float], list[float]]:
    """Closes of both series on the days both traded, oldest first."""
    bench = {p.day: p.close for p in benchmark}
    pairs = [(p.close, bench[p.day]) for p in stock if p.day in bench]
    return [a for a, _ in pairs], [b for _, b in pairs]


def sensitivity(stock: Sequence[PricePoint], benchmark: Sequence[PricePoint]) -> Sensitivity | None:
    """``beta = cov(r_s, r_b) / var(r_b)`` and Pearson correlation on common days.

    ``None`` with fewer than three common days or a benchmark (or stock) that
    never moved.
    """
    s_closes, b_closes = aligned_closes(stock, benchmark)
    rs, rb = daily_returns(s_closes), daily_returns(b_closes)
    if len(rs) < 2:
        return None
    mean_s, mean_b = statistics.fmean(rs), statistics.fmean(rb)
    cov = sum((a - mean_s) * (b - mean_b) for a, b in zip(rs, rb, strict=True)) / (len(rs) - 1)
    var_s, var_b = statistics.variance(rs, mean_s), statistics.variance(rb, mean_b)
    if var_b == 0.0 or var_s == 0.0:
        return None
    return Sensitivity(
        beta=cov / var_b, correlation=cov / math.sqrt(var_s * var_b), observations=len(rs)
    )


def close_on_or_before(prices: Sequence[PricePoint], day: date) -> PricePoint | None:
    """The last session not after ``day`` (``None`` when the history starts later)."""
    found = None
    for point in prices:
        if point.day > day:
            break
        found = point
    return found


def return_since(prices: Sequence[PricePoint], start: date) -> float | None:
    """``last close / close on or before start - 1``; ``None`` when ``start`` precedes the data."""
    base = close_on_or_before(prices, start)
    if base is None or not prices:
        return None
    return prices[-1].close / base.close - 1.0
