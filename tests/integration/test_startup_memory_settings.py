"""Session-store settings that cannot work stop ``stock-agent serve`` at start-up, named.

``SESSION_DB`` on a folder or on a file that is not SQLite, and an
``AGENTCORE_MEMORY_ID`` not in AgentCore Memory's id format, used to pass
start-up and then fail every request with a session (500) or degrade every
turn. Real ``stock-agent serve`` processes: they exit 2 naming the variable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import STOCK_AGENT, _server_env, free_port

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(STOCK_AGENT), "serve", "--host", "127.0.0.1", "--port", str(free_port())]
    if not STOCK_AGENT.exists():
        command = [sys.executable, "-m", "stock_agent.cli", *command[1:]]
    return subprocess.run(
        command,
        env=_server_env(tmp_path / "reports", env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _not_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    return str(path)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MEMORY_BACKEND": "sqlite", "SESSION_DB": "{folder}"}, "it is a folder"),
        ({"MEMORY_BACKEND": "sqlite", "SESSION_DB": "{text}"}, "not a SQLite database"),
        (
            {"MEMORY_BACKEND": "agentcore", "AGENTCORE_MEMORY_ID": "mem-abc"},
            "AGENTCORE_MEMORY_ID='mem-abc' is invalid: expected an AgentCore Memory id",
        ),
    ],
    ids=["session-db-folder", "session-db-not-sqlite", "memory-id-format"],
)
def test_a_bad_session_store_stops_the_server_at_start_up(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    values = {k: v.format(folder=str(tmp_path), text=_not_sqlite(tmp_path)) for k, v in env.items()}
    finished = _serve(tmp_path, values)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output[-2000:]
    assert says in output
    name = "SESSION_DB" if "SESSION_DB" in values else "AGENTCORE_MEMORY_ID"
    assert f"{name}=" in output
    assert "Traceback" not in output
