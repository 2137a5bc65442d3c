"""The tools over stateless streamable HTTP, behind the ``serve`` front door, on loopback.

The real app (``create_http_app``) under uvicorn in a thread; raw requests with
httpx for the guard and the AgentCore MCP contract (a platform
``Mcp-Session-Id`` accepted, protocol versions 2025-03-26 and 2025-06-18 as the
Gateway sends them), and the official client over streamable HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import mcp.types as types
import pytest
from mcp import Client
from stock_agent.contract import MAX_PAYLOAD_BYTES
from stock_agent.mcp.http import McpGuard
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.server.http_guard import GuardSettings
from stock_agent.settings import AgentSettings

from tests.support.mcp_servers import mcp_url, run, serve_mcp_in_thread

pytestmark = pytest.mark.slow  # servers on loopback

ACCEPT = "application/json, text/event-stream"
CLIENT = {"name": "gateway", "version": "1"}


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    reports = tmp_path_factory.mktemp("mcp-http")
    return Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=str(reports)))


def rpc(method: str, params: dict[str, Any], request_id: int = 1) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    ).encode()


def sse_json(reply: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a one-event SSE answer (or of a JSON one)."""
    if reply.headers["content-type"].startswith("application/json"):
        return reply.json()  # type: ignore[no-any-return]
    [data] = [line[5:].strip() for line in reply.text.splitlines() if line.startswith("data:")]
    return json.loads(data)  # type: ignore[no-any-return]


def post(url: str, body: bytes, **headers: str) -> httpx.Response:
    base = {"content-type": "application/json", "accept": ACCEPT}
    return httpx.post(mcp_url(url), content=body, headers={**base, **headers}, timeout=30)


# --------------------------------------------------------------------------- ASGI level


def test_websockets_are_closed_and_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    guard = McpGuard(
        app, settings=GuardSettings.local(bound_host="127.0.0.1", request_deadline_s=9)
    )
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def scenario() -> None:
        for host in (b"evil.example", b"localhost"):
            scope = {"type": "websocket", "path": "/mcp", "headers": [(b"host", host)]}
            await guard(scope, receive, send)
        await guard({"type": "lifespan"}, receive, send)

    anyio.run(scenario)
    assert sent == [{"type": "websocket.close", "code": 1008}] * 2
    assert seen == ["lifespan"]


# --------------------------------------------------------------------------- on loopback


def test_ping_host_content_type_and_size_are_the_serve_rules(toolbox: Toolbox) -> None:
    guard = GuardSettings.local(bound_host="mcp.test", request_deadline_s=30)
    with serve_mcp_in_thread(toolbox, guard=guard) as url:
        ping = httpx.get(url + "/ping", timeout=5)
        assert ping.status_code == 200 and ping.json()["status"] == "Healthy"
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": CLIENT}
        init = rpc("initialize", hello)
        for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil.example:80"):
            refused = post(url, init, host=host)
            assert refused.status_code == 403, host
            assert refused.json()["error"]["code"] == "forbidden_host"
            assert refused.headers["connection"] == "close"
        for host in ("localhost", "LOCALHOST:8000", "[::1]:9", "mcp.test"):
            assert post(url, init, host=host).status_code == 200, host
        wrong_type = post(url, init, **{"content-type": "text/plain"})
        assert wrong_type.status_code == 415
        assert wrong_type.json()["error"]["code"] == "unsupported_media_type"
        at_limit = b" " * (MAX_PAYLOAD_BYTES - len(init)) + init
        assert len(at_limit) == MAX_PAYLOAD_BYTES
        assert post(url, at_limit).status_code == 200
        over = post(url, b" " + at_limit)
        assert over.status_code == 413
        assert over.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18"])
def test_the_agentcore_contract_stateless_with_the_platforms_session_headers(
    toolbox: Toolbox, version: str
) -> None:
    """AgentCore adds Mcp-Session-Id (and its own session header): accepted, never required."""
    platform = {
        "mcp-session-id": "a1b2c3d4-platform-session",
        "x-amzn-bedrock-agentcore-runtime-session-id": "s" * 40,
    }
    guard = GuardSettings.container(request_deadline_s=30)
    with serve_mcp_in_thread(toolbox, guard=guard) as url:
        hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT}
        init = post(url, rpc("initialize", hello), host="runtime.internal", **platform)
        assert init.status_code == 200, init.text
        assert sse_json(init)["result"]["protocolVersion"] == version
        assert "mcp-session-id" not in init.headers  # stateless: no session of ours
        headers = {**platform, "mcp-protocol-version": version}
        listed = sse_json(post(url, rpc("tools/list", {}, 2), **headers))
        assert listed["result"]["tools"][0]["name"] == "gather_stock_data"
        call = {"name": "get_figure", "arguments": {"symbol": "MSFT", "figure": "P/E"}}
        called = sse_json(post(url, rpc("tools/call", call, 3), **headers))["result"]
        assert called["isError"] is False
        assert called["structuredContent"]["figure"]["label"] == "P/E Ratio"
        # without any session header too (each request stands alone)
        alone = sse_json(post(url, rpc("tools/list", {}, 4), **{"mcp-protocol-version": version}))
        assert len(alone["result"]["tools"]) == 5


def test_the_official_client_over_streamable_http(toolbox: Toolbox) -> None:
    with serve_mcp_in_thread(toolbox) as url:

        async def scenario() -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
            async with Client(mcp_url(url), mode="legacy") as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                ok = await client.call_tool("get_figure", {"symbol": "JPM", "figure": "beta"})
                bad = await client.call_tool("get_figure", {"symbol": "JPM", "figure": "mood"})
                return tools, ok, bad

        tools, ok, bad = run(scenario)
    assert len(tools) == 5
    assert ok.is_error is False
    assert (
        ok.structured_content
        == toolbox.call("get_figure", {"symbol": "JPM", "figure": "beta"}).structured
    )
    assert bad.is_error is True
    assert bad.structured_content["error"]["code"] == "unknown_figure"  # type: ignore[index]
