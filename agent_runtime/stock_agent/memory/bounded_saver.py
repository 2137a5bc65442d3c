"""``MEMORY_BACKEND=memory`` with bounds: at most so many sessions, none idle past a limit.

LangGraph's ``InMemorySaver`` keeps every thread until the process ends; a
server that anyone can open sessions on would grow without end (one
one-turn session keeps its last checkpoint, tens of kilobytes). This saver
remembers when each session was last written, and after every write drops
the sessions idle longer than ``idle_s`` and then the least recently used
beyond ``max_sessions``. A follow-up in a dropped session is answered like
one in a session that never existed (``no_context``), which the settings
documentation says.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.memory import InMemorySaver


class BoundedInMemorySaver(InMemorySaver):
    """``InMemorySaver`` holding at most ``max_sessions`` threads, each used within ``idle_s``."""

    def __init__(
        self,
        *,
        max_sessions: int,
        idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1 or idle_s <= 0:
            raise ValueError(f"need max_sessions >= 1 and idle_s > 0, got {max_sessions}, {idle_s}")
        super().__init__()
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self._clock = clock
        self._last_used: OrderedDict[str, float] = OrderedDict()
        self._bounds_lock = threading.Lock()

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        saved = super().put(config, checkpoint, metadata, new_versions)
        self._touch(str(config["configurable"]["thread_id"]))
        return saved

    def delete_thread(self, thread_id: str) -> None:
        with self._bounds_lock:
            self._last_used.pop(thread_id, None)
        super().delete_thread(thread_id)

    def _touch(self, thread_id: str) -> None:
        now = self._clock()
        with self._bounds_lock:
            self._last_used[thread_id] = now
            self._last_used.move_to_end(thread_id)
            expired = [t for t, used in self._last_used.items() if now - used > self.idle_s]
            for thread in expired:
                del self._last_used[thread]
            while len(self._last_used) > self.max_sessions:
                expired.append(self._last_used.popitem(last=False)[0])
        for thread in expired:
            super().delete_thread(thread)

    @property
    def session_count(self) -> int:
        with self._bounds_lock:
            return len(self._last_used)
