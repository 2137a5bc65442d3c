"""``stock-agent invoke``: against the real server and odd servers.

The console script runs in a subprocess. Its targets are the real agent
server (session fixture ``agent_server``) and tiny loopback HTTP servers that
answer what a broken deployment might (plain text, a 502, JSON without
sections): the public sample's parser crashed on those (defect 8). The AWS
path is checked in ``tests/unit/agent/client/test_remote.py``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.conftest import STOCK_AGENT

pytestmark = pytest.mark.slow

TITLES = ("STOCK DATA GATHERING REPORT", "STOCK PERFORMANCE ANALYSIS", "STOCK REPORT GENERATION")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STOCK_AGENT), *args], capture_output=True, text=True, timeout=60, check=False
    )


@contextlib.contextmanager
def canned_server(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A loopback server answering every POST with the same canned response."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_invoke_a_local_server_prints_three_sections(agent_server: Any) -> None:
    done = _cli("invoke", "Analyze SIM_STOCK for investment purposes", "--url", agent_server.url)
    assert done.returncode == 0, done.stderr
    positions = [done.stdout.index(title) for title in TITLES]
    assert positions == sorted(positions)
    assert "Stock Symbol: SIM_STOCK" in done.stdout
    assert "(section missing" not in done.stdout


def test_invoke_reports_a_structured_error(agent_server: Any) -> None:
    done = _cli("invoke", "CAN you analyze STOCK", "--url", agent_server.url)
    assert done.returncode == 1
    assert done.stdout.startswith("error no_ticker:")
    assert "Traceback" not in done.stderr


def test_invoke_survives_a_non_json_body() -> None:
    with canned_server(502, b"<html>Bad Gateway</html>", "text/html") as url:
        done = _cli("invoke", "Analyze AAPL", "--url", url)
    assert done.returncode == 1
    assert "not JSON" in done.stdout and "Bad Gateway" in done.stdout
    assert "Traceback" not in done.stderr


def test_invoke_survives_missing_sections() -> None:
    body = json.dumps(
        {"results": [{"symbol": "AAPL", "sections": {"data_gathering": "only this"}}]}
    ).encode()
    with canned_server(200, body, "application/json") as url:
        done = _cli("invoke", "Analyze AAPL", "--url", url)
    assert done.returncode == 0, done.stderr
    assert "only this" in done.stdout
    assert done.stdout.count("(section missing for AAPL)") == 2
