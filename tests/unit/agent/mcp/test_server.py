"""The MCP server with the official client in process: both protocol eras, every failure shaped.

``mcp.Client(server)`` speaks to the low-level server through the SDK's own
in-memory transport: the initialize handshake (``mode="legacy"``, what AgentCore
Gateway speaks) and the 2026-07-28 per-request envelope (``mode="auto"``). The
client validates every successful result against the tool's output schema.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from stock_agent.errors import INTERNAL_ERROR_MESSAGE, AgentError
from stock_agent.mcp.schemas import input_schemas, output_schemas
from stock_agent.mcp.server import SERVER_NAME, build_server, call_tool, error_result
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.settings import AgentSettings

from tests.support.mcp_servers import run

MODES = ("legacy", "auto")


@pytest.fixture
def toolbox(tmp_path: Path) -> Toolbox:
    return Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=str(tmp_path)))


@pytest.mark.parametrize("mode", MODES)
def test_tools_list_shows_the_five_tools_with_their_schemas(toolbox: Toolbox, mode: str) -> None:
    async def scenario() -> tuple[str, Any, list[types.Tool]]:
        async with Client(build_server(toolbox), mode=mode) as client:
            info = client.server_info
            return client.protocol_version, info, (await client.list_tools()).tools

    version, info, tools = run(scenario)
    assert version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert info is not None and info.name == SERVER_NAME
    by_name = {tool.name: tool for tool in tools}
    assert list(by_name) == list(input_schemas())
    for name, tool in by_name.items():
        assert tool.input_schema == input_schemas()[name]
        assert tool.output_schema == output_schemas()[name]
        assert tool.description and tool.title
        assert tool.annotations is not None
        writes = name in ("generate_stock_report", "compare_stocks")
        assert tool.annotations.read_only_hint is (not writes), name
        assert tool.annotations.destructive_hint is False


@pytest.mark.parametrize("mode", MODES)
def test_a_call_carries_the_records_and_the_text(toolbox: Toolbox, mode: str) -> None:
    arguments = {"symbol": "KO", "figure": "dividend"}

    async def scenario() -> types.CallToolResult:
        async with Client(build_server(toolbox), mode=mode) as client:
            return await client.call_tool("get_figure", arguments)

    result = run(scenario)
    direct = toolbox.call("get_figure", arguments)
    assert result.is_error is False
    assert result.structured_content == direct.structured
    assert [c.text for c in result.content if isinstance(c, types.TextContent)] == [direct.text]


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_failure_is_a_tool_error_with_the_contracts_body(
    toolbox: Toolbox, mode: str
) -> None:
    async def scenario() -> list[types.CallToolResult]:
        async with Client(build_server(toolbox), mode=mode) as client:
            return [
                await client.call_tool("gather_stock_data", {"symbol": "ZZZZ"}),
                await client.call_tool(
                    "compare_stocks", {"symbols": ["A", "B", "C", "D", "E", "F"]}
                ),
                await client.call_tool("get_figure", {"symbol": "KO", "figure": "shoe size"}),
                await client.call_tool("analyze_stock_performance", {"symbol": "AA\u200bPL"}),
                await client.call_tool("generate_stock_report", {}),
            ]

    codes = []
    for result in run(scenario):
        assert result.is_error is True
        error = result.structured_content["error"]  # type: ignore[index]
        assert set(error) == {"code", "message"}
        [content] = result.content
        assert isinstance(content, types.TextContent)
        assert content.text == f"{error['code']}: {error['message']}"
        codes.append(error["code"])
    assert codes == [
        "unknown_ticker", "too_many_tickers", "unknown_figure", "invalid_prompt", "invalid_payload"
    ]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_tool_is_a_protocol_error(toolbox: Toolbox, mode: str) -> None:
    async def scenario() -> MCPError | None:
        async with Client(build_server(toolbox), mode=mode) as client:
            try:
                await client.call_tool("delete_reports", {})
            except MCPError as err:
                return err
            return None

    error = run(scenario)
    assert error is not None
    assert error.code == types.INVALID_PARAMS
    assert "unknown tool 'delete_reports'" in error.message


class BuggyToolbox(Toolbox):
    def call(self, name: str, arguments: Any) -> Any:
        raise RuntimeError("secret detail at /srv/app/tools.py line 12")


def test_a_bug_is_internal_error_with_the_trace_in_the_log_only(
    toolbox: Toolbox, caplog: pytest.LogCaptureFixture
) -> None:
    buggy = BuggyToolbox(toolbox.settings, toolbox.deps)

    async def scenario() -> types.CallToolResult:
        async with Client(build_server(buggy), mode="legacy") as client:
            return await client.call_tool("gather_stock_data", {"symbol": "KO"})

    with caplog.at_level(logging.ERROR, logger="stock_agent.mcp.server"):
        result = run(scenario)
    assert result.is_error is True
    assert result.structured_content == {
        "error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}
    }
    assert "secret" not in result.model_dump_json()
    assert "Traceback" not in result.model_dump_json()
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)


def test_call_tool_never_raises(toolbox: Toolbox) -> None:
    assert call_tool(toolbox, "get_figure", None).is_error is True  # no arguments at all
    assert call_tool(toolbox, "get_figure", {"symbol": "KO", "figure": "beta"}).is_error is False
    result = error_result(AgentError("server_busy", "busy", retry_after=5))
    assert result.structured_content == {
        "error": {"code": "server_busy", "message": "busy", "retry_after": 5}
    }
