"""The deployed-runtime target: InvokeAgentRuntime requests validated by botocore's Stubber.

No AgentCore runtime can be reached here. ``botocore.stub.Stubber`` checks
every request against the real ``bedrock-agentcore`` service model (parameter
names, types, required members) and answers with the response shape the
service defines; the answer bodies are the real app's, captured in-process.
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from eval.cases import load_golden_set
from eval.runner import run_golden_set
from eval.targets import InProcessTarget, RuntimeArnTarget
from eval.thresholds import load_thresholds
from eval.turns import request_body

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/stock_agent-AbCdEf1234"


def _client() -> object:
    return boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_request_parameters_follow_the_service_model() -> None:
    client = _client()
    params = RuntimeArnTarget.request(ARN, "live", b'{"prompt": "x"}', "s" * 33)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_agent_runtime",
            {"response": _body(b"{}"), "contentType": "application/json", "statusCode": 200},
            expected_params=params,
        )
        client.invoke_agent_runtime(**params)  # type: ignore[attr-defined]
        stub.assert_no_pending_responses()
    with pytest.raises(ValueError, match="at least 33"):
        RuntimeArnTarget.request(ARN, "live", b"{}", "s" * 32)


def test_a_service_error_quoting_the_agents_error_is_graded_as_that_error() -> None:
    client = _client()
    target = RuntimeArnTarget(arn=ARN, qualifier="DEFAULT", client=client)
    agent_error = json.dumps({"error": {"code": "no_ticker", "message": "name one"}})
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_agent_runtime",
            service_error_code="RuntimeClientError",
            service_message=f"Received error (422) from runtime: {agent_error}",
            http_status_code=422,
        )
        exchange = target.send(b'{"prompt": "hello"}', session_id="s" * 40)
    assert exchange.status == 422
    assert json.loads(exchange.body) == json.loads(agent_error)


@pytest.mark.slow
def test_a_case_through_the_runtime_target_is_graded_like_in_process(
    inprocess_target: InProcessTarget,
) -> None:
    golden = load_golden_set()
    [case] = [c for c in golden.cases if c.id == "single-01-sim-stock"]
    session = "eval-captured-session-0123456789abcdef"
    captured = inprocess_target.send(
        request_body(case.turns[0], session_id=session), session_id=session
    )
    client = _client()
    target = RuntimeArnTarget(arn=ARN, qualifier="DEFAULT", client=client)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_agent_runtime",
            {
                "response": _body(captured.body),
                "contentType": captured.content_type,
                "statusCode": captured.status,
                "runtimeSessionId": session,
            },
        )
        result = run_golden_set(
            golden, target, load_thresholds(), offline=False, case_filter=lambda c: c is case
        )
        stub.assert_no_pending_responses()
    [outcome] = result.outcomes
    assert outcome.observation.streamed and outcome.observation.succeeded
    assert all(g.outcome in ("pass", "n/a") for g in outcome.grades), outcome.grades
    assert {g.criterion for g in outcome.grades if g.outcome == "pass"} >= {
        "ticker_accuracy",
        "trajectory",
        "numeric_faithfulness",
        "text_pdf_agreement",
        "disclaimer_present",
    }
    assert result.target.startswith("AgentCore runtime " + ARN)
