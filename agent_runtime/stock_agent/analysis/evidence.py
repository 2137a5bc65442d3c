"""The evidence record: indicators, risk measures and benchmark-relative returns.

Computed from the snapshot's daily closes (never taken from the provider)
by the pure functions of :mod:`.indicators`; each figure gets a
:class:`~stock_agent.records.FigureSource` naming the computation, and one
the history is too short for is ``None`` with the reason.
"""

from __future__ import annotations

from datetime import date

from ..market_data.provider import one_year_before, year_ago_close
from ..records import FigureSource, Indicators, PeriodReturn, PricePoint, StockSnapshot
from . import indicators as ind

SESSIONS_1M = 21
SESSIONS_3M = 63
DEFAULT_RISK_FREE_RATE = 0.0


def last_year(prices: tuple[PricePoint, ...]) -> tuple[PricePoint, ...]:
    """The sessions from the close one year before the last one (inclusive) to the last."""
    if not prices:
        return prices
    base = ind.close_on_or_before(prices, one_year_before(prices[-1].day))
    start = base.day if base is not None else prices[0].day
    return tuple(p for p in prices if p.day >= start)


def period_starts(prices: tuple[PricePoint, ...]) -> list[tuple[str, date | None]]:
    """The session each return period is measured from (``None``: the history is too short).

    1M and 3M: 21 and 63 sessions back (the oldest session when shorter);
    YTD: the last session of the previous year (else the first); 1Y: the
    close a year earlier (:func:`~stock_agent.market_data.provider.year_ago_close`),
    none when the history is shorter than a year.
    """
    last = prices[-1].day
    previous_year = [p for p in prices if p.day.year < last.year]
    year_ago = year_ago_close(prices)
    return [
        ("1M", prices[max(0, len(prices) - 1 - SESSIONS_1M)].day),
        ("3M", prices[max(0, len(prices) - 1 - SESSIONS_3M)].day),
        ("YTD", previous_year[-1].day if previous_year else prices[0].day),
        ("1Y", year_ago.day if year_ago is not None else None),
    ]


def relative_returns(
    prices: tuple[PricePoint, ...], benchmark: tuple[PricePoint, ...] | None
) -> tuple[PeriodReturn, ...]:
    """Each period's return, the benchmark's over the same dates, and the excess."""
    if not prices:
        return ()
    out = []
    for period, start in period_starts(prices):
        if start is None:
            out.append(PeriodReturn(period, prices[0].day, None, None, None))
            continue
        stock = ind.return_since(prices, start)
        bench = ind.return_since(benchmark, start) if benchmark else None
        excess = stock - bench if stock is not None and bench is not None else None
        out.append(PeriodReturn(period, start, stock, bench, excess))
    return tuple(out)


def compute_indicators(
    snapshot: StockSnapshot, *, risk_free_rate: float = DEFAULT_RISK_FREE_RATE
) -> tuple[Indicators, dict[str, FigureSource]]:
    """Every indicator of the snapshot and where each comes from."""
    prices = snapshot.prices
    closes = [p.close for p in prices]
    as_of = snapshot.as_of
    year = last_year(prices)
    bench = snapshot.benchmark
    sessions = f"{len(closes)} daily closes"

    rsi = ind.rsi_series(closes)[-1] if closes else None
    macd = ind.macd_series(closes)
    band = ind.bollinger(closes)
    drawdown = ind.max_drawdown(year)
    # Annualised from a year of returns: a shorter history has no one-year Sharpe ratio.
    covers_a_year = year_ago_close(prices) is not None
    sharpe = (
        ind.sharpe_ratio([p.close for p in year], risk_free_rate=risk_free_rate)
        if covers_a_year
        else None
    )
    bench_year = last_year(bench.prices) if bench else ()
    sens = ind.sensitivity(year, bench_year) if bench else None

    def src(how: str, value: object, why: str) -> FigureSource:
        return FigureSource(f"computed: {how}", as_of, "" if value is not None else why)

    short = "the history is too short"
    bench_source = snapshot.sources.get("benchmark")
    no_bench = (
        "too few common sessions"
        if bench is not None
        else bench_source.missing
        if bench_source is not None and bench_source.missing
        else "no benchmark history"
    )
    sources = {
        "rsi_14": src(f"RSI(14), Wilder smoothing, from {sessions}", rsi, short),
        "macd": src(
            f"MACD(12, 26, 9): EMA12 - EMA26, signal EMA9, from {sessions}",
            macd.line[-1] if closes else None,
            short,
        ),
        "bollinger_position": src(
            f"Bollinger(20, 2): (close - lower) / (upper - lower), from {sessions}", band, short
        ),
        "max_drawdown_1y": src(
            f"largest fall from a running peak, {len(year)} sessions of the last year",
            drawdown,
            short,
        ),
        "sharpe_1y": src(
            f"mean / stdev of daily excess returns x sqrt(252), risk-free rate "
            f"{risk_free_rate:.2%} a year, last year",
            sharpe,
            "the history never moved" if covers_a_year else "the history is shorter than a year",
        ),
        "beta_1y": src(
            f"cov / var of daily returns against {bench.symbol if bench else 'the benchmark'}, "
            "last year",
            sens,
            no_bench,
        ),
        "returns": src(
            f"close-to-close returns; benchmark {bench.symbol if bench else 'n/a'} over the "
            "same dates",
            closes or None,
            short,
        ),
    }
    sources["correlation_1y"] = FigureSource(
        sources["beta_1y"].source.replace("cov / var", "Pearson correlation"),
        as_of,
        sources["beta_1y"].missing,
    )
    indicators = Indicators(
        rsi_14=rsi,
        macd_line=macd.line[-1] if closes else None,
        macd_signal=macd.signal[-1] if closes else None,
        macd_histogram=macd.histogram[-1] if closes else None,
        bollinger_upper=band.upper if band else None,
        bollinger_lower=band.lower if band else None,
        bollinger_position=band.position if band else None,
        max_drawdown_1y=drawdown.depth if drawdown else None,
        drawdown_peak_day=drawdown.peak_day if drawdown else None,
        drawdown_trough_day=drawdown.trough_day if drawdown else None,
        sharpe_1y=sharpe,
        risk_free_rate=risk_free_rate,
        benchmark_symbol=bench.symbol if bench else None,
        beta_1y=sens.beta if sens else None,
        correlation_1y=sens.correlation if sens else None,
        returns=relative_returns(prices, bench.prices if bench else None),
    )
    return indicators, sources
