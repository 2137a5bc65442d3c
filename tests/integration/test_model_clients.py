"""The agent's two remote model clients against real loopback servers.

The GPU endpoint cannot run here, so each test talks over real sockets to a
fake that speaks the real wire format: ``FakeVLLM`` answers vLLM's
OpenAI JSON (``tests/support/fake_vllm.py``), ``FakeSageMakerRuntime``
answers the SageMaker Runtime REST protocol a real boto3 client uses
(``tests/support/fake_sagemaker_runtime.py``). Backoffs are tiny so every
test stays well under two seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `tests.support` lives at the repository root
    sys.path.insert(0, str(REPO))

from stock_agent.models.client import build_model_client  # noqa: E402
from stock_agent.models.openai import OpenAIModelClient, parse_retry_after  # noqa: E402
from stock_agent.models.sagemaker import SageMakerModelClient  # noqa: E402
from stock_agent.models.tracing import TracedModelClient  # noqa: E402
from stock_agent.models.types import ModelError  # noqa: E402
from stock_agent.models.wire import assemble_stream  # noqa: E402
from stock_agent.settings import AgentSettings  # noqa: E402

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime  # noqa: E402
from tests.support.fake_vllm import (  # noqa: E402
    FakeVLLM,
    chat_completion,
    error_body,
    load_fixture,
)

MESSAGES = [
    {"role": "system", "content": "You are a stock analyst."},
    {"role": "user", "content": "Summarise SIM_STOCK in one sentence."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "gather_stock_data",
            "description": "Price history and fundamentals of one ticker",
            "parameters": {
                "type": "object",
                "properties": {"symbol": {"type": "string"}},
                "required": ["symbol"],
            },
        },
    }
]
FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.02}


@pytest.fixture
def vllm() -> Iterator[FakeVLLM]:
    with FakeVLLM.start() as fake:
        yield fake


@pytest.fixture
def runtime(vllm: FakeVLLM) -> Iterator[FakeSageMakerRuntime]:
    with FakeSageMakerRuntime.start(backend=vllm.base_url) as fake:
        yield fake


def openai_client(vllm: FakeVLLM, **overrides: Any) -> OpenAIModelClient:
    settings: dict[str, Any] = {"timeout_s": 2.0, "max_retries": 2, **FAST, **overrides}
    return OpenAIModelClient(base_url=vllm.url, model="model", **settings)


def sagemaker_client(
    runtime: FakeSageMakerRuntime, *, read_timeout: float = 2.0, **overrides: Any
) -> SageMakerModelClient:
    settings: dict[str, Any] = {
        "max_retries": 2,
        "cold_start_wait_s": 1.0,
        "cold_start_poll_s": 0.05,
        "cold_start_poll_cap_s": 0.1,
        **FAST,
        **overrides,
    }
    return SageMakerModelClient(
        endpoint_name="stock-agent-dev-endpoint",
        inference_component="stock-agent-dev-gpt-oss-20b",
        client=runtime.client(read_timeout=read_timeout),
        **settings,
    )


# --------------------------------------------------------------------------- OpenAI client


def test_openai_success_sends_a_chat_completions_body(vllm: FakeVLLM) -> None:
    """Real HTTP to the fake vLLM: the body is chat completions, never the Responses API."""
    vllm.enqueue(body=load_fixture("chat_reasoning.json"))
    client = openai_client(vllm, api_key="secret-token")
    result = client.chat(MESSAGES, max_tokens=256, temperature=0.3, tools=TOOLS)
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
    result = openai_client(vllm).chat(MESSAGES, max_tokens=64, tools=TOOLS)
    assert result.content == ""
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("gather_stock_data", {"symbol": "BRK.B", "period": "1y"})
    ]


def test_openai_429_is_retried_honouring_retry_after(vllm: FakeVLLM) -> None:
    """Real HTTP: a 429 with Retry-After, then a good answer."""
    vllm.enqueue(status=429, body=error_body("busy", status=429), headers={"Retry-After": "0.2"})
    vllm.enqueue(body=chat_completion("after the wait"))
    started = time.monotonic()
    result = openai_client(vllm).chat(MESSAGES, max_tokens=64)
    assert result.content == "after the wait"
    assert len(vllm.chat_requests) == 2
    assert time.monotonic() - started >= 0.2  # waited what the server asked, not the tiny backoff


def test_openai_500s_give_server_error_after_max_retries(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM keeps failing with its ErrorResponse."""
    vllm.enqueue(status=500, body=error_body("EngineCore died", status=500), times=5)
    with pytest.raises(ModelError) as info:
        openai_client(vllm, max_retries=2).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_server_error"
    assert "EngineCore died" in info.value.message
    assert len(vllm.chat_requests) == 3  # first try + 2 retries


def test_openai_4xx_is_not_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM's 400 (prompt too long) is the caller's problem; one request only."""
    vllm.enqueue(status=400, body=load_fixture("error_bad_request.json"))
    with pytest.raises(ModelError) as info:
        openai_client(vllm).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_client_error"
    assert "maximum context length" in info.value.message
    assert len(vllm.chat_requests) == 1


def test_openai_wrong_served_model_name_is_a_client_error(vllm: FakeVLLM) -> None:
    """Real HTTP: vLLM answers 404 NotFoundError for an unknown model name (sample defect 4)."""
    client = OpenAIModelClient(base_url=vllm.url, model="gpt-oss-20b", timeout_s=2, max_retries=2)
    with pytest.raises(ModelError) as info:
        client.chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_client_error"
    assert "does not exist" in info.value.message


def test_openai_timeout_is_model_timeout(vllm: FakeVLLM) -> None:
    """Real HTTP: the fake answers after 1 s, the client waits 0.3 s."""
    vllm.enqueue(body=chat_completion("too late"), delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        openai_client(vllm, timeout_s=0.3, max_retries=0).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_timeout"
    assert time.monotonic() - started < 0.9


def test_openai_deadline_bounds_all_retries(vllm: FakeVLLM) -> None:
    """Real HTTP: failures forever, many retries allowed, but a 0.6 s deadline."""
    vllm.enqueue(status=503, body=error_body("overloaded", status=503), times=50)
    client = openai_client(vllm, max_retries=10, backoff_base_s=0.2, backoff_cap_s=0.2)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        client.chat(MESSAGES, max_tokens=64, deadline=started + 0.6)
    elapsed = time.monotonic() - started
    assert info.value.code in ("deadline_exceeded", "model_server_error")
    assert elapsed < 0.9
    assert len(vllm.chat_requests) < 11


def test_openai_dropped_connection_is_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: the server closes the socket without answering once."""
    vllm.enqueue(drop=True)
    vllm.enqueue(body=chat_completion("second time lucky"))
    assert openai_client(vllm).chat(MESSAGES, max_tokens=64).content == "second time lucky"


def test_openai_malformed_body_is_bad_response_not_retried(vllm: FakeVLLM) -> None:
    """Real HTTP: status 200 with bytes that are not JSON."""
    vllm.enqueue(body=b"<html>502 Bad Gateway</html>")
    with pytest.raises(ModelError) as info:
        openai_client(vllm).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_bad_response"
    assert "502 Bad Gateway" in info.value.message
    assert len(vllm.chat_requests) == 1


def test_openai_unreachable_server_is_model_unavailable() -> None:
    """A real closed port on loopback: connection refused, retried, then unavailable."""
    with FakeVLLM.start() as fake:
        url = fake.url
    client = OpenAIModelClient(base_url=url, model="model", timeout_s=1, max_retries=1, **FAST)
    with pytest.raises(ModelError) as info:
        client.chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_unavailable"


def test_openai_stream_assembles_the_same_answer(vllm: FakeVLLM) -> None:
    """Real HTTP SSE from the fake vLLM, the same body as the non-streamed call."""
    body = load_fixture("chat_reasoning.json")
    vllm.enqueue(body=body)
    vllm.enqueue(body=body)
    client = openai_client(vllm)
    plain = client.chat(MESSAGES, max_tokens=64)
    streamed = assemble_stream(client.stream_chat(MESSAGES, max_tokens=64))
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


# --------------------------------------------------------------------------- SageMaker client


def test_sagemaker_success_through_the_container(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3 → fake SageMaker runtime (REST wire format) → fake vLLM /invocations."""
    vllm.enqueue(body=load_fixture("chat_reasoning.json"))
    result = sagemaker_client(runtime).chat(MESSAGES, max_tokens=128, tools=TOOLS)
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
    result = sagemaker_client(runtime).chat(MESSAGES, max_tokens=64)
    assert result.content
    assert len(runtime.requests) == 2


def test_sagemaker_model_error_500_is_retried(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3: the container answers 500 once; SageMaker wraps it in ModelError (424)."""
    vllm.enqueue(status=500, body=error_body("CUDA out of memory", status=500))
    vllm.enqueue(body=chat_completion("recovered"))
    result = sagemaker_client(runtime).chat(MESSAGES, max_tokens=64)
    assert result.content == "recovered"
    assert len(runtime.requests) == 2


def test_sagemaker_model_error_400_is_not_retried(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3: the container's 400 arrives as ModelError with OriginalStatusCode 400."""
    vllm.enqueue(status=400, body=load_fixture("error_bad_request.json"))
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime).chat(MESSAGES, max_tokens=64)
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
        sagemaker_client(runtime, max_retries=2).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_server_error"
    assert code in info.value.message
    assert len(runtime.requests) == 3


def test_sagemaker_validation_error_is_not_retried(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: a ValidationError that is not about capacity (e.g. unknown component)."""
    runtime.enqueue_error("ValidationError", message="Inference Component nope not found")
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_client_error"
    assert len(runtime.requests) == 1


def test_sagemaker_scaled_to_zero_waits_then_answers_with_a_warning(
    runtime: FakeSageMakerRuntime,
) -> None:
    """Real boto3: SageMaker's "no capacity" ValidationError for 0.4 s, then a copy is up."""
    runtime.make_cold(0.4)
    started = time.monotonic()
    result = sagemaker_client(runtime, cold_start_wait_s=1.5).chat(MESSAGES, max_tokens=64)
    assert time.monotonic() - started >= 0.4
    assert result.content
    [warning] = result.warnings
    assert warning.startswith("model endpoint was scaled to zero; waited ")
    assert len(runtime.requests) >= 2


def test_sagemaker_model_not_ready_counts_as_cold_start(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3: ModelNotReadyException (HTTP 429) twice, then an answer."""
    runtime.enqueue_error("ModelNotReadyException", times=2)
    result = sagemaker_client(runtime).chat(MESSAGES, max_tokens=64)
    assert result.warnings and "scaled to zero" in result.warnings[0]


def test_sagemaker_no_capacity_forever_gives_up_within_the_wait(
    runtime: FakeSageMakerRuntime,
) -> None:
    """Real boto3: the component never gets a copy; the client stops at cold_start_wait_s."""
    runtime.make_cold(float("inf"))
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime, cold_start_wait_s=0.5).chat(MESSAGES, max_tokens=64)
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
    with pytest.raises(ModelError) as info:
        client.chat(MESSAGES, max_tokens=64, deadline=deadline)
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
    with pytest.raises(ModelError) as info:
        client.chat(MESSAGES, max_tokens=64, deadline=deadline)
    assert info.value.code == "model_no_capacity"
    assert info.value.retry_after is not None
    assert time.monotonic() - deadline < 0.8


def test_sagemaker_read_timeout_is_retried_once(runtime: FakeSageMakerRuntime) -> None:
    """Real boto3 with a 0.3 s read timeout; the fake answers after 0.8 s every time."""
    runtime.enqueue(chat_completion("slow"), delay_s=0.8)
    runtime.enqueue(chat_completion("slow"), delay_s=0.8)
    runtime.enqueue(chat_completion("never asked"))
    with pytest.raises(ModelError) as info:
        sagemaker_client(runtime, read_timeout=0.3, max_retries=3).chat(MESSAGES, max_tokens=64)
    assert info.value.code == "model_timeout"
    assert len(runtime.requests) == 2  # one retry for timeouts, whatever max_retries says


def test_sagemaker_stream_decodes_event_stream_payload_parts(
    vllm: FakeVLLM, runtime: FakeSageMakerRuntime
) -> None:
    """Real boto3 event-stream decoding of the fake's binary frames (prelude + CRC32s)."""
    vllm.enqueue(body=load_fixture("chat_tool_call.json"))
    client = sagemaker_client(runtime)
    result = assemble_stream(client.stream_chat(MESSAGES, max_tokens=64, tools=TOOLS))
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
        assemble_stream(sagemaker_client(runtime).stream_chat(MESSAGES, max_tokens=64))
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
    assert client.chat(MESSAGES, max_tokens=16).content
    assert runtime.requests[0].inference_component == "ic"


def test_settings_build_the_right_client() -> None:
    traced = build_model_client(
        AgentSettings(
            model_provider="sagemaker",
            sagemaker_endpoint_name="ep",
            sagemaker_inference_component="ic",
            aws_region="us-west-2",
            model_timeout_seconds=30,
            model_max_retries=1,
            model_cold_start_wait_seconds=90,
        )
    )
    # Remote clients come wrapped so that every call is a GenAI span.
    assert isinstance(traced, TracedModelClient) and traced.provider == "aws.sagemaker"
    sagemaker = traced.inner
    assert isinstance(sagemaker, SageMakerModelClient)
    assert (sagemaker.endpoint_name, sagemaker.inference_component, sagemaker.region) == (
        "ep",
        "ic",
        "us-west-2",
    )
    assert (sagemaker.timeout_s, sagemaker.cold_start_wait_s, sagemaker.policy.max_retries) == (
        30,
        90,
        1,
    )
    assert sagemaker.model == "model"
    traced = build_model_client(
        AgentSettings(model_provider="openai", openai_base_url="http://127.0.0.1:8000/v1/")
    )
    assert isinstance(traced, TracedModelClient) and traced.server_address == "127.0.0.1"
    openai = traced.inner
    assert isinstance(openai, OpenAIModelClient)
    assert openai.url == "http://127.0.0.1:8000/v1/chat/completions"


def test_bad_constructor_arguments_are_clear_errors() -> None:
    with pytest.raises(ModelError, match="base_url"):
        OpenAIModelClient(base_url="file:///etc/passwd", model="model")
    with pytest.raises(ModelError, match="inference_component"):
        SageMakerModelClient(endpoint_name="e", inference_component="")


# --------------------------------------------------------------------------- serving benchmark


def test_serving_benchmark_runs_against_the_fake_vllm(vllm: FakeVLLM, tmp_path: Path) -> None:
    """bench/serving.py over real HTTP SSE from the fake vLLM (10 ms between chunks)."""
    from bench import serving

    vllm.token_delay_s = 0.01
    vllm.default_response = lambda request: chat_completion(
        "steady growth with moderate risk and a stable dividend", reasoning="short outlook"
    )
    output = tmp_path / "serving.md"
    args = ["--url", vllm.url, "--concurrency", "1,2", "--requests", "2", "--max-tokens", "64"]
    code = serving.main([*args, "--output", str(output), "--no-warmup"])
    assert code == 0
    table = output.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["1", "2"]
    for row in rows[1:]:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        requests, errors, ttft_p50, itl_p50 = cells[1], cells[2], cells[3], cells[5]
        assert (requests, errors) == ("2", "0")
        assert float(ttft_p50) > 0
        assert float(itl_p50) >= 9  # the fake waits 10 ms between chunks
    assert "≈ 234 tokens/s single-stream" in table  # 864 GB/s ÷ 3.7 GB per token
    assert "Measured batch-1 decode" in table
    assert len(vllm.chat_requests) == 4
    assert all(r["stream"] is True for r in vllm.chat_requests)


def test_serving_benchmark_counts_tokens_from_usage(vllm: FakeVLLM) -> None:
    """One streamed request through the benchmark's measurement, usage chunk included."""
    from bench import serving

    body = chat_completion("one two three four", reasoning="a b", completion_tokens=11)
    vllm.enqueue(body=body, token_delay_s=0.005)
    client = openai_client(vllm)
    stats = serving.measure_one(
        lambda messages, max_tokens: client.stream_chat(messages, max_tokens=max_tokens),
        serving.messages_for(0),
        32,
    )
    assert stats.error is None
    assert stats.output_tokens == 11  # from usage, not from counting chunks
    assert stats.ttft_s is not None and len(stats.gaps_s) == 5  # 6 text chunks: 2 + 4
