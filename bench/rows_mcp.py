"""Row 11: what calling a tool over MCP costs on top of calling the tool's function.

11a  over stdio: ``stock-agent mcp`` in a subprocess (as a desktop assistant starts
     it), the official client's ``call_tool`` (which also validates the result
     against the tool's output schema);
11b  over streamable HTTP: ``stock-agent mcp --http`` in a subprocess on loopback,
     stateless, the client in ``legacy`` mode (the initialize handshake, as AgentCore
     Gateway speaks).

Each: ``--runs`` calls of ``get_figure`` (a small result) and of
``analyze_stock_performance`` (the largest result, ~16 KB of structured content)
after a warm-up, p50 wall time; the same calls of ``Toolbox.call`` in this process
give the function's own p50. Overhead = p50 over MCP - p50 direct. Offline model,
simulated data, reports in a scratch folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .report import Row, fmt_ms, percentile

OVERHEAD_TARGET_S = 0.020
TARGET = "p50 overhead ≤ 20 ms"
CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("get_figure", {"symbol": "AAPL", "figure": "P/E Ratio"}),
    ("analyze_stock_performance", {"symbol": "AAPL"}),
)


def _env(reports: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "MODEL_PROVIDER": "offline",
            "DATA_PROVIDER": "simulated",
            "REPORTS_DIR": reports,
            "LOG_LEVEL": "WARNING",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def _stock_agent(repo: Path) -> str:
    script = repo / ".venv" / "bin" / "stock-agent"
    return str(script) if script.exists() else "stock-agent"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _http_server(repo: Path, reports: str) -> Iterator[str]:
    port = _free_port()
    command = [_stock_agent(repo), "mcp", "--http", "--port", str(port)]
    process = subprocess.Popen(
        command, env=_env(reports), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"stock-agent mcp --http exited {process.returncode}")
            try:
                with urllib.request.urlopen(url + "/ping", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("stock-agent mcp --http did not answer /ping") from None
                time.sleep(0.1)
        yield url + "/mcp"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _time_direct(runs: int, reports: str) -> dict[str, float]:
    from stock_agent.mcp.toolbox import Toolbox
    from stock_agent.settings import AgentSettings

    toolbox = Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=reports))
    p50: dict[str, float] = {}
    for name, arguments in CALLS:
        toolbox.call(name, arguments)  # warm-up
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            toolbox.call(name, arguments)
            samples.append(time.perf_counter() - started)
        p50[name] = percentile(samples, 50)
    return p50


def _time_client(connect: Callable[[], Any], runs: int) -> dict[str, float]:
    import anyio

    async def scenario() -> dict[str, float]:
        p50: dict[str, float] = {}
        async with connect() as client:
            for name, arguments in CALLS:
                await client.call_tool(name, arguments)  # warm-up (and the schema cache)
                samples = []
                for _ in range(runs):
                    started = time.perf_counter()
                    result = await client.call_tool(name, arguments)
                    samples.append(time.perf_counter() - started)
                    if result.is_error:
                        raise RuntimeError(f"{name} failed: {result.content}")
                p50[name] = percentile(samples, 50)
        return p50

    return anyio.run(scenario)


def _row(number: str, transport: str, over: dict[str, float], direct: dict[str, float]) -> Row:
    overhead = {name: over[name] - direct[name] for name, _ in CALLS}
    worst = max(overhead.values())
    notes = "; ".join(
        f"{name}: {fmt_ms(over[name])} over MCP vs {fmt_ms(direct[name])} direct "
        f"(+{overhead[name] * 1000:.1f} ms)"
        for name, _ in CALLS
    )
    return Row(
        number=number,
        what=f"MCP tool call over {transport} vs the function (offline)",
        figure=f"+{worst * 1000:.1f} ms p50",
        target=TARGET,
        ok=worst <= OVERHEAD_TARGET_S,
        note=f"{notes}; p50 of each, the larger overhead shown",
    )


def row11(*, repo: Path, runs: int) -> list[Row]:
    from mcp import Client, StdioServerParameters

    with tempfile.TemporaryDirectory(prefix="bench-row11-") as reports:
        direct = _time_direct(runs, reports)
        stdio = StdioServerParameters(
            command=_stock_agent(repo), args=["mcp"], env=_env(reports), cwd=reports
        )
        over_stdio = _time_client(lambda: Client(stdio), runs)
        with _http_server(repo, reports) as url:
            over_http = _time_client(lambda: Client(url, mode="legacy"), runs)
    return [
        _row("11a", "stdio", over_stdio, direct),
        _row("11b", "streamable HTTP", over_http, direct),
    ]
