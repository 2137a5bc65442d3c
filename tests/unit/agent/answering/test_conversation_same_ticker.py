"""A comparison that names one ticker twice: analysed once, and the hint names another ticker.

Through the real agent (offline model, simulated data): the warning must
never suggest typing the same comparison again.
"""

from __future__ import annotations

import pytest
from stock_agent.agent import StockAgent

from tests.support.agents import offline_agent


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> StockAgent:
    return offline_agent(tmp_path_factory.mktemp("reports"))


@pytest.mark.parametrize(
    ("prompt", "symbol", "other"),
    [
        ("Compare AAPL and AAPL", "AAPL", "MSFT"),
        ("AAPL vs AAPL", "AAPL", "MSFT"),
        ("compare aapl with AAPL please", "AAPL", "MSFT"),
        ("How does MSFT compare with MSFT?", "MSFT", "AAPL"),
    ],
)
def test_the_same_ticker_twice_is_one_analysis_and_a_hint_with_another_ticker(
    agent: StockAgent, prompt: str, symbol: str, other: str
) -> None:
    response = agent.invoke(prompt, request_id="same-twice")
    assert response["intent"] == "analyze"
    assert [r["symbol"] for r in response["results"]] == [symbol]
    [warning] = [w for w in response["warnings"] if "comparison" in w or "compare" in w]
    assert warning == (
        f"{symbol} is named twice: a comparison needs two different tickers "
        f"(e.g. 'Compare {symbol} and {other}')"
    )
    assert f"'Compare {symbol} and {symbol}'" not in " ".join(response["warnings"])


def test_one_ticker_with_a_compare_cue_is_told_to_name_another(agent: StockAgent) -> None:
    response = agent.invoke("Compare AAPL with its rivals", request_id="one-cue")
    [warning] = [w for w in response["warnings"] if "compare" in w]
    assert "nothing earlier in this session to compare AAPL with" in warning
    assert "(e.g. 'Compare AAPL and MSFT')" in warning
    assert "'Compare AAPL and AAPL'" not in warning
