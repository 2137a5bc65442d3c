"""The agent a server or a terminal holds: the compiled graphs, the clients, the sessions.

``invoke`` returns the success response (see
:func:`stock_agent.contract.build_response`) and raises
:class:`~stock_agent.errors.AgentError` for every failure a caller should see;
``stream`` yields progress events, then ``{"event": "result", ...}``.

A request with a ``session_id`` runs on the checkpointed graph, keyed by
(actor, session) (:func:`stock_agent.memory.checkpoints.thread_config`); one without runs
on the same graph compiled without a checkpointer and remembers nothing.

A turn runs under its request's control (:mod:`stock_agent.deadline`): the
server's, whose deadline counts from the request's arrival, or, without a
server, one of ``REQUEST_DEADLINE_SECONDS`` from the start of the turn.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from . import deadline
from .context import Dependencies, RunContext
from .errors import AgentError
from .graph import AgentGraph, build_graph
from .memory.checkpoints import (
    GuardedSaver,
    actor_key,
    build_checkpointer,
    thread_config,
    watch_memory,
)
from .models.client import GENAI_PROVIDER_NAMES
from .nodes import classify
from .observability import metrics, tracing
from .settings import AgentSettings
from .state import AgentState, turn_input

__all__ = ["Dependencies", "StockAgent"]

# The share of a request's time it may spend waiting for another process's turn on the
# same session (a shared SQLite file); the rest is left for its own turn.
SESSION_WAIT_SHARE = 0.5


class StockAgent:
    """The compiled graph plus its dependencies: one per process, many requests.

    Requests share nothing but the (thread-safe) clients and the session store.
    """

    def __init__(
        self,
        *,
        ctx: AgentSettings,
        dependencies: Dependencies | None = None,
        metrics_sink: Callable[[str], None] | None = None,
        checkpointer: GuardedSaver | None = None,
    ) -> None:
        self.ctx = ctx
        self._deps = dependencies
        self._metrics_sink = metrics_sink
        self._lock = threading.Lock()
        self._checkpointer = checkpointer
        self.graph: AgentGraph = build_graph()
        self._session_graph: AgentGraph | None = None
        # One turn at a time per session: two concurrent turns would both read the same
        # history and the second write would silently drop the first turn. AgentCore
        # routes one runtime session to one microVM, so a process-local lock suffices.
        self._turn_locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def dependencies(self) -> Dependencies:
        with self._lock:
            if self._deps is None:
                self._deps = Dependencies.from_settings(self.ctx)
            return self._deps

    @property
    def checkpointer(self) -> GuardedSaver:
        with self._lock:
            if self._checkpointer is None:
                self._checkpointer = build_checkpointer(self.ctx)
            return self._checkpointer

    def _graph_for(self, session_id: str | None) -> AgentGraph:
        if session_id is None:
            return self.graph
        saver = self.checkpointer
        with self._lock:
            if self._session_graph is None:
                self._session_graph = build_graph(checkpointer=saver)
            return self._session_graph

    def _turn_lock(self, config: dict[str, Any]) -> threading.Lock | contextlib.nullcontext[None]:
        if not config:
            return contextlib.nullcontext()
        thread_id = config["configurable"]["thread_id"]
        with self._lock:
            lock = self._turn_locks.get(thread_id)
            if lock is None:
                lock = threading.Lock()
                self._turn_locks[thread_id] = lock
            return lock

    def _session_lock(self, config: dict[str, Any]) -> contextlib.AbstractContextManager[None]:
        """The session held against other processes for the turn (a shared SQLite file)."""
        if not config:
            return contextlib.nullcontext()
        return self.checkpointer.session_lock(
            cast(RunnableConfig, config),
            wait_s=self.ctx.request_deadline_seconds * SESSION_WAIT_SHARE,
        )

    def preflight(
        self, prompt: str, *, session_id: str | None = None, actor: str | None = None
    ) -> None:
        """Raise the routing's caller errors before a stream starts (so they get a 4xx status).

        Reads the session (a failed read counts as an empty session, as in the run).
        """
        if session_id is None:
            classify(prompt, self.dependencies, None)
            return
        config = thread_config(session_id=session_id, actor=actor)
        with watch_memory():
            snapshot = self.checkpointer.get_tuple(config)
            session = snapshot.checkpoint["channel_values"].get("session") if snapshot else None
            classify(prompt, self.dependencies, session)

    def _run_args(
        self,
        prompt: str,
        request_id: str,
        session_id: str | None,
        actor: str | None,
        warnings: Sequence[str],
    ) -> tuple[AgentGraph, dict[str, Any], dict[str, Any], RunContext]:
        deps = self.dependencies  # build the clients first: a config error surfaces plainly
        graph = self._graph_for(session_id)
        state = turn_input(
            request_id=request_id,
            session_id=session_id,
            prompt=prompt,
            warnings=list(warnings),
            # The user's long-term memory is the identity's, with or without a session.
            actor=actor_key(actor) if actor else None,
        )
        config: dict[str, Any] = {}
        if session_id is not None:
            config = dict(thread_config(session_id=session_id, actor=actor))
        return graph, state, config, RunContext.build(self.ctx, deps)

    def _finish(self, final: dict[str, Any], health: Any, config: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = dict(final["response"])
        error = response.get("error")
        if error:
            self._emit_metrics(None, error_code=error["code"])
            raise AgentError(error["code"], error["message"], retry_after=error.get("retry_after"))
        warning = health.warning()
        if warning:
            response["warnings"] = [*response["warnings"], warning]
            reason = response.get("degraded_reason")
            response["degraded"] = True
            response["degraded_reason"] = f"{reason}; {warning}" if reason else warning
            response["session_saved"] = False
        elif config:
            response["session_saved"] = True
            self.checkpointer.keep_latest(config)  # type: ignore[arg-type]
        self._emit_metrics(response)
        return response

    def invoke(
        self,
        prompt: str,
        *,
        request_id: str,
        session_id: str | None = None,
        actor: str | None = None,
        warnings: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Run one turn; the success response, or :class:`AgentError`.

        ``warnings`` (e.g. ignored payload keys) are carried into the response.
        """
        graph, state, config, run = self._run_args(prompt, request_id, session_id, actor, warnings)
        with (
            self._turn_lock(config),
            watch_memory() as health,
            self._session_lock(config),
            self._turn(prompt, session_id, request_id) as (turn, span),
        ):
            final = turn.run(
                graph.invoke,
                cast(AgentState, state),
                cast(RunnableConfig, config) if config else None,
                context=run,
                durability="exit" if config else None,
            )
            response = self._finish(final, health, config)
            span.answered(response["text"])
        return response

    def stream(
        self,
        prompt: str,
        *,
        request_id: str,
        session_id: str | None = None,
        actor: str | None = None,
        warnings: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Progress events per stage and ticker, then ``{"event": "result", **response}``."""
        graph, state, config, run = self._run_args(prompt, request_id, session_id, actor, warnings)
        last: dict[str, Any] = {}
        with (
            self._turn_lock(config),
            watch_memory() as health,
            self._session_lock(config),
            self._turn(prompt, session_id, request_id) as (turn, span),
        ):
            steps = graph.stream(
                cast(AgentState, state),
                cast(RunnableConfig, config) if config else None,
                context=run,
                stream_mode=["custom", "values"],
                durability="exit" if config else None,
            )
            for mode, chunk in deadline.iterate_in(turn, steps):
                if mode == "custom":
                    yield {"request_id": request_id, **cast(dict[str, Any], chunk)}
                else:
                    last = cast(dict[str, Any], chunk)
            response = self._finish(last, health, config)
            span.answered(response["text"])
        yield {"event": "result", **response}

    @contextlib.contextmanager
    def _turn(
        self, prompt: str, session_id: str | None, request_id: str
    ) -> Iterator[tuple[contextvars.Context, tracing.TurnSpan]]:
        """The context a turn runs in (its request control) and its agent span, current there."""
        turn = deadline.turn_context(deadline.control_for_turn(self.ctx.request_deadline_seconds))
        with tracing.turn_span(
            turn,
            prompt=prompt,
            session_id=session_id,
            request_id=request_id,
            provider=GENAI_PROVIDER_NAMES.get(self.ctx.model_provider),
            capture_content=self.ctx.trace_model_content,
        ) as span:
            yield turn, span

    def _emit_metrics(
        self, response: dict[str, Any] | None, *, error_code: str | None = None
    ) -> None:
        """One EMF record per request in deployed stages (:mod:`.observability.metrics`)."""
        if not (self.ctx.emits_metrics or self._metrics_sink):
            return
        record = metrics.request_metrics(
            stage=self.ctx.stage, response=response, error_code=error_code
        )
        metrics.emit(record, sink=self._metrics_sink)
