"""Total time limits, messages without internals, reasoning effort and cold starts.

The agent is served on loopback (:mod:`tests.support.hardened_server`). Its
upstreams misbehave: a model server that trickles its answer a byte at a time
(:mod:`tests.support.hostile_http`), a data provider or report store that
hangs, FakeVLLM (vLLM's wire format) answering ``finish_reason: "length"``,
and FakeSageMakerRuntime (SageMaker Runtime's REST protocol, reached by a
real boto3 client) with an inference component scaled to zero.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stock_agent.deadline import DEADLINE_MARGIN_S, RequestControl, request_control
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.models.sagemaker import SageMakerModelClient, is_wake_probe
from stock_agent.models.types import ModelError
from stock_agent.models.wire import assemble_stream
from stock_agent.reports import storage
from stock_agent.settings import AgentSettings, ConfigError

from tests.integration.conftest import free_port
from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.fake_vllm import FakeVLLM, chat_completion
from tests.support.hardened_server import SlowProvider, post, serve
from tests.support.hostile_http import HostileServer, http_response, trickle
from tests.support.model_clients import call_profile

pytestmark = pytest.mark.slow

MESSAGES = [{"role": "user", "content": "hello"}]
# Scheduling noise on a loaded 2-core machine, on top of the stated margin.
SLACK_S = 3.0


def _sse_events(body: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[5:])
        for line in body.decode().splitlines()
        if line.startswith("data:") and line[5:].strip().startswith("{")
    ]


# ------------------------------------------------------------ total deadlines


def test_a_trickling_model_cannot_hold_the_request_past_its_deadline(tmp_path: Path) -> None:
    """A model server sending one byte every 0.2 s: the narrative gives up at the model's
    3 s and the answer, degraded, comes back within the 6 s deadline plus the margin."""
    answer = http_response(200, chat_completion("A fine narrative."))
    with (
        HostileServer.start(trickle(answer, every_s=0.2)) as model,
        serve(
            tmp_path,
            model_provider="openai",
            openai_base_url=model.url + "/v1",
            request_deadline_seconds=6,
            model_timeout_seconds=3,
            model_max_retries=0,
        ) as server,
    ):
        started = time.monotonic()
        reply = post(server, {"prompt": "Analyze SIM_STOCK"}, timeout=60)
        elapsed = time.monotonic() - started
    assert reply.status == 200, reply.body[:300]
    body = reply.json()
    assert elapsed < 6 + DEADLINE_MARGIN_S + SLACK_S
    assert body["degraded"] is True
    assert body["results"][0]["narrative"]["source"] == "deterministic"
    assert "model_timeout" in body["degraded_reason"]


def test_a_trickling_stream_is_cut_at_the_deadline() -> None:
    """Streaming reads are bounded in total too: SSE bytes trickle in, the stream stops at 1 s."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    chunk = b'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
    with HostileServer.start(trickle(head + chunk * 1000, every_s=0.005)) as model:
        client = OpenAIModelClient(base_url=model.url + "/v1", model="model", max_retries=0)
        started = time.monotonic()
        with (
            pytest.raises(ModelError) as info,
            request_control(RequestControl(deadline=started + 1.0)),
        ):
            assemble_stream(client.stream_chat(call_profile(max_tokens=16), MESSAGES))
    assert info.value.code == "model_timeout"
    assert time.monotonic() - started < 1.0 + SLACK_S


def test_a_huge_model_answer_is_refused_not_buffered() -> None:
    """A 400 MB declared body is refused from its headers, before any of it is read."""
    head = http_response(200, b"", content_length=400 * 1024 * 1024)
    with HostileServer.start(trickle(head, every_s=0.0)) as model:
        client = OpenAIModelClient(base_url=model.url + "/v1", model="model", max_retries=0)
        with pytest.raises(ModelError) as info, request_control(RequestControl.starting_now(10)):
            client.chat(call_profile(max_tokens=16), MESSAGES)
    assert info.value.code == "model_bad_response"


def test_a_hanging_data_provider_is_cut_at_the_deadline(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]]
) -> None:
    """A provider that takes 30 s per ticker, a 3 s deadline: 504 by the deadline."""
    with serve(tmp_path, provider=SlowProvider(30.0), request_deadline_seconds=3) as server:
        started = time.monotonic()
        reply = post(server, {"prompt": "Analyze KO"}, timeout=60)
        elapsed = time.monotonic() - started
    structured_error(reply, ("deadline_exceeded",))
    assert elapsed < 3 + SLACK_S


class HangingStore:
    """A report store whose put never comes back in time (an S3 that stopped answering)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> Any:
        time.sleep(self.seconds)
        raise storage.StorageError("report_upload_failed", "too late")


def test_a_hanging_store_is_cut_at_the_deadline_plus_the_margin(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]]
) -> None:
    with serve(tmp_path, store=HangingStore(30.0), request_deadline_seconds=2) as server:
        started = time.monotonic()
        reply = post(server, {"prompt": "Analyze KO"}, timeout=60)
        elapsed = time.monotonic() - started
    structured_error(reply, ("deadline_exceeded",))
    assert elapsed < 2 + DEADLINE_MARGIN_S + SLACK_S


# ------------------------------------------------------------ internals stay in the logs


def test_degraded_reason_does_not_name_the_model_host(tmp_path: Path) -> None:
    """The model URL (host and port) is in the log, not in ``degraded_reason``."""
    port = free_port()  # nothing listens there
    with serve(
        tmp_path,
        model_provider="openai",
        openai_base_url=f"http://127.0.0.1:{port}/v1",
        model_max_retries=0,
    ) as server:
        reply = post(server, {"prompt": "Analyze SIM_STOCK"})
    body = reply.json()
    assert body["degraded"] is True
    reason = body["degraded_reason"]
    assert "model_unavailable" in reason
    assert "127.0.0.1" not in reason and str(port) not in reason and "http" not in reason


def test_report_write_failed_does_not_name_paths_or_errno(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the reports folder should be")
    with serve(tmp_path, store=storage.LocalReportStore(root=blocker)) as server:
        reply = post(server, {"prompt": "Analyze KO"})
    error = structured_error(reply, ("report_write_failed",))
    text = reply.body.decode()
    assert str(tmp_path) not in text and "blocker" not in text
    assert "Errno" not in text and "Not a directory" not in text
    assert "KO" in error["message"]


# ------------------------------------------------------------ reasoning effort


def _lookup_then_narrative(vllm: FakeVLLM, *, lookup_finish: str | None = None) -> None:
    plan = {"intent": "analyze", "subjects": ["AAPL"], "aspects": [], "operator": None,
            "time_frame": None, "why": False}  # fmt: skip
    vllm.enqueue(body=chat_completion(json.dumps(plan), finish_reason=lookup_finish))


def test_each_call_sends_its_reasoning_effort(tmp_path: Path, vllm: FakeVLLM) -> None:
    """Lookup ``low``, narrative ``medium`` by default, in vLLM's request body."""
    _lookup_then_narrative(vllm)
    with serve(tmp_path, model_provider="openai", openai_base_url=vllm.url) as server:
        reply = post(server, {"prompt": "Analyze the iPhone maker please"})
    assert reply.status == 200, reply.body[:300]
    lookup, narrative = vllm.chat_requests[0], vllm.chat_requests[1]
    assert lookup["response_format"]["json_schema"]["name"] == "request_plan"
    assert (lookup["reasoning_effort"], lookup["max_tokens"]) == ("low", 256)
    assert narrative["reasoning_effort"] == "medium"
    assert "response_format" not in narrative


def test_reasoning_effort_is_configurable(tmp_path: Path, vllm: FakeVLLM) -> None:
    _lookup_then_narrative(vllm)
    with serve(
        tmp_path,
        model_provider="openai",
        openai_base_url=vllm.url,
        reasoning_effort_lookup="medium",
        reasoning_effort_narrative="high",
    ) as server:
        assert post(server, {"prompt": "Analyze the iPhone maker please"}).status == 200
    assert [r["reasoning_effort"] for r in vllm.chat_requests[:2]] == ["medium", "high"]


def test_comparison_and_answer_calls_send_the_narrative_effort(
    tmp_path: Path, vllm: FakeVLLM
) -> None:
    """Every written text (ticker narratives, the comparison, a follow-up answer) is a
    narrative call: each carries REASONING_EFFORT_NARRATIVE on the wire."""
    from stock_agent.prompts import (
        ANSWER_SYSTEM_PROMPT,
        COMPARISON_SYSTEM_PROMPT,
        NARRATIVE_SYSTEM_PROMPT,
    )

    session = {"session_id": "effort-" + "0" * 32}
    with serve(
        tmp_path,
        model_provider="openai",
        openai_base_url=vllm.url,
        reasoning_effort_narrative="high",
    ) as server:
        compared = post(server, {"prompt": "Compare AAPL and MSFT", **session})
        assert compared.status == 200, compared.body[:300]
        answered = post(server, {"prompt": "What is the beta of AAPL?", **session})
        assert answered.status == 200, answered.body[:300]
        assert answered.json()["intent"] == "question"
    by_prompt: dict[str, list[str]] = {}
    for request in vllm.chat_requests:
        system = request["messages"][0]["content"]
        by_prompt.setdefault(system, []).append(request["reasoning_effort"])
    assert by_prompt[NARRATIVE_SYSTEM_PROMPT] == ["high", "high"]
    assert by_prompt[COMPARISON_SYSTEM_PROMPT] == ["high"]
    assert by_prompt[ANSWER_SYSTEM_PROMPT] == ["high"]


@pytest.mark.parametrize("name", ["REASONING_EFFORT_LOOKUP", "REASONING_EFFORT_NARRATIVE"])
@pytest.mark.parametrize("value", ["extreme", "none", "1"])
def test_a_bad_reasoning_effort_is_a_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        AgentSettings.from_env({name: value})
    assert name in str(info.value) and "low | medium | high" in str(info.value)


@pytest.mark.parametrize("value", ["LOW", "low", "medium", "high"])
def test_each_allowed_reasoning_effort_is_accepted(value: str) -> None:
    assert AgentSettings.from_env({"REASONING_EFFORT_LOOKUP": value}).reasoning_effort_lookup == (
        value.lower()
    )


def test_a_lookup_cut_off_at_the_token_limit_is_a_clear_no_ticker(
    tmp_path: Path, vllm: FakeVLLM, structured_error: Callable[..., dict[str, Any]]
) -> None:
    """gpt-oss spent the 256 tokens reasoning: no plan, ``finish_reason: length``."""
    vllm.enqueue(body=chat_completion("", reasoning="thinking " * 200, finish_reason="length"))
    with serve(tmp_path, model_provider="openai", openai_base_url=vllm.url) as server:
        reply = post(server, {"prompt": "Analyze the iPhone maker please"})
    error = structured_error(reply, ("no_ticker",))
    assert "finish_reason=length" in error["message"]


def test_a_narrative_cut_off_twice_falls_back_with_a_warning(
    tmp_path: Path, vllm: FakeVLLM
) -> None:
    vllm.enqueue(body=chat_completion("SIM_STOCK closes at", finish_reason="length"), times=2)
    with serve(tmp_path, model_provider="openai", openai_base_url=vllm.url) as server:
        reply = post(server, {"prompt": "Analyze SIM_STOCK"})
    assert reply.status == 200
    body = reply.json()
    assert body["results"][0]["narrative"]["source"] == "deterministic"
    assert any("cut off at the token limit" in w for w in body["warnings"])
    assert len(vllm.chat_requests) == 2


def test_the_sagemaker_body_carries_the_reasoning_effort(vllm: FakeVLLM) -> None:
    with FakeSageMakerRuntime.start(backend=vllm.base_url) as runtime:
        client = SageMakerModelClient(
            endpoint_name="e", inference_component="ic", client=runtime.client()
        )
        client.chat(call_profile(max_tokens=32, reasoning_effort="low"), MESSAGES)
        [call] = runtime.requests
    assert call.body["reasoning_effort"] == "low"


# ------------------------------------------------------------ cold start


@contextlib.contextmanager
def cold_sagemaker(tmp_path: Path, vllm: FakeVLLM, **settings: Any) -> Iterator[Any]:
    """The agent on a SageMaker component scaled to zero (it never comes up in the test)."""
    with FakeSageMakerRuntime.start(backend=vllm.base_url) as runtime:
        runtime.make_cold(float("inf"))
        model = SageMakerModelClient(
            endpoint_name="e",
            inference_component="ic",
            client=runtime.client(),
            cold_start_wait_s=1.0,
            cold_start_poll_s=0.2,
            cold_start_poll_cap_s=0.3,
            max_retries=0,
        )
        with serve(
            tmp_path,
            model=model,
            model_provider="sagemaker",
            sagemaker_endpoint_name="e",
            sagemaker_inference_component="ic",
            **settings,
        ) as server:
            yield server, runtime


def test_a_cold_model_is_woken_at_the_first_node_and_the_stream_says_so(
    tmp_path: Path, vllm: FakeVLLM
) -> None:
    """The wake-up probe goes out (from the first node, in the background, so it races the
    narrative's own call); the stream reports "starting, about N minutes"; the wait is
    bounded and the answer degrades to the deterministic narrative."""
    with cold_sagemaker(tmp_path, vllm) as (server, runtime):
        started = time.monotonic()
        reply = post(server, {"prompt": "Analyze SIM_STOCK", "stream": True}, timeout=60)
        elapsed = time.monotonic() - started
        bodies = [r.body for r in runtime.requests]
    events = _sse_events(reply.body)
    assert sum(is_wake_probe(b) for b in bodies) == 1
    starting = [e for e in events if e.get("event") == "model_status"]
    assert starting and "about" in starting[0]["message"] and "minutes" in starting[0]["message"]
    result = events[-1]
    assert result["event"] == "result" and result["degraded"] is True
    assert result["results"][0]["narrative"]["source"] == "deterministic"
    assert result["model_status"]["status"] == "starting"
    assert elapsed < 30


def test_a_cold_model_answers_deterministically_and_says_when_to_ask_again(
    tmp_path: Path, vllm: FakeVLLM
) -> None:
    """The first request after idle cannot wait minutes for the model: it gets the
    deterministic narrative at once, and the response says the model was starting and
    when to ask again, as a field a program reads and as a warning a person reads."""
    with cold_sagemaker(tmp_path, vllm) as (server, _runtime):
        asked = datetime.now(UTC)
        reply = post(server, {"prompt": "Analyze SIM_STOCK"}, timeout=60)
    assert reply.status == 200, reply.body[:300]
    body = reply.json()
    assert body["results"][0]["narrative"]["source"] == "deterministic"
    assert "model_no_capacity" in body["degraded_reason"]
    status = body["model_status"]
    assert status["status"] == "starting" and status["retry_after_s"] >= 60
    retry_at = datetime.fromisoformat(status["retry_at"])
    assert abs((retry_at - asked).total_seconds() - status["retry_after_s"]) < 30
    assert status["message"] in body["warnings"]
    assert "ask again in about" in status["message"] and "--wait-for-model" in status["message"]


def test_a_company_name_while_the_model_starts_is_503_with_retry_after(
    tmp_path: Path, vllm: FakeVLLM, structured_error: Callable[..., dict[str, Any]]
) -> None:
    """Only the model can map "the iPhone maker" to a ticker, and it is starting: a 503."""
    with cold_sagemaker(tmp_path, vllm) as (server, _runtime):
        started = time.monotonic()
        reply = post(server, {"prompt": "Analyze the iPhone maker please"})
        elapsed = time.monotonic() - started
    error = structured_error(reply, ("model_starting",))
    assert error["retry_after"] >= 60
    assert reply.headers["retry-after"] == str(error["retry_after"])
    assert elapsed < 10  # a prompt answer, not the cold-start wait


def test_a_warm_model_gets_no_wake_up_probe_on_later_requests(
    tmp_path: Path, vllm: FakeVLLM
) -> None:
    """One probe per process at most while the model keeps answering."""
    with FakeSageMakerRuntime.start(backend=vllm.base_url) as runtime:
        model = SageMakerModelClient(
            endpoint_name="e", inference_component="ic", client=runtime.client()
        )
        with serve(
            tmp_path,
            model=model,
            model_provider="sagemaker",
            sagemaker_endpoint_name="e",
            sagemaker_inference_component="ic",
        ) as server:
            for _ in range(3):
                reply = post(server, {"prompt": "Analyze SIM_STOCK"})
                assert reply.status == 200 and reply.json()["model_status"] is None
                time.sleep(0.2)  # let the background probe land before the next request
            probes = [r for r in runtime.requests if is_wake_probe(r.body)]
    assert len(probes) == 1
