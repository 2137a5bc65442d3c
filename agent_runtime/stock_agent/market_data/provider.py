"""The provider interface and the derivations every provider shares.

Two providers stand behind one interface, :class:`MarketDataProvider`:
``simulated`` (:mod:`.simulated`, the default and what every test uses) and
``yfinance`` (:mod:`.yahoo`, real data through the optional package).

Every derived figure is computed here, once, from the price history and the
annual statements by :func:`build_snapshot`, so the invariants hold for both
providers: the 52-week extremes are the max/min of ``prices``, the current
price is the last close, YTD is measured from the last close of the previous
calendar year and the 1-year return from the close one year earlier. Each
figure gets a :class:`~stock_agent.records.FigureSource` (provider field or
computation, and as-of date); a figure the provider lacks is ``None`` with the
reason in its source's ``missing``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from ..records import Benchmark, FigureSource, Headline, PeerFigures, PricePoint, StockSnapshot

logger = logging.getLogger(__name__)

TRADING_DAYS_PER_YEAR = 252
AVERAGE_VOLUME_SESSIONS = 63  # about three months, like the usual "average volume"
PROVIDER_NAMES = ("simulated", "yfinance")


class UnknownTickerError(LookupError):
    """The provider has no such ticker (a caller's mistake, not retryable)."""

    def __init__(self, symbol: str, *, provider: str, hint: str = "") -> None:
        message = f"unknown ticker {symbol!r} for market-data provider {provider!r}"
        super().__init__(f"{message}; {hint}" if hint else message)
        self.symbol = symbol
        self.provider = provider


class MarketDataError(RuntimeError):
    """The provider failed; ``retryable`` says whether trying again may help."""

    def __init__(self, symbol: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.message = message
        self.retryable = retryable


class MarketDataProvider(Protocol):
    """What the data-gathering stage needs from a source of market data."""

    name: str

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot: ...


@dataclass(frozen=True)
class DailyHistory:
    """A ticker's daily closes over years and its benchmark's, for the track record.

    ``prices`` are what the provider gives (adjusted for splits and dividends
    where it adjusts), oldest first, covering the days from ``start`` (the
    first day asked for that the provider has) to the last session asked for;
    ``benchmark`` is ``None`` with the reason in ``benchmark_missing``.
    ``source`` names where the closes came from; two histories with the same
    ``revision`` have the same close on every day both hold.
    """

    symbol: str
    currency: str
    data_source: str
    start: date
    prices: tuple[PricePoint, ...]
    benchmark: Benchmark | None
    source: str
    revision: str
    benchmark_missing: str = ""


class HistoryProvider(Protocol):
    """A provider that can also give years of daily closes (both built-in ones can)."""

    name: str

    def history(self, symbol: str, *, start: date, end: date) -> DailyHistory: ...


@dataclass(frozen=True)
class AnnualStatements:
    """What the snapshot needs from the annual statements, fiscal years oldest first.

    ``revenue`` and ``diluted_eps`` hold one value per fiscal year (``None``
    where the statement lacks it); the cash-flow and balance-sheet figures are
    those of the latest fiscal year. ``source`` names where they came from.
    """

    fiscal_year_ends: tuple[date, ...]
    revenue: tuple[float | None, ...]
    diluted_eps: tuple[float | None, ...]
    free_cash_flow: float | None
    total_debt: float | None
    shareholders_equity: float | None
    source: str


GROWTH_YEARS = 3


def compound_growth(first: float | None, last: float | None, years: int) -> float | None:
    """Compound annual growth ``(last / first) ** (1 / years) - 1``; ``None`` unless both > 0."""
    if first is None or last is None or first <= 0 or last <= 0 or years <= 0:
        return None
    return float((last / first) ** (1.0 / years) - 1.0)


def _growth_source(values: Sequence[float | None], *, what: str) -> tuple[float | None, str]:
    """3-year growth of ``values`` and the reason when it is n/a."""
    if len(values) < GROWTH_YEARS + 1:
        return None, f"needs {GROWTH_YEARS + 1} fiscal years of {what}, have {len(values)}"
    first, last = values[-GROWTH_YEARS - 1], values[-1]
    growth = compound_growth(first, last, GROWTH_YEARS)
    if growth is None:
        return None, f"{what} is missing or not positive in the first or last fiscal year"
    return growth, ""


# ---------------------------------------------------------------------------
# Derivations shared by both providers
# ---------------------------------------------------------------------------


def one_year_before(day: date) -> date:
    """The same calendar date one year earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def last_weekday_on_or_before(day: date) -> date:
    """The last trading day (Monday-Friday) not after ``day``."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


#: A history whose first close falls at most this many calendar days after the date one
#: year before its last close still measures a year (that date was a weekend or holiday).
YEAR_START_SLACK_DAYS = 7


def year_ago_close(prices: Sequence[PricePoint]) -> PricePoint | None:
    """The close a one-year figure is measured from, or ``None`` when the history is shorter.

    The last close on or before the same date a year before the last close;
    else the first close, when it is within :data:`YEAR_START_SLACK_DAYS` of
    that date. A younger history (a recent listing) has no one-year figure:
    a "1-year" return over three sessions would be a different number under
    the same label.
    """
    if not prices:
        return None
    year_ago = one_year_before(prices[-1].day)
    older = [p for p in prices if p.day <= year_ago]
    if older:
        return older[-1]
    if prices[0].day <= year_ago + timedelta(days=YEAR_START_SLACK_DAYS):
        return prices[0]
    return None


def history_start(as_of: date) -> date:
    """First day of the history needed for ``as_of``.

    One calendar year back, or earlier when that is needed to include the last
    close of the previous year (YTD base), e.g. ``as_of`` = 31 December.
    """
    previous_year_end = last_weekday_on_or_before(date(as_of.year - 1, 12, 31))
    return min(one_year_before(as_of), previous_year_end)


def _as_date(value: date) -> date:
    """Accept a ``datetime`` too (it is a ``date`` subclass) but keep only the date."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(value).__name__}")
    return value


def annualized_volatility(log_returns: Sequence[float]) -> float:
    """Sample stdev of daily log returns times sqrt(252) (0 with fewer than two)."""
    if len(log_returns) < 2:
        return 0.0
    return statistics.stdev(log_returns) * math.sqrt(TRADING_DAYS_PER_YEAR)


def build_snapshot(
    *,
    symbol: str,
    company_name: str,
    sector: str,
    industry: str,
    currency: str,
    data_source: str,
    prices: Sequence[PricePoint],
    market_cap: float,
    pe_ratio: float | None = None,
    forward_pe: float | None = None,
    price_to_book: float | None = None,
    dividend_yield: float | None = None,
    revenue_ttm: float | None = None,
    profit_margin: float | None = None,
    beta: float | None = None,
    eps: float | None = None,
    headlines: Iterable[Headline] = (),
    statements: AnnualStatements | None = None,
    benchmark: Benchmark | None = None,
    peers: Iterable[PeerFigures] = (),
    field_sources: Mapping[str, str] | None = None,
    history_source: str = "daily closes",
    unavailable: Mapping[str, str] | None = None,
) -> StockSnapshot:
    """Derive every price-based figure from ``prices`` and assemble the snapshot.

    Both providers go through here so the snapshot's invariants hold by
    construction rather than by each provider's care. ``prices`` must be
    sorted oldest first with at least two sessions. ``field_sources`` names
    the provider field behind each provider figure (``pe_ratio`` ->
    ``yfinance Ticker.info['trailingPE']``); ``history_source`` names the
    price history the computed figures come from. ``unavailable`` gives the
    reason a part failed (``statements``, ``benchmark``): it becomes the
    ``missing`` reason of the figures that part would have given.
    """
    if len(prices) < 2:
        raise MarketDataError(symbol, f"not enough price history for {symbol}", retryable=False)
    closes = [p.close for p in prices]
    as_of = prices[-1].day
    current = closes[-1]

    previous_year = [p.close for p in prices if p.day.year < as_of.year]
    if previous_year:
        ytd_base = previous_year[-1]
    else:  # history starts inside the year: fall back to its first close
        logger.warning(
            "%s: no close from %d in the history; YTD from first close", symbol, as_of.year - 1
        )
        ytd_base = closes[0]

    year_base = year_ago_close(prices)

    volatility = annualized_volatility([math.log(b / a) for a, b in itertools.pairwise(closes)])
    recent_volumes = [p.volume for p in prices[-AVERAGE_VOLUME_SESSIONS:]]

    provided = {
        "market_cap": market_cap,
        "pe_ratio": pe_ratio,
        "forward_pe": forward_pe,
        "price_to_book": price_to_book,
        "dividend_yield": dividend_yield,
        "revenue_ttm": revenue_ttm,
        "profit_margin": profit_margin,
        "beta": beta,
        "eps": eps,
    }
    sources = _figure_sources(
        data_source=data_source,
        as_of=as_of,
        sessions=len(prices),
        history_source=history_source,
        provided=provided,
        field_sources=field_sources or {},
    )
    reasons = dict(unavailable or {})
    fundamentals = _statement_figures(
        statements,
        as_of=as_of,
        data_source=data_source,
        why=reasons.get("statements", "no annual statements"),
    )
    for name, (_, source) in fundamentals.items():
        sources[name] = source
    if year_base is None:
        sources["one_year_return"] = dataclasses.replace(
            sources["one_year_return"],
            missing=f"the history starts {prices[0].day}, less than a year before {as_of}",
        )
    if benchmark is not None or "benchmark" in reasons:
        sources["benchmark"] = FigureSource(
            f"{data_source} daily closes of {benchmark.symbol if benchmark else 'the benchmark'}",
            as_of,
            reasons.get("benchmark", "") if benchmark is None else "",
        )

    return StockSnapshot(
        symbol=symbol,
        company_name=company_name,
        sector=sector,
        industry=industry,
        currency=currency,
        as_of=as_of,
        data_source=data_source,
        prices=tuple(prices),
        current_price=current,
        market_cap=market_cap,
        week52_high=max(closes),
        week52_low=min(closes),
        ytd_return=current / ytd_base - 1.0,
        one_year_return=current / year_base.close - 1.0 if year_base is not None else None,
        annualized_volatility=volatility,
        average_volume=round(statistics.fmean(recent_volumes)),
        pe_ratio=pe_ratio,
        forward_pe=forward_pe,
        price_to_book=price_to_book,
        dividend_yield=dividend_yield,
        revenue_ttm=revenue_ttm,
        profit_margin=profit_margin,
        beta=beta,
        eps=eps,
        headlines=tuple(headlines),
        revenue_growth_3y=fundamentals["revenue_growth_3y"][0],
        eps_growth_3y=fundamentals["eps_growth_3y"][0],
        free_cash_flow=fundamentals["free_cash_flow"][0],
        fcf_margin=fundamentals["fcf_margin"][0],
        debt_to_equity=fundamentals["debt_to_equity"][0],
        fiscal_year_end=statements.fiscal_year_ends[-1]
        if statements and statements.fiscal_year_ends
        else None,
        benchmark=benchmark,
        peers=tuple(peers),
        sources=sources,
    )


#: Figures computed from the price history, and how.
PRICE_FIGURES: Mapping[str, str] = {
    "current_price": "last close",
    "week52_high": "highest close of the last year",
    "week52_low": "lowest close of the last year",
    "ytd_return": "last close / last close of the previous year - 1",
    "one_year_return": "last close / close one year earlier - 1",
    "annualized_volatility": "stdev of daily log returns x sqrt(252)",
    "average_volume": "mean volume of the last 63 sessions",
}


def _figure_sources(
    *,
    data_source: str,
    as_of: date,
    sessions: int,
    history_source: str,
    provided: Mapping[str, float | None],
    field_sources: Mapping[str, str],
) -> dict[str, FigureSource]:
    sources = {
        name: FigureSource(f"computed: {how}, from {sessions} {history_source}", as_of)
        for name, how in PRICE_FIGURES.items()
    }
    for name, value in provided.items():
        source = field_sources.get(name, f"{data_source} provider")
        missing = "" if value is not None else f"not provided by {data_source} ({source})"
        sources[name] = FigureSource(source, as_of, missing)
    return sources


StatementFigures = dict[str, tuple[float | None, FigureSource]]


def _statement_figures(
    statements: AnnualStatements | None, *, as_of: date, data_source: str, why: str
) -> StatementFigures:
    """3-year growth, free cash flow, FCF margin and debt-to-equity, each with its source."""
    names = ("revenue_growth_3y", "eps_growth_3y", "free_cash_flow", "fcf_margin", "debt_to_equity")
    if statements is None or not statements.fiscal_year_ends:
        missing = FigureSource(f"{data_source} annual statements", as_of, why)
        return {name: (None, missing) for name in names}
    year_end = statements.fiscal_year_ends[-1]

    def figure(value: float | None, source: str, missing: str) -> tuple[float | None, FigureSource]:
        return value, FigureSource(source, year_end, "" if value is not None else missing)

    base = statements.source
    revenue_growth, revenue_why = _growth_source(statements.revenue, what="revenue")
    eps_growth, eps_why = _growth_source(statements.diluted_eps, what="diluted EPS")
    revenue = statements.revenue[-1] if statements.revenue else None
    fcf = statements.free_cash_flow
    margin = fcf / revenue if fcf is not None and revenue else None
    debt, equity = statements.total_debt, statements.shareholders_equity
    leverage = debt / equity if debt is not None and equity is not None and equity > 0 else None
    leverage_why = (
        "shareholders' equity is not positive"
        if equity is not None and equity <= 0
        else "total debt or equity missing"
    )
    growth_how = f"computed: compound annual growth over {GROWTH_YEARS} fiscal years ({base})"
    return {
        "revenue_growth_3y": figure(revenue_growth, growth_how, revenue_why),
        "eps_growth_3y": figure(eps_growth, growth_how, eps_why),
        "free_cash_flow": figure(
            fcf, f"{base}: operating cash flow - capital expenditure", "cash flow missing"
        ),
        "fcf_margin": figure(
            margin, f"computed: free cash flow / revenue ({base})", "FCF or revenue missing"
        ),
        "debt_to_equity": figure(
            leverage, f"computed: total debt / shareholders' equity ({base})", leverage_why
        ),
    }


def peer_figures(snapshot: StockSnapshot) -> PeerFigures:
    """The figures the peer comparison ranks, taken from a peer's own snapshot."""
    return PeerFigures(
        symbol=snapshot.symbol,
        pe_ratio=snapshot.pe_ratio,
        profit_margin=snapshot.profit_margin,
        one_year_return=snapshot.one_year_return,
        annualized_volatility=snapshot.annualized_volatility,
    )
