"""The request's spans, in the form AgentCore Evaluations reads: one agent span, nodes, tools.

AgentCore Evaluations scores only spans of the instrumentation scopes it
supports; for a Python LangGraph agent those are
``opentelemetry.instrumentation.langchain`` and
``openinference.instrumentation.langchain`` (docs/operations.md, "What
AgentCore Evaluations reads", cites the pages). Those libraries see LangChain
chat models and tools; this agent calls
its own model clients and plain tool functions, so it records the same spans
itself, under :data:`EVALUATED_SCOPE`, with the attributes the service reads
for that scope:

* one agent span per turn (:func:`turn_span`): ``traceloop.span.kind=workflow``
  and ``gen_ai.operation.name=invoke_agent``, the user's prompt in
  ``traceloop.entity.input`` (``{"inputs": {"messages": [...]}}``) and the
  answer in ``traceloop.entity.output`` (``{"outputs": {"messages": [...]}}``);
* a task span per graph node (:class:`TracedStateGraph`), current while the
  node runs, so the spans it causes nest under it;
* a tool span per tool call (:func:`tool_span`): ``traceloop.span.kind=tool``
  and ``gen_ai.operation.name=execute_tool``, the arguments and the result;
* the model calls' spans (:mod:`stock_agent.models.tracing`).

Every span carries ``session.id`` (the service finds a session's spans by it)
from the turn's OpenTelemetry baggage. Prompts, answers and tool data are
content: recorded only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
asks for it (the deployed runtime does; the AWS distro then moves them from
the span into a log event, as the service expects). Only ``opentelemetry-api``
is used: without a configured SDK the spans cost next to nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from langgraph.graph import StateGraph
from langgraph.typing import ContextT, InputT, OutputT, StateT
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, Status, StatusCode

# The scope AgentCore Evaluations reads for a LangGraph agent (OpenTelemetry's library).
EVALUATED_SCOPE = "opentelemetry.instrumentation.langchain"
TRACER = trace.get_tracer(EVALUATED_SCOPE)
AGENT_NAME = "stock_agent"
SESSION_KEY = "session.id"
# Recorded content is cut here: a span attribute is not a place for a whole report.
MAX_CONTENT_CHARS = 16_000
# Whether the turn this code runs for records content (set with the turn's span).
_capture_content: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "stock_agent_capture_content", default=False
)


def cut(text: str) -> str:
    """``text`` for a content attribute: at most :data:`MAX_CONTENT_CHARS` (and an ellipsis)."""
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "…"


def content_json(value: Any) -> str:
    """``value`` as JSON for a content attribute, cut to :data:`MAX_CONTENT_CHARS`."""
    return cut(json.dumps(value, ensure_ascii=False, default=str))


def session_attributes() -> dict[str, str]:
    """``session.id`` (and ``gen_ai.conversation.id``) of the turn this code runs for."""
    session = baggage.get_baggage(SESSION_KEY)
    return {SESSION_KEY: str(session), "gen_ai.conversation.id": str(session)} if session else {}


def mark_failed(span: Span, code: str) -> None:
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))


@contextlib.contextmanager
def failures_marked(span: Span) -> Iterator[None]:
    """Mark ``span`` with the failure that leaves the block (its stable code when it has
    one: an agent or a model error), then let the failure go on."""
    try:
        yield
    except GeneratorExit:  # a streamed turn whose caller stopped reading
        mark_failed(span, "client_disconnected")
        raise
    except Exception as err:
        code = getattr(err, "code", None)
        mark_failed(span, code if isinstance(code, str) else type(err).__qualname__)
        raise


class TurnSpan:
    """The agent span of one turn; :meth:`answered` records the answer (when content is on)."""

    def __init__(self, span: Span, *, capture_content: bool) -> None:
        self.span = span
        self.capture_content = capture_content

    def answered(self, text: str) -> None:
        if self.capture_content:
            output = {"outputs": {"messages": [{"role": "assistant", "content": text}]}}
            self.span.set_attribute("traceloop.entity.output", content_json(output))


@contextlib.contextmanager
def turn_span(
    turn: contextvars.Context,
    *,
    prompt: str,
    session_id: str | None,
    request_id: str,
    provider: str | None,
    capture_content: bool,
) -> Iterator[TurnSpan]:
    """The agent span of one turn, made current (with the session) inside ``turn``.

    The span is current in ``turn``, the context the graph runs in, and never
    in the caller's: a streamed turn is a generator, and a span attached there
    would leak into whoever iterates it. A failure marks the span and goes on.
    """
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": AGENT_NAME,
        "traceloop.span.kind": "workflow",
        "traceloop.entity.name": AGENT_NAME,
        "stock_agent.request_id": request_id,
    }
    if provider:
        attributes |= {"gen_ai.provider.name": provider, "gen_ai.system": provider}
    if session_id:
        attributes |= {SESSION_KEY: session_id, "gen_ai.conversation.id": session_id}
    if capture_content:
        question = {"inputs": {"messages": [{"role": "user", "content": prompt}]}}
        attributes["traceloop.entity.input"] = content_json(question)
    span = TRACER.start_span(f"invoke_agent {AGENT_NAME}", attributes=attributes)

    def enter() -> None:
        current = trace.set_span_in_context(span)
        if session_id:
            current = baggage.set_baggage(SESSION_KEY, session_id, current)
        otel_context.attach(current)  # the turn's own context: it ends with the turn
        _capture_content.set(capture_content)

    turn.run(enter)
    try:
        with failures_marked(span):
            yield TurnSpan(span, capture_content=capture_content)
    finally:
        span.end()


@contextlib.contextmanager
def tool_span(
    name: str, *, arguments: dict[str, Any]
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A tool call's span; the block calls the yielded function with the tool's result.

    The arguments and the result are recorded (when the turn records content)
    as the LangChain instrumentation records a tool: ``{"inputs": {...}}`` and
    the tool message's ``kwargs``.
    """
    capture_content = _capture_content.get()
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.type": "function",
        "traceloop.span.kind": "tool",
        "traceloop.entity.name": name,
        **session_attributes(),
    }
    if capture_content:
        attributes["traceloop.entity.input"] = content_json({"inputs": arguments})
    with TRACER.start_as_current_span(
        f"execute_tool {name}",
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:

        def result(value: dict[str, Any]) -> None:
            if capture_content:
                message = {"content": content_json(value), "name": name, "status": "success"}
                output = content_json({"output": {"kwargs": message}})
                span.set_attribute("traceloop.entity.output", output)

        with failures_marked(span):
            yield result


def traced_node(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` running inside its node span; the signature LangGraph inspects is kept."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        attributes = {
            "langgraph.node": name,
            "traceloop.span.kind": "task",
            "traceloop.entity.name": name,
            **session_attributes(),
        }
        with (
            TRACER.start_as_current_span(
                f"node {name}",
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
            failures_marked(span),
        ):
            return fn(*args, **kwargs)

    return run


class TracedStateGraph(StateGraph[StateT, ContextT, InputT, OutputT]):
    """A ``StateGraph`` that traces every node added by name with a plain function."""

    def add_node(self, node: Any, action: Any = None, **kwargs: Any) -> Any:
        if isinstance(node, str) and callable(action) and hasattr(action, "__code__"):
            action = traced_node(node, action)
        return super().add_node(node, action, **kwargs)
