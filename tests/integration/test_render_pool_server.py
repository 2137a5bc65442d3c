"""``stock-agent serve`` renders reports in worker processes and stops them when it stops.

The real server in a subprocess (offline model, simulated data), concurrent
invocations, and the process tree read with psutil before and after SIGTERM,
and after SIGKILL (no lifespan shutdown: the workers notice on their own).
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psutil
import pytest
from pypdf import PdfReader

from tests.integration.conftest import REPO_ROOT, start_agent_server

pytestmark = pytest.mark.slow

SYMBOLS = ("SIM_STOCK", "PG", "AAPL", "MSFT")
OTEL_INSTRUMENT = REPO_ROOT / ".venv" / "bin" / "opentelemetry-instrument"
# As the container runs: under the ADOT distro (console exporter, so no network).
OTEL_ENV = {
    "OTEL_PYTHON_DISTRO": "aws_distro",
    "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def _pool_processes(server_pid: int, timeout_s: float = 60.0) -> list[psutil.Process]:
    """The server's descendants once the forkserver and a worker exist (the pool starts in
    the background, so the first requests may render in-process)."""
    deadline = time.monotonic() + timeout_s
    while True:
        descendants = psutil.Process(server_pid).children(recursive=True)
        pool = [p for p in descendants if "multiprocessing.forkserver" in " ".join(p.cmdline())]
        if len(pool) >= 2:
            return descendants
        assert time.monotonic() < deadline, "expected the forkserver and at least one worker"
        time.sleep(0.2)


def test_reports_render_in_workers_and_the_workers_stop_with_the_server(
    agent_server_factory: Any,
) -> None:
    with agent_server_factory() as server:
        with ThreadPoolExecutor(len(SYMBOLS)) as threads:
            replies = list(
                threads.map(lambda s: server.invoke({"prompt": f"Analyze ${s}"}), SYMBOLS)
            )
        assert [r.status for r in replies] == [200] * len(SYMBOLS), [r.body[:200] for r in replies]
        for symbol, reply in zip(SYMBOLS, replies, strict=True):
            [result] = reply.json()["results"]
            pdf = Path(unquote(urlparse(result["report"]["uri"]).path)).read_bytes()
            assert pdf.startswith(b"%PDF") and len(pdf) == result["report"]["bytes"]
            assert symbol in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert server.process is not None
        descendants = _pool_processes(server.process.pid)
    _, alive = psutil.wait_procs(descendants, timeout=15)
    assert not alive, f"left running after the server stopped: {alive}"
    log = server.log_text()
    assert "rendering reports in worker processes" in log
    assert "rendering in-process" not in log  # nothing fell back
    assert "Traceback" not in log


def test_pool_processes_skip_telemetry_and_die_with_a_killed_server(tmp_path: Path) -> None:
    with start_agent_server(
        reports_dir=tmp_path / "reports", env=OTEL_ENV, launcher=(str(OTEL_INSTRUMENT),)
    ) as server:
        assert server.invoke({"prompt": "Analyze SIM_STOCK"}).status == 200
        assert server.process is not None
        descendants = _pool_processes(server.process.pid)
        pool = [p for p in descendants if "multiprocessing.forkserver" in " ".join(p.cmdline())]
        for process in pool:
            env = process.environ()
            assert env.get("OTEL_SDK_DISABLED") == "true"
            assert "auto_instrumentation" not in env.get("PYTHONPATH", "")
        server.process.kill()
        server.process.wait(timeout=10)
    _, alive = psutil.wait_procs(descendants, timeout=15)
    assert not alive, f"left running after the server was killed: {alive}"
