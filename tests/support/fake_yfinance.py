"""A stand-in for ``yfinance.Ticker`` that answers with frames in yfinance's own shapes.

No network: the frames are laid out as yfinance 1.7.0 returns them (history:
a tz-aware ``DatetimeIndex`` named ``Date`` and the OHLCV/dividend/split
columns; statements: line items by fiscal-year columns, newest first).
Apple's statement values come from its 10-K filings
(``tests/fixtures/yfinance/aapl_statements.json``); the daily prices are a
generated walk, since no recording of Yahoo's answers can be made offline.
With ``World.offline`` set, every history is what yfinance returns when it
cannot reach Yahoo: it logs the cause and answers ``yfinance.utils.empty_df()``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from stock_agent.market_data import DayCache, YFinanceProvider
from yfinance.utils import empty_df

from tests.support.paths import FIXTURES

YFINANCE_FIXTURES = FIXTURES / "yfinance"
AS_OF = date(2025, 9, 5)


def statement_frame(name: str) -> pd.DataFrame:
    raw = json.loads((YFINANCE_FIXTURES / "aapl_statements.json").read_text())[name]
    frame = pd.DataFrame(raw["data"], index=raw["index"], columns=pd.to_datetime(raw["columns"]))
    return frame.astype("float64")


def history_frame(
    as_of: date, *, start_price: float, drift: float, sessions: int = 262
) -> pd.DataFrame:
    """A daily frame shaped like ``Ticker.history(auto_adjust=True)``."""
    days: list[date] = []
    day = as_of
    while len(days) < sessions:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    closes = [start_price * (1 + drift) ** i * (1 + 0.01 * math.sin(i)) for i in range(sessions)]
    index = pd.DatetimeIndex(
        [pd.Timestamp(d).tz_localize("America/New_York") for d in days], name="Date"
    )
    return pd.DataFrame(
        {
            "Open": closes,
            "High": [c * 1.01 for c in closes],
            "Low": [c * 0.99 for c in closes],
            "Close": closes,
            "Volume": [50_000_000 + i for i in range(sessions)],
            "Dividends": 0.0,
            "Stock Splits": 0.0,
        },
        index=index,
    )


INFO = {
    "longName": "Apple Inc.",
    "sector": "Technology",
    "industry": "Consumer Electronics",
    "currency": "USD",
    "sharesOutstanding": 14_840_390_000,
    "trailingPE": 36.2,
    "forwardPE": 28.9,
    "priceToBook": 52.1,
    "dividendRate": 1.04,
    "totalRevenue": 408_625_000_000,
    "profitMargins": 0.243,
    "beta": 1.11,
    "trailingEps": 6.58,
    "companyOfficers": [{"name": "not JSON-safe here"}],  # dropped from the cache
}


class Ticker:
    """Stands in for ``yfinance.Ticker``: recorded frames, optional failures per attribute."""

    def __init__(self, symbol: str, world: World) -> None:
        self.symbol, self.world = symbol, world

    def _fail(self, what: str) -> None:
        self.world.calls.append((self.symbol, what))
        failures = self.world.failures.get((self.symbol, what))
        if failures:
            raise failures.pop(0)

    def history(self, **kwargs: Any) -> pd.DataFrame:
        self._fail("history")
        if self.world.offline:
            return empty_df()
        return self.world.histories.get(self.symbol, pd.DataFrame())

    @property
    def info(self) -> dict[str, Any]:
        self._fail("info")
        return self.world.infos.get(self.symbol, {})

    @property
    def news(self) -> list[Any]:
        self._fail("news")
        return []

    @property
    def income_stmt(self) -> pd.DataFrame:
        self._fail("statements")
        return statement_frame("income_stmt") if self.symbol == "AAPL" else pd.DataFrame()

    @property
    def cashflow(self) -> pd.DataFrame:
        return statement_frame("cashflow") if self.symbol == "AAPL" else pd.DataFrame()

    @property
    def balance_sheet(self) -> pd.DataFrame:
        return statement_frame("balance_sheet") if self.symbol == "AAPL" else pd.DataFrame()


class World:
    """What Yahoo would answer, and which calls fail how often."""

    def __init__(self) -> None:
        self.histories = {
            "AAPL": history_frame(AS_OF, start_price=170.0, drift=0.001),
            "SPY": history_frame(AS_OF, start_price=500.0, drift=0.0006),
            "MSFT": history_frame(AS_OF, start_price=400.0, drift=0.0004),
            "NVDA": history_frame(AS_OF, start_price=100.0, drift=0.002),
        }
        self.infos = {
            "AAPL": dict(INFO),
            "MSFT": {"sharesOutstanding": 7.4e9, "trailingPE": 37.0, "profitMargins": 0.36},
            "NVDA": {"sharesOutstanding": 2.4e10, "trailingPE": 50.0, "profitMargins": 0.53},
        }
        self.failures: dict[tuple[str, str], list[BaseException]] = {}
        self.offline = False
        self.calls: list[tuple[str, str]] = []

    def factory(self) -> Callable[[str], Ticker]:
        return lambda symbol: Ticker(symbol, self)


def make_provider(
    world: World, tmp_path: Path, **kwargs: Any
) -> tuple[YFinanceProvider, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("cache", DayCache(tmp_path / "cache"))
    provider = YFinanceProvider(
        ticker_factory=world.factory(),
        sleep=sleeps.append,
        peers={"Technology": ("AAPL", "MSFT", "NVDA", "AMD")},
        **kwargs,
    )
    return provider, sleeps
