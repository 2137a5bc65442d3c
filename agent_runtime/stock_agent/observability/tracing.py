"""A span per graph node, so a trace shows the route a request took.

The AWS OpenTelemetry distro's LangChain instrumentation records one
``invoke_agent LangGraph`` span per run and suppresses the nodes inside it.
:class:`TracedStateGraph` is a ``StateGraph`` whose ``add_node`` wraps each
node function in a span (``invoke_agent <name>`` for the article's three
agents, ``node <name>`` for the others) that is current while the node runs:
the model-call spans it causes (:mod:`stock_agent.models.tracing`) nest
under it, in the request's trace. A node that raises an
:class:`~stock_agent.errors.AgentError` marks its span with ``error.type``.

Only ``opentelemetry-api`` is used; without a configured SDK it costs nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from langgraph.graph import StateGraph
from langgraph.typing import ContextT, InputT, OutputT, StateT
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from ..errors import AgentError

_TRACER = trace.get_tracer("stock_agent.graph")
AGENT_NODE_SUFFIX = "_agent"


def node_span_name(name: str) -> str:
    return f"invoke_agent {name}" if name.endswith(AGENT_NODE_SUFFIX) else f"node {name}"


def traced_node(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` running inside its node span; the signature LangGraph inspects is kept."""
    attributes: dict[str, Any] = {"langgraph.node": name}
    if name.endswith(AGENT_NODE_SUFFIX):
        attributes |= {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _TRACER.start_as_current_span(
            node_span_name(name),
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return fn(*args, **kwargs)
            except AgentError as err:
                span.set_attribute("error.type", err.code)
                span.set_status(Status(StatusCode.ERROR, err.code))
                raise
            except Exception as err:
                span.set_attribute("error.type", type(err).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(err).__qualname__))
                raise

    return run


class TracedStateGraph(StateGraph[StateT, ContextT, InputT, OutputT]):
    """A ``StateGraph`` that traces every node added by name with a plain function."""

    def add_node(self, node: Any, action: Any = None, **kwargs: Any) -> Any:
        if isinstance(node, str) and callable(action) and hasattr(action, "__code__"):
            action = traced_node(node, action)
        return super().add_node(node, action, **kwargs)
