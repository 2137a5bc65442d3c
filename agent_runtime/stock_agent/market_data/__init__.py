"""Data Gathering Agent: one structured :class:`~stock_agent.records.StockSnapshot` per ticker.

- :mod:`.provider`: the interface, errors and the derivations both providers share;
- :mod:`.simulated`: snapshots of the simulated market (the default), whose companies
  are in :mod:`.simulated_universe` and whose one price history is :mod:`.simulated_history`;
- :mod:`.yahoo`: Yahoo Finance through the optional ``yfinance`` package;
- :mod:`.cache`: the on-disk cache the Yahoo provider keeps its responses in.
"""

from __future__ import annotations

from .cache import DEFAULT_TTL_SECONDS, DayCache, default_cache_dir
from .provider import (
    AVERAGE_VOLUME_SESSIONS,
    PROVIDER_NAMES,
    TRADING_DAYS_PER_YEAR,
    AnnualStatements,
    DailyHistory,
    HistoryProvider,
    MarketDataError,
    MarketDataProvider,
    UnknownTickerError,
    build_snapshot,
    compound_growth,
    history_start,
    last_weekday_on_or_before,
    one_year_before,
    peer_figures,
)
from .simulated import (
    SIM_INDEX,
    SIMULATED_UNIVERSE,
    SimulatedProvider,
    TickerProfile,
    known_symbols,
    trading_days,
)
from .yahoo import (
    MAX_HEADLINES,
    US_BENCHMARK,
    YFinanceProvider,
    map_dividend_yield,
    map_headlines,
    map_statements,
)

__all__ = [
    "AVERAGE_VOLUME_SESSIONS",
    "DEFAULT_TTL_SECONDS",
    "MAX_HEADLINES",
    "PROVIDER_NAMES",
    "SIMULATED_UNIVERSE",
    "SIM_INDEX",
    "TRADING_DAYS_PER_YEAR",
    "US_BENCHMARK",
    "AnnualStatements",
    "DailyHistory",
    "DayCache",
    "HistoryProvider",
    "MarketDataError",
    "MarketDataProvider",
    "SimulatedProvider",
    "TickerProfile",
    "UnknownTickerError",
    "YFinanceProvider",
    "build_snapshot",
    "compound_growth",
    "default_cache_dir",
    "get_provider",
    "history_start",
    "known_symbols",
    "last_weekday_on_or_before",
    "map_dividend_yield",
    "map_headlines",
    "map_statements",
    "one_year_before",
    "peer_figures",
    "trading_days",
]


def get_provider(
    name: str,
    *,
    cache_dir: str | None = None,
    cache_ttl_seconds: float = DEFAULT_TTL_SECONDS,
) -> MarketDataProvider:
    """The provider called ``name`` (``simulated`` | ``yfinance``).

    The Yahoo provider caches its responses under ``cache_dir`` (default: the
    current user's cache folder, :func:`~.cache.default_cache_dir`).
    """
    if name == "simulated":
        return SimulatedProvider()
    if name == "yfinance":
        cache = DayCache(cache_dir or default_cache_dir(), ttl_seconds=cache_ttl_seconds)
        return YFinanceProvider(cache=cache)
    raise ValueError(f"unknown market-data provider {name!r}: expected one of {PROVIDER_NAMES}")
