"""The SageMaker model client against a real loopback SageMaker Runtime.

The GPU endpoint cannot run here, so each test talks over real sockets to a
fake that speaks the real wire format: ``FakeVLLM`` answers vLLM's
OpenAI JSON (``tests/support/fake_vllm.py``), ``FakeSageMakerRuntime``
answers the SageMaker Runtime REST protocol a real boto3 client uses
(``tests/support/fake_sagemaker_runtime.py``). Backoffs are tiny so every
test stays well under two seconds.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from stock_agent.deadline import RequestControl, request_control
from stock_agent.models import sagemaker as sagemaker_module
from stock_agent.models.sagemaker import ColdStart, SageMakerModelClient
from stock_agent.models.types import ModelError
from stock_agent.models.wire import assemble_stream

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.fake_vllm import (
    FakeVLLM,
    chat_completion,
    error_body,
    load_fixture,
)
from tests.support.model_clients import MESSAGES, TOOLS, call_profile, sagemaker_client


def test_sagemaker_success_through_the_container(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3 → fake SageMaker runtime (REST wire format) → fake vLLM /invocations."""
    vllm.enqueue(body=load_fixture("chat_reasoning.json"))
    result = sagemaker_client(runtime).chat(call_profile(max_tokens=128, tools=TOOLS), MESSAGES)
    assert result.reasoning and result.content.startswith("SIM_STOCK")
    assert result.warnings == ()
    [call] = runtime.requests
    assert call.endpoint_name == "stock-agent-dev-endpoint"
    assert call.inference_component == "stock-agent-dev-gpt-oss-20b"
    assert call.headers["content-type"] == "application/json"
    assert call.headers["accept"] == "application/json"
    assert call.headers["authorization"].startswith("AWS4-HMAC-SHA256")  # really signed by botocore
    [sent] = vllm.chat_requests
    assert sent["messages"] == MESSAGES and sent["tool_choice"] == "auto"
    assert "input" not in sent and "max_output_tokens" not in sent
    assert vllm.requests[-1].path == "/invocations"


def test_sagemaker_throttling_is_retried(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3 against the fake runtime: ThrottlingException (HTTP 400), then success."""
    runtime.enqueue_error("ThrottlingException", message="Rate exceeded")
    result = sagemaker_client(runtime).chat(call_profile(max_tokens=64), MESSAGES)
    assert result.content
    assert len(runtime.requests) == 2


def test_sagemaker_model_error_500_is_retried(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3: the container answers 500 once; SageMaker wraps it in ModelError (424)."""
    vllm.enqueue(status=500, body=error_body("CUDA out of memory", status=500))
    vllm.enqueue(body=chat_completion("recovered"))
    result = sagemaker_client(runtime).chat(call_profile(max_tokens=64), MESSAGES)
    assert result.content == "recovered"
    assert len(runtime.requests) == 2


def test_sagemaker_model_error_400_is_not_retried(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3: the container's 400 arrives as ModelError with OriginalStatusCode 400."""
    vllm.enqueue(status=400, body=load_fixture("error_bad_request.json"))
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_client_error"
    assert "400" in info.value.message and "maximum context length" in info.value.message
    assert len(runtime.requests) == 1


@pytest.mark.parametrize(
    "code", ["ServiceUnavailable", "InternalFailure", "InternalDependencyException"]
)
def test_sagemaker_server_faults_are_retried_then_reported(
    runtime: FakeSageMakerRuntime, code: str
) -> None:
    """Real boto3 against the fake runtime: a server fault on every attempt."""
    runtime.enqueue_error(code, times=3)
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime, max_retries=2).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_server_error"
    assert code in info.value.message
    assert len(runtime.requests) == 3


def test_sagemaker_validation_error_is_not_retried(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: a ValidationError that is not about capacity (e.g. unknown component)."""
    runtime.enqueue_error("ValidationError", message="Inference Component nope not found")
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime).chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_client_error"
    assert len(runtime.requests) == 1


def test_sagemaker_scaled_to_zero_waits_then_answers_with_a_warning(
    runtime: FakeSageMakerRuntime,
) -> None:
    """Real boto3: SageMaker's "no capacity" ValidationError for 0.4 s, then a copy is up."""
    runtime.make_cold(0.4)
    started = time.monotonic()
    result = sagemaker_client(runtime, cold_start_wait_s=1.5).chat(
        call_profile(max_tokens=64), MESSAGES
    )
    assert time.monotonic() - started >= 0.4
    assert result.content
    [warning] = result.warnings
    assert warning.startswith("model endpoint was scaled to zero; waited ")
    assert len(runtime.requests) >= 2


def test_sagemaker_model_not_ready_counts_as_cold_start(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: ModelNotReadyException (HTTP 429) twice, then an answer."""
    runtime.enqueue_error("ModelNotReadyException", times=2)
    result = sagemaker_client(runtime).chat(call_profile(max_tokens=64), MESSAGES)
    assert result.warnings and "scaled to zero" in result.warnings[0]


def test_sagemaker_no_capacity_forever_gives_up_within_the_wait(
    runtime: FakeSageMakerRuntime,
) -> None:
    """Real boto3: the component never gets a copy; the client stops at cold_start_wait_s."""
    runtime.make_cold(float("inf"))
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime, cold_start_wait_s=0.5).chat(call_profile(max_tokens=64), MESSAGES)
    elapsed = time.monotonic() - started
    assert info.value.code == "model_no_capacity"
    assert "no capacity" in info.value.message.lower()
    assert 0.3 <= elapsed < 1.2


def test_sagemaker_cold_start_wait_is_cut_by_the_deadline(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: a long allowed wait, but the caller's deadline comes first.

    The boto3 client is built before the clock starts: loading botocore's
    service model takes seconds on a loaded 2-core machine, and that is not
    the wait under test. The bound is measured from the deadline: the call
    gives up at the last poll that fits before it, plus one invocation. The
    deadline leaves room for the first invocation itself on a loaded machine
    (with less, the call can end as deadline_exceeded before it ever polls).
    """
    runtime.make_cold(float("inf"))
    client = sagemaker_client(runtime, cold_start_wait_s=60)
    _ = client.client  # made now, not inside the timed call
    deadline = time.monotonic() + 1.5
    with pytest.raises(ModelError) as info, request_control(RequestControl(deadline=deadline)):
        client.chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_no_capacity"
    assert info.value.retry_after is not None  # the caller learns how long a start takes
    assert time.monotonic() - deadline < 0.5


def test_sagemaker_late_wake_up_past_the_deadline_is_still_no_capacity(
    runtime: FakeSageMakerRuntime,
) -> None:
    """Real boto3; every poll sleeps 0.3 s longer than asked (a loaded machine).

    Waking up past the deadline with the component still cold is the cold
    start's answer (model_no_capacity, with retry_after), not a lost deadline.
    """
    runtime.make_cold(float("inf"))

    def oversleep(seconds: float) -> None:
        time.sleep(seconds + 0.3)

    client = sagemaker_client(runtime, cold_start_wait_s=60, sleep=oversleep)
    _ = client.client
    deadline = time.monotonic() + 0.5
    with pytest.raises(ModelError) as info, request_control(RequestControl(deadline=deadline)):
        client.chat(call_profile(max_tokens=64), MESSAGES)
    assert info.value.code == "model_no_capacity"
    assert info.value.retry_after is not None
    assert time.monotonic() - deadline < 0.8


class _Clock:
    """A monotonic clock the test moves by hand (the module's ``time`` is swapped for it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize("cause", ["between_polls", "inside_the_attempt"])
def test_sagemaker_deadline_passing_during_a_cold_start_is_no_capacity(
    runtime: FakeSageMakerRuntime, cause: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline passes while the component has no copy: the answer is the cold start's.

    A loaded host can lose the deadline between the poll's check and the next
    attempt (the attempt then refuses to start), or inside the attempt's retry
    of the cold-start error; either way the caller learns model_no_capacity
    with retry_after, never a bare deadline_exceeded.
    """
    clock = _Clock()
    monkeypatch.setattr(sagemaker_module, "time", clock)
    client = sagemaker_client(runtime, cold_start_wait_s=60, sleep=lambda _s: None)
    deadline = clock.now + 5

    def late(cold: ColdStart | None) -> ModelError:
        clock.now = deadline + 0.1  # the host stalled past the deadline
        err = ModelError("deadline_exceeded", "the request deadline has passed")
        err.__cause__ = cold
        return err

    if cause == "between_polls":
        outcomes = iter([lambda: ColdStart("no copy yet"), lambda: late(None)])
    else:
        outcomes = iter([lambda: late(ColdStart("no copy yet"))])

    def call() -> None:
        raise next(outcomes)()

    with pytest.raises(ModelError) as info:
        client._with_cold_start(call, deadline=deadline)
    assert info.value.code == "model_no_capacity"
    assert info.value.retry_after is not None


def test_sagemaker_deadline_without_a_cold_start_stays_deadline_exceeded(
    runtime: FakeSageMakerRuntime,
) -> None:
    """The other side of the rule: a deadline lost with no cold start in sight is reported as is."""
    client = sagemaker_client(runtime, cold_start_wait_s=60)

    def call() -> None:
        raise ModelError("deadline_exceeded", "the request deadline has passed")

    with pytest.raises(ModelError) as info:
        client._with_cold_start(call, deadline=time.monotonic() + 30)
    assert info.value.code == "deadline_exceeded"


def test_sagemaker_read_timeout_is_retried_once(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3 with a 0.3 s read timeout; the fake answers after 0.8 s every time."""
    runtime.enqueue(chat_completion("slow"), delay_s=0.8)
    runtime.enqueue(chat_completion("slow"), delay_s=0.8)
    runtime.enqueue(chat_completion("never asked"))
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime, read_timeout=0.3, max_retries=3).chat(
            call_profile(max_tokens=64), MESSAGES
        )
    assert info.value.code == "model_timeout"
    assert len(runtime.requests) == 2  # one retry for timeouts, whatever max_retries says


def test_sagemaker_stream_decodes_event_stream_payload_parts(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3 event-stream decoding of the fake's binary frames (prelude + CRC32s)."""
    vllm.enqueue(body=load_fixture("chat_tool_call.json"))
    client = sagemaker_client(runtime)
    result = assemble_stream(client.stream_chat(call_profile(max_tokens=64, tools=TOOLS), MESSAGES))
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("gather_stock_data", {"symbol": "BRK.B", "period": "1y"})
    ]
    assert result.reasoning
    [call] = runtime.requests
    assert call.operation == "invocations-response-stream"
    assert call.inference_component == "stock-agent-dev-gpt-oss-20b"
    assert call.body["stream"] is True


def test_sagemaker_stream_error_event_is_a_server_error(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: a ModelStreamError exception event after two payload parts."""
    runtime.enqueue(chat_completion("a long answer " * 20), stream_error_after=2)
    with pytest.raises(ModelError) as info:
        assemble_stream(
            sagemaker_client(runtime).stream_chat(call_profile(max_tokens=64), MESSAGES)
        )
    assert info.value.code == "model_server_error"
    assert "ModelStreamError" in info.value.message


def test_sagemaker_lazy_client_has_our_timeouts_and_no_botocore_retries(
    runtime: FakeSageMakerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client boto3 builds on first use, then one real call through it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = SageMakerModelClient(
        endpoint_name="e",
        inference_component="ic",
        region="us-east-1",
        endpoint_url=runtime.url,
        timeout_s=7.5,
    )
    config = client.client.meta.config
    assert config.read_timeout == 7.5
    assert config.connect_timeout == 5
    assert config.retries["total_max_attempts"] == 1
    assert client.chat(call_profile(max_tokens=16), MESSAGES).content
    assert runtime.requests[0].inference_component == "ic"


def test_sagemaker_carries_the_response_format_to_invocations(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """The same body through /invocations: vLLM routes a body with messages to chat."""
    fmt = {"type": "json_schema", "json_schema": {"name": "request_plan", "schema": {}}}
    vllm.enqueue(body=chat_completion('{"intent": "analyze"}'))
    profile = dataclasses.replace(call_profile(max_tokens=64), response_format=fmt)
    result = sagemaker_client(runtime).chat(profile, MESSAGES)
    assert result.content == '{"intent": "analyze"}'
    [sent] = vllm.chat_requests
    assert sent["response_format"] == fmt and vllm.requests[-1].path == "/invocations"
