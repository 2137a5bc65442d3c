"""The MCP tools end to end: ``stock-agent mcp`` over stdio and over streamable HTTP.

The official ``mcp`` client talks to the real server in a subprocess: it lists
the tools and checks their schemas, calls each tool and compares the results
with the record for the same ticker and day, reads every PDF a tool wrote back
with pypdf, and sends every class of bad input, whose tool error must carry
the code and message the HTTP contract (the ``agent_server`` fixture: the
agent's app on loopback) gives for the same input. The last test checks that
the LangGraph agent and the MCP tools give the same figures.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mcp.types as types
import pytest
from mcp import Client
from stock_agent.contract import analysis_json, data_json
from stock_agent.formatting import figure_provenance
from stock_agent.market_data import get_provider
from stock_agent.mcp.schemas import input_schemas, output_schemas
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.records import StockSnapshot, to_jsonable
from stock_agent.settings import AgentSettings

from eval.pdf import flat, pdf_text
from tests.support.mcp_servers import (
    mcp_url,
    run,
    serve_mcp_in_thread,
    start_mcp_http_server,
    stdio_server_parameters,
)
from tests.support.records import simulated_record
from tests.support.report_text import figures_missing_from_pdf

pytestmark = pytest.mark.slow

SIX = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "META"]
# (what, the same input as a prompt to the HTTP contract, tool, arguments)
BAD_INPUT: list[tuple[str, str, str, dict[str, Any]]] = [
    ("unknown ticker", "Analyze ZZZZ", "gather_stock_data", {"symbol": "zzzz"}),
    ("unknown tickers", "Compare ZZZZ and QQQQX", "compare_stocks", {"symbols": ["ZZZZ", "QQQQX"]}),
    ("too many symbols", "Compare " + " ".join(SIX), "compare_stocks", {"symbols": SIX}),
    ("invisible characters", "AA\u200bPL", "analyze_stock_performance", {"symbol": "AA\u200bPL"}),
    ("a control character", "AA\x1bPL", "generate_stock_report", {"symbol": "AA\x1bPL"}),
]


def http_contract_error(agent_server: Any, prompt: str) -> dict[str, str]:
    reply = agent_server.invoke({"prompt": prompt})
    assert 400 <= reply.status < 500, reply.body[:300]
    return reply.json()["error"]  # type: ignore[no-any-return]


def record(symbol: str, as_of: str) -> tuple[StockSnapshot, Any]:
    """The record as the agent computes it that day (with its track record)."""
    return simulated_record(symbol, as_of=date.fromisoformat(as_of), track_record=True)


def stored(reports: Path, uri: str) -> bytes:
    path = Path(unquote(urlparse(uri).path))
    assert path.is_relative_to(reports), uri
    return path.read_bytes()


async def exercise_every_tool(client: Client, reports: Path) -> list[types.CallToolResult]:
    """List, check, call each tool and read back what it wrote; returns the bad-input results."""
    tools = (await client.list_tools()).tools
    assert {t.name: t.input_schema for t in tools} == input_schemas()
    assert {t.name: t.output_schema for t in tools} == output_schemas()

    gathered = await client.call_tool("gather_stock_data", {"symbol": "SIM_STOCK"})
    data = gathered.structured_content["data"]  # type: ignore[index]
    snapshot = get_provider("simulated").snapshot("SIM_STOCK", as_of=date.fromisoformat(
        data["as_of"]))  # fmt: skip
    assert data == {k: v for k, v in data_json(snapshot).items() if k != "history"}

    analysed = await client.call_tool("analyze_stock_performance", {"symbol": "aapl"})
    body = analysed.structured_content or {}
    snapshot, analysis = record("AAPL", body["figures"][0]["as_of"])
    assert body["analysis"] == analysis_json(analysis)
    assert body["track_record"] == to_jsonable(analysis.track_record)
    assert body["figures"] == figure_provenance(snapshot, analysis)

    report = (await client.call_tool("generate_stock_report", {"symbol": "KO"})).structured_content
    assert report is not None
    pdf = stored(reports, report["report"]["uri"])
    assert (len(pdf), hashlib.sha256(pdf).hexdigest()) == (
        report["report"]["bytes"], report["report"]["sha256"]
    )  # fmt: skip
    snapshot, analysis = record("KO", report["as_of"])
    assert figures_missing_from_pdf(pdf_text(pdf), snapshot, analysis) == []

    compared = await client.call_tool("compare_stocks", {"symbols": ["KO", "PG"]})
    comparison = compared.structured_content or {}
    text = flat(pdf_text(stored(reports, comparison["report"]["uri"])))
    for label, row in comparison["table"].items():
        assert all(value in text for value in row.values()), label
    for ref in comparison["reports"].values():
        assert len(stored(reports, ref["uri"])) == ref["bytes"]

    figure = await client.call_tool("get_figure", {"symbol": "JPM", "figure": "Max Drawdown (1Y)"})
    row = (figure.structured_content or {})["figure"]
    snapshot, analysis = record("JPM", row["as_of"])
    assert row in figure_provenance(snapshot, analysis)

    return [await client.call_tool(tool, args) for _, _, tool, args in BAD_INPUT] + [
        await client.call_tool("get_figure", {"symbol": "JPM", "figure": "shoe size"})
    ]


def assert_the_http_contracts_errors(
    agent_server: Any, results: list[types.CallToolResult]
) -> None:
    for (what, prompt, _, arguments), result in zip(BAD_INPUT, results, strict=False):
        assert result.is_error is True, what
        error = (result.structured_content or {})["error"]
        expected = http_contract_error(agent_server, prompt)
        field = "'symbol'" if "symbol" in arguments else "'symbols'"
        assert error["code"] == expected["code"], what
        assert error["message"] == expected["message"].replace("'prompt'", field), what
        [content] = result.content
        assert isinstance(content, types.TextContent)
        assert content.text == f"{error['code']}: {error['message']}"
        for marker in ("Traceback", 'File "', "site-packages"):
            assert marker not in json.dumps(result.model_dump(mode="json")), what
    unknown_figure = results[-1]
    assert (unknown_figure.structured_content or {})["error"]["code"] == "unknown_figure"


def test_over_stdio_as_a_desktop_assistant_starts_it(tmp_path: Path, agent_server: Any) -> None:
    reports = tmp_path / "reports"
    params = stdio_server_parameters(reports)

    async def scenario() -> list[types.CallToolResult]:
        async with Client(params) as client:
            return await exercise_every_tool(client, reports)

    assert_the_http_contracts_errors(agent_server, run(scenario))
    assert len([p for p in reports.rglob("*.pdf")]) == 4  # KO, and KO, PG and the comparison


def test_over_streamable_http_on_loopback(tmp_path: Path, agent_server: Any) -> None:
    reports = tmp_path / "reports"
    with start_mcp_http_server(reports) as url:

        async def scenario() -> list[types.CallToolResult]:
            # The handshake AgentCore Gateway performs (initialize), over HTTP.
            async with Client(mcp_url(url), mode="legacy") as client:
                return await exercise_every_tool(client, reports)

        assert_the_http_contracts_errors(agent_server, run(scenario))


@pytest.mark.parametrize("symbol", ["SIM_STOCK", "BRK.B", "SIM_JP"])
def test_the_agent_and_the_tools_give_the_same_figures(
    tmp_path: Path, agent_server: Any, symbol: str
) -> None:
    """Same ticker, same day: the agent's answer and the tools' results agree on every figure."""
    reply = agent_server.invoke({"prompt": f"Analyze {symbol}"})
    assert reply.status == 200, reply.body[:300]
    [result] = reply.json()["results"]
    toolbox = Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=str(tmp_path)))
    with serve_mcp_in_thread(toolbox) as url:

        async def scenario() -> dict[str, Any]:
            async with Client(mcp_url(url)) as client:
                out: dict[str, Any] = {}
                for tool in ("gather_stock_data", "analyze_stock_performance"):
                    called = await client.call_tool(tool, {"symbol": symbol})
                    out[tool] = called.structured_content
                for row in result["figures"]:
                    called = await client.call_tool(
                        "get_figure", {"symbol": symbol, "figure": row["label"]}
                    )
                    out[row["label"]] = (called.structured_content or {})["figure"]
                return out

        tools = run(scenario)
    analysed = tools["analyze_stock_performance"]
    assert analysed["figures"] == result["figures"]
    assert analysed["analysis"] == result["analysis"]
    assert analysed["track_record"] == result["track_record"]
    assert analysed["narrative"] == result["narrative"]
    gathered = tools["gather_stock_data"]
    assert gathered["data"] == result["data"]  # the response drops the series unless asked
    assert gathered["figures"] == result["figures"][: len(gathered["figures"])]
    for row in result["figures"]:
        assert tools[row["label"]] == row
