"""The HTTP front door: what the server accepts, and how long it listens.

:class:`HttpGuard` is the ASGI middleware in front of the AgentCore app. In order:

1. ``GET /ping`` is answered here, on the event loop, with the app's
   status: ``HealthyBusy`` while any request is admitted or waiting. The
   app's own route runs in the thread pool, where it queues behind busy
   handlers.
2. ``Host`` (local server only): the bound address, ``localhost``,
   ``127.0.0.1`` or ``::1``; anything else is ``403 forbidden_host``, which
   stops DNS rebinding. Off in the container, where AgentCore is the only
   caller and its ``Host`` is not documented.
3. ``POST /invocations`` only: the AgentCore request-id and session-id
   headers must be 1-256 characters of ``[A-Za-z0-9_.:-]``
   (``400 invalid_header``), since both are echoed in answers, logs and
   reports. ``Content-Type`` must be ``application/json`` (``415``) on the
   local server: a web page can POST ``text/plain``, forms and multipart
   across sites without asking, but not JSON.
4. A declared ``Content-Length`` over the limit is refused before the body
   is read, so ``Expect: 100-continue`` never gets its ``100 Continue``.
   The body is read with a total time limit (``408 request_timeout``).
   An oversized body is drained up to :data:`DRAIN_LIMIT_BYTES` (so an
   ordinary client, still sending, reads the 413 instead of a broken
   pipe), never further; every refusal closes the connection.
5. The body is parsed (:func:`stock_agent.contract.parse_body`), then the
   request waits for a turn (:class:`stock_agent.server.limits.Admission`;
   ``503 server_busy`` with ``Retry-After`` past the bounds).
6. The app runs with a :class:`stock_agent.deadline.RequestControl`: its
   deadline counts from arrival, and it is cancelled when the caller
   disconnects (a watcher listens for ``http.disconnect``; a failed send
   counts too). The slot is released only when the request's worker
   threads have stopped.

Slow headers cannot be seen from ASGI (the app is called once they are
complete), so :func:`header_timeout_protocol` makes the uvicorn h11
protocol close a connection whose request line and headers take too long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..contract import MAX_PAYLOAD_BYTES, parse_body
from ..deadline import DEADLINE_MARGIN_S, RequestControl, request_control
from ..errors import AgentError
from .limits import Admission

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-request-id"
SESSION_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id"
_HEADER_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,256}")
LOCAL_HOSTNAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_BODY_TIMEOUT_S = 10.0
DEFAULT_HEADER_TIMEOUT_S = 10.0
# At most this much of an oversized body is read (and dropped) before the 413.
DRAIN_LIMIT_BYTES = 1024 * 1024
# How often the guard looks whether a finished request's worker threads have stopped.
_WORKER_POLL_S = 0.02


@dataclass(frozen=True, kw_only=True)
class GuardSettings:
    """What the front door accepts. ``allowed_hosts=None`` turns the Host check off."""

    allowed_hosts: frozenset[str] | None = LOCAL_HOSTNAMES
    require_json_content_type: bool = True
    max_body_bytes: int = MAX_PAYLOAD_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    request_deadline_s: float = 240.0

    @classmethod
    def local(cls, *, bound_host: str, request_deadline_s: float) -> GuardSettings:
        """The laptop server: Host and Content-Type checked (the bound host is allowed too)."""
        hosts = set(LOCAL_HOSTNAMES)
        if bound_host not in ("0.0.0.0", "::", ""):  # noqa: S104 - a name, not a bind
            hosts.add(bound_host.strip("[]").lower())
        return cls(allowed_hosts=frozenset(hosts), request_deadline_s=request_deadline_s)

    @classmethod
    def container(cls, *, request_deadline_s: float) -> GuardSettings:
        """Behind AgentCore: no browser can reach the container, and AgentCore's own
        ``Host`` and ``Content-Type`` are not documented, so neither is checked."""
        return cls(
            allowed_hosts=None,
            require_json_content_type=False,
            request_deadline_s=request_deadline_s,
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _hostname(host: str) -> str:
    """``[::1]:8080`` → ``::1``; ``Localhost.:80`` → ``localhost``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def check_host(scope: Scope, allowed: frozenset[str] | None) -> None:
    if allowed is None:
        return
    host = _header(scope, b"host")
    if host is None or _hostname(host) not in allowed:
        raise AgentError(
            "forbidden_host",
            "this server only answers requests addressed to "
            + ", ".join(sorted(allowed))
            + " (start it with --allow-any-host to serve other names)",
        )


async def refused_host(scope: Scope, send: Send, allowed: frozenset[str] | None) -> bool:
    """Refuse a request or websocket addressed to another host (a rebinding page can open
    either): ``403 forbidden_host`` with the connection closed, or close code 1008.
    ``True`` when refused."""
    try:
        check_host(scope, allowed)
    except AgentError as err:
        logger.warning("request refused", extra={"code": err.code, "kind": scope["type"]})
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await send_error(send, err, close=True)
        return True
    return False


def check_id_headers(scope: Scope) -> None:
    """The AgentCore id headers: 1-256 characters of ``[A-Za-z0-9_.:-]``."""
    for name in (REQUEST_ID_HEADER, SESSION_ID_HEADER):
        value = _header(scope, name.encode())
        if value is not None and not _HEADER_ID_RE.fullmatch(value):
            raise AgentError(
                "invalid_header",
                f"header {name} must be 1-256 characters from A-Z a-z 0-9 _ . : - "
                f"(got {len(value)} characters)",
            )


def check_content_type(scope: Scope) -> None:
    value = _header(scope, b"content-type")
    media_type = (value or "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        shown = media_type[:60] if media_type else "none"
        raise AgentError(
            "unsupported_media_type",
            f"the request body must be sent as Content-Type: application/json (got {shown})",
        )


def declared_length(scope: Scope, limit: int) -> int | None:
    """``Content-Length`` when given; ``payload_too_large`` past ``limit``."""
    value = _header(scope, b"content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise AgentError("invalid_header", "Content-Length must be a non-negative integer")
    length = int(value)
    if length > limit:
        raise AgentError(
            "payload_too_large",
            f"the request body has more than {limit} bytes (Content-Length {length})",
        )
    return length


async def send_error(send: Send, err: AgentError, *, close: bool = False) -> None:
    """The failure contract as raw ASGI messages (``Connection: close`` when asked)."""
    body = json.dumps(err.to_body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers().items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": err.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class HttpGuard:
    """ASGI middleware: the checks of the module docstring, then the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: GuardSettings,
        admission: Admission,
        ping_status: Callable[[], str],
    ) -> None:
        self.app = app
        self.settings = settings
        self.admission = admission
        self.ping_status = ping_status
        self._last_status = ""
        self._status_since = int(time.time())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if await refused_host(scope, send, self.settings.allowed_hosts):
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/ping" and scope["method"] == "GET":
            await self._ping(send)
            return
        if not (scope["path"] == "/invocations" and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        try:
            check_id_headers(scope)
            if self.settings.require_json_content_type:
                check_content_type(scope)
            declared = declared_length(scope, DRAIN_LIMIT_BYTES)
            oversized = declared is not None and declared > self.settings.max_body_bytes
            if oversized and _header(scope, b"expect") is not None:
                declared_length(scope, self.settings.max_body_bytes)  # refuse it unread
        except AgentError as err:
            logger.warning("request refused", extra={"code": err.code})
            await send_error(send, err, close=True)
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive), self.settings.body_timeout_s)
        except TimeoutError:
            slow = AgentError(
                "request_timeout",
                f"the request body did not arrive within {self.settings.body_timeout_s:.0f} s",
            )
            logger.warning("request refused", extra={"code": slow.code})
            await send_error(send, slow, close=True)
            return
        except AgentError as err:
            logger.warning("request refused", extra={"code": err.code})
            await send_error(send, err, close=True)
            return
        if body is None:  # the caller left while sending
            return
        try:
            parse_body(body)
        except AgentError as err:
            logger.warning("rejected request body", extra={"code": err.code, "bytes": len(body)})
            await send_error(send, err)
            return
        control = RequestControl(deadline=arrived + self.settings.request_deadline_s)
        try:
            async with self.admission.turn():
                await self._run(scope, receive, send, body, control)
        except AgentError as err:  # server_busy before a turn came
            await send_error(send, err)

    async def _ping(self, send: Send) -> None:
        status = self.ping_status()
        if status != self._last_status:
            self._last_status, self._status_since = status, int(time.time())
        body = json.dumps({"status": status, "time_of_last_update": self._status_since}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or ``payload_too_large`` once it is over the limit.

        Past the limit nothing more is kept; reading stops at the end of the
        body or at :data:`DRAIN_LIMIT_BYTES`, whichever comes first.
        """
        body = bytearray()
        size = 0
        more = True
        while more and size <= DRAIN_LIMIT_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.settings.max_body_bytes:
                body += chunk
            more = bool(message.get("more_body", False))
        if size > self.settings.max_body_bytes:
            raise AgentError(
                "payload_too_large",
                f"the request body has more than {self.settings.max_body_bytes} bytes",
            )
        return bytes(body)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, control: RequestControl
    ) -> None:
        """Run the app with ``control``; cancel it when the caller goes away."""
        left = asyncio.Event()
        finished = False

        async def watch() -> None:
            message = await receive()
            if message["type"] == "http.disconnect" and not finished:
                control.cancel("the caller disconnected")
                left.set()

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            try:
                await send(message)
            except OSError:
                control.cancel("the connection broke while sending")
                left.set()
                raise

        watcher = asyncio.create_task(watch())
        try:
            with request_control(control):
                await self.app(scope, replay, guarded_send)
        finally:
            if not finished:
                control.cancel("the response was not completed")
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._workers_stopped(control)

    @staticmethod
    async def _workers_stopped(control: RequestControl) -> None:
        """Hold the slot until the request's threads have stopped (bounded by its deadline)."""
        give_up = control.deadline + DEADLINE_MARGIN_S
        while control.busy and time.monotonic() < give_up:
            await asyncio.sleep(_WORKER_POLL_S)
        if control.busy:
            logger.warning("request threads still running after the deadline")


def header_timeout_protocol(timeout_s: float = DEFAULT_HEADER_TIMEOUT_S) -> Any:
    """uvicorn's h11 protocol, closing connections whose headers take over ``timeout_s``.

    uvicorn times out idle keep-alive connections but not a request line and
    headers that trickle in; this arms a timer when a request's first bytes
    arrive and disarms it when the headers are complete.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                logger.warning(
                    "closed a connection whose request headers took over %.0f s", timeout_s
                )
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            idle = before is None or before.response_complete
            if idle:
                self._arm()
            super().data_received(data)
            if self.cycle is not before:  # a new request's headers are complete
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutH11Protocol


def server_config(
    app: Any, *, host: str, port: int, header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
) -> Any:
    """The uvicorn configuration every HTTP entry point (and the tests) serves with.

    The h11 protocol with a header time limit (:func:`header_timeout_protocol`);
    idle keep-alive connections close after uvicorn's 5 s; no access log (the
    apps log their requests themselves).
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        http=header_timeout_protocol(header_timeout_s),
    )
