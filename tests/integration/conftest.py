"""Shared fixtures of the integration tests.

Add fixtures here; never remove someone else's.

``app_server``: ``with app_server(app, reports_dir=...) as server:`` serves an
ASGI app built in the test (``stock_agent.server.entrypoint.create_app`` with injected
model client, provider or report store) under uvicorn in a thread on a free
loopback port: the real HTTP stack, with the test's own dependencies.

``agent_server``: the real agent app started once per session on 127.0.0.1 and a
free port, offline model, simulated data, reports written into a temporary
folder. ``agent_server_factory``: ``stock-agent serve`` in a subprocess with
the environment a test gives it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
STOCK_AGENT = REPO_ROOT / ".venv" / "bin" / "stock-agent"
SERVER_START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A port the OS considers free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpReply:
    """One HTTP answer: status, headers and raw body (errors included, never raised)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningServer:
    """A started agent server and the folder its local report store writes to."""

    url: str
    reports_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = "application/json",
        timeout: float = 60.0,
    ) -> HttpReply:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if content_type is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return HttpReply(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            return HttpReply(err.code, dict(err.headers.items()), err.read())

    def invoke(self, payload: Any, *, timeout: float = 60.0) -> HttpReply:
        """POST ``payload`` (JSON-encoded unless already bytes) to /invocations."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", "/invocations", body=body, timeout=timeout)

    def ping(self) -> HttpReply:
        return self.request("GET", "/ping", content_type=None, timeout=5.0)

    def report_files(self) -> set[Path]:
        """Every file under the reports folder (PDFs and anything half-written)."""
        if not self.reports_dir.exists():
            return set()
        return {p for p in self.reports_dir.rglob("*") if p.is_file()}

    def log_text(self) -> str:
        if self.log_path is None:
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _server_env(reports_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    """A clean environment: no AWS credentials or settings leak in from the host."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "MODEL_PROVIDER": "offline",
            "DATA_PROVIDER": "simulated",
            "REPORTS_DIR": str(reports_dir),
            "LOG_LEVEL": "INFO",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(overrides)
    return env


@contextlib.contextmanager
def start_agent_server(
    *, reports_dir: Path, env: dict[str, str] | None = None, launcher: tuple[str, ...] = ()
) -> Iterator[RunningServer]:
    """Run ``stock-agent serve`` on a free loopback port until the block ends.

    ``launcher`` is put in front of the command (e.g. ``opentelemetry-instrument``,
    as the container's CMD does).
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = reports_dir.parent / f"server-{port}.log"
    server_env = _server_env(reports_dir, env or {})
    command = [str(STOCK_AGENT), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not STOCK_AGENT.exists():
        command = [sys.executable, "-m", "stock_agent.cli", *command[1:]]
    command = [*launcher, *command]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=server_env, stdout=log, stderr=subprocess.STDOUT, cwd=reports_dir.parent
        )
    server = RunningServer(
        url=f"http://127.0.0.1:{port}",
        reports_dir=reports_dir,
        process=process,
        log_path=log_path,
        env=server_env,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"agent server exited early:\n{server.log_text()[-3000:]}")
            try:
                if server.ping().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"agent server did not answer /ping:\n{server.log_text()[-3000:]}"
                )
            time.sleep(0.1)
        yield server
    finally:
        stop_process(process)


TRACE_MARKERS = ("Traceback", 'File "', "site-packages")


def assert_structured_error(reply: HttpReply, codes: tuple[str, ...]) -> dict[str, Any]:
    """The error contract: JSON ``{"error": {"code", "message"}}`` with one of ``codes``,
    the status registered for that code (4xx for the caller's mistakes, 5xx for faults
    behind the agent), and no stack trace."""
    from stock_agent.errors import ERROR_STATUS

    text = reply.body.decode("utf-8", errors="replace")
    for marker in TRACE_MARKERS:
        assert marker not in text, f"stack trace leaked ({marker!r}): {text[:500]}"
    assert 400 <= reply.status < 600, f"status {reply.status}: {text[:500]}"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = reply.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error), body
    assert isinstance(error["code"], str) and isinstance(error["message"], str), body
    assert error["message"].strip(), body
    assert error["code"] in codes, f"code {error['code']!r} not in {codes}: {error['message']}"
    assert reply.status == ERROR_STATUS[error["code"]], (reply.status, error)
    return error


@pytest.fixture
def structured_error() -> Callable[[HttpReply, tuple[str, ...]], dict[str, Any]]:
    """The error-contract check as a fixture, so test modules need not import conftest."""
    return assert_structured_error


@pytest.fixture
def agent_server_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., contextlib.AbstractContextManager[RunningServer]]]:
    """``with agent_server_factory(env={...}) as server:`` for a differently configured server."""

    def factory(
        *, env: dict[str, str] | None = None
    ) -> contextlib.AbstractContextManager[RunningServer]:
        return start_agent_server(reports_dir=tmp_path / "reports", env=env)

    yield factory


@contextlib.contextmanager
def serve_app_in_thread(app: Any, *, reports_dir: Path) -> Iterator[RunningServer]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port until the block ends."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    running = RunningServer(url=f"http://127.0.0.1:{port}", reports_dir=reports_dir)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start the app")
            time.sleep(0.02)
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def app_server() -> Callable[..., contextlib.AbstractContextManager[RunningServer]]:
    """``with app_server(app, reports_dir=path) as server:`` (see the module docstring)."""
    return serve_app_in_thread


@pytest.fixture(scope="session")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The offline agent server shared by the bad-input, property and concurrency tests.

    ``stock_agent.server.entrypoint.create_app`` (the app the container runs) under
    uvicorn in a thread of this process: the same HTTP stack as ``stock-agent
    serve`` without paying a second interpreter's imports (about 9 s on the
    CI machine). ``agent_server_factory`` starts the real subprocess.
    """
    from stock_agent.server.entrypoint import create_app
    from stock_agent.settings import AgentSettings

    reports_dir = tmp_path_factory.mktemp("agent-server") / "reports"
    reports_dir.mkdir()
    ctx = AgentSettings(
        model_provider="offline", data_provider="simulated", reports_dir=str(reports_dir)
    )
    with serve_app_in_thread(create_app(ctx=ctx), reports_dir=reports_dir) as server:
        yield server


@pytest.fixture
def restore_agent_log_levels() -> Iterator[None]:
    """For a test that runs ``python -m eval``'s main in this process: it quiets the agent's
    loggers for its table (``eval.cli.quiet_agent_logs``); the worker's later tests need
    them back."""
    from eval.cli import AGENT_LOGGERS

    saved = {name: logging.getLogger(name).level for name in AGENT_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
