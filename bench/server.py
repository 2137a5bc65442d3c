"""Start the agent's real HTTP server in a fresh process and talk to it over loopback.

Rows 4 and 7 measure what a caller sees: a new process that must import the
agent before it can answer ``/ping``, and ``/invocations`` requests going
through uvicorn, Starlette and ``BedrockAgentCoreApp``'s thread pool. So the
server runs as ``stock-agent serve`` in a subprocess, exactly as
``make serve`` starts it, and the client is plain :mod:`urllib`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str, *, payload: Mapping[str, Any] | None = None, timeout_s: float = 120.0
) -> Reply:
    """GET (no payload) or POST JSON; HTTP errors are replies, not exceptions."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"} if data is not None else {},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return Reply(status=status, body=body, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    started_at: float  # time.perf_counter() just before the process was spawned
    first_ping_s: float  # from spawn to the first 200 on /ping


def server_command(repo: Path, *, port: int) -> list[str]:
    """``stock-agent serve`` from the repository's venv, on loopback only."""
    return [
        str(repo / ".venv" / "bin" / "stock-agent"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@contextmanager
def serve(
    repo: Path,
    *,
    env: Mapping[str, str],
    ready_timeout_s: float = 30.0,
    log_path: Path | None = None,
    launcher: Sequence[str] = (),
) -> Iterator[RunningServer]:
    """Run the agent server until the block ends; yields once ``/ping`` answers 200.

    ``env`` is added to the current environment (settings reach the agent only
    through its environment, as in the container). The server's own output
    goes to ``log_path`` (or is discarded) so a chatty log cannot fill a pipe
    and stall it. ``launcher`` goes in front of the command (the container
    runs the server under ``opentelemetry-instrument``).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"}
    sink = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(
        [*launcher, *server_command(repo, port=port)],
        env=full_env,
        stdout=sink,
        stderr=subprocess.STDOUT,
    )
    try:
        first_ping = _wait_ready(url, process, started=started, timeout_s=ready_timeout_s)
        yield RunningServer(url=url, process=process, started_at=started, first_ping_s=first_ping)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if log_path:
            sink.close()  # type: ignore[union-attr]


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], *, started: float, timeout_s: float
) -> float:
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering /ping")
        try:
            if request(f"{url}/ping", timeout_s=1.0).status == 200:
                return time.perf_counter() - started
        except OSError:
            pass  # not listening yet
        time.sleep(0.01)
    raise RuntimeError(f"server did not answer /ping within {timeout_s:.0f} s")
