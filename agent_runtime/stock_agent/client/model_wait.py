"""``stock-agent invoke --wait-for-model``: wait, bounded, until the deployed model can answer.

A dev inference component scales to zero when idle, and waking it takes
minutes (an instance plus the vLLM container), far past one request's
deadline: the first request after idle gets the deterministic narrative and
a ``model_status`` saying when to ask again. A caller who wants the model's
narrative can instead wait first. :func:`wait_for_model` reads the
component's state with ``DescribeInferenceComponent`` (the copies running
and wanted, the status); when it has no copy and none is wanted, it sends one
tiny request to the endpoint (the same probe the agent sends: its "no
capacity" refusal is what raises the alarm that scales the component out),
then polls until a copy is in service or the time given is spent, saying
what it sees as it goes. It never waits past ``timeout_s``; a component that
failed, or is being deleted, ends the wait at once.

The endpoint and component names come from the Model stack's outputs
(``EndpointName``, ``InferenceComponentName``). The caller needs
``cloudformation:DescribeStacks`` on that stack,
``sagemaker:DescribeInferenceComponent`` on the component and, to wake it,
``sagemaker:InvokeEndpoint`` on the endpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.sagemaker import WAKE_PROBE_TEXT, WAKE_PROFILE
from ..models.wire import build_chat_body
from .remote import RemoteError

DEFAULT_MODEL_STACK_NAME = "GptOssAgent-dev-Model"
DEFAULT_WAIT_S = 900  # an instance plus the container take about 8-14 minutes
POLL_S = 20.0


@dataclass(frozen=True)
class ModelTarget:
    """The deployed model: the endpoint and the inference component on it."""

    endpoint_name: str
    inference_component: str


@dataclass(frozen=True)
class ComponentState:
    """What ``DescribeInferenceComponent`` says about the copies."""

    status: str
    current_copies: int
    desired_copies: int
    failure: str | None = None

    @property
    def ready(self) -> bool:
        return self.status == "InService" and self.current_copies >= 1

    def describe(self) -> str:
        return f"{self.status}, {self.current_copies} of {self.desired_copies} copies running"


def model_stack_for(runtime_stack_name: str | None) -> str:
    """The Model stack beside a Runtime stack (``GptOssAgent-prod-Runtime`` -> ``-Model``)."""
    if runtime_stack_name and runtime_stack_name.endswith("-Runtime"):
        return runtime_stack_name.removesuffix("-Runtime") + "-Model"
    return DEFAULT_MODEL_STACK_NAME


def model_from_stack(cfn: Any, stack_name: str) -> ModelTarget:
    """The endpoint and component names from the Model stack's outputs."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as err:
        raise RemoteError(f"cannot read stack {stack_name}: {err}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [k for k in ("EndpointName", "InferenceComponentName") if not outputs.get(k)]
    if missing:
        raise RemoteError(f"stack {stack_name} has no {' or '.join(missing)} output")
    return ModelTarget(outputs["EndpointName"], outputs["InferenceComponentName"])


def component_state(sagemaker: Any, target: ModelTarget) -> ComponentState:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = sagemaker.describe_inference_component(
            InferenceComponentName=target.inference_component
        )
    except (BotoCoreError, ClientError) as err:
        raise RemoteError(
            f"cannot read inference component {target.inference_component}: {err}"
        ) from None
    runtime = found.get("RuntimeConfig") or {}
    return ComponentState(
        status=str(found.get("InferenceComponentStatus", "Unknown")),
        current_copies=int(runtime.get("CurrentCopyCount", 0)),
        desired_copies=int(runtime.get("DesiredCopyCount", 0)),
        failure=found.get("FailureReason"),
    )


def wake(runtime: Any, target: ModelTarget) -> None:
    """One tiny request: refused for lack of capacity, which scales the component out."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = build_chat_body(WAKE_PROFILE, [{"role": "user", "content": WAKE_PROBE_TEXT}], model=None)
    try:
        runtime.invoke_endpoint(
            EndpointName=target.endpoint_name,
            InferenceComponentName=target.inference_component,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(body).encode("utf-8"),
        )
    except ClientError as err:
        error = err.response.get("Error", {})
        if error.get("Code") != "ValidationError":  # "no capacity" is the expected answer
            raise RemoteError(
                f"the wake-up request to {target.endpoint_name} failed: {error.get('Code')}: "
                f"{error.get('Message')}"
            ) from None
    except BotoCoreError as err:
        raise RemoteError(f"the wake-up request to {target.endpoint_name} failed: {err}") from None


def wait_for_model(
    *,
    sagemaker: Any,
    runtime: Any,
    target: ModelTarget,
    timeout_s: float,
    say: Callable[[str], None],
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Seconds waited until a copy of ``target`` is in service; :class:`RemoteError` past
    ``timeout_s`` or when the component failed."""
    started = clock()
    woken = False
    while True:
        state = component_state(sagemaker, target)
        waited = clock() - started
        if state.ready:
            if waited > 0:
                say(f"the model is ready after {waited:.0f} s ({state.describe()})")
            return waited
        if state.status in ("Failed", "Deleting"):
            raise RemoteError(
                f"inference component {target.inference_component} is {state.status}"
                + (f": {state.failure}" if state.failure else "")
            )
        if not woken and state.desired_copies == 0:
            say(
                "the model is scaled to zero; asking it to start "
                "(an instance and the model take about 8-14 minutes)"
            )
            wake(runtime, target)
            woken = True
        left = timeout_s - waited
        if left <= 0:
            raise RemoteError(
                f"the model did not start within {timeout_s:.0f} s ({state.describe()}); "
                "run again later, or without --wait-for-model to get the deterministic "
                "narrative now"
            )
        say(f"waiting for the model: {state.describe()}, {waited:.0f} s so far")
        sleep(min(poll_s, left))


def wait_for_deployed_model(
    *,
    region: str | None,
    model_stack_name: str,
    timeout_s: float,
    say: Callable[[str], None],
) -> float:
    """:func:`wait_for_model` on the model the Model stack ``model_stack_name`` deployed."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(connect_timeout=10, read_timeout=30, retries={"mode": "standard"})
    try:
        target = model_from_stack(
            boto3.client("cloudformation", region_name=region, config=config), model_stack_name
        )
        sagemaker = boto3.client("sagemaker", region_name=region, config=config)
        runtime = boto3.client("sagemaker-runtime", region_name=region, config=config)
    except BotoCoreError as err:  # no region, no credentials configuration, ...
        raise RemoteError(f"AWS is not configured: {err}", exit_code=2) from None
    return wait_for_model(
        sagemaker=sagemaker, runtime=runtime, target=target, timeout_s=timeout_s, say=say
    )
