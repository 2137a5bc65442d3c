"""The MCP tools served for real, and the official ``mcp`` client on them.

- :func:`stdio_server_parameters`: ``stock-agent mcp`` as a subprocess on
  stdin/stdout (what a desktop assistant starts);
- :func:`start_mcp_http_server`: ``stock-agent mcp --http`` as a subprocess on a
  free loopback port;
- :func:`serve_mcp_in_thread`: the same ASGI app (any toolbox, any guard) under
  uvicorn in a thread, for tests that inject a provider or a store;
- :func:`run`: an async scenario to completion (``anyio.run``).

Offline model, simulated data and a temporary reports folder unless the test
says otherwise; nothing reaches the network.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp import StdioServerParameters
from stock_agent.mcp.http import MCP_PATH, create_http_app
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.server.http_guard import GuardSettings, server_config

from tests.integration.conftest import STOCK_AGENT, _server_env, free_port
from tests.support.processes import stop_process

T = TypeVar("T")
START_TIMEOUT_S = 60.0


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run an async test scenario (the MCP client is async) to its result."""
    return anyio.run(scenario)


def stdio_server_parameters(reports_dir: Path, env: dict[str, str] | None = None) -> Any:
    """``stock-agent mcp`` on stdio with the clean test environment (what an IDE launches)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    return StdioServerParameters(
        command=str(STOCK_AGENT),
        args=["mcp"],
        env=_server_env(reports_dir, env or {}),
        cwd=str(reports_dir.parent),
    )


def _wait_for_ping(url: str, *, alive: Callable[[], bool], log: Callable[[], str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if not alive():
            raise RuntimeError(f"MCP server exited early:\n{log()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"MCP server did not answer /ping:\n{log()[-3000:]}")
        time.sleep(0.1)


@contextlib.contextmanager
def start_mcp_http_server(
    reports_dir: Path, env: dict[str, str] | None = None, *, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """``stock-agent mcp --http`` on a free loopback port; yields the base URL (no path)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = reports_dir.parent / f"mcp-{port}.log"
    command = [str(STOCK_AGENT), "mcp", "--http", "--port", str(port), *extra_args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=_server_env(reports_dir, env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=reports_dir.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_ping(
            url,
            alive=lambda: process.poll() is None,
            log=lambda: log_path.read_text(errors="replace"),
        )
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def serve_mcp_in_thread(
    toolbox: Toolbox,
    *,
    guard: GuardSettings | None = None,
    wrap: Callable[[Any], Any] | None = None,
) -> Iterator[str]:
    """The MCP HTTP app over ``toolbox`` under uvicorn in a thread; yields the base URL.

    ``wrap`` puts an ASGI middleware in front (what AgentCore's authorizer checks, say).
    """
    import uvicorn

    guard = guard or GuardSettings.local(bound_host="127.0.0.1", request_deadline_s=60.0)
    port = free_port()
    app = create_http_app(toolbox, guard=guard)
    server = uvicorn.Server(server_config(wrap(app) if wrap else app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, name=f"mcp-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_ping(url, alive=thread.is_alive, log=lambda: "")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def mcp_url(base: str) -> str:
    return base + MCP_PATH
