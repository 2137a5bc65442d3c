"""The tools' schemas come from the records: every record of the universe fits, nothing else does.

Validated with jsonschema (Draft 2020-12, what the official client uses on a
result) against every simulated ticker's records, with and without the daily
series; an extra or a missing key fails, so a record that grows a field and a
schema that does not (or the reverse) cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from stock_agent.analysis import analyze
from stock_agent.contract import analysis_json, data_json
from stock_agent.formatting import figure_provenance
from stock_agent.market_data import get_provider, known_symbols
from stock_agent.mcp.arguments import MAX_FIGURE_CHARS, MIN_COMPARE_SYMBOLS
from stock_agent.mcp.schemas import (
    analysis_schema,
    error_schema,
    input_schemas,
    output_schemas,
    schema_of,
    snapshot_data_schema,
)
from stock_agent.mcp.toolbox import SPECS
from stock_agent.records import StockAnalysis, to_jsonable
from stock_agent.settings import MAX_TICKERS_PER_REQUEST
from stock_agent.understanding.parsing import MAX_SYMBOL_CHARS

from tests.support.records import simulated_record

DAY = date(2026, 11, 30)


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    Draft202012Validator.check_schema(schema)
    return [e.message for e in Draft202012Validator(schema).iter_errors(value)]


@pytest.mark.parametrize("symbol", sorted(known_symbols()))
def test_every_simulated_record_fits_its_schema(symbol: str) -> None:
    snapshot = get_provider("simulated").snapshot(symbol, as_of=DAY)
    analysis = analyze(snapshot)
    data = data_json(snapshot)
    assert errors(snapshot_data_schema(), data) == []
    data.pop("history")
    assert errors(snapshot_data_schema(), data) == []
    assert errors(schema_of(StockAnalysis), to_jsonable(analysis)) == []
    assert errors(analysis_schema(), analysis_json(analysis)) == []
    rows = figure_provenance(snapshot, analysis)
    assert (
        errors(output_schemas()["analyze_stock_performance"]["properties"]["figures"], rows) == []
    )


def test_the_track_record_fits_its_own_key_and_not_the_analysis() -> None:
    _, analysis = simulated_record("AAPL", as_of=DAY, track_record=True)
    assert analysis.track_record is not None
    properties = output_schemas()["analyze_stock_performance"]["properties"]
    assert errors(properties["track_record"], to_jsonable(analysis.track_record)) == []
    assert errors(properties["track_record"], None) == []  # a provider without history
    assert errors(analysis_schema(), analysis_json(analysis)) == []
    assert errors(analysis_schema(), to_jsonable(analysis))  # it is not inside the analysis


def test_an_extra_or_missing_key_does_not_fit() -> None:
    snapshot = get_provider("simulated").snapshot("SIM_STOCK", as_of=DAY)
    data = data_json(snapshot)
    assert errors(snapshot_data_schema(), {**data, "new_field": 1})
    assert errors(snapshot_data_schema(), {k: v for k, v in data.items() if k != "pe_ratio"})
    assert errors(snapshot_data_schema(), {**data, "prices": []})  # the series is summarised
    benchmark = {**data["benchmark"], "prices": []}
    assert errors(snapshot_data_schema(), {**data, "benchmark": benchmark})
    analysis = to_jsonable(analyze(snapshot))
    analysis["technical"]["new_verdict"] = "x"
    assert errors(schema_of(StockAnalysis), analysis)


def test_schemas_have_no_references_and_close_every_object() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert "$ref" not in node and "$defs" not in node
            if node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False, sorted(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for schema in [*output_schemas().values(), *input_schemas().values(), error_schema()]:
        Draft202012Validator.check_schema(schema)
        walk(schema)
        assert schema["type"] == "object"


def test_every_tool_has_both_schemas() -> None:
    names = [spec.name for spec in SPECS]
    assert list(input_schemas()) == names
    assert list(output_schemas()) == names


def test_input_limits_are_the_validators_constants() -> None:
    schemas = input_schemas()
    symbols = schemas["compare_stocks"]["properties"]["symbols"]
    assert (symbols["minItems"], symbols["maxItems"]) == (
        MIN_COMPARE_SYMBOLS,
        MAX_TICKERS_PER_REQUEST,
    )
    symbol = schemas["get_figure"]["properties"]["symbol"]
    assert symbol["maxLength"] == MAX_SYMBOL_CHARS + 1  # "$" + the longest ticker
    assert schemas["get_figure"]["properties"]["figure"]["maxLength"] == MAX_FIGURE_CHARS
    assert schemas["get_figure"]["required"] == ["symbol", "figure"]


def test_the_input_schemas_accept_what_the_tools_accept() -> None:
    ok = {
        "gather_stock_data": {"symbol": "$BRK-B", "include_history": True},
        "compare_stocks": {"symbols": ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]},
        "get_figure": {"symbol": "ABCDEFGHIJ.KLMN", "figure": "x" * MAX_FIGURE_CHARS},
    }
    for name, arguments in ok.items():
        assert errors(input_schemas()[name], arguments) == [], name
    too_many = {"symbols": ["A", "B", "C", "D", "E", "F"]}
    assert errors(input_schemas()["compare_stocks"], too_many)
    assert errors(input_schemas()["get_figure"], {"symbol": "AAPL"})


def test_the_schemas_are_json() -> None:
    json.dumps([output_schemas(), input_schemas(), error_schema()])
