"""GenAI spans of model calls and node spans, recorded by the OpenTelemetry SDK in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.errors import AgentError
from stock_agent.models.tracing import MAX_CONTENT_CHARS, TracedModelClient
from stock_agent.models.types import ChatResult, ModelError, ToolCall, Usage
from stock_agent.observability.tracing import traced_node

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test of the process installs it
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


class ScriptedModel:
    name = "openai"

    def __init__(self, outcome: ChatResult | ModelError) -> None:
        self.outcome = outcome
        self.calls: list[dict[str, Any]] = []

    def chat(self, messages: list[dict[str, Any]], **kwargs: Any) -> ChatResult:
        self.calls.append({"messages": messages, **kwargs})
        if isinstance(self.outcome, ModelError):
            raise self.outcome
        return self.outcome


def _client(outcome: ChatResult | ModelError, **kwargs: Any) -> TracedModelClient:
    return TracedModelClient(ScriptedModel(outcome), provider="openai", request_model="m", **kwargs)


def test_a_call_is_a_client_span_with_the_genai_attributes(spans: InMemorySpanExporter) -> None:
    result = ChatResult(
        content="text",
        finish_reason="tool_calls",
        usage=Usage(prompt_tokens=321, completion_tokens=45),
        model="served",
        tool_calls=(ToolCall(id="1", name="report_tickers", arguments={"tickers": []}),),
    )
    client = _client(result, server_address="host")
    tool = {"type": "function", "function": {"name": "report_tickers"}}
    assert client.chat([{"role": "user", "content": "hi"}], max_tokens=64, tools=[tool]) is result
    assert client.name == "openai"  # "offline" checks still see the real client's name
    [span] = spans.get_finished_spans()
    assert span.name == "chat m" and span.kind == trace.SpanKind.CLIENT
    assert dict(span.attributes or {}) | {"stock_agent.model.latency_ms": 0} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "m",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.tool_names": ("report_tickers",),
        "server.address": "host",
        "gen_ai.response.model": "served",
        "gen_ai.response.finish_reasons": ("tool_calls",),
        "gen_ai.usage.input_tokens": 321,
        "gen_ai.usage.output_tokens": 45,
        "gen_ai.response.tool_calls": 1,
        "stock_agent.model.latency_ms": 0,
    }


def test_content_is_recorded_only_when_asked_and_cut_to_the_limit(
    spans: InMemorySpanExporter,
) -> None:
    client = _client(ChatResult(content="answer"), capture_content=True)
    client.chat([{"role": "user", "content": "x" * (MAX_CONTENT_CHARS + 50)}], max_tokens=16)
    [span] = spans.get_finished_spans()
    attributes = span.attributes or {}
    assert len(str(attributes["gen_ai.input.messages"])) == MAX_CONTENT_CHARS + 1
    assert '"content": "answer"' in str(attributes["gen_ai.output.messages"])


def test_a_failed_call_marks_the_span_and_reraises(spans: InMemorySpanExporter) -> None:
    client = _client(ModelError("model_throttled", "busy"))
    with pytest.raises(ModelError):
        client.chat([], max_tokens=16)
    [span] = spans.get_finished_spans()
    assert span.status.status_code == trace.StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "model_throttled"
    assert "gen_ai.usage.input_tokens" not in (span.attributes or {})
    assert "gen_ai.input.messages" not in (span.attributes or {})


def test_a_node_span_is_current_while_the_node_runs(spans: InMemorySpanExporter) -> None:
    def narrative(state: dict[str, Any], runtime: Any = None) -> dict[str, Any]:
        _client(ChatResult(content="ok")).chat([], max_tokens=16)
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
    agent_span = spans.get_finished_spans()[-1]
    assert agent_span.name == "invoke_agent data_gathering_agent"
    assert (agent_span.attributes or {})["error.type"] == "unknown_ticker"
    assert (agent_span.attributes or {})["gen_ai.agent.name"] == "data_gathering_agent"
