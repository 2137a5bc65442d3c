"""How many requests the server works on at once, and how many may wait for a turn.

Every admitted request costs threads (the handler, the stream's producer,
up to four per-ticker workers, model and store calls), so the number running
at once is bounded; a few more may wait, without a thread, for a turn. Past
that the server answers ``503 server_busy`` with ``Retry-After`` at once,
instead of piling up threads until everything is slow.

Lives on the server's event loop: the counters are only touched there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..errors import AgentError

logger = logging.getLogger(__name__)

DEFAULT_MAX_RUNNING = 32
DEFAULT_MAX_QUEUED = 64
# A request waits at most this long for a turn before it is told to come back later.
DEFAULT_QUEUE_WAIT_S = 30.0
# What a refused caller is told to wait before trying again.
BUSY_RETRY_AFTER_S = 5


@dataclass
class AdmissionLimits:
    """The bounds of :class:`Admission` (validated: both at least one)."""

    max_running: int = DEFAULT_MAX_RUNNING
    max_queued: int = DEFAULT_MAX_QUEUED
    queue_wait_s: float = DEFAULT_QUEUE_WAIT_S

    def __post_init__(self) -> None:
        if self.max_running < 1:
            raise ValueError(f"max_running={self.max_running} is invalid: expected >= 1")
        if self.max_queued < 0:
            raise ValueError(f"max_queued={self.max_queued} is invalid: expected >= 0")
        if self.queue_wait_s <= 0:
            raise ValueError(f"queue_wait_s={self.queue_wait_s} is invalid: expected > 0")


def busy_error(reason: str) -> AgentError:
    return AgentError(
        "server_busy",
        f"the agent is busy ({reason}); try again in {BUSY_RETRY_AFTER_S} s",
        retry_after=BUSY_RETRY_AFTER_S,
    )


class Admission:
    """A bounded number of running requests and a bounded queue in front of them."""

    def __init__(self, limits: AdmissionLimits | None = None) -> None:
        self.limits = limits or AdmissionLimits()
        self.running = 0
        self.waiting = 0
        self._turn: asyncio.Semaphore | None = None
        self.last_change = time.time()

    @property
    def in_flight(self) -> int:
        """Requests admitted or waiting: while it is above zero the server is busy."""
        return self.running + self.waiting

    def _semaphore(self) -> asyncio.Semaphore:
        if self._turn is None:  # made on first use, inside the server's event loop
            self._turn = asyncio.Semaphore(self.limits.max_running)
        return self._turn

    def _changed(self) -> None:
        self.last_change = time.time()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one running slot for the block; ``server_busy`` when none comes in time."""
        turn = self._semaphore()
        if turn.locked():
            if self.waiting >= self.limits.max_queued:
                logger.warning(
                    "request refused: queue full",
                    extra={"running": self.running, "waiting": self.waiting},
                )
                raise busy_error(f"{self.running} requests running, {self.waiting} waiting")
            self.waiting += 1
            self._changed()
            try:
                await asyncio.wait_for(turn.acquire(), self.limits.queue_wait_s)
            except TimeoutError:
                logger.warning("request refused: no turn in time", extra={"waiting": self.waiting})
                raise busy_error(f"no turn within {self.limits.queue_wait_s:.0f} s") from None
            finally:
                self.waiting -= 1
        else:
            await turn.acquire()
        self.running += 1
        self._changed()
        try:
            yield
        finally:
            self.running -= 1
            turn.release()
            self._changed()
