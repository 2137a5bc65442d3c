"""The tools over streamable HTTP: stateless, at ``/mcp``, behind the same front door as ``serve``.

Stateless (a fresh transport per request, no ``Mcp-Session-Id`` of our own,
any the caller or AgentCore sends is accepted), as the AgentCore MCP
contract asks: any replica can answer any request. ``GET /ping`` answers
``{"status": "Healthy"}`` as the HTTP contract's does, for a runtime that
probes it.

:class:`McpGuard` applies the local server's protections with the HTTP
server's own checks (:mod:`stock_agent.server.http_guard`): ``Host`` must
be a loopback name or the bound address (``403 forbidden_host``, which stops
DNS rebinding; websockets are closed), a POST must be
``Content-Type: application/json`` (``415``) and a declared body over the
payload limit is refused unread (``413``), each as the contract's
``{"error": {"code", "message"}}``. The container turns the Host and
Content-Type checks off (:meth:`GuardSettings.container`): only AgentCore
reaches it. The SDK's own Host/Origin check is off, so there is one set of
rules and one error shape.
"""

from __future__ import annotations

import json
import logging
import time

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import AgentError
from ..server.http_guard import (
    GuardSettings,
    check_content_type,
    declared_length,
    refused_host,
    send_error,
    server_config,
)
from .server import build_server
from .toolbox import Toolbox

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
# The AgentCore MCP contract's port (the HTTP protocol's is 8080).
DEFAULT_MCP_PORT = 8000


class McpGuard:
    """ASGI middleware in front of the MCP app: ``/ping``, then Host, Content-Type, size."""

    def __init__(self, app: ASGIApp, *, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings
        self._since = int(time.time())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        if await refused_host(scope, send, self.settings.allowed_hosts):
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # MCP here is HTTP only
            return
        if scope["path"] == "/ping" and scope["method"] == "GET":
            await self._ping(send)
            return
        if scope["method"] == "POST":
            try:
                if self.settings.require_json_content_type:
                    check_content_type(scope)
                declared_length(scope, self.settings.max_body_bytes)
            except AgentError as err:
                logger.warning("request refused", extra={"code": err.code})
                await send_error(send, err, close=True)
                return
        await self.app(scope, receive, send)

    async def _ping(self, send: Send) -> None:
        body = json.dumps({"status": "Healthy", "time_of_last_update": self._since}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def create_http_app(toolbox: Toolbox, *, guard: GuardSettings) -> ASGIApp:
    """The tools as stateless streamable HTTP at :data:`MCP_PATH`, behind :class:`McpGuard`."""
    app = build_server(toolbox).streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=guard.max_body_bytes,
    )
    return McpGuard(app, settings=guard)


def serve_http(app: ASGIApp, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn (the HTTP server's configuration) until interrupted."""
    import uvicorn

    uvicorn.Server(server_config(app, host=host, port=port)).run()
