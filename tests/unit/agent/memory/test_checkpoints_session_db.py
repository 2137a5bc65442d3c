"""``SESSION_DB``: created where it is missing, refused at once where it cannot be a database;
and what a turn knows about its own read of the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from stock_agent.memory.checkpoints import (
    GuardedSaver,
    memory_read_failed,
    sqlite_saver,
    thread_config,
    watch_memory,
)
from stock_agent.settings import ConfigError


def test_a_session_db_in_folders_that_do_not_exist_yet_is_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "c" / "sessions.sqlite"
    saver = sqlite_saver(db)
    assert db.is_file() and saver.get_tuple(thread_config(session_id="s", actor=None)) is None


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.mkdir(), "it is a folder"),
        (lambda p: p.write_text("notes, not a database\n" * 50), "not a SQLite database"),
        (lambda p: p.symlink_to("/dev/null"), "not a regular file"),
    ],
)
def test_a_session_db_that_cannot_be_a_database_is_a_config_error(
    tmp_path: Path, make: Any, says: str
) -> None:
    db = tmp_path / "sessions.sqlite"
    make(db)
    with pytest.raises(ConfigError) as info:
        sqlite_saver(db)
    assert str(info.value).startswith(f"SESSION_DB={str(db)!r} is invalid: ")
    assert says in str(info.value)


def test_a_session_db_under_a_file_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot be opened or created"):
        sqlite_saver(blocker / "sessions.sqlite")


class _Unreadable(InMemorySaver):
    def get_tuple(self, config: Any) -> Any:
        raise ConnectionError("memory unreachable")


def test_a_turn_knows_whether_its_read_of_the_session_failed() -> None:
    assert memory_read_failed() is None  # outside a turn
    config = thread_config(session_id="s", actor=None)
    with watch_memory():
        GuardedSaver(InMemorySaver()).get_tuple(config)
        assert memory_read_failed() is None  # read fine, nothing there
    with watch_memory():
        GuardedSaver(_Unreadable()).get_tuple(config)
        assert memory_read_failed() == "ConnectionError"
    assert memory_read_failed() is None
