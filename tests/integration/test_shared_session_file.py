"""Two processes on one SQLite session file keep every turn, or say which they did not.

Real processes: two ``stock-agent serve`` with ``MEMORY_BACKEND=sqlite`` and
one ``SESSION_DB``, sent rounds of concurrent turns on one session; and two
``stock-agent chat`` terminals on one ``--db`` and one session, their turns
interleaved. Every turn a response calls saved must be in the session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from stock_agent.memory.checkpoints import GuardedSaver, sqlite_saver, thread_config

from tests.integration.conftest import STOCK_AGENT, start_agent_server

pytestmark = pytest.mark.slow

ROUNDS = 5


CHAT_USER = "terminal-user"


def _turns(db: Path, session_id: str, actor: str | None = None) -> list[str]:
    saver = GuardedSaver(sqlite_saver(db))
    saved = saver.get_tuple(thread_config(session_id=session_id, actor=actor))
    assert saved is not None
    return [t["request_id"] for t in saved.checkpoint["channel_values"]["session"]["turns"]]


def test_two_servers_on_one_session_file_keep_every_turn_they_say_they_saved(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sessions.sqlite"
    env = {"MEMORY_BACKEND": "sqlite", "SESSION_DB": str(db), "SESSION_MAX_TURNS": "100"}
    with (
        start_agent_server(reports_dir=tmp_path / "a" / "reports", env=env) as first,
        start_agent_server(reports_dir=tmp_path / "b" / "reports", env=env) as second,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        replies = []
        for round_ in range(ROUNDS):
            sent = [
                pool.submit(
                    server.invoke,
                    {"prompt": f"Analyze {symbol}", "session_id": "shared-by-two"},
                    timeout=120,
                )
                for server, symbol in ((first, "AAPL"), (second, "MSFT"))
            ]
            replies += [(round_, future.result()) for future in sent]
    bodies = [reply.json() for _, reply in replies]
    assert [reply.status for _, reply in replies] == [200] * 2 * ROUNDS, bodies
    saved = [body["request_id"] for body in bodies if body["session_saved"] is True]
    unsaved = [body for body in bodies if body["session_saved"] is not True]
    for body in unsaved:  # a turn that did not land says so
        assert body["degraded"] is True and any("NOT saved" in w for w in body["warnings"])
    kept = _turns(db, "shared-by-two")
    assert sorted(kept) == sorted(saved)
    assert len(saved) == 2 * ROUNDS, [b["warnings"] for b in unsaved]


def _chat(db: Path, lines: list[tuple[float, str]], cwd: Path) -> subprocess.Popen[bytes]:
    """A ``stock-agent chat`` fed ``lines`` at the given seconds after it starts."""
    command = [str(STOCK_AGENT), "chat", "--db", str(db), "--session", "two-terminals",
               "--user", CHAT_USER]  # fmt: skip
    if not STOCK_AGENT.exists():
        command = [sys.executable, "-m", "stock_agent.cli", *command[1:]]
    feeder = "; ".join(f"sleep {delay}; echo {json.dumps(text)}" for delay, text in lines)
    return subprocess.Popen(
        f"({feeder}) | {subprocess.list2cmdline(command)}",
        shell=True,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "REPORTS_DIR": str(cwd / "reports")},
    )


def test_two_chat_terminals_on_one_session_keep_both_terminals_turns(tmp_path: Path) -> None:
    db = tmp_path / "chat.sqlite"
    started = time.monotonic()
    terminals = [
        _chat(db, [(0, "Analyze AAPL"), (0.2, "Analyze KO"), (0.2, "Analyze NVDA")], tmp_path),
        _chat(db, [(0, "Analyze MSFT"), (0.2, "Analyze JPM"), (0.2, "Analyze PG")], tmp_path),
    ]
    outputs = [terminal.communicate(timeout=180)[0].decode() for terminal in terminals]
    assert all(terminal.returncode == 0 for terminal in terminals), outputs
    assert time.monotonic() - started < 180
    kept = _turns(db, "two-terminals", actor=f"user:{CHAT_USER}")
    tickers = []
    saver = GuardedSaver(sqlite_saver(db))
    saved = saver.get_tuple(thread_config(session_id="two-terminals", actor=f"user:{CHAT_USER}"))
    assert saved is not None
    for turn in saved.checkpoint["channel_values"]["session"]["turns"]:
        tickers += turn["tickers"]
    not_saved = sum(out.count("NOT saved") for out in outputs)
    assert len(kept) + not_saved == 6, outputs
    assert not_saved == 0, outputs
    assert sorted(tickers) == ["AAPL", "JPM", "KO", "MSFT", "NVDA", "PG"]
