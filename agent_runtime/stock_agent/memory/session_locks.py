"""One turn at a time per session, across processes that share a SQLite session file.

Two ``stock-agent serve`` processes (or two ``stock-agent chat`` terminals) on
one ``SESSION_DB`` would both read a session, both add their turn and both
write: the second write hides the first turn. Within a process a
``threading.Lock`` per session prevents that; across processes this does: an
exclusive ``flock`` on one of :data:`SLOTS` lock files in a private folder
beside the database (``<SESSION_DB>.locks/``), chosen by a hash of the
session. Two sessions on the same slot wait for each other (rarely, and only
for one turn); the number of files stays fixed whatever the number of
sessions. ``flock`` belongs to the open file, so threads of one process
exclude each other too, and the kernel releases a lock whose holder died.

Waiting is bounded: a session held longer than ``wait_s`` (another process's
turn stuck past its own deadline) is reported as busy and the turn runs
without saving, which the response says. Without ``fcntl`` (Windows) there is
no cross-process lock; one process per session file is then the rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SLOTS = 256
POLL_S = 0.02


class FileSessionLocks:
    """Exclusive per-session locks shared by every process that opens the same database."""

    def __init__(self, database: str | os.PathLike[str]) -> None:
        self.folder = Path(f"{Path(database).expanduser()}.locks")

    @staticmethod
    def slot(thread_id: str) -> int:
        """Which lock file guards ``thread_id``."""
        return int(hashlib.sha256(thread_id.encode("utf-8")).hexdigest()[:8], 16) % SLOTS

    @contextlib.contextmanager
    def hold(self, thread_id: str, *, wait_s: float) -> Iterator[bool]:
        """Hold ``thread_id``'s lock for the block; yields ``False`` when it stayed busy."""
        if fcntl is None:
            yield True
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / f"{self.slot(thread_id):02x}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            held = _acquire(fd, wait_s=wait_s)
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _acquire(fd: int, *, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
