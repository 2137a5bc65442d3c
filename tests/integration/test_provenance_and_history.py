"""Provenance and daily series in the real HTTP response (loopback AgentCore server)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from stock_agent.formatting import key_figures
from stock_agent.market_data import SimulatedProvider
from stock_agent.tools import analyze_stock_performance


def test_every_figure_carries_source_and_as_of(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "Analyze AAPL"})
    assert reply.status == 200, reply.body[:300]
    [result] = reply.json()["results"]
    assert "history" not in result["data"]  # only on request
    figures = result["figures"]
    # One provenance row per key figure, same labels and values, in the same order.
    assert [(f["label"], f["value"]) for f in figures] == list(result["key_figures"].items())
    as_of = result["data"]["as_of"]
    for f in figures:
        assert f["source"] and date.fromisoformat(f["as_of"]) <= date.fromisoformat(as_of), f
    by_label = {f["label"]: f for f in figures}
    assert by_label["RSI (14)"]["source"].startswith("computed: RSI(14), Wilder")
    assert by_label["P/E Ratio"]["source"].startswith("simulated:")
    assert by_label["Revenue Growth (3Y, a year)"]["as_of"] < as_of  # a fiscal year end
    # The snapshot's and the analysis' own provenance maps are in the JSON too.
    assert result["data"]["sources"]["pe_ratio"]["as_of"] == as_of
    assert result["analysis"]["sources"]["beta_1y"]["source"].endswith("last year")
    assert result["data"]["benchmark"]["symbol"] == "SIM_INDEX"
    assert "prices" not in result["data"]["benchmark"]


def test_include_history_returns_the_series_the_figures_came_from(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "Analyze KO", "include_history": True})
    assert reply.status == 200
    [result] = reply.json()["results"]
    history = result["data"]["history"]
    assert set(history[0]) == {"date", "close", "volume"}
    as_of = date.fromisoformat(result["data"]["as_of"])
    provider = SimulatedProvider()
    snapshot = provider.snapshot("KO", as_of=as_of)
    assert history == [
        {"date": p.day.isoformat(), "close": p.close, "volume": p.volume} for p in snapshot.prices
    ]
    analysis = analyze_stock_performance(snapshot, provider=provider)  # with its track record
    assert result["key_figures"] == dict(key_figures(snapshot, analysis))
    assert len(history) == result["data"]["price_history"]["sessions"]


def test_include_history_in_a_stream(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "Analyze KO", "stream": True, "include_history": True})
    events = [
        json.loads(block.removeprefix("data: "))
        for block in reply.body.decode().split("\n\n")
        if block.startswith("data: ")
    ]
    assert events[-1]["event"] == "result"
    assert len(events[-1]["results"][0]["data"]["history"]) >= 252


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_include_history_must_be_a_boolean(agent_server: Any, value: object) -> None:
    reply = agent_server.invoke({"prompt": "Analyze KO", "include_history": value})
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid_payload" and "'include_history'" in error["message"]
