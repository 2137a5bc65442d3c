"""The chat-completions wire format: building bodies, parsing vLLM's answers and streams.

The bodies parsed here are the fixtures in ``tests/fixtures/vllm``, written
from vLLM's protocol definitions (each says which version in ``_source``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from stock_agent.models.types import CallProfile, ModelError
from stock_agent.models.wire import (
    RetryPolicy,
    assemble_stream,
    build_chat_body,
    call_with_retries,
    iter_sse_lines,
    parse_chat_completion,
    parse_sse_stream,
)

from tests.support.paths import FIXTURES

VLLM_FIXTURES = FIXTURES / "vllm"


def fixture_bytes(name: str) -> bytes:
    return (VLLM_FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


# --------------------------------------------------------------------------- request bodies


def _profile(**fields: Any) -> CallProfile:
    return CallProfile(**{"purpose": "test", "system_prompt": None, "max_tokens": 64, **fields})


def test_body_is_chat_completions_without_responses_api_fields() -> None:
    body = build_chat_body(
        _profile(temperature=0.1), [{"role": "user", "content": "hi"}], model="model"
    )
    assert body == {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 64,
        "temperature": 0.1,
        "model": "model",
    }
    for responses_key in ("input", "max_output_tokens", "instructions", "tool_choice", "tools"):
        assert responses_key not in body


def test_the_profile_brings_the_system_prompt_and_may_name_the_served_model() -> None:
    profile = _profile(system_prompt="Rules.", model="stock-narrator-lora")
    body = build_chat_body(profile, [{"role": "user", "content": "hi"}], model="model")
    assert body["messages"] == [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "hi"},
    ]
    assert body["model"] == "stock-narrator-lora"  # the profile's name wins over the client's


def test_tools_come_with_auto_tool_choice_and_stream_asks_for_usage() -> None:
    tools = [{"type": "function", "function": {"name": "gather_stock_data", "parameters": {}}}]
    body = build_chat_body(
        _profile(max_tokens=16, temperature=0.0, tools=tuple(tools)),
        [{"role": "user", "content": "x"}],
        model=None,
        stream=True,
    )
    assert body["tools"] == tools
    assert body["tool_choice"] == "auto"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "model" not in body


@pytest.mark.parametrize(
    ("turns", "fragment"),
    [
        ([], "at least one turn"),
        ([{"content": "no role"}], "turns[0]"),
        (["text"], "turns[0]"),
        ("text", "list of dicts"),
    ],
)
def test_bad_turns_are_client_errors(turns: Any, fragment: str) -> None:
    with pytest.raises(ModelError) as info:
        build_chat_body(_profile(), turns, model="model")
    assert info.value.code == "model_client_error"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"max_tokens": 0}, "max_tokens must be >= 1, got 0"),
        ({"reasoning_effort": "max"}, "reasoning_effort must be one of low, medium, high"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 2}, "retry_prompt"),  # a second attempt needs the words to ask with
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="call profile 'test'") as info:
        _profile(**fields)
    assert fragment in str(info.value)


def test_the_smallest_budget_and_a_second_attempt_with_its_words_are_accepted() -> None:
    assert _profile(max_tokens=1).max_tokens == 1
    assert _profile(max_attempts=2, retry_prompt="Again: {reason}").max_attempts == 2


# --------------------------------------------------------------------------- fixtures


def test_plain_answer_reads_reasoning_and_usage() -> None:
    raw = fixture_bytes("chat_reasoning.json")
    expected = json.loads(raw)
    result = parse_chat_completion(raw)
    message = expected["choices"][0]["message"]
    assert result.content == message["content"]
    assert result.reasoning == message["reasoning"]
    assert result.tool_calls == ()
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == expected["usage"]["prompt_tokens"]
    assert result.usage.completion_tokens == expected["usage"]["completion_tokens"]
    assert result.model == "model"


def test_v0_13_reasoning_content_is_read() -> None:
    expected = fixture_json("chat_reasoning_content_v0_13.json")
    result = parse_chat_completion(fixture_bytes("chat_reasoning_content_v0_13.json").decode())
    assert result.reasoning == expected["choices"][0]["message"]["reasoning_content"]


def test_tool_call_arguments_are_parsed_and_null_content_is_fine() -> None:
    expected = fixture_json("chat_tool_call.json")
    result = parse_chat_completion(expected)
    call = expected["choices"][0]["message"]["tool_calls"][0]
    assert result.content == ""
    assert result.finish_reason == "tool_calls"
    assert len(result.tool_calls) == 1
    assert result.tool_calls[0].id == call["id"]
    assert result.tool_calls[0].name == call["function"]["name"]
    assert result.tool_calls[0].arguments == json.loads(call["function"]["arguments"])
    assert result.reasoning


def test_error_body_raises_with_vllm_message_and_status_code() -> None:
    body = fixture_json("error_bad_request.json")
    with pytest.raises(ModelError) as info:
        parse_chat_completion(json.dumps(body))
    assert info.value.code == "model_client_error"  # code 400: our request was wrong
    assert not info.value.retryable
    assert body["error"]["message"] in info.value.message
    assert "BadRequestError" in info.value.message


def test_flat_legacy_error_body_maps_503_to_retryable_server_error() -> None:
    body = fixture_json("error_flat_legacy.json")
    with pytest.raises(ModelError) as info:
        parse_chat_completion(body)
    assert info.value.code == "model_server_error"
    assert info.value.retryable
    assert body["message"] in info.value.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b"{}", "no choices"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"index": 0}]}', "no message"),
        (b'{"choices": [{"message": "text"}]}', "no message"),
        (b'{"choices": [{"message": {"content": 42}}]}', "content is not a string"),
        (b'{"choices": [{"message": {"content": "x", "tool_calls": {}}}]}', "not a list"),
        (b'{"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}', "no function name"),
        (b'{"choices": [{"message": {"content": "x"}}], "usage": []}', "usage is not an object"),
        (
            b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "7"}}',
            "usage.prompt_tokens",
        ),
        (b'{"choices": [{"message": {"content": "x"}, "finish_reason": 3}]}', "finish_reason"),
        (b'{"output": [{"type": "message"}]}', "no choices"),  # a Responses-API body
    ],
)
def test_malformed_bodies_are_bad_responses_with_an_excerpt(body: bytes, fragment: str) -> None:
    with pytest.raises(ModelError) as info:
        parse_chat_completion(body)
    assert info.value.code == "model_bad_response"
    assert fragment in info.value.message
    assert len(info.value.message) < 400  # an excerpt, never the whole body


def test_unsupported_body_type_is_a_bad_response() -> None:
    with pytest.raises(ModelError) as info:
        parse_chat_completion(12345)  # type: ignore[arg-type]
    assert info.value.code == "model_bad_response"


@pytest.mark.parametrize("arguments", ['{"symbol": "MSFT"', "[1, 2]", "42"])
def test_tool_arguments_that_are_not_a_json_object_are_bad_responses(arguments: str) -> None:
    body = fixture_json("chat_tool_call.json")
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments
    with pytest.raises(ModelError) as info:
        parse_chat_completion(body)
    assert info.value.code == "model_bad_response"
    assert "gather_stock_data" in info.value.message


def test_empty_tool_arguments_mean_no_arguments() -> None:
    body = fixture_json("chat_tool_call.json")
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = ""
    assert parse_chat_completion(body).tool_calls[0].arguments == {}


# --------------------------------------------------------------------------- streams


def _expected_stream_text(name: str) -> tuple[str, str, dict[str, Any]]:
    """Content, reasoning and usage spelled out by the fixture's data lines."""
    content, reasoning, usage = [], [], {}
    for line in fixture_bytes(name).decode().splitlines():
        if not line.startswith("data: {"):
            continue
        chunk = json.loads(line[len("data: ") :])
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning") or delta.get("reasoning_content") or "")
    return "".join(content), "".join(reasoning), usage


@pytest.mark.parametrize("name", ["stream_answer.sse", "stream_answer_reasoning_content.sse"])
def test_streamed_answer_assembles_like_the_plain_answer(name: str) -> None:
    content, reasoning, usage = _expected_stream_text(name)
    deltas = list(parse_sse_stream(fixture_bytes(name).decode().splitlines()))
    assert deltas[-1].done
    assert sum(1 for d in deltas if d.reasoning) >= 2  # reasoning arrives piece by piece
    result = assemble_stream(deltas)
    assert result.content == content and content
    assert result.reasoning == reasoning and reasoning
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == usage["prompt_tokens"]
    assert result.usage.completion_tokens == usage["completion_tokens"]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
def test_stream_cut_anywhere_parses_the_same(chunk_size: int) -> None:
    raw = fixture_bytes("stream_answer.sse")
    chunks = [raw[i : i + chunk_size] for i in range(0, len(raw), chunk_size)]
    whole = assemble_stream(parse_sse_stream(raw.decode().splitlines()))
    assert assemble_stream(parse_sse_stream(iter_sse_lines(chunks))) == whole


def test_streamed_tool_call_arguments_are_joined_and_parsed() -> None:
    result = assemble_stream(parse_sse_stream(fixture_bytes("stream_tool_call.sse").splitlines()))
    assert result.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("gather_stock_data", {"symbol": "MSFT"})
    ]
    assert result.tool_calls[0].id.startswith("chatcmpl-tool-")


def test_stream_error_chunk_raises_the_servers_error() -> None:
    error = fixture_json("error_bad_request.json")
    lines = [
        fixture_bytes("stream_answer.sse").decode().splitlines()[2],
        "",
        "data: " + json.dumps({"error": error["error"]}),
        "",
    ]
    with pytest.raises(ModelError) as info:
        list(parse_sse_stream(lines))
    assert info.value.code == "model_client_error"
    assert error["error"]["message"] in info.value.message


def test_stream_without_done_is_a_bad_response() -> None:
    lines = [
        ln for ln in fixture_bytes("stream_answer.sse").decode().splitlines() if "[DONE]" not in ln
    ]
    with pytest.raises(ModelError) as info:
        assemble_stream(parse_sse_stream(lines))
    assert info.value.code == "model_bad_response"
    assert "[DONE]" in info.value.message


@pytest.mark.parametrize(
    "line",
    ["data: {not json", 'data: {"choices": [{"index": 0}]}', 'data: {"choices": "x"}', "data: 7"],
)
def test_malformed_stream_chunk_is_a_bad_response(line: str) -> None:
    with pytest.raises(ModelError) as info:
        list(parse_sse_stream([line]))
    assert info.value.code == "model_bad_response"


# --------------------------------------------------------------------------- retries


class _Clock:
    """Records sleeps instead of sleeping, so backoff arithmetic is checked exactly."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _failing(errors: list[ModelError], result: str = "ok") -> Any:
    calls: list[float | None] = []

    def attempt(remaining: float | None) -> str:
        calls.append(remaining)
        if errors:
            raise errors.pop(0)
        return result

    attempt.calls = calls  # type: ignore[attr-defined]
    return attempt


def test_retryable_errors_are_retried_with_capped_full_jitter() -> None:
    clock = _Clock()
    errors = [ModelError("model_server_error", "boom", retryable=True) for _ in range(3)]
    policy = RetryPolicy(max_retries=3, backoff_base_s=1.0, backoff_cap_s=3.0)
    result = call_with_retries(
        _failing(errors), policy=policy, deadline=None, what="t", sleep=clock.sleep, rng=lambda: 1.0
    )
    assert result == "ok"
    assert clock.sleeps == [1.0, 2.0, 3.0]  # base * 2**n, capped at 3, times rng()=1


def test_retries_stop_at_max_retries_with_the_last_error() -> None:
    clock = _Clock()
    errors = [ModelError("model_throttled", f"busy {i}", retryable=True) for i in range(5)]
    with pytest.raises(ModelError) as info:
        call_with_retries(
            _failing(errors),
            policy=RetryPolicy(max_retries=2),
            deadline=None,
            what="t",
            sleep=clock.sleep,
            rng=lambda: 0.0,
        )
    assert (info.value.code, info.value.message) == ("model_throttled", "busy 2")
    assert len(clock.sleeps) == 2


def test_non_retryable_errors_are_raised_at_once() -> None:
    clock = _Clock()
    attempt = _failing([ModelError("model_client_error", "bad request")])
    with pytest.raises(ModelError):
        call_with_retries(attempt, policy=RetryPolicy(), deadline=None, what="t", sleep=clock.sleep)
    assert clock.sleeps == [] and len(attempt.calls) == 1


def test_retry_that_would_cross_the_deadline_is_not_attempted() -> None:

    clock = _Clock()
    errors = [ModelError("model_server_error", "boom", retryable=True)]
    with pytest.raises(ModelError) as info:
        call_with_retries(
            _failing(errors),
            policy=RetryPolicy(backoff_base_s=10.0, backoff_cap_s=10.0),
            deadline=time.monotonic() + 1.0,
            what="t",
            sleep=clock.sleep,
            rng=lambda: 1.0,
        )
    assert info.value.code == "deadline_exceeded"
    assert "model_server_error" in info.value.message
    assert clock.sleeps == []


def test_passed_deadline_means_no_attempt() -> None:

    attempt = _failing([])
    with pytest.raises(ModelError) as info:
        call_with_retries(attempt, policy=RetryPolicy(), deadline=time.monotonic() - 1, what="t")
    assert info.value.code == "deadline_exceeded"
    assert attempt.calls == []


MESSAGES = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_reasoning_effort_goes_into_the_body(effort: str) -> None:
    body = build_chat_body(_profile(max_tokens=8, reasoning_effort=effort), MESSAGES, model="m")
    assert body["reasoning_effort"] == effort


def test_no_reasoning_effort_means_no_field() -> None:
    assert "reasoning_effort" not in build_chat_body(_profile(max_tokens=8), MESSAGES, model="m")
