"""The simulated provider: snapshots of a deterministic universe and its market index.

The companies and their static facts are in :mod:`.simulated_universe`; their
prices come from :mod:`.simulated_history`, one daily path per ticker and for
the index (:data:`SIM_INDEX`, the benchmark) over calendar time, so a
ticker's close on a given day is the same whatever as-of date asks. A
snapshot shows the sessions from :func:`~.provider.history_start` to its
as-of date. Annual statements (four fiscal years of revenue and EPS, free
cash flow, debt and equity) are generated from the profile, seeded by symbol
and fiscal year. There is no news: the simulation never invents headlines.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from collections.abc import Mapping
from datetime import date, timedelta

from ..records import Benchmark, PricePoint, StockSnapshot
from .provider import (
    AnnualStatements,
    DailyHistory,
    MarketDataError,
    UnknownTickerError,
    _as_date,
    build_snapshot,
    history_start,
    last_weekday_on_or_before,
    peer_figures,
)
from .simulated_history import (
    HISTORY_END,
    HISTORY_ORIGIN,
    OutsideHistoryError,
    index_history,
    stable_seed,
    stock_history,
)
from .simulated_universe import SIMULATED_UNIVERSE, TickerProfile, known_symbols

logger = logging.getLogger(__name__)

SIM_INDEX = "SIM_INDEX"
SIM_INDEX_NAME = "Simulated Market Index"
STATEMENT_YEARS = 4

__all__ = [
    "SIMULATED_UNIVERSE",
    "SIM_INDEX",
    "SimulatedProvider",
    "TickerProfile",
    "known_symbols",
    "statement_year_end",
    "trading_days",
]


def trading_days(start: date, end: date) -> list[date]:
    """Weekdays from ``start`` to ``end`` inclusive (the simulation has no holidays)."""
    days: list[date] = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _ratio(numerator: float, denominator: float) -> float | None:
    """A valuation ratio, or None where it is meaningless (non-positive denominator)."""
    if denominator <= 0:
        return None
    return numerator / denominator


class SimulatedProvider:
    """Deterministic, realistic market data for :data:`SIMULATED_UNIVERSE`.

    ``as_of`` on a weekend is moved back to the Friday, so the snapshot's
    ``as_of`` is always its last session and equal requests give equal data.
    """

    name = "simulated"

    def __init__(self, *, universe: Mapping[str, TickerProfile] | None = None) -> None:
        self._universe = dict(SIMULATED_UNIVERSE if universe is None else universe)

    def benchmark_for(self, symbol: str) -> str:
        """Every simulated listing is measured against the simulated index."""
        return SIM_INDEX

    def benchmark(self, *, as_of: date) -> Benchmark:
        """The simulated index's history for the session of ``as_of``."""
        session = last_weekday_on_or_before(_as_date(as_of))
        return Benchmark(symbol=SIM_INDEX, name=SIM_INDEX_NAME, prices=_index_window(session))

    def peers_of(self, symbol: str) -> tuple[str, ...]:
        """The other tickers of the same sector in the universe, alphabetically."""
        profile = self._universe.get(symbol.strip().upper())
        if profile is None:
            return ()
        return tuple(
            sorted(
                s
                for s, p in self._universe.items()
                if p.sector == profile.sector and s != symbol.strip().upper()
            )
        )

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        """The full snapshot: own figures, statements, benchmark and sector peers."""
        key = symbol.strip().upper()
        base = self._own_snapshot(key, as_of=as_of)
        peers = tuple(
            peer_figures(self._own_snapshot(peer, as_of=as_of)) for peer in self.peers_of(key)
        )
        return dataclasses.replace(base, benchmark=self.benchmark(as_of=as_of), peers=peers)

    def _own_snapshot(self, key: str, *, as_of: date) -> StockSnapshot:
        profile = self._profile(key)
        return _simulated_snapshot(key, profile, last_weekday_on_or_before(_as_date(as_of)))

    def history(self, symbol: str, *, start: date, end: date) -> DailyHistory:
        """The ticker's and the index's sessions from ``start`` (at the earliest the
        market's first session) to ``end``: the one path every snapshot is cut from."""
        key = symbol.strip().upper()
        profile = self._profile(key)
        first = max(_as_date(start), HISTORY_ORIGIN)
        last = last_weekday_on_or_before(_as_date(end))
        try:
            prices = stock_history(key, profile, start=first, end=last)
            index = index_history(start=first, end=last)
        except OutsideHistoryError as err:
            raise MarketDataError(key, str(err), retryable=False) from err
        if len(prices) < 2:
            raise MarketDataError(
                key,
                f"the simulated market has fewer than two sessions from {first} to {last} "
                f"(it opens on {HISTORY_ORIGIN.isoformat()})",
                retryable=False,
            )
        return DailyHistory(
            symbol=key,
            currency=profile.currency,
            data_source=self.name,
            start=first,
            prices=prices,
            benchmark=Benchmark(symbol=SIM_INDEX, name=SIM_INDEX_NAME, prices=index),
            source=HISTORY_SOURCE,
            revision=_revision(key, profile),
        )

    def _profile(self, key: str) -> TickerProfile:
        profile = self._universe.get(key)
        if profile is None:
            raise UnknownTickerError(
                key,
                provider=self.name,
                hint=f"the simulated universe has {', '.join(sorted(self._universe))}",
            )
        return profile

    @staticmethod
    def _build(key: str, profile: TickerProfile, session: date) -> StockSnapshot:
        """The ticker's own figures (no benchmark, no peers) for one session."""
        prices = _window(key, profile, session)
        current = prices[-1].close
        eps = profile.revenue * profile.margin / profile.shares
        snap = build_snapshot(
            symbol=key,
            company_name=profile.name,
            sector=profile.sector,
            industry=profile.industry,
            currency=profile.currency,
            data_source=SimulatedProvider.name,
            prices=prices,
            market_cap=current * profile.shares,
            pe_ratio=_ratio(current, eps),
            forward_pe=_ratio(current, profile.forward_eps),
            price_to_book=_ratio(current, profile.book_per_share),
            dividend_yield=profile.dividend_per_share / current,
            revenue_ttm=profile.revenue,
            profit_margin=profile.margin,
            beta=profile.beta,
            eps=round(eps, 2),
            statements=_statements(key, profile, as_of=session),
            field_sources=_PROFILE_SOURCES,
            history_source=HISTORY_SOURCE,
        )
        logger.debug("simulated snapshot %s as of %s: %d sessions", key, session, len(prices))
        return snap


HISTORY_SOURCE = "simulated daily closes"


@functools.lru_cache(maxsize=256)
def _revision(key: str, profile: TickerProfile) -> str:
    """Names the path: the same ticker and profile always give the same closes."""
    return f"simulated:{key}:{stable_seed('path', key, repr(profile)):016x}"


def _outside(key: str, err: OutsideHistoryError, session: date) -> MarketDataError:
    first = HISTORY_ORIGIN.replace(year=HISTORY_ORIGIN.year + 1)
    return MarketDataError(
        key,
        f"no simulated prices for {key} as of {session.isoformat()}: {err}; "
        f"ask for a date from {first.isoformat()} to {HISTORY_END.isoformat()}",
        retryable=False,
    )


def _window(key: str, profile: TickerProfile, session: date) -> tuple[PricePoint, ...]:
    """The sessions a snapshot as of ``session`` shows, cut from the one path."""
    try:
        return stock_history(key, profile, start=history_start(session), end=session)
    except OutsideHistoryError as err:
        raise _outside(key, err, session) from err


@functools.lru_cache(maxsize=64)
def _index_window(session: date) -> tuple[PricePoint, ...]:
    try:
        return index_history(start=history_start(session), end=session)
    except OutsideHistoryError as err:
        raise _outside(SIM_INDEX, err, session) from err


@functools.lru_cache(maxsize=512)
def _simulated_snapshot(key: str, profile: TickerProfile, session: date) -> StockSnapshot:
    """Memoised: a request's peers are the next request's tickers (equal inputs, equal data)."""
    return SimulatedProvider._build(key, profile, session)


_PROFILE_SOURCES = {
    "market_cap": "simulated: last close x profile shares",
    "pe_ratio": "simulated: last close / (profile revenue x margin / shares)",
    "forward_pe": "simulated: last close / profile forward EPS",
    "price_to_book": "simulated: last close / profile book value per share",
    "dividend_yield": "simulated: profile dividend per share / last close",
    "revenue_ttm": "simulated: profile revenue",
    "profit_margin": "simulated: profile net margin",
    "beta": "simulated: profile beta",
    "eps": "simulated: profile revenue x margin / shares",
}


def statement_year_end(as_of: date) -> date:
    """The latest fiscal year (calendar years) whose statements are out by ``as_of``.

    Annual reports come out within about two months: before March the latest
    published year is the one before last.
    """
    year = as_of.year - 1 if as_of.month >= 3 else as_of.year - 2
    return date(year, 12, 31)


def _statements(symbol: str, profile: TickerProfile, *, as_of: date) -> AnnualStatements:
    """Four fiscal years of revenue and EPS plus the latest cash flow, debt and equity.

    The latest year matches the profile (revenue, margin); earlier years
    shrink by a growth rate drawn per symbol and fiscal year, so the figures
    stay put for a whole year and differ between companies.
    """
    year_end = statement_year_end(as_of)
    rng = random.Random(stable_seed("statements", symbol, str(year_end.year)))  # noqa: S311
    growth = max(-0.2, profile.drift * 0.5 + rng.gauss(0.02, 0.04))
    revenues, eps = [], []
    for back in range(STATEMENT_YEARS - 1, -1, -1):
        revenue = profile.revenue / (1.0 + growth) ** back
        margin = profile.margin + rng.gauss(0.0, 0.02) * (back > 0)
        revenues.append(round(revenue, -3))
        eps.append(round(revenue * margin / profile.shares, 2))
    fcf = profile.revenue * profile.margin * rng.uniform(0.7, 1.3)
    equity = profile.book_per_share * profile.shares
    debt = abs(equity) * rng.uniform(0.1, 2.4)
    return AnnualStatements(
        fiscal_year_ends=tuple(
            date(year_end.year - back, 12, 31) for back in range(STATEMENT_YEARS - 1, -1, -1)
        ),
        revenue=tuple(revenues),
        diluted_eps=tuple(eps),
        free_cash_flow=round(fcf, -3),
        total_debt=round(debt, -3),
        shareholders_equity=round(equity, -3),
        source="simulated annual statements",
    )
