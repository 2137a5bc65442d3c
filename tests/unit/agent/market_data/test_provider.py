"""The provider factory, and a Yahoo provider without its optional package."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from stock_agent.market_data import (
    MarketDataError,
    YFinanceProvider,
    get_provider,
)


def test_get_provider() -> None:
    assert get_provider("simulated").name == "simulated"
    assert get_provider("yfinance").name == "yfinance"  # constructing it imports nothing
    with pytest.raises(ValueError, match="unknown market-data provider 'bloomberg'"):
        get_provider("bloomberg")


def test_yfinance_missing_is_a_structured_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The dev environment has yfinance (test-only); a None entry makes its import fail,
    # as it does in a container built without the extra.
    monkeypatch.setitem(sys.modules, "yfinance", None)
    with pytest.raises(MarketDataError) as info:
        YFinanceProvider().snapshot("AAPL", as_of=date(2025, 9, 4))
    assert info.value.retryable is False and "stock-agent[yfinance]" in info.value.message
