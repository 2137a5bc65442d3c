"""``--wait-for-model``: the model's state read, woken once, waited for within the bound.

SageMaker, SageMaker Runtime and CloudFormation cannot be reached here; the
clients are real boto3 clients under botocore's Stubber, which checks every
request's parameters and every scripted answer against botocore's service
models (``DescribeInferenceComponent``, ``InvokeEndpoint``, ``DescribeStacks``).
Time is a fake clock that the waits advance, so a 15-minute wait takes none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from stock_agent.cli import main
from stock_agent.client import model_wait
from stock_agent.client.model_wait import (
    ModelTarget,
    model_from_stack,
    model_stack_for,
    wait_for_model,
)
from stock_agent.client.remote import RemoteError
from stock_agent.models.sagemaker import WAKE_PROBE_TEXT

TARGET = ModelTarget("gptoss-agent-dev-endpoint", "gptoss-agent-dev-ic")
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _component(status: str, current: int, desired: int, **extra: Any) -> dict[str, Any]:
    return {
        "InferenceComponentName": TARGET.inference_component,
        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/"
        + TARGET.inference_component,
        "EndpointName": TARGET.endpoint_name,
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + TARGET.endpoint_name,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        "InferenceComponentStatus": status,
        "RuntimeConfig": {"DesiredCopyCount": desired, "CurrentCopyCount": current},
        **extra,
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def aws() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    sagemaker, runtime = _client("sagemaker"), _client("sagemaker-runtime")
    with Stubber(sagemaker) as describes, Stubber(runtime) as invokes:
        yield sagemaker, describes, runtime, invokes
        describes.assert_no_pending_responses()
        invokes.assert_no_pending_responses()


def _describes(stub: Stubber, *states: dict[str, Any]) -> None:
    for state in states:
        stub.add_response(
            "describe_inference_component",
            state,
            {"InferenceComponentName": TARGET.inference_component},
        )


def _wait(aws: Any, clock: Clock, timeout_s: float = 900.0) -> tuple[float, list[str]]:
    sagemaker, _, runtime, _ = aws
    said: list[str] = []
    waited = wait_for_model(
        sagemaker=sagemaker,
        runtime=runtime,
        target=TARGET,
        timeout_s=timeout_s,
        say=said.append,
        poll_s=20.0,
        clock=clock,
        sleep=clock.sleep,
    )
    return waited, said


def test_a_model_in_service_is_not_waited_for(aws: Any) -> None:
    _describes(aws[1], _component("InService", 1, 1))
    clock = Clock()
    assert _wait(aws, clock) == (0.0, [])
    assert clock.sleeps == []


def test_a_model_at_zero_is_woken_once_and_waited_for(aws: Any) -> None:
    _describes(
        aws[1],
        _component("InService", 0, 0),  # scaled to zero: nothing starting
        _component("Updating", 0, 1),  # the wake-up's refusal raised the alarm: scaling out
        _component("Updating", 0, 1),
        _component("InService", 1, 1),
    )
    aws[3].add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message="Inference Component has no capacity to process this request.",
        http_status_code=400,
        expected_params={
            "EndpointName": TARGET.endpoint_name,
            "InferenceComponentName": TARGET.inference_component,
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": ANY,
        },
    )
    clock = Clock()
    waited, said = _wait(aws, clock)
    assert waited == 60.0 and clock.sleeps == [20.0, 20.0, 20.0]
    assert "scaled to zero; asking it to start" in said[0]
    assert said[-1] == "the model is ready after 60 s (InService, 1 of 1 copies running)"


def test_the_wake_up_is_the_agents_own_probe() -> None:
    runtime = _client("sagemaker-runtime")
    sent: list[dict[str, Any]] = []
    runtime.meta.events.register(
        "before-parameter-build.sagemaker-runtime.InvokeEndpoint",
        lambda params, **_: sent.append(json.loads(params["Body"])),
    )
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", {"Body": b"{}"}, None)
        model_wait.wake(runtime, TARGET)
    [body] = sent
    assert body["messages"] == [{"role": "user", "content": WAKE_PROBE_TEXT}]
    assert body["max_tokens"] == 1 and "model" not in body  # the served default answers


@pytest.mark.parametrize(("ready_at", "waits"), [(60.0, True), (80.0, False)])
def test_the_wait_ends_at_its_bound(aws: Any, ready_at: float, waits: bool) -> None:
    """With 60 s: a copy in service at the 60th second is used; one at the 80th is not."""
    starting = _component("Updating", 0, 1)
    polls = int(ready_at // 20)
    if waits:
        _describes(aws[1], *([starting] * polls), _component("InService", 1, 1))
    else:
        _describes(aws[1], *([starting] * 4))  # 0, 20, 40, 60 s: then the bound
    clock = Clock()
    if waits:
        assert _wait(aws, clock, timeout_s=60.0)[0] == 60.0
        return
    with pytest.raises(RemoteError) as info:
        _wait(aws, clock, timeout_s=60.0)
    assert clock.now == 60.0 and sum(clock.sleeps) == 60.0
    assert "did not start within 60 s (Updating, 0 of 1 copies running)" in info.value.message
    assert "without --wait-for-model" in info.value.message


@pytest.mark.parametrize("status", ["Failed", "Deleting"])
def test_a_failed_component_ends_the_wait_at_once(aws: Any, status: str) -> None:
    _describes(aws[1], _component(status, 0, 1, FailureReason="image pull failed"))
    clock = Clock()
    with pytest.raises(RemoteError, match=f"is {status}"):
        _wait(aws, clock)
    assert clock.sleeps == []


def test_a_refused_wake_up_says_why(aws: Any) -> None:
    _describes(aws[1], _component("InService", 0, 0))
    aws[3].add_client_error(
        "invoke_endpoint", service_error_code="AccessDeniedException", http_status_code=403
    )
    with pytest.raises(RemoteError, match="AccessDeniedException"):
        _wait(aws, Clock())


def test_an_unreadable_component_says_so(aws: Any) -> None:
    aws[1].add_client_error(
        "describe_inference_component", service_error_code="ValidationException"
    )
    with pytest.raises(RemoteError, match="cannot read inference component gptoss-agent-dev-ic"):
        _wait(aws, Clock())


def test_the_names_come_from_the_model_stack() -> None:
    cfn = _client("cloudformation")
    outputs = [
        {"OutputKey": "EndpointName", "OutputValue": TARGET.endpoint_name},
        {"OutputKey": "InferenceComponentName", "OutputValue": TARGET.inference_component},
    ]
    stack = {"StackName": "s", "CreationTime": WHEN, "StackStatus": "CREATE_COMPLETE"}
    with Stubber(cfn) as stub:
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{**stack, "Outputs": outputs}]},
            {"StackName": "GptOssAgent-prod-Model"},
        )
        stub.add_response("describe_stacks", {"Stacks": [{**stack, "Outputs": outputs[:1]}]})
        assert model_from_stack(cfn, "GptOssAgent-prod-Model") == TARGET
        with pytest.raises(RemoteError, match="has no InferenceComponentName output"):
            model_from_stack(cfn, "GptOssAgent-prod-Model")
    assert model_stack_for("GptOssAgent-prod-Runtime") == "GptOssAgent-prod-Model"
    assert model_stack_for(None) == model_stack_for("custom") == "GptOssAgent-dev-Model"


def test_the_cli_waits_before_asking_and_refuses_a_local_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, Any]] = []

    def waiting(**kwargs: Any) -> float:
        calls.append(kwargs)
        raise RemoteError("the model did not start within 30 s (Updating, 0 of 1 copies)")

    monkeypatch.setattr(model_wait, "wait_for_deployed_model", waiting)
    code = main(["invoke", "Analyze KO", "--stack-name", "GptOssAgent-prod-Runtime",
                 "--wait-for-model", "30"])  # fmt: skip
    assert code == 1 and "did not start within 30 s" in capsys.readouterr().err
    [call] = calls
    assert (call["model_stack_name"], call["timeout_s"]) == ("GptOssAgent-prod-Model", 30.0)
    assert main(["invoke", "x", "--url", "http://127.0.0.1:9", "--wait-for-model"]) == 2
    assert "not --url" in capsys.readouterr().err
    for bad in ("0", "3601", "soon"):  # the bound is checked before anything is asked
        assert main(["invoke", "x", "--wait-for-model", bad]) == 2
        assert "--wait-for-model" in capsys.readouterr().err
    assert len(calls) == 1
