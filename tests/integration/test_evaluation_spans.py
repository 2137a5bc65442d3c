"""One request's spans carry what AgentCore Evaluations' built-in evaluators read.

The OpenTelemetry SDK records the spans in memory while the real agent (the
real graph, the OpenAI client against FakeVLLM: vLLM's JSON on loopback, since
no GPU runs here) answers a request whose ticker only the model can find, so
every kind of span appears: the agent span, the graph's nodes, the three tools
and both model calls (the company-name lookup and the narrative). The spans
are then read the way the evaluation service reads them (docs/operations.md,
"What AgentCore Evaluations reads", cites the pages): by instrumentation scope, by
``session.id``, by the span kinds of the OpenTelemetry LangChain
instrumentation (``traceloop.span.kind``, ``llm.request.type``) and the GenAI
attributes, with the user's prompt, the answer, the messages and the tool data
either on the span ("live") or, on AgentCore Runtime, in the log event that the
AWS distro's own :class:`LLOHandler` (the code the container runs) makes of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from amazon.opentelemetry.distro.llo_handler import LLOHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan
from stock_agent.agent import StockAgent
from stock_agent.observability.tracing import EVALUATED_SCOPE
from stock_agent.settings import AgentSettings

from tests.support.fake_vllm import FakeVLLM, chat_completion
from tests.support.spans import recording_spans

pytestmark = pytest.mark.slow

SESSION = "evaluation-spans-" + "0" * 24
PROMPT = "Analyze the iPhone maker please"
NARRATIVE = "The shares trade in a range; the valuation and the risks are in the table."
TOOLS = ("gather_stock_data", "analyze_stock_performance", "generate_stock_report")


PLAN = {"intent": "analyze", "subjects": ["AAPL"], "aspects": [], "operator": None,
        "time_frame": None, "why": False}  # fmt: skip


def _answer(request: dict[str, Any]) -> dict[str, Any] | str:
    if request.get("response_format"):  # the request plan, as structured output
        return chat_completion(json.dumps(PLAN))
    return NARRATIVE


def _one_request(tmp_path: Path, *, capture: bool) -> tuple[dict[str, Any], list[ReadableSpan]]:
    exporter = recording_spans()
    with FakeVLLM.start() as vllm:
        vllm.default_response = _answer
        settings = AgentSettings(
            model_provider="openai",
            openai_base_url=vllm.url,
            reports_dir=str(tmp_path / "reports"),
            trace_model_content=capture,
        )
        response = StockAgent(ctx=settings).invoke(PROMPT, request_id="r-1", session_id=SESSION)
    return response, list(exporter.get_finished_spans())


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _kind(spans: list[ReadableSpan], key: str, value: str) -> list[ReadableSpan]:
    return [s for s in spans if _attributes(s).get(key) == value]


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[int]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        chain.append(span.parent.span_id)
        span = by_id[span.parent.span_id]
    return chain


def test_one_request_carries_every_attribute_the_built_in_evaluators_read(
    tmp_path: Path,
) -> None:
    response, spans = _one_request(tmp_path, capture=True)
    assert response["tickers"] == ["AAPL"] and response["metrics"]["model_calls"] == 2
    by_id = {s.context.span_id: s for s in spans}

    # Only spans of a scope the service supports are read; every one names the session.
    assert {s.instrumentation_scope.name for s in spans if s.instrumentation_scope} == {
        EVALUATED_SCOPE
    }
    for span in spans:
        assert _attributes(span)["session.id"] == SESSION, span.name
    assert len({s.context.trace_id for s in spans}) == 1  # one request, one trace

    # One agent invocation, the root of the rest, with the user's prompt and the answer.
    [agent] = _kind(spans, "traceloop.span.kind", "workflow")
    attributes = _attributes(agent)
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert _kind(spans, "gen_ai.operation.name", "invoke_agent") == [agent]
    assert attributes["gen_ai.agent.name"] == "stock_agent"
    assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.conversation.id"] == SESSION
    question = json.loads(attributes["traceloop.entity.input"])
    assert question["inputs"]["messages"][-1] == {"role": "user", "content": PROMPT}
    answer = json.loads(attributes["traceloop.entity.output"])
    assert answer["outputs"]["messages"][-1] == {"role": "assistant", "content": response["text"]}
    for span in spans:
        if span is not agent:
            assert agent.context.span_id in _ancestors(span, by_id), span.name

    # The graph's nodes are tasks of that agent.
    nodes = {
        _attributes(s)["traceloop.entity.name"] for s in _kind(spans, "traceloop.span.kind", "task")
    }
    assert {"understand_request", "data_gathering_agent", "narrative", "respond"} <= nodes

    # Each model call is an inference span with the GenAI attributes and its messages.
    calls = _kind(spans, "llm.request.type", "chat")
    assert len(calls) == 2
    for call in calls:
        attributes = _attributes(call)
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "openai"
        assert attributes["gen_ai.request.model"] == "model"
        assert attributes["gen_ai.prompt.0.role"] == "system"
        assert (
            attributes["gen_ai.prompt.1.role"] == "user" and attributes["gen_ai.prompt.1.content"]
        )
        assert attributes["gen_ai.completion.0.role"] == "assistant"
        assert attributes["gen_ai.usage.input_tokens"] > 0
    lookup, narrative = sorted(calls, key=lambda s: s.start_time or 0)
    assert json.loads(_attributes(lookup)["gen_ai.prompt.1.content"])["message"] == PROMPT
    assert json.loads(_attributes(lookup)["gen_ai.completion.0.content"]) == PLAN
    assert _attributes(narrative)["gen_ai.completion.0.content"] == NARRATIVE

    # Each tool call is a tool span with its arguments and its result.
    tools = _kind(spans, "traceloop.span.kind", "tool")
    assert sorted(_attributes(s)["gen_ai.tool.name"] for s in tools) == sorted(TOOLS)
    for tool in tools:
        attributes = _attributes(tool)
        assert attributes["gen_ai.operation.name"] == "execute_tool"
        assert attributes["traceloop.entity.name"] == attributes["gen_ai.tool.name"]
        assert json.loads(attributes["traceloop.entity.input"])["inputs"]["symbol"] == "AAPL"
        message = json.loads(attributes["traceloop.entity.output"])["output"]["kwargs"]
        assert message["status"] == "success" and json.loads(message["content"])


def test_on_agentcore_the_distro_moves_the_content_into_events_the_service_reads(
    tmp_path: Path,
) -> None:
    """The AWS distro's LLO handler (enabled on AgentCore Runtime) takes the content out of
    each span into one log event named after the span's scope; the service reads the user's
    prompt and the answer from the agent span's event, the messages from the model spans'."""
    response, spans = _one_request(tmp_path, capture=True)
    logs = InMemoryLogExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    LLOHandler(provider).process_spans(spans)
    events = {r.log_record.span_id: r.log_record for r in logs.get_finished_logs()}
    [agent] = _kind(spans, "traceloop.span.kind", "workflow")
    assert "traceloop.entity.input" not in _attributes(agent)  # moved off the span
    event = events[agent.context.span_id]
    assert event.event_name == EVALUATED_SCOPE
    assert (event.attributes or {})["session.id"] == SESSION
    body: Any = event.body
    [question] = body["input"]["messages"]
    assert json.loads(question["content"])["inputs"]["messages"][-1]["content"] == PROMPT
    [answer] = body["output"]["messages"]
    assert json.loads(answer["content"])["outputs"]["messages"][-1]["content"] == response["text"]
    # The distro leaves indexed messages' roles "unknown" (what the service expects of this
    # scope) and sorts them by source: the request's messages in, the answer out.
    lookup, narrative = sorted(
        _kind(spans, "llm.request.type", "chat"), key=lambda s: s.start_time or 0
    )
    body = events[lookup.context.span_id].body
    assert json.loads([m["content"] for m in body["input"]["messages"]][-1])["message"] == PROMPT
    body = events[narrative.context.span_id].body
    assert len(body["input"]["messages"]) == 2  # the system prompt and the record's facts
    assert [m["content"] for m in body["output"]["messages"]] == [NARRATIVE]


def test_without_content_capture_no_prompt_answer_or_data_is_recorded(tmp_path: Path) -> None:
    _, spans = _one_request(tmp_path, capture=False)
    content_keys = ("traceloop.entity.input", "traceloop.entity.output", "gen_ai.prompt.",
                    "gen_ai.completion.")  # fmt: skip
    for span in spans:
        leaked = [k for k in _attributes(span) if k.startswith(content_keys)]
        assert not leaked, (span.name, leaked)
    assert len(_kind(spans, "traceloop.span.kind", "workflow")) == 1  # the structure stays
    assert len(_kind(spans, "llm.request.type", "chat")) == 2
