"""The schedule's InvokeAgentRuntime request, rendered as Scheduler renders it, against botocore.

EventBridge Scheduler replaces ``<aws.scheduler.execution-id>`` with the id of
each attempted invocation; AWS documents ids like ``d32c5kddcf5bb8c3`` (16
characters). The universal target's ``Input`` names the API's request
parameters in PascalCase; each maps to one member of botocore's
``InvokeAgentRuntime`` input shape (the test fails on a name that maps to
none). The rendered request is then checked by botocore's own
``ParamValidator`` against the bedrock-agentcore service model (no network),
and the session id against the model's length limits (botocore validates only
the minimum).
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel
from botocore.validate import ParamValidator

from stacks.constructs.watchlist_schedule import (
    EXECUTION_ID,
    RUNTIME_SESSION_ID_MAX_LENGTH,
    RUNTIME_SESSION_ID_MIN_LENGTH,
    SESSION_ID_PREFIX,
)
from tests.support.cdk_synth import SCHEDULED_WATCHLIST, only, synth_templates

DOCUMENTED_EXECUTION_ID = "d32c5kddcf5bb8c3"  # the Scheduler guide's example, 16 characters
RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/gptoss_agent_dev-AbCdE12345"
LONGEST_EXECUTION_ID = "x" * (RUNTIME_SESSION_ID_MAX_LENGTH - len(SESSION_ID_PREFIX))


def _operation() -> OperationModel:
    model = botocore.session.get_session().get_service_model("bedrock-agentcore")
    return model.operation_model("InvokeAgentRuntime")


def _input_template() -> str:
    """The schedule's Input as Scheduler receives it, the runtime ARN filled in."""
    templates = synth_templates("dev", schedule__watchlist=SCHEDULED_WATCHLIST)
    _, schedule = only(templates["Runtime"], "AWS::Scheduler::Schedule")
    parts = schedule["Properties"]["Target"]["Input"]["Fn::Join"][1]
    assert [p for p in parts if not isinstance(p, str)] == [
        {"Fn::GetAtt": ["Runtime99E3DDFA", "AgentRuntimeArn"]}
    ]
    return "".join(p if isinstance(p, str) else RUNTIME_ARN for p in parts)


def _request(template: str, execution_id: str) -> dict[str, Any]:
    """Scheduler's substitution, then the PascalCase names mapped onto the model's members."""
    rendered: dict[str, Any] = json.loads(template.replace(EXECUTION_ID, execution_id))
    members = {name.lower(): name for name in _operation().input_shape.members}
    unknown = [key for key in rendered if key.lower() not in members]
    assert unknown == [], f"not InvokeAgentRuntime parameters: {unknown}"
    return {members[key.lower()]: value for key, value in rendered.items()}


def _errors(request: dict[str, Any]) -> str:
    report = ParamValidator().validate(request, _operation().input_shape)
    return str(report.generate_report()) if report.has_errors() else ""


@pytest.mark.slow
@pytest.mark.parametrize(
    "execution_id",
    [DOCUMENTED_EXECUTION_ID, "0b6a3c4e-9f1d-4e2a-8c7b-5d6e7f8a9b0c", LONGEST_EXECUTION_ID],
    ids=["documented-16", "uuid-36", "longest-the-limit-allows"],
)
def test_the_rendered_request_is_valid_for_invoke_agent_runtime(execution_id: str) -> None:
    request = _request(_input_template(), execution_id)
    assert _errors(request) == ""
    session_id = request["runtimeSessionId"]
    assert session_id == SESSION_ID_PREFIX + execution_id
    assert RUNTIME_SESSION_ID_MIN_LENGTH <= len(session_id) <= RUNTIME_SESSION_ID_MAX_LENGTH
    assert json.loads(request["payload"])["prompt"].startswith("Analyze AAPL, MSFT")


def test_the_length_limits_are_the_service_models() -> None:
    shape = _operation().input_shape.members["runtimeSessionId"]
    assert (shape.metadata["min"], shape.metadata["max"]) == (
        RUNTIME_SESSION_ID_MIN_LENGTH,
        RUNTIME_SESSION_ID_MAX_LENGTH,
    )


def test_the_validator_refuses_a_session_id_one_character_short() -> None:
    """Negative control: at 32 characters botocore reports the length (the old 30 failed so)."""
    short = {"agentRuntimeArn": RUNTIME_ARN, "payload": b"{}", "runtimeSessionId": "s" * 32}
    assert "valid min length: 33" in _errors(short)
    assert _errors({**short, "runtimeSessionId": "s" * 33}) == ""
    old_template = "watchlist-run-" + DOCUMENTED_EXECUTION_ID
    assert "valid min length: 33" in _errors({**short, "runtimeSessionId": old_template})
