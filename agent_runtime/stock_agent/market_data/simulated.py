"""The simulated provider: a realistic, deterministic universe and its market index.

``SIM_STOCK`` (the article's example) plus well-known tickers with
approximate price levels, share counts, revenue, margins, dividends and
betas. Prices are a geometric random walk seeded by a stable hash of
``(symbol, as_of)``, so the same request always yields the same figures and
different tickers show different trends and risk. Each stock's daily move is
``beta`` times the move of a simulated market index (:data:`SIM_INDEX`, the
benchmark) plus its own noise, so the beta computed from the history lands
near the profile's beta. Trading days are weekdays (no holiday calendar).
Annual statements (four fiscal years of revenue and EPS, free cash flow,
debt and equity) are generated from the profile, seeded by symbol and fiscal
year. There is no news: the simulation never invents headlines.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..records import Benchmark, PricePoint, StockSnapshot
from .provider import (
    TRADING_DAYS_PER_YEAR,
    AnnualStatements,
    UnknownTickerError,
    _as_date,
    build_snapshot,
    history_start,
    last_weekday_on_or_before,
    peer_figures,
)

logger = logging.getLogger(__name__)

SIM_INDEX = "SIM_INDEX"
SIM_INDEX_NAME = "Simulated Market Index"
INDEX_DRIFT, INDEX_VOLATILITY, INDEX_LEVEL = 0.07, 0.16, 5000.0
STATEMENT_YEARS = 4


@dataclass(frozen=True)
class TickerProfile:
    """Static facts of a simulated company (approximate, mid-2020s levels).

    Per-share ratios are not stored: EPS is ``revenue * margin / shares`` and
    P/E, P/B and yield follow from the simulated price, so they stay
    consistent with each other.
    """

    name: str
    sector: str
    industry: str
    price: float  # approximate price level the walk ends near
    shares: float
    revenue: float
    margin: float  # net profit margin, fraction
    forward_eps: float
    book_per_share: float
    dividend_per_share: float
    beta: float
    drift: float  # annual expected log-return
    volatility: float  # annual
    avg_volume: int
    currency: str = "USD"


def _p(*args: Any, **kwargs: Any) -> TickerProfile:
    return TickerProfile(*args, **kwargs)


# name, sector, industry, price, shares, revenue, margin, fwd EPS, book/share,
# dividend/share, beta, drift, volatility, average volume
SIMULATED_UNIVERSE: Mapping[str, TickerProfile] = {
    "SIM_STOCK": _p("Simulated Stock Inc.", "SIM_SECTOR", "SIM INDUSTRY",
                    29.0, 1.35e9, 4.99e9, 0.243, 0.95, 2.5, 0.135, 1.165, 0.10, 0.32, 2_400_000),
    "SIM_JP": _p("シミュレーション株式会社 (Simulated KK)", "Industrials",
                 "Specialty Industrial Machinery", 2510.0, 4.1e8, 1.32e12, 0.071, 268.0, 1900.0,
                 60.0, 0.8, 0.03, 0.22, 1_800_000, currency="JPY"),
    "SIM_ESC": _p("Bits & Bytes <Simulated> Corp.", "Technology", "Software—Application",
                  48.0, 2.1e8, 1.9e9, -0.06, 0.4, 9.0, 0.0, 1.6, -0.05, 0.55, 3_100_000),
    "AAPL": _p("Apple Inc.", "Technology", "Consumer Electronics",
               230.0, 1.49e10, 4.0e11, 0.24, 8.3, 4.4, 1.04, 1.2, 0.12, 0.27, 55_000_000),
    "MSFT": _p("Microsoft Corporation", "Technology", "Software—Infrastructure",
               430.0, 7.43e9, 2.7e11, 0.36, 14.5, 46.0, 3.32, 0.9, 0.14, 0.24, 21_000_000),
    "AMZN": _p("Amazon.com, Inc.", "Consumer Cyclical", "Internet Retail",
               215.0, 1.06e10, 6.5e11, 0.10, 6.3, 30.0, 0.0, 1.3, 0.12, 0.32, 40_000_000),
    "GOOGL": _p("Alphabet Inc.", "Communication Services", "Internet Content & Information",
                180.0, 1.22e10, 3.7e11, 0.30, 9.0, 27.0, 0.80, 1.0, 0.11, 0.30, 30_000_000),
    "META": _p("Meta Platforms, Inc.", "Communication Services", "Internet Content & Information",
               600.0, 2.52e9, 1.8e11, 0.38, 26.0, 73.0, 2.10, 1.25, 0.15, 0.36, 13_000_000),
    "NVDA": _p("NVIDIA Corporation", "Technology", "Semiconductors",
               130.0, 2.44e10, 1.5e11, 0.55, 4.5, 3.2, 0.04, 1.9, 0.30, 0.50, 250_000_000),
    "TSLA": _p("Tesla, Inc.", "Consumer Cyclical", "Auto Manufacturers",
               330.0, 3.2e9, 9.5e10, 0.07, 2.9, 23.0, 0.0, 2.3, 0.05, 0.60, 95_000_000),
    "BRK.B": _p("Berkshire Hathaway Inc.", "Financial Services", "Insurance—Diversified",
                480.0, 2.16e9, 3.7e11, 0.24, 22.0, 300.0, 0.0, 0.85, 0.09, 0.16, 4_000_000),
    "JPM": _p("JPMorgan Chase & Co.", "Financial Services", "Banks—Diversified",
              240.0, 2.8e9, 1.7e11, 0.33, 18.0, 120.0, 5.0, 1.05, 0.10, 0.22, 9_000_000),
    "JNJ": _p("Johnson & Johnson", "Healthcare", "Drug Manufacturers—General",
              155.0, 2.4e9, 8.9e10, 0.16, 10.8, 29.0, 4.96, 0.5, 0.03, 0.16, 7_000_000),
    "XOM": _p("Exxon Mobil Corporation", "Energy", "Oil & Gas Integrated",
              110.0, 4.3e9, 3.4e11, 0.10, 7.5, 62.0, 3.96, 0.85, 0.02, 0.24, 15_000_000),
    "KO": _p("The Coca-Cola Company", "Consumer Defensive", "Beverages—Non-Alcoholic",
             68.0, 4.3e9, 4.7e10, 0.23, 3.0, 6.2, 2.04, 0.45, 0.05, 0.14, 13_000_000),
    "PG": _p("The Procter & Gamble Company", "Consumer Defensive", "Household & Personal Products",
             165.0, 2.35e9, 8.4e10, 0.18, 7.0, 21.0, 4.2, 0.4, 0.05, 0.15, 7_000_000),
    "V": _p("Visa Inc.", "Financial Services", "Credit Services",
            340.0, 1.95e9, 3.7e10, 0.54, 12.8, 20.0, 2.36, 0.95, 0.11, 0.19, 6_000_000),
    "WMT": _p("Walmart Inc.", "Consumer Defensive", "Discount Stores",
              95.0, 8.0e9, 6.8e11, 0.028, 2.9, 11.5, 0.94, 0.55, 0.12, 0.20, 17_000_000),
    "DIS": _p("The Walt Disney Company", "Communication Services", "Entertainment",
              110.0, 1.8e9, 9.2e10, 0.07, 5.8, 56.0, 1.0, 1.35, 0.0, 0.28, 9_000_000),
    "INTC": _p("Intel Corporation", "Technology", "Semiconductors",
               22.0, 4.36e9, 5.3e10, -0.35, 0.9, 23.0, 0.0, 1.1, -0.15, 0.50, 80_000_000),
    "AMD": _p("Advanced Micro Devices, Inc.", "Technology", "Semiconductors",
              150.0, 1.62e9, 2.7e10, 0.08, 4.7, 36.0, 0.0, 1.9, 0.10, 0.50, 45_000_000),
    "NFLX": _p("Netflix, Inc.", "Communication Services", "Entertainment",
               1100.0, 4.3e8, 4.1e10, 0.24, 30.0, 58.0, 0.0, 1.3, 0.20, 0.34, 3_500_000),
    "T": _p("AT&T Inc.", "Communication Services", "Telecom Services",
            27.0, 7.2e9, 1.22e11, 0.09, 2.2, 14.0, 1.11, 0.6, 0.08, 0.20, 35_000_000),
    "PFE": _p("Pfizer Inc.", "Healthcare", "Drug Manufacturers—General",
              25.0, 5.67e9, 6.3e10, 0.13, 3.0, 16.0, 1.72, 0.55, -0.08, 0.22, 40_000_000),
    "BA": _p("The Boeing Company", "Industrials", "Aerospace & Defense",
             200.0, 7.6e8, 7.0e10, -0.15, -1.0, -5.0, 0.0, 1.45, 0.02, 0.38, 8_000_000),
    "HD": _p("The Home Depot, Inc.", "Consumer Cyclical", "Home Improvement Retail",
             380.0, 9.9e8, 1.6e11, 0.09, 15.5, 6.5, 9.2, 1.0, 0.06, 0.20, 3_500_000),
    "CSCO": _p("Cisco Systems, Inc.", "Technology", "Communication Equipment",
               65.0, 3.96e9, 5.6e10, 0.18, 3.8, 11.5, 1.64, 0.85, 0.08, 0.22, 20_000_000),
}  # fmt: skip


def known_symbols() -> frozenset[str]:
    """The simulated universe; the request parser uses it to tell tickers from words."""
    return frozenset(SIMULATED_UNIVERSE)


def _stable_seed(*parts: str) -> int:
    """A seed that is the same in every process (unlike ``hash()``, which is salted)."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


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
        return Benchmark(symbol=SIM_INDEX, name=SIM_INDEX_NAME, prices=_index_walk(session))

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
        profile = self._universe.get(key)
        if profile is None:
            raise UnknownTickerError(
                key,
                provider=self.name,
                hint=f"the simulated universe has {', '.join(sorted(self._universe))}",
            )
        return _simulated_snapshot(key, profile, last_weekday_on_or_before(_as_date(as_of)))

    @staticmethod
    def _build(key: str, profile: TickerProfile, session: date) -> StockSnapshot:
        """The ticker's own figures (no benchmark, no peers) for one session."""
        days = trading_days(history_start(session), session)
        rng = random.Random(_stable_seed("snapshot", key, session.isoformat()))  # noqa: S311 - simulation, not crypto
        prices = SimulatedProvider._walk(profile, days, rng, market=_index_shocks(session))
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
            history_source="simulated daily closes",
        )
        logger.debug("simulated snapshot %s as of %s: %d sessions", key, session, len(prices))
        return snap

    @staticmethod
    def _walk(
        profile: TickerProfile, days: list[date], rng: random.Random, *, market: list[float]
    ) -> list[PricePoint]:
        """Geometric random walk scaled to end near the profile's price level.

        Daily log-returns have the profile's drift and volatility, with a mild
        volatility regime drawn per request so that the same company is
        calmer in some years than in others. ``market`` holds the index's
        demeaned daily log-returns; ``beta`` times them is the market part of
        each move and normal noise the rest (at least a quarter of the
        volatility is the company's own).
        """
        sigma = profile.volatility * rng.uniform(0.8, 1.2) / math.sqrt(TRADING_DAYS_PER_YEAR)
        mu = (profile.drift + rng.gauss(0.0, 0.08)) / TRADING_DAYS_PER_YEAR - 0.5 * sigma**2
        market_sigma = INDEX_VOLATILITY / math.sqrt(TRADING_DAYS_PER_YEAR)
        own_sigma = math.sqrt(
            max(sigma**2 - (profile.beta * market_sigma) ** 2, (0.25 * sigma) ** 2)
        )
        log_level = 0.0
        levels = [0.0]
        shocks = [0.0]
        for index in range(1, len(days)):
            shock = mu + profile.beta * market[index] + rng.gauss(0.0, own_sigma)
            log_level += shock
            levels.append(log_level)
            shocks.append(shock)
        end_price = profile.price * math.exp(rng.gauss(0.0, 0.08))
        scale = end_price / math.exp(log_level)
        points = []
        for day, level, shock in zip(days, levels, shocks, strict=True):
            # Volume rises on large moves, as it does in real markets; the
            # lognormal noise and the surge both average to 1.
            surge = (1.0 + 0.5 * abs(shock - mu) / sigma) / 1.4
            volume = profile.avg_volume * math.exp(rng.gauss(-0.045, 0.3)) * surge
            points.append(
                PricePoint(day=day, close=round(scale * math.exp(level), 2), volume=int(volume))
            )
        return points


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


@functools.lru_cache(maxsize=64)
def _index_series(session: date) -> tuple[tuple[PricePoint, ...], tuple[float, ...]]:
    """The simulated index's closes and demeaned daily log-returns up to ``session``.

    Seeded by the session only, so every stock of one request sees the same
    market. The first session has no return (0.0).
    """
    days = trading_days(history_start(session), session)
    rng = random.Random(_stable_seed("index", session.isoformat()))  # noqa: S311 - simulation
    sigma = INDEX_VOLATILITY * rng.uniform(0.8, 1.2) / math.sqrt(TRADING_DAYS_PER_YEAR)
    mu = (INDEX_DRIFT + rng.gauss(0.0, 0.05)) / TRADING_DAYS_PER_YEAR - 0.5 * sigma**2
    shocks = [0.0] + [rng.gauss(0.0, sigma) for _ in days[1:]]
    log_levels = list(itertools.accumulate(mu + shock for shock in shocks[1:]))
    log_levels.insert(0, 0.0)
    scale = INDEX_LEVEL * math.exp(rng.gauss(0.0, 0.05) - log_levels[-1])
    points = [
        PricePoint(day=day, close=round(scale * math.exp(level), 2), volume=0)
        for day, level in zip(days, log_levels, strict=True)
    ]
    return tuple(points), tuple(shocks)


def _index_walk(session: date) -> tuple[PricePoint, ...]:
    return _index_series(session)[0]


def _index_shocks(session: date) -> list[float]:
    return list(_index_series(session)[1])


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
    rng = random.Random(_stable_seed("statements", symbol, str(year_end.year)))  # noqa: S311
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
