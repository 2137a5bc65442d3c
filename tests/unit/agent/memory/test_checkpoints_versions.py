"""A turn's write lands only on the session it read; a write that does not land says so.

Both write paths of the checkpointer are pinned: ``put`` (the turn's
checkpoint) and ``put_writes`` (pending writes of a checkpoint). Two savers on
one SQLite file stand in for two processes; the cross-process lock itself is
exercised between real processes in ``tests/integration/test_shared_session_file.py``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from stock_agent.memory.checkpoints import (
    GuardedSaver,
    MemoryHealth,
    sqlite_saver,
    thread_config,
    watch_memory,
)
from stock_agent.memory.session_locks import FileSessionLocks

from tests.support.agents import offline_agent


def _put(saver: GuardedSaver, config: RunnableConfig) -> RunnableConfig:
    checkpoint = empty_checkpoint()
    return saver.put(config, checkpoint, {"source": "loop", "step": 0, "parents": {}}, {})


def _base(thread_id: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def test_a_put_on_the_session_it_read_lands(tmp_path: Path) -> None:
    saver = GuardedSaver(sqlite_saver(tmp_path / "s.sqlite"))
    with watch_memory() as health:
        first = _put(saver, _base())  # a new session: nothing to have read
        second = _put(saver, first)  # the parent is the latest
    assert not health.degraded
    latest = saver.get_tuple(_base())
    assert latest is not None and latest.config == second


def test_a_put_after_another_writer_does_not_land_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    mine, theirs = GuardedSaver(sqlite_saver(db)), GuardedSaver(sqlite_saver(db))
    read = _put(mine, _base())  # the session both read
    with watch_memory():
        other = _put(theirs, read)  # the other process's turn lands first
    with watch_memory() as health:
        returned = _put(mine, read)  # this turn started from `read` too
    assert health.save_error == "the session was changed by another writer during this turn"
    assert health.degraded
    assert "NOT saved" in (health.warning() or "")
    latest = mine.get_tuple(_base())
    assert latest is not None and latest.config == other  # nothing was replaced
    assert returned["configurable"]["checkpoint_id"] != other["configurable"]["checkpoint_id"]


def test_a_first_put_on_a_session_another_writer_created_does_not_land(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    mine, theirs = GuardedSaver(sqlite_saver(db)), GuardedSaver(sqlite_saver(db))
    with watch_memory():
        _put(theirs, _base())
    with watch_memory() as health:
        _put(mine, _base())
    assert health.save_error is not None


def test_put_writes_on_the_latest_checkpoint_lands_on_a_stale_one_does_not() -> None:
    saver = GuardedSaver(InMemorySaver())
    with watch_memory() as health:
        first = _put(saver, _base())
        saver.put_writes(first, [("session", {"turns": []})], "task-1")
    assert not health.degraded
    with watch_memory():
        _put(saver, first)  # the session moves on
    with watch_memory() as health:
        saver.put_writes(first, [("session", {"turns": []})], "task-2")
    assert health.save_error == "the session was changed by another writer during this turn"
    assert "NOT saved" in (health.warning() or "")


class _FailingWrites(InMemorySaver):
    def put_writes(self, *args: Any, **kwargs: Any) -> None:
        raise TimeoutError("memory write timed out")


def test_a_failed_put_writes_is_a_turn_not_saved() -> None:
    saver = GuardedSaver(_FailingWrites())
    with watch_memory() as health:
        first = _put(saver, _base())
        saver.put_writes(first, [("session", {})], "task-1")
    assert health.save_error == "TimeoutError"
    assert health.degraded
    assert health.warning() == (
        "the session memory could not be written (TimeoutError): this turn was NOT saved "
        "to the session"
    )


def test_writes_after_a_failed_read_or_while_busy_are_skipped() -> None:
    inner = InMemorySaver()
    saver = GuardedSaver(inner)
    for field in ("load_error", "busy"):
        with watch_memory() as health:
            setattr(health, field, "reason")
            _put(saver, _base(field))
            saver.put_writes({"configurable": {**_base(field)["configurable"],
                                               "checkpoint_id": "x"}}, [("a", 1)], "t")  # fmt: skip
        assert inner.get_tuple(_base(field)) is None
        assert health.degraded
    assert not MemoryHealth().degraded
    assert MemoryHealth(busy="the session was in use").warning() == (
        "the session was in use: this turn was NOT saved to the session"
    )


def test_a_session_held_by_another_process_past_the_wait_runs_unsaved(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    saver = GuardedSaver(sqlite_saver(db), locks=FileSessionLocks(db))
    agent = offline_agent(tmp_path, checkpointer=saver, request_deadline_seconds=1)
    config = thread_config(session_id="held", actor=None)
    holder = FileSessionLocks(db)  # another process's lock on the same file and session
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.hold(str(config["configurable"]["thread_id"]), wait_s=1) as held:
            assert held
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait(5)
    started = time.monotonic()
    try:
        busy = agent.invoke("Analyze AAPL", request_id="r1", session_id="held")
    finally:
        release.set()
        thread.join()
    assert 0.5 <= time.monotonic() - started < 10  # half the 1 s deadline went to waiting
    assert busy["session_saved"] is False and busy["degraded"] is True
    assert any("in use by another process for over 0.5 s" in w for w in busy["warnings"])
    assert saver.get_tuple(config) is None  # nothing written
    free = agent.invoke("Analyze AAPL", request_id="r2", session_id="held")
    assert free["session_saved"] is True


@pytest.mark.parametrize("wait_s", [0.0, 0.2])
def test_the_lock_excludes_a_second_holder_until_released(tmp_path: Path, wait_s: float) -> None:
    locks = FileSessionLocks(tmp_path / "s.sqlite")
    with locks.hold("thread-a", wait_s=1) as first:
        assert first
        with FileSessionLocks(tmp_path / "s.sqlite").hold("thread-a", wait_s=wait_s) as second:
            assert not second
    with locks.hold("thread-a", wait_s=0) as again:
        assert again
    assert (tmp_path / "s.sqlite.locks").stat().st_mode & 0o777 == 0o700
