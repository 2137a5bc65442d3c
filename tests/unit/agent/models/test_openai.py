"""The OpenAI-compatible model client against a real loopback server.

The GPU endpoint cannot run here, so each test talks over real sockets to a
fake that speaks the real wire format: ``FakeVLLM`` answers vLLM's
OpenAI JSON (``tests/support/fake_vllm.py``). Backoffs are tiny so every
test stays well under two seconds.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from stock_agent.deadline import RequestControl, request_control
from stock_agent.models.openai import OpenAIModelClient, parse_retry_after
from stock_agent.models.types import ModelError
from stock_agent.models.wire import assemble_stream

from tests.support.fake_vllm import (
    FakeVLLM,
    chat_completion,
    error_body,
    load_fixture,
)
from tests.support.model_clients import FAST, MESSAGES, TOOLS, call_profile, openai_client


def test_openai_success_sends_a_chat_completions_body(vllm: FakeVLLM) -> None:
    """Real HTTP to the fake vLLM: the body is chat completions, never the Responses API."""
    vllm.enqueue(body=load_fixture("chat_reasoning.json"))
    client = openai_client(vllm, api_key="secret-token")
    result = client.chat(call_profile(max_tokens=256, temperature=0.3, tools=TOOLS), MESSAGES)
    assert result.content.startswith("SIM_STOCK closed at 187.42")
    assert result.reasoning and "SMA200" in result.reasoning
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (412, 96)
    [request] = vllm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer secret-token"
    body = request.body
    assert body["messages"] == MESSAGES
    assert body["model"] == "model"
    assert body["max_tokens"] == 256
    assert body["tools"] == TOOLS and body["tool_choice"] == "auto"
    assert not {"input", "max_output_tokens", "instructions"} & set(body)


def test_openai_tool_calls_are_parsed(vllm: FakeVLLM) -> None:
    """Real HTTP to the fake vLLM answering the tool-call fixture."""
    vllm.enqueue(body=load_fixture("chat_tool_call.json"))
    result = openai_client(vllm).chat(call_profile(max_tokens=64, tools=TOOLS), MESSAGES)
    assert result.content == ""
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("gather_stock_data", {"symbol": "BRK.B", "period": "1y"})
    ]


def test_openai_429_is_retried_honouring_retry_after(vllm: FakeVLLM) -> None:
    """Real HTTP: a 429 with Retry-After, then a good answer."""
    vllm.enqueue(status=429, body=error_body("busy", status=429), headers={"Retry-After": "0.2"})
    vllm.enqueue(body=chat_completion("after the wait"))
    started = time.monotonic()
    result = openai_client(vllm).chat(call_profile(max_tokens=64), MESSAGES)
    assert result.content == "after the wait"
    assert len(vllm.chat_requests) == 2
    assert time.monotonic() - started >= 0.2  # waited what the server asked, not the tiny backoff


def test_openai_500s_give_server_error_after_max_retries(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM keeps failing with its ErrorResponse."""
    vllm.enqueue(status=500, body=error_body("EngineCore died", status=500), times=5)
    with pytest.raises(ModelError) as info:
        openai_client(vllm, max_retries=2).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_server_error"
    assert "EngineCore died" in info.value.message
    assert len(vllm.chat_requests) == 3  # first try + 2 retries


def test_openai_4xx_is_not_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM's 400 (prompt too long) is the caller's problem; one request only."""
    vllm.enqueue(status=400, body=load_fixture("error_bad_request.json"))
    with pytest.raises(ModelError) as info:
        openai_client(vllm).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_client_error"
    assert "maximum context length" in info.value.message
    assert len(vllm.chat_requests) == 1


def test_openai_wrong_served_model_name_is_a_client_error(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM answers 404 NotFoundError for an unknown model name (sample defect 4)."""
    client = OpenAIModelClient(base_url=vllm.url, model="gpt-oss-20b", timeout_s=2, max_retries=2)
    with pytest.raises(ModelError) as info:
        client.chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_client_error"
    assert "does not exist" in info.value.message


def test_openai_timeout_is_model_timeout(vllm: FakeVLLM) -> None:
    """Real HTTP: the fake answers after 1 s, the client waits 0.3 s."""
    vllm.enqueue(body=chat_completion("too late"), delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        openai_client(vllm, timeout_s=0.3, max_retries=0).chat(
            call_profile(max_tokens=64), MESSAGES
        )
    assert info.value.code == "model_timeout"
    assert time.monotonic() - started < 0.9


def test_openai_deadline_bounds_all_retries(vllm: FakeVLLM) -> None:
    """Real HTTP: failures forever, many retries allowed, but a 0.6 s deadline."""
    vllm.enqueue(status=503, body=error_body("overloaded", status=503), times=50)
    client = openai_client(vllm, max_retries=10, backoff_base_s=0.2, backoff_cap_s=0.2)
    started = time.monotonic()
    with pytest.raises(ModelError) as info, request_control(RequestControl(deadline=started + 0.6)):
        client.chat(call_profile(max_tokens=64), MESSAGES)
    elapsed = time.monotonic() - started
    assert info.value.code in ("deadline_exceeded", "model_server_error")
    assert elapsed < 0.9
    assert len(vllm.chat_requests) < 11


def test_openai_dropped_connection_is_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: the server closes the socket without answering once."""
    vllm.enqueue(drop=True)
    vllm.enqueue(body=chat_completion("second time lucky"))
    assert (
        openai_client(vllm).chat(call_profile(max_tokens=64), MESSAGES).content
        == "second time lucky"
    )


def test_openai_malformed_body_is_bad_response_not_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: status 200 with bytes that are not JSON."""
    vllm.enqueue(body=b"<html>502 Bad Gateway</html>")
    with pytest.raises(ModelError) as info:
        openai_client(vllm).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_bad_response"
    assert "502 Bad Gateway" in info.value.message
    assert len(vllm.chat_requests) == 1


def test_openai_unreachable_server_is_model_unavailable() -> None:
    """A real closed port on loopback: connection refused, retried, then unavailable."""
    with FakeVLLM.start() as fake:
        url = fake.url
    client = OpenAIModelClient(base_url=url, model="model", timeout_s=1, max_retries=1, **FAST)
    with pytest.raises(ModelError) as info:
        client.chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_unavailable"


def test_openai_stream_assembles_the_same_answer(vllm: FakeVLLM) -> None:
    """Real HTTP SSE from the fake vLLM, the same body as the non-streamed call."""
    body = load_fixture("chat_reasoning.json")
    vllm.enqueue(body=body)
    vllm.enqueue(body=body)
    client = openai_client(vllm)
    plain = client.chat(call_profile(max_tokens=64), MESSAGES)
    streamed = assemble_stream(client.stream_chat(call_profile(max_tokens=64), MESSAGES))
    assert (streamed.content, streamed.reasoning, streamed.usage) == (
        plain.content,
        plain.reasoning,
        plain.usage,
    )
    assert vllm.chat_requests[1]["stream"] is True


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


PLAN_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "request_plan",
        "schema": {"type": "object", "properties": {"intent": {"enum": ["analyze"]}}},
        "strict": True,
    },
}


def test_openai_sends_the_response_format_vllm_enforces(vllm: FakeVLLM) -> None:
    vllm.enqueue(body=chat_completion('{"intent": "analyze"}'))
    profile = dataclasses.replace(call_profile(max_tokens=64), response_format=PLAN_FORMAT)
    result = openai_client(vllm).chat(profile, MESSAGES)
    assert result.content == '{"intent": "analyze"}'
    [request] = vllm.requests
    assert request.body["response_format"] == PLAN_FORMAT
    assert "tools" not in request.body


def test_a_response_format_vllm_would_refuse_is_refused_by_the_profile() -> None:
    for bad in (
        {"type": "xml"},
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"name": "x"}},
    ):
        with pytest.raises(ValueError, match="response_format"):
            dataclasses.replace(call_profile(max_tokens=64), response_format=bad)
