"""The deployed-runtime target: InvokeAgentRuntime requests validated by botocore's Stubber.

No AgentCore runtime can be reached here. ``botocore.stub.Stubber`` checks
every request against the real ``bedrock-agentcore`` service model (parameter
names, types, required members) and answers with the response shape the
service defines; the answer bodies are the real app's, captured in-process.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

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
    # The captured answer's reports are files the in-process app wrote on this machine
    # (a deployed runtime's are in S3: the S3 test below); only that makes file:// readable.
    assert target.local_files is False
    target.local_files = True
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


@pytest.mark.slow
def test_reports_stored_in_s3_are_read_back_with_the_callers_credentials() -> None:
    """moto's real S3 API on loopback stands in for the runtime's report bucket."""
    from eval.targets import read_report
    from tests.support.moto_s3 import moto_s3_server, s3_client

    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="reports")
        client.put_object(Bucket="reports", Key="2026/11/30/AAPL_Stock_Report.pdf", Body=b"%PDF-1")
        report = {"uri": "s3://reports/2026/11/30/AAPL_Stock_Report.pdf"}
        assert read_report(report, s3_client=client) == b"%PDF-1"
        with pytest.raises(client.exceptions.NoSuchKey):
            read_report({"uri": "s3://reports/missing.pdf"}, s3_client=client)
    with pytest.raises(OSError, match="not a file, https or s3"):
        read_report({"uri": "ftp://host/x.pdf"})


def test_eval_against_a_runtime_without_aws_settings_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval.cli import main

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    out = io.StringIO()
    output = tmp_path / "r.md"
    assert main(["--runtime-arn", ARN, "--output", str(output)], out=out) == 2
    assert "region" in out.getvalue().lower()
    assert not output.exists()
