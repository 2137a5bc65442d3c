"""The AgentCore Runtime entrypoint: ``BedrockAgentCoreApp`` on port 8080.

Contract (Amazon Bedrock AgentCore Runtime): ``POST /invocations`` with
``{"prompt": str, "session_id"?: str, "stream"?: bool}``, ``GET /ping``.
Success is the JSON of :func:`stock_agent.contract.build_response`; with
``"stream": true`` the answer is server-sent events (progress per stage and
ticker, then ``{"event": "result", ...}``). Every failure is
``{"error": {"code", "message"}}`` with the status of
:data:`stock_agent.errors.ERROR_STATUS`; no stack trace ever leaves the process.

Two layers keep that promise:

- :class:`PayloadGuard`, an ASGI middleware in front of ``/invocations``,
  reads the body itself (at most 64 KB are kept), and answers malformed
  bodies (not UTF-8, not strict JSON, too deep, too big) with our error
  shape instead of the app's built-in ``{"error": "Invalid JSON", ...}``.
- the entrypoint function validates the payload, runs the graph and maps
  :class:`~stock_agent.errors.AgentError` (and any bug, as
  ``internal_error``) to a ``JSONResponse``.

The handler is synchronous, so the app runs it in its thread pool and
``/ping`` stays responsive during an invocation (a test measures it).

``python -m stock_agent.entrypoint`` serves on 0.0.0.0:8080 (the container's
CMD); ``stock-agent serve`` serves on localhost.
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
from typing import TYPE_CHECKING, Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bedrock_agentcore.runtime.context import BedrockAgentCoreContext, RequestContext
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import AgentContext, ConfigError
from .contract import MAX_PAYLOAD_BYTES, apply_request_options, parse_body, validate_payload
from .errors import AgentError, internal_error
from .logging_setup import configure_logging, quiet_agentcore_handlers, request_scope

if TYPE_CHECKING:
    from .graph import StockAgent

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8080
# How long an invocation waits for the agent still loading in the background.
AGENT_READY_TIMEOUT_S = 120.0
# Lifespan shutdown waits at most this long for buffered spans to be exported.
TELEMETRY_FLUSH_TIMEOUT_MS = 5_000
# Bodies larger than this are not even drained (the connection is closed after the 413).
_DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


def error_response(err: AgentError) -> JSONResponse:
    """The failure contract as an HTTP response."""
    return JSONResponse(err.to_body(), status_code=err.http_status)


class PayloadGuard:
    """Answer bad ``/invocations`` bodies in the contract's error shape, before the app.

    Reads the whole body (keeping at most :data:`MAX_PAYLOAD_BYTES`), checks
    it with :func:`stock_agent.contract.parse_body`, then replays it to the
    app unchanged. Other routes pass straight through.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["path"] == "/invocations"
            and scope["method"] == "POST"
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_bytes:
                body += chunk
            more = bool(message.get("more_body", False)) and size <= _DRAIN_LIMIT_BYTES
        try:
            if size > self.max_bytes:
                raise AgentError(
                    "payload_too_large",
                    f"the request body has more than {self.max_bytes} bytes",
                )
            parse_body(bytes(body))
        except AgentError as err:
            logger.warning("rejected request body", extra={"code": err.code, "bytes": size})
            await error_response(err)(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _events_in_thread(
    produce: Callable[[], Iterator[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    """Run a (LangGraph) event iterator in its own thread and relay its events.

    The app iterates a sync generator with a fresh copy of the request's
    context for every item; LangGraph sets and resets context variables
    across its yields, which must happen in one context. A dedicated thread
    gives it that; errors arrive as error events.
    """
    events: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=64)

    def run() -> None:
        try:
            for event in produce():
                events.put(event)
        except AgentError as err:
            logger.warning("streamed invocation failed", extra={"code": err.code})
            events.put({"event": "error", **err.to_body()})
        except Exception:
            logger.exception("streamed invocation failed unexpectedly")
            events.put({"event": "error", **internal_error().to_body()})
        finally:
            events.put(None)

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

    def __init__(self, *, ctx: AgentContext, agent: StockAgent | None = None) -> None:
        self._ctx = ctx
        self._agent = agent
        self._error: BaseException | None = None
        self._ready = threading.Event()

    def build(self) -> StockAgent:
        """Import the graph and build the agent and its clients (a bad setting raises)."""
        try:
            if self._agent is None:
                from .graph import StockAgent

                self._agent = StockAgent(ctx=self._ctx)
            _ = self._agent.dependencies
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


def create_app(
    *, ctx: AgentContext, agent: StockAgent | None = None, build_in_background: bool = False
) -> BedrockAgentCoreApp:
    """The AgentCore app serving ``agent`` (built from ``ctx`` when not given).

    By default the agent and its clients are built here, so a bad setting
    fails before the app exists. With ``build_in_background`` (the server's
    entry points) they are built in a thread so ``/ping`` answers at once;
    a bad setting then stops the process with status 2.
    """
    holder = AgentHolder(ctx=ctx, agent=agent)
    if build_in_background:
        holder.build_in_background()
    else:
        holder.build()
    app = BedrockAgentCoreApp(
        middleware=[Middleware(PayloadGuard)], lifespan=flush_telemetry_on_shutdown
    )
    quiet_agentcore_handlers()

    @app.entrypoint
    def invoke(payload: Any, context: RequestContext) -> Any:
        request_id = BedrockAgentCoreContext.get_request_id() or str(uuid.uuid4())
        try:
            request = validate_payload(payload)
        except AgentError as err:
            logger.warning("invalid payload", extra={"code": err.code})
            return error_response(err)
        session_id = request.session_id or context.session_id
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
                    stock_agent.preflight(request.prompt)
                    return _events_in_thread(
                        lambda: (
                            apply_request_options(event, request)
                            for event in stock_agent.stream(
                                request.prompt,
                                request_id=request_id,
                                session_id=session_id,
                                warnings=warnings,
                            )
                        )
                    )
                return apply_request_options(
                    stock_agent.invoke(
                        request.prompt,
                        request_id=request_id,
                        session_id=session_id,
                        warnings=warnings,
                    ),
                    request,
                )
            except AgentError as err:
                logger.warning("invocation failed", extra={"code": err.code})
                return error_response(err)
            except Exception:
                logger.exception("invocation failed unexpectedly")
                return error_response(internal_error())

    return app


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
    """Run ``app`` under uvicorn until interrupted (no access log: we log invocations)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


def main() -> int:
    """Container entry: settings from the environment, JSON logs, 0.0.0.0:8080."""
    try:
        ctx = AgentContext.from_env()
    except ConfigError as err:
        sys.stderr.write(
            json.dumps({"level": "ERROR", "message": f"invalid settings: {err}"}) + "\n"
        )
        return 2
    configure_logging(level=ctx.log_level)
    try:
        app = create_app(ctx=ctx, build_in_background=True)
    except ConfigError as err:
        logger.error("invalid settings: %s", err)
        return 2
    # The container must listen on every interface for AgentCore to reach it.
    serve(app, host="0.0.0.0", port=DEFAULT_PORT)  # noqa: S104
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
