"""The AgentCore Runtime entrypoint: ``BedrockAgentCoreApp`` on port 8080.

Contract (Amazon Bedrock AgentCore Runtime): ``POST /invocations`` with
``{"prompt": str, "session_id"?: str, "stream"?: bool}``, ``GET /ping``.
Success is the JSON of :func:`stock_agent.contract.build_response`; with
``"stream": true`` the answer is server-sent events (progress per stage and
ticker, then ``{"event": "result", ...}``). Every failure is
``{"error": {"code", "message"}}`` with the status of
:data:`stock_agent.errors.ERROR_STATUS`; no stack trace ever leaves the process.

Two layers keep that promise:

- :class:`stock_agent.server.http_guard.HttpGuard`, an ASGI middleware in front of
  the app, answers ``/ping`` on the event loop (``HealthyBusy`` while work is
  in flight), checks ``Host``, ``Content-Type`` and the id headers, reads the
  body itself with a size and time limit, bounds how many requests run at
  once (``503 server_busy`` past that) and cancels a request whose caller
  disconnects; see that module for the order of the checks.
- the entrypoint function validates the payload, runs the graph and maps
  :class:`~stock_agent.errors.AgentError` (and any bug, as
  ``internal_error``) to a ``JSONResponse``.

The handler is synchronous, so the app runs it in its thread pool.

``python -m stock_agent.server.entrypoint`` serves on 0.0.0.0:8080 (the container's
CMD) with the Host and Content-Type checks off (only AgentCore reaches the
container); ``stock-agent serve`` serves on localhost with both on.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import queue
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bedrock_agentcore.runtime.context import BedrockAgentCoreContext, RequestContext
from bedrock_agentcore.runtime.models import PingStatus
from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from .. import deadline
from ..contract import apply_request_options, validate_payload
from ..errors import AgentError, internal_error
from ..observability.logging_setup import configure_logging, quiet_agentcore_handlers, request_scope
from ..reports import render_pool, storage
from ..settings import AgentSettings, ConfigError
from . import notify
from .http_guard import GuardSettings, HttpGuard, server_config
from .limits import Admission, AdmissionLimits

if TYPE_CHECKING:
    from ..agent import StockAgent

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8080
# How long an invocation waits for the agent still loading in the background.
AGENT_READY_TIMEOUT_S = 120.0
# Lifespan shutdown waits at most this long for buffered spans to be exported.
TELEMETRY_FLUSH_TIMEOUT_MS = 5_000
# How long a stream's producer waits for a slow reader before it looks for a cancel again.
_STREAM_PUT_POLL_S = 0.2


def error_response(err: AgentError) -> JSONResponse:
    """The failure contract as an HTTP response (with ``Retry-After`` when known)."""
    return JSONResponse(err.to_body(), status_code=err.http_status, headers=err.headers())


def _events_in_thread(
    produce: Callable[[], Iterator[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    """Run a (LangGraph) event iterator in its own thread and relay its events.

    The app iterates a sync generator with a fresh copy of the request's
    context for every item; LangGraph sets and resets context variables
    across its yields, which must happen in one context. A dedicated thread
    gives it that; errors arrive as error events.

    The thread counts as the request's work (:meth:`RequestControl.working`),
    so the server keeps the request's slot until it stops; when the caller
    has gone, the graph stops at its next cancellation check and events no
    one will read are dropped instead of blocking the thread.
    """
    events: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=64)
    control = deadline.current()

    def put(event: dict[str, Any] | None) -> None:
        while True:
            try:
                events.put(event, timeout=_STREAM_PUT_POLL_S)
                return
            except queue.Full:
                if control is not None and control.cancelled.is_set():
                    return

    def run() -> None:
        work = control.working() if control is not None else contextlib.nullcontext()
        with work:
            try:
                for event in produce():
                    put(event)
            except AgentError as err:
                if err.code == "client_disconnected":
                    logger.info("streamed invocation stopped: the caller left")
                else:
                    logger.warning("streamed invocation failed", extra={"code": err.code})
                put({"event": "error", **err.to_body()})
            except Exception:
                logger.exception("streamed invocation failed unexpectedly")
                put({"event": "error", **internal_error().to_body()})
            finally:
                put(None)

    worker = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name="agent-stream", daemon=True
    )
    worker.start()
    while (event := events.get()) is not None:
        yield event


class AgentHolder:
    """The app's :class:`StockAgent`, built once: now, or in a background thread.

    Building it imports LangGraph, which pulls in langchain-core and
    langsmith: about 2 s of CPU on the 2-core benchmark machine, more than
    everything else the server imports. Built in the background, ``/ping``
    answers while it loads and invocations wait for it (``bench/changes.md``,
    row 4: first ping 4.1 s before, under 2 s after).
    """

    def __init__(self, *, ctx: AgentSettings, agent: StockAgent | None = None) -> None:
        self._ctx = ctx
        self._agent = agent
        self._error: BaseException | None = None
        self._ready = threading.Event()

    def build(self) -> StockAgent:
        """Import the graph and build the agent and its clients (a bad setting raises)."""
        try:
            if self._agent is None:
                from ..agent import StockAgent

                self._agent = StockAgent(ctx=self._ctx)
            _ = self._agent.dependencies
            _ = self._agent.checkpointer  # a bad SESSION_DB fails here, at start-up
            return self._agent
        except BaseException as err:
            self._error = err
            raise
        finally:
            self._ready.set()

    def build_in_background(self) -> None:
        """Build in a daemon thread; a failure stops the process as a start-up error would."""

        def run() -> None:
            try:
                self.build()
            except Exception as err:
                logger.critical("the agent could not start: %s", err)
                logging.shutdown()
                os._exit(2)

        threading.Thread(target=run, name="agent-build", daemon=True).start()

    def get(self, *, timeout_s: float = AGENT_READY_TIMEOUT_S) -> StockAgent:
        if not self._ready.wait(timeout_s) or self._agent is None or self._error is not None:
            logger.error("the agent is not ready", extra={"waited_s": timeout_s})
            raise internal_error()
        return self._agent


def caller_actor(context: RequestContext) -> str | None:
    """The caller's identity for session isolation (:func:`.memory.checkpoints.resolve_actor`).

    Read from the raw request: the SDK copies only ``Authorization`` and the
    custom headers into ``request_headers``, not the runtime user id header.
    """
    from ..memory.checkpoints import resolve_actor

    raw = getattr(context, "request", None)
    headers = dict(raw.headers) if raw is not None else dict(context.request_headers or {})
    return resolve_actor(headers)


def create_app(
    *,
    ctx: AgentSettings,
    agent: StockAgent | None = None,
    build_in_background: bool = False,
    render_workers: int = 0,
    guard: GuardSettings | None = None,
) -> BedrockAgentCoreApp:
    """The AgentCore app serving ``agent`` (built from ``ctx`` when not given).

    By default the agent and its clients are built here, so a bad setting
    fails before the app exists. With ``build_in_background`` (the server's
    entry points) they are built in a thread so ``/ping`` answers at once;
    a bad setting then stops the process with status 2. ``render_workers``
    of 2 or more renders reports in that many processes while the app runs
    (:mod:`stock_agent.reports.render_pool`; the servers pass one per core). ``guard``
    is what the front door accepts (default: the local server's checks); the
    bounds on concurrent requests come from ``ctx``. Half-written reports a
    killed process left in the local report folder are removed first.
    """
    if ctx.report_store == "local":
        storage.remove_stale_temp_files(Path(ctx.reports_dir))
    holder = AgentHolder(ctx=ctx, agent=agent)
    if build_in_background:
        holder.build_in_background()
    else:
        holder.build()
    admission = Admission(
        AdmissionLimits(max_running=ctx.max_concurrent_requests, max_queued=ctx.max_queued_requests)
    )
    settings = guard or GuardSettings.local(
        bound_host="127.0.0.1", request_deadline_s=ctx.request_deadline_seconds
    )
    app: BedrockAgentCoreApp

    def ping_status() -> str:
        return str(app.get_current_ping_status().value)

    app = BedrockAgentCoreApp(
        middleware=[
            Middleware(HttpGuard, settings=settings, admission=admission, ping_status=ping_status)
        ],
        lifespan=_lifespan(render_workers=render_workers),
    )
    quiet_agentcore_handlers()

    @app.ping
    def busy_while_in_flight() -> PingStatus:
        """AgentCore's contract: ``HealthyBusy`` while requests are admitted or waiting."""
        return PingStatus.HEALTHY_BUSY if admission.in_flight else PingStatus.HEALTHY

    @app.entrypoint
    def invoke(payload: Any, context: RequestContext) -> Any:
        request_id = BedrockAgentCoreContext.get_request_id() or str(uuid.uuid4())
        try:
            request = validate_payload(payload)
        except AgentError as err:
            logger.warning("invalid payload", extra={"code": err.code})
            return error_response(err)
        session_id = request.session_id or context.session_id
        try:
            actor = caller_actor(context)
        except AgentError as err:
            logger.warning("invalid identity header", extra={"code": err.code})
            return error_response(err)
        warnings: Sequence[str] = (
            [f"ignored unknown payload keys: {', '.join(request.ignored_keys)}"]
            if request.ignored_keys
            else []
        )
        with request_scope(request_id=request_id, session_id=session_id):
            logger.info("invocation", extra={"stream": request.stream})
            try:
                stock_agent = holder.get()
                if request.stream:
                    stock_agent.preflight(request.prompt, session_id=session_id, actor=actor)
                    return _events_in_thread(
                        lambda: (
                            apply_request_options(event, request)
                            for event in stock_agent.stream(
                                request.prompt,
                                request_id=request_id,
                                session_id=session_id,
                                actor=actor,
                                warnings=warnings,
                            )
                        )
                    )
                if request.watchlist_source == "users":
                    from .scheduled import run_users_watchlists  # the graph: not at import

                    run = run_users_watchlists(
                        stock_agent, prompt=request.prompt, request_id=request_id,
                        warnings=warnings,
                    )  # fmt: skip
                else:
                    run = stock_agent.invoke(
                        request.prompt,
                        request_id=request_id,
                        session_id=session_id,
                        actor=actor,
                        warnings=warnings,
                    )
                result = apply_request_options(run, request)
                if not request.notify:
                    return result
                return notify.after_run(result)
            except AgentError as err:
                logger.warning("invocation failed", extra={"code": err.code})
                return error_response(err)
            except Exception:
                logger.exception("invocation failed unexpectedly")
                return error_response(internal_error())

    return app


Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[None]]


def _lifespan(*, render_workers: int) -> Lifespan:
    """Start the render pool (if asked) with the server; stop it, then flush telemetry."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        started = render_pool.start(render_workers) if render_workers else False
        try:
            async with flush_telemetry_on_shutdown(app):
                yield
        finally:
            if started:
                render_pool.shutdown()

    return lifespan


@contextlib.asynccontextmanager
async def flush_telemetry_on_shutdown(_app: Any) -> AsyncIterator[None]:
    """ASGI lifespan: export buffered OpenTelemetry spans when the server stops.

    The container runs under ``opentelemetry-instrument``, whose SDK exports
    spans in batches and flushes the rest from an ``atexit`` hook. uvicorn,
    after a graceful shutdown on SIGTERM, re-raises the signal it caught, so
    the process dies without running ``atexit`` hooks and the spans of the
    last requests (often the interesting ones) would be lost. Lifespan
    shutdown runs before that, so flush here. Without a configured SDK the
    global provider has no ``force_flush`` and this does nothing.
    """
    yield
    from opentelemetry import trace

    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if callable(force_flush):
        try:
            force_flush(TELEMETRY_FLUSH_TIMEOUT_MS)
        except Exception:  # telemetry must never turn a clean stop into a crash
            logger.warning("could not flush telemetry at shutdown", exc_info=True)


def serve(app: BedrockAgentCoreApp, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn until interrupted."""
    import uvicorn

    uvicorn.Server(server_config(app, host=host, port=port)).run()


def main() -> int:
    """Container entry: settings from the environment, JSON logs, 0.0.0.0:8080."""
    try:
        ctx = AgentSettings.from_env()
    except ConfigError as err:
        sys.stderr.write(
            json.dumps({"level": "ERROR", "message": f"invalid settings: {err}"}) + "\n"
        )
        return 2
    configure_logging(level=ctx.log_level)
    try:
        app = create_app(
            ctx=ctx,
            build_in_background=True,
            guard=GuardSettings.container(request_deadline_s=ctx.request_deadline_seconds),
            render_workers=render_pool.usable_cores(),
        )
    except ConfigError as err:
        logger.error("invalid settings: %s", err)
        return 2
    # The container must listen on every interface for AgentCore to reach it.
    serve(app, host="0.0.0.0", port=DEFAULT_PORT)  # noqa: S104
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
