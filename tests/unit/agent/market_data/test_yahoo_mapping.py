"""The yfinance field mapping, with an injected ``Ticker``-like fake.

The yfinance provider cannot reach Yahoo here (no network, the package is an
optional extra), so its mapping is tested with a fake that has the same surface
yfinance 1.x exposes: ``history(...)`` returning a frame with a timestamp index
and ``Close`` / ``Volume`` columns, the ``info`` dict and the ``news`` list.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from stock_agent.market_data import (
    MarketDataError,
    UnknownTickerError,
    YFinanceProvider,
    map_dividend_yield,
    map_headlines,
)


class FakeFrame:
    """The part of a pandas DataFrame the provider touches: index, columns, ``frame[col]``."""

    def __init__(self, rows: list[tuple[datetime, float, float]]) -> None:
        self.index = [r[0] for r in rows]
        self.columns = ["Close", "Volume"]
        self._columns = {"Close": [r[1] for r in rows], "Volume": [r[2] for r in rows]}

    def __getitem__(self, column: str) -> list[float]:
        return self._columns[column]


class FakeTicker:
    """A ``yfinance.Ticker`` look-alike recording the history call it got."""

    def __init__(self, *, rows: list[tuple[datetime, float, float]], info: dict[str, Any],
                 news: Any = ()) -> None:  # fmt: skip
        self._rows, self.info, self.news = rows, info, list(news)
        self.history_kwargs: dict[str, Any] = {}

    def history(self, **kwargs: Any) -> FakeFrame:
        self.history_kwargs = kwargs
        return FakeFrame(self._rows)


def _rows(as_of: date, sessions: int = 270) -> list[tuple[datetime, float, float]]:
    rows = []
    day, price = as_of, 150.0
    while len(rows) < sessions:
        if day.weekday() < 5:
            stamp = datetime(day.year, day.month, day.day, tzinfo=UTC)
            rows.append((stamp, price, 1_000_000.0 + len(rows)))
            price *= 0.999 if len(rows) % 3 else 1.004
        day -= timedelta(days=1)
    return rows[::-1]


INFO = {
    "longName": "Apple Inc.",
    "shortName": "Apple",
    "sector": "Technology",
    "industry": "Consumer Electronics",
    "currency": "usd",
    "sharesOutstanding": 15_000_000_000,
    "marketCap": 1.0,  # ignored: shares x last close is consistent with the price
    "trailingPE": 35.2,
    "forwardPE": 29.1,
    "priceToBook": 48.0,
    "dividendRate": 1.04,
    "dividendYield": 0.44,  # percent in yfinance >= 0.2.54: must not be read as 44 %
    "totalRevenue": 391_000_000_000,
    "profitMargins": 0.2397,
    "beta": 1.24,
    "trailingEps": 6.08,
}


NEW_NEWS = {
    "id": "1",
    "content": {
        "title": "Apple & suppliers <rally>",
        "provider": {"displayName": "Reuters"},
        "canonicalUrl": {"url": "https://example.com/a"},
        "pubDate": "2025-09-03T12:00:00Z",
    },
}


OLD_NEWS = {
    "title": "Old-style headline",
    "publisher": "Yahoo",
    "link": "https://example.com/b",
    "providerPublishTime": 1756900000,
}


def test_yfinance_mapping() -> None:
    as_of = date(2025, 9, 4)
    rows = _rows(as_of)
    rows.append((datetime(2025, 9, 5, tzinfo=UTC), 999.0, 1.0))  # after as_of: dropped
    rows.insert(100, (datetime(2025, 1, 4, tzinfo=UTC), float("nan"), 0.0))  # NaN: dropped
    ticker = FakeTicker(rows=rows, info=dict(INFO), news=[NEW_NEWS, OLD_NEWS, {"title": "x"}])
    snap = YFinanceProvider(ticker_factory=lambda symbol: ticker).snapshot("aapl", as_of=as_of)

    assert (
        ticker.history_kwargs["start"] <= "2024-09-04"
        and ticker.history_kwargs["end"] == "2025-09-05"
    )
    closes = [p.close for p in snap.prices]
    assert snap.symbol == "AAPL" and snap.data_source == "yfinance" and snap.as_of == as_of
    assert 999.0 not in closes and all(math.isfinite(c) for c in closes)
    assert snap.company_name == "Apple Inc." and snap.currency == "USD"
    assert snap.week52_high == max(closes) and snap.week52_low == min(closes)
    assert snap.market_cap == pytest.approx(closes[-1] * 15_000_000_000)
    assert snap.dividend_yield == pytest.approx(1.04 / closes[-1])
    assert (snap.pe_ratio, snap.forward_pe, snap.price_to_book) == (35.2, 29.1, 48.0)
    assert (snap.profit_margin, snap.beta, snap.eps) == (0.2397, 1.24, 6.08)
    assert snap.revenue_ttm == 391_000_000_000
    assert [h.title for h in snap.headlines] == ["Apple & suppliers <rally>", "Old-style headline"]
    assert snap.headlines[0].publisher == "Reuters"
    assert snap.headlines[1].published.startswith("2025-09-03")


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"dividendRate": 2.0}, 0.02),
        ({"trailingAnnualDividendYield": 0.015}, 0.015),
        ({"dividendYield": 0.44}, 0.0044),  # a percentage in current yfinance
        ({"dividendRate": None, "dividendYield": "Infinity"}, None),
        ({"trailingAnnualDividendYield": 3.5}, None),  # implausible: discarded
        ({}, None),
    ],
)
def test_dividend_yield_is_a_fraction_whatever_the_source(
    info: dict[str, Any], expected: float | None
) -> None:
    result = map_dividend_yield(info, 100.0)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_headlines_are_capped_and_need_a_web_url() -> None:
    bad = {"title": "no link", "publisher": "X", "link": "javascript:alert(1)"}
    many = [OLD_NEWS] * 9
    assert len(map_headlines([bad, *many])) == 5
    assert map_headlines("not a list") == ()


def test_yfinance_unknown_and_failing_tickers() -> None:
    empty = FakeTicker(rows=[], info={})
    spy = FakeTicker(rows=_rows(date(2025, 9, 4)), info={})
    with pytest.raises(UnknownTickerError):  # Yahoo answers for SPY, not for ZZZZ
        YFinanceProvider(ticker_factory=lambda s: spy if s == "SPY" else empty).snapshot(
            "ZZZZ", as_of=date(2025, 9, 4)
        )

    class Broken(FakeTicker):
        def history(self, **kwargs: Any) -> FakeFrame:
            raise ConnectionError("Yahoo is unreachable")

    broken = Broken(rows=[], info={})
    with pytest.raises(MarketDataError) as info:
        YFinanceProvider(ticker_factory=lambda s: broken).snapshot("AAPL", as_of=date(2025, 9, 4))
    assert info.value.retryable and "unreachable" in info.value.message

    no_cap = FakeTicker(rows=_rows(date(2025, 9, 4)), info={"longName": "Fund"})
    with pytest.raises(MarketDataError) as info:
        YFinanceProvider(ticker_factory=lambda s: no_cap).snapshot("FUND", as_of=date(2025, 9, 4))
    assert not info.value.retryable and "market capitalisation" in info.value.message
