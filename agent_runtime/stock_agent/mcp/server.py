"""The MCP server of the tools: ``tools/list`` and ``tools/call`` on the SDK's low-level server.

The low-level :class:`mcp.server.lowlevel.Server` rather than ``MCPServer``:
the schemas are the records' own (:mod:`stock_agent.mcp.schemas`), not ones
inferred from Python signatures, and every failure is shaped here:

- a tool's failure (:class:`~stock_agent.errors.AgentError`: bad arguments,
  unknown ticker or figure, provider outage) is a result with ``isError``,
  the HTTP contract's ``{"error": {"code", "message"}}`` as structured
  content and ``code: message`` as its text, so the calling model sees it
  and can correct itself;
- a bug is the same with ``internal_error`` and the generic message; the
  trace goes to the log only;
- a tool that does not exist is a protocol error (``-32602``), as the MCP
  specification asks for errors in finding the tool.

The tools are synchronous (provider calls, PDF rendering, S3 puts), so each
call runs in a worker thread and the event loop keeps serving.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from ..errors import AgentError, internal_error
from ..observability.logging_setup import request_scope
from .schemas import input_schemas, output_schemas
from .toolbox import SPECS, SPECS_BY_NAME, Toolbox, ToolOutput

logger = logging.getLogger(__name__)

SERVER_NAME = "stock-analyst"
INSTRUCTIONS = (
    "Stock analysis tools over one structured record per ticker: market data, technical, "
    "fundamental and risk analysis, PDF reports and comparisons. Every figure is formatted "
    "once and carries its source and as-of date. Errors carry a stable code "
    "(unknown_ticker, too_many_tickers, unknown_figure, market_data_unavailable, ...). "
    "Not investment advice."
)


def list_tools() -> list[types.Tool]:
    """The tools as ``tools/list`` shows them (the same list on every call)."""
    inputs, outputs = input_schemas(), output_schemas()
    return [
        types.Tool(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            input_schema=inputs[spec.name],
            output_schema=outputs[spec.name],
            annotations=types.ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=False,
                # Each report is stored under a fresh key; reading is repeatable.
                idempotent_hint=spec.read_only,
                open_world_hint=True,
            ),
        )
        for spec in SPECS
    ]


def tool_result(output: ToolOutput) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=output.text)],
        structured_content=output.structured,
    )


def error_result(err: AgentError) -> types.CallToolResult:
    """A tool error: the HTTP contract's body, and ``code: message`` for a reader."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=f"{err.code}: {err.message}")],
        structured_content=err.to_body(),
        is_error=True,
    )


def call_tool(
    toolbox: Toolbox, name: str, arguments: dict[str, Any] | None
) -> types.CallToolResult:
    """Run one tool call to its result, success or tool error (never an exception)."""
    started = time.perf_counter()
    try:
        result = tool_result(toolbox.call(name, arguments))
        code = None
    except AgentError as err:
        result, code = error_result(err), err.code
    except Exception:
        logger.exception("tool failed unexpectedly", extra={"tool": name})
        result, code = error_result(internal_error()), "internal_error"
    logger.info(
        "tool called",
        extra={"tool": name, "code": code, "ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return result


def build_server(toolbox: Toolbox) -> Server[Any]:
    """The MCP server over ``toolbox``: ``tools/list`` and ``tools/call``, nothing else."""
    tools = list_tools()
    schemas = {tool.name: tool.input_schema for tool in tools}

    async def on_list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name not in SPECS_BY_NAME:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"unknown tool {params.name[:60]!r}; the tools are "
                + ", ".join(spec.name for spec in SPECS),
            )
        request_id = ctx.request_id if ctx.request_id is not None else "-"
        with request_scope(request_id=f"mcp-{request_id}", session_id=None):
            run = functools.partial(call_tool, toolbox, params.name, params.arguments)
            return await anyio.to_thread.run_sync(run)

    return Server(
        SERVER_NAME,
        version=_version(),
        title="Stock analyst",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=schemas.get,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stock-agent")
    except PackageNotFoundError:  # a checkout that was never installed
        return "0"


async def serve_stdio(toolbox: Toolbox) -> None:
    """Serve ``toolbox`` on this process's stdin and stdout until the client closes them."""
    server = build_server(toolbox)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
