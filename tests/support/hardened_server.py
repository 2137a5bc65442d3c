"""The agent app served the way ``stock-agent serve`` serves it, for the attack tests.

:func:`serve` runs :func:`stock_agent.server.entrypoint.create_app` under uvicorn with
:func:`stock_agent.server.http_guard.server_config` (h11 with a header time limit) in
a thread, on 127.0.0.1 and a free port; a test may inject a data provider,
a report store or a model client, and any :class:`AgentSettings` setting.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.market_data import get_provider
from stock_agent.models.client import build_model_client
from stock_agent.reports import storage
from stock_agent.server.entrypoint import create_app
from stock_agent.server.http_guard import GuardSettings, server_config
from stock_agent.settings import AgentSettings

from tests.integration.conftest import HttpReply, RunningServer, free_port

FIVE = "Compare AAPL, MSFT, KO, JNJ and SIM_STOCK"


class SlowProvider:
    """The simulated provider, ``delay_s`` slower per snapshot (a slow data API)."""

    def __init__(self, delay_s: float) -> None:
        self.inner = get_provider("simulated")
        self.delay_s = delay_s
        self.calls = 0

    def snapshot(self, symbol: str, *, as_of: date) -> Any:
        self.calls += 1
        time.sleep(self.delay_s)
        return self.inner.snapshot(symbol, as_of=as_of)


@contextlib.contextmanager
def serve(
    tmp_path: Path,
    *,
    provider: Any = None,
    store: Any = None,
    model: Any = None,
    guard: GuardSettings | None = None,
    header_timeout_s: float = 10.0,
    **settings: Any,
) -> Iterator[RunningServer]:
    """The app on 127.0.0.1 with ``stock-agent serve``'s uvicorn configuration."""
    import uvicorn

    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    ctx = AgentSettings(reports_dir=str(reports), **settings)
    agent = None
    if provider is not None or store is not None or model is not None:
        deps = Dependencies(
            model=model or build_model_client(ctx),
            provider=provider or get_provider("simulated"),
            store=store or storage.LocalReportStore(root=reports),
        )
        agent = StockAgent(ctx=ctx, dependencies=deps)
    app = create_app(ctx=ctx, agent=agent, guard=guard)
    port = free_port()
    server = uvicorn.Server(
        server_config(app, host="127.0.0.1", port=port, header_timeout_s=header_timeout_s)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", reports_dir=reports)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def post(
    server: RunningServer,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpReply:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(server.url + "/invocations", data=body, method="POST")
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return HttpReply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return HttpReply(err.code, dict(err.headers.items()), err.read())


def raw_connection(server: RunningServer) -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, *, limit_s: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or ``limit_s`` passes (False)."""
    sock.settimeout(0.2)
    data = b""
    give_up = time.monotonic() + limit_s
    while time.monotonic() < give_up:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False
