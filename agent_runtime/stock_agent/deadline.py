"""One request's time budget and cancellation, visible to every thread working on it.

A request gets a :class:`RequestControl` when the HTTP guard admits it (or,
without a server, when the agent starts the turn: :func:`control_for_turn`,
:func:`turn_context`): the ``time.monotonic()`` deadline of the whole
request, an event set when the caller has gone away, and the stream writer
that progress events (such as "the model is starting") go to. It travels in
a context variable and only there, so the graph's nodes, the per-ticker
worker threads (which run in a copy of the caller's context) and the model
clients all read the same deadline (:func:`current_deadline`) without it
being passed through any signature (docs/decisions.md says why).

Time limits here are totals, not per read: :class:`Watchdog` shuts a socket
down at an absolute time, which ends a blocked ``recv`` however slowly the
peer trickles bytes, and :func:`map_bounded` stops waiting for a worker at
an absolute time.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import http.client
import itertools
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import AgentError, internal_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A response comes back at most this long after the request's deadline: the
# stages after the model (deterministic narrative, PDF, store) need a moment.
DEADLINE_MARGIN_S = 5.0


def client_gone_error(where: str) -> AgentError:
    """The error that stops the work of a request whose caller disconnected."""
    return AgentError("client_disconnected", f"the caller disconnected before the {where} stage")


@dataclass
class RequestControl:
    """Deadline, cancellation and progress sink of one request."""

    deadline: float  # time.monotonic() value
    cancelled: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[dict[str, Any]], None] | None = None
    cancel_reason: str = ""
    _workers: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def starting_now(cls, seconds: float) -> RequestControl:
        return cls(deadline=time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def cancel(self, reason: str) -> None:
        if not self.cancelled.is_set():
            self.cancel_reason = reason
            self.cancelled.set()
            logger.info("request cancelled", extra={"reason": reason})

    def check(self, where: str) -> None:
        """Raise ``client_disconnected`` when the caller has gone away."""
        if self.cancelled.is_set():
            raise client_gone_error(where)

    @property
    def busy(self) -> bool:
        """Whether a thread still works for this request (see :meth:`working`)."""
        return self._workers > 0

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Count the block as work in progress: the server holds the slot until it ends."""
        with self._lock:
            self._workers += 1
        try:
            yield
        finally:
            with self._lock:
                self._workers -= 1


_current: contextvars.ContextVar[RequestControl | None] = contextvars.ContextVar(
    "stock_agent_request_control", default=None
)


def current() -> RequestControl | None:
    """The control of the request this code runs for, if any."""
    return _current.get()


@contextlib.contextmanager
def request_control(control: RequestControl) -> Iterator[RequestControl]:
    """Make ``control`` the current request's control inside the block."""
    token = _current.set(control)
    try:
        yield control
    finally:
        _current.reset(token)


def check_cancelled(where: str) -> None:
    """Stop the current request's work here if its caller disconnected."""
    control = _current.get()
    if control is not None:
        control.check(where)


def current_deadline() -> float | None:
    """The current request's deadline (a ``time.monotonic()`` value), or None outside one."""
    control = _current.get()
    return None if control is None else control.deadline


def deadline_passed() -> bool:
    """Whether the current request has run out of time (never, outside a request)."""
    deadline = current_deadline()
    return deadline is not None and time.monotonic() >= deadline


def control_for_turn(default_seconds: float) -> RequestControl:
    """The control a turn runs under: the server's (its deadline counts from the request's
    arrival, so time spent in the admission queue is spent), else a new one of
    ``default_seconds`` from now."""
    return _current.get() or RequestControl.starting_now(default_seconds)


def turn_context(control: RequestControl) -> contextvars.Context:
    """A copy of the caller's context in which ``control`` is current: a turn runs in it
    (``context.run(...)``, or :func:`iterate_in` for a streamed one)."""
    context = contextvars.copy_context()
    context.run(_current.set, control)
    return context


def iterate_in(context: contextvars.Context, items: Iterator[T]) -> Iterator[T]:
    """``items`` advanced inside ``context``, whatever thread asks for the next one.

    A generator cannot set a context variable for its own body (the value would
    leak to whoever iterates it), so each step runs in the turn's own context.
    """
    while True:
        try:
            item = context.run(next, items)
        except StopIteration:
            return
        yield item


def emit_progress(event: dict[str, Any]) -> None:
    """Send a progress event to the current request's stream, if it has one."""
    control = _current.get()
    sink = control.progress if control is not None else None
    if sink is None:
        return
    try:
        sink(event)
    except Exception:  # a progress event must never fail the work it reports on
        logger.debug("progress event dropped", exc_info=True)


# --------------------------------------------------------------------------- watchdog


class _Alarm:
    """A scheduled action; ``fired`` tells whether it ran."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.fired = False
        self.cancelled = False


class Watchdog:
    """One thread that runs actions at absolute ``time.monotonic()`` times.

    One thread for the whole process, however many calls are being timed,
    so total time limits do not cost a thread each.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Alarm]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, when: float, action: Callable[[], None]) -> _Alarm:
        alarm = _Alarm(action)
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._counter), alarm))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
        return alarm

    @staticmethod
    def cancel(alarm: _Alarm) -> None:
        alarm.cancelled = True

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][2].cancelled:
                    if self._heap:
                        heapq.heappop(self._heap)
                        continue
                    self._wake.wait()
                when, _, alarm = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
            if alarm.cancelled:
                continue
            alarm.fired = True
            try:
                alarm.action()
            except Exception:
                logger.debug("watchdog action failed", exc_info=True)


WATCHDOG = Watchdog()


def shutdown_socket(sock: socket.socket | None) -> None:
    """Wake whoever is blocked reading ``sock``: the read returns at once."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _RememberingHTTPConnection(http.client.HTTPConnection):
    """Keeps its socket in ``opened_sock``: http.client drops ``sock`` as soon as a
    response without keep-alive arrives (the response reads on through its own
    file object), and the watchdog still needs the socket to shut it down."""

    opened_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.opened_sock = self.sock


class _RememberingHTTPSConnection(http.client.HTTPSConnection):
    __doc__ = _RememberingHTTPConnection.__doc__
    opened_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.opened_sock = self.sock


def timed_connection(url: str, *, timeout: float) -> http.client.HTTPConnection:
    """An http.client connection to ``url``'s host whose socket :func:`connection_socket` finds."""
    parts = urllib.parse.urlsplit(url)
    cls = _RememberingHTTPSConnection if parts.scheme == "https" else _RememberingHTTPConnection
    return cls(parts.hostname or "", parts.port, timeout=timeout)


def connection_socket(conn: http.client.HTTPConnection) -> socket.socket | None:
    """The socket ``conn`` opened, even after http.client let go of it."""
    return getattr(conn, "opened_sock", None) or conn.sock


@contextlib.contextmanager
def socket_deadline(
    when: float, get_socket: Callable[[], socket.socket | None]
) -> Iterator[_Alarm]:
    """Shut the socket ``get_socket()`` returns down at ``when`` (monotonic), if still open.

    The yielded alarm's ``fired`` says whether the limit ended the exchange,
    so the caller can report a timeout instead of a dropped connection.
    """
    alarm = WATCHDOG.schedule(when, lambda: shutdown_socket(get_socket()))
    try:
        yield alarm
    finally:
        Watchdog.cancel(alarm)


# --------------------------------------------------------------------------- bounded fan-out


def map_bounded(
    fn: Callable[[str], T],
    items: Sequence[str],
    *,
    max_workers: int,
    stage: str,
    grace_s: float = 0.0,
) -> Iterator[tuple[str, T | AgentError]]:
    """``fn`` over ``items`` in ≤ ``max_workers`` threads; results in input order.

    Waiting stops ``grace_s`` after the current request's deadline (no deadline
    outside a request): an item not done
    by then is ``deadline_exceeded`` and its thread is abandoned (it ends when
    its own, also bounded, call does; the pool does not wait for it). Before
    each item starts, a disconnected caller stops it with ``client_disconnected``.
    An :class:`AgentError` is yielded, not raised; any other exception is a
    bug, logged with its trace and yielded as ``internal_error``. Each call
    runs in a copy of the caller's context so log lines keep the request id.
    """

    def guarded(item: str) -> T | AgentError:
        try:
            check_cancelled(stage)
            return fn(item)
        except AgentError as err:
            return err
        except Exception:
            logger.exception("stage failed for one ticker", extra={"symbol": item})
            return internal_error()

    if not items:
        return
    deadline = current_deadline()
    until = None if deadline is None else deadline + grace_s
    pool = ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(items))), thread_name_prefix=f"stage-{stage}"
    )
    try:
        futures = [pool.submit(contextvars.copy_context().run, guarded, item) for item in items]
        for item, future in zip(items, futures, strict=True):
            left = None if until is None else max(0.0, until - time.monotonic())
            try:
                yield item, future.result(timeout=left)
            except FutureTimeout:
                future.cancel()
                logger.warning(
                    "stage ran out of time for one ticker", extra={"symbol": item, "stage": stage}
                )
                yield (
                    item,
                    AgentError(
                        "deadline_exceeded",
                        f"{item}: the {stage.replace('_', ' ')} stage ran out of time",
                    ),
                )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
