"""Node spans: a span per graph node, current while the node runs, marked when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.errors import AgentError
from stock_agent.models.types import ChatResult
from stock_agent.observability.tracing import traced_node

from tests.support.model_clients import call_profile
from tests.support.spans import traced_client


def test_a_node_span_is_current_while_the_node_runs(spans: InMemorySpanExporter) -> None:
    def narrative(state: dict[str, Any], runtime: Any = None) -> dict[str, Any]:
        traced_client(ChatResult(content="ok")).chat(call_profile(max_tokens=16), [])
        return {"seen": state}

    wrapped = traced_node("narrative", narrative)
    assert wrapped({"a": 1}, runtime=None) == {"seen": {"a": 1}}
    chat, node = spans.get_finished_spans()
    assert node.name == "node narrative" and chat.parent is not None
    assert chat.parent.span_id == node.context.span_id

    def failing(state: dict[str, Any]) -> None:
        raise AgentError("unknown_ticker", "nope")

    with pytest.raises(AgentError):
        traced_node("data_gathering_agent", failing)({})
    node_span = spans.get_finished_spans()[-1]
    assert node_span.name == "node data_gathering_agent"
    attributes = node_span.attributes or {}
    assert attributes["error.type"] == "unknown_ticker"
    # a node is a task of the one agent span, never an agent invocation of its own
    assert attributes["traceloop.span.kind"] == "task"
    assert "gen_ai.operation.name" not in attributes
