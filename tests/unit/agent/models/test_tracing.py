"""GenAI spans of model calls, recorded by the OpenTelemetry SDK in memory."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.models.tracing import MAX_CONTENT_CHARS
from stock_agent.models.types import ChatResult, ModelError, ToolCall, Usage

from tests.support.model_clients import call_profile
from tests.support.spans import traced_client


def test_a_call_is_a_client_span_with_the_genai_attributes(spans: InMemorySpanExporter) -> None:
    result = ChatResult(
        content="text",
        finish_reason="tool_calls",
        usage=Usage(prompt_tokens=321, completion_tokens=45),
        model="served",
        tool_calls=(ToolCall(id="1", name="report_tickers", arguments={"tickers": []}),),
    )
    client = traced_client(result, server_address="host")
    tool = {"type": "function", "function": {"name": "report_tickers"}}
    assert (
        client.chat(call_profile(max_tokens=64, tools=[tool]), [{"role": "user", "content": "hi"}])
        is result
    )
    assert client.name == "openai"  # "offline" checks still see the real client's name
    [span] = spans.get_finished_spans()
    assert span.name == "chat m" and span.kind == trace.SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "opentelemetry.instrumentation.langchain"
    assert dict(span.attributes or {}) | {"stock_agent.model.latency_ms": 0} == {
        "gen_ai.operation.name": "chat",
        "llm.request.type": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "m",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.tool_names": ("report_tickers",),
        "stock_agent.model.purpose": "test",
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
    answer = ChatResult(
        content="answer",
        finish_reason="tool_calls",
        tool_calls=(ToolCall(id="c1", name="report_tickers", arguments={"tickers": ["KO"]}),),
    )
    client = traced_client(answer, capture_content=True)
    long = "x" * (MAX_CONTENT_CHARS + 50)
    client.chat(
        call_profile(max_tokens=16, system_prompt="Rules."), [{"role": "user", "content": long}]
    )
    [span] = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.prompt.0.role"] == "system"
    assert attributes["gen_ai.prompt.0.content"] == "Rules."
    assert attributes["gen_ai.prompt.1.role"] == "user"
    assert len(str(attributes["gen_ai.prompt.1.content"])) == MAX_CONTENT_CHARS + 1
    assert "gen_ai.prompt.2.role" not in attributes
    assert attributes["gen_ai.completion.0.role"] == "assistant"
    assert attributes["gen_ai.completion.0.content"] == "answer"
    assert attributes["gen_ai.completion.0.tool_calls.0.name"] == "report_tickers"
    assert attributes["gen_ai.completion.0.tool_calls.0.arguments"] == '{"tickers": ["KO"]}'
    traced_client(answer).chat(call_profile(max_tokens=16), [{"role": "user", "content": "x"}])
    quiet = dict(spans.get_finished_spans()[-1].attributes or {})
    assert not [key for key in quiet if key.startswith(("gen_ai.prompt", "gen_ai.completion"))]


def test_a_failed_call_marks_the_span_and_reraises(spans: InMemorySpanExporter) -> None:
    client = traced_client(ModelError("model_throttled", "busy"))
    with pytest.raises(ModelError):
        client.chat(call_profile(max_tokens=16), [])
    [span] = spans.get_finished_spans()
    assert span.status.status_code == trace.StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "model_throttled"
    assert "gen_ai.usage.input_tokens" not in (span.attributes or {})
    assert "gen_ai.prompt.0.content" not in (span.attributes or {})


def test_a_structured_call_says_its_output_is_json_and_passes_the_profile_on(
    spans: InMemorySpanExporter,
) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "request_plan", "schema": {}}}
    client = traced_client(ChatResult(content="{}"))
    turns = [{"role": "user", "content": "x"}]
    client.chat(call_profile(max_tokens=16, response_format=fmt), turns)
    [span] = spans.get_finished_spans()
    assert (span.attributes or {})["gen_ai.output.type"] == "json"
    assert client.inner.calls[-1]["profile"].response_format == fmt  # type: ignore[attr-defined]
    client.chat(call_profile(max_tokens=16), turns)
    assert "gen_ai.output.type" not in (spans.get_finished_spans()[-1].attributes or {})
