"""Calling an agent and reading its answer.

``render_invoke_body`` is checked on the bodies that crashed the public sample's
parser (defect 8): missing sections, non-JSON text, a JSON string, an error body, a
server-sent-events stream. Calls to a deployed runtime and to CloudFormation go
through real boto3 clients wrapped in botocore's Stubber (AgentCore cannot run here;
the Stubber validates every call against the service model).
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from stock_agent.client.remote import invoke_runtime, render_invoke_body, runtime_from_stack

TITLES = ("STOCK DATA GATHERING REPORT", "STOCK PERFORMANCE ANALYSIS", "STOCK REPORT GENERATION")


def _response(sections: dict[str, str] | None, **extra: object) -> bytes:
    result: dict[str, object] = {"symbol": "AAPL"}
    if sections is not None:
        result["sections"] = sections
    return json.dumps({"tickers": ["AAPL"], "results": [result], **extra}).encode()


def test_render_full_response() -> None:
    text, code = render_invoke_body(
        _response({"data_gathering": "D1", "performance_analysis": "P1", "report_generation": "R1"})
    )
    assert code == 0
    for title in TITLES:
        assert title in text
    assert "D1" in text and "P1" in text and "R1" in text


def test_a_text_shaped_by_the_users_preferences_is_shown_as_the_server_wrote_it() -> None:
    sections = {"data_gathering": "D1", "performance_analysis": "P1", "report_generation": "R1"}
    brief = "SUMMARY (brief, as you asked):\nAAPL: outlook NEUTRAL\n"
    for stated, shown in (({"answer_length": "brief"}, True), ({"risk_profile": "balanced"}, True),
                          ({"comparison_pdfs": "off"}, False), ({}, False)):  # fmt: skip
        body = _response(sections, text=brief, user={"identified": True, "preferences": stated})
        text, code = render_invoke_body(body)
        assert code == 0 and (text == brief) is shown and ("D1" in text) is not shown, stated


def test_render_missing_sections_names_them() -> None:
    text, code = render_invoke_body(_response({"data_gathering": "D1"}))
    assert code == 0
    assert "D1" in text
    assert text.count("(section missing for AAPL)") == 2
    text, _ = render_invoke_body(_response(None, warnings=["w1"], degraded=True))
    assert text.count("(section missing for AAPL)") == 3
    assert "w1" in text and "DEGRADED" in text


@pytest.mark.parametrize(
    ("body", "content_type", "expected", "code"),
    [
        (b"upstream exploded", "text/plain", "not JSON", 1),
        (b"", "", "empty response", 1),
        (None, "", "empty response", 1),
        (b"[1, 2]", "application/json", "unexpected response", 1),
        (b"42", "application/json", "unexpected response", 1),
        (json.dumps("plain words").encode(), "application/json", "plain words", 0),
        (b'{"error": {"code": "no_ticker", "message": "name one"}}', "", "no_ticker", 1),
        (b'{"error": "Invalid JSON"}', "", "Invalid JSON", 1),
        (b'{"results": "not a list", "text": "fallback text"}', "", "fallback text", 0),
        (b'{"results": [42, null]}', "", "section missing for ?", 0),
        (b"\xff\xfe garbage", "", "not JSON", 1),
    ],
)
def test_render_odd_bodies_never_raises(
    body: bytes | None, content_type: str, expected: str, code: int
) -> None:
    text, got = render_invoke_body(body, content_type=content_type)
    assert expected in text
    assert got == code


def test_render_server_sent_events_uses_the_result_event() -> None:
    final = {
        "event": "result",
        "results": [{"symbol": "KO", "sections": {"data_gathering": "KO data"}}],
    }
    stream = (
        f'data: {{"event": "stage", "stage": "data_gathering"}}\n\ndata: {json.dumps(final)}\n\n'
    ).encode()
    text, code = render_invoke_body(stream, content_type="text/event-stream")
    assert code == 0 and "KO data" in text
    error_stream = b'data: {"event": "error", "error": {"code": "x", "message": "boom"}}\n\n'
    text, code = render_invoke_body(error_stream, content_type="text/event-stream")
    assert code == 1 and "boom" in text


def test_render_shows_the_comparison_and_its_link() -> None:
    sections = {"data_gathering": "D1", "performance_analysis": "P1", "report_generation": "R1"}
    comparison = {
        "symbols": ["AAPL", "MSFT"],
        "narrative": "MSFT leads on Beta.",
        "report": {
            "uri": "s3://b/k.pdf",
            "url": "https://b.s3.amazonaws.com/k.pdf?X-Amz-Expires=3600",
        },
    }
    text, code = render_invoke_body(_response(sections, comparison=comparison))
    assert code == 0
    assert "COMPARISON:" in text and "MSFT leads on Beta." in text
    assert "Comparison report: https://b.s3.amazonaws.com/k.pdf?X-Amz-Expires=3600" in text
    # a malformed comparison is shown as far as it goes, never a crash
    text, code = render_invoke_body(_response(sections, comparison={"report": "x"}))
    assert code == 0 and "Comparison report: (none)" in text


def test_invoke_runtime_sends_the_agentcore_contract() -> None:
    """Parameters validated against the bedrock-agentcore service model by the Stubber."""
    client = boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/gpt_oss_agent_dev-abc123"
    session_id = "stock-agent-cli-" + "0" * 32
    answer = json.dumps({"results": [{"symbol": "KO", "sections": {"data_gathering": "KO"}}]})
    data = answer.encode()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_agent_runtime",
            {
                "response": StreamingBody(io.BytesIO(data), len(data)),
                "contentType": "application/json",
                "runtimeSessionId": session_id,
                "statusCode": 200,
            },
            {
                "agentRuntimeArn": arn,
                "runtimeSessionId": session_id,
                "payload": json.dumps({"prompt": "Analyze KO", "session_id": session_id}),
                "qualifier": "live",
                "contentType": "application/json",
                "accept": "application/json",
            },
        )
        body, content_type = invoke_runtime(
            client,
            arn=arn,
            payload={"prompt": "Analyze KO", "session_id": session_id},
            qualifier="live",
            session_id=session_id,
        )
    text, code = render_invoke_body(body, content_type=content_type)
    assert code == 0 and "KO" in text


def test_runtime_arn_and_endpoint_come_from_the_stack_outputs() -> None:
    client = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    outputs = [
        {"OutputKey": "RuntimeArn", "OutputValue": "arn:aws:bedrock-agentcore:...:runtime/x"},
        {"OutputKey": "RuntimeEndpointName", "OutputValue": "live"},
    ]
    stack = {
        "StackName": "GptOssAgent-dev-Runtime",
        "CreationTime": "2026-01-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": outputs,
    }
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": "GptOssAgent-dev-Runtime"}
        )
        assert runtime_from_stack(client, "GptOssAgent-dev-Runtime") == (
            "arn:aws:bedrock-agentcore:...:runtime/x",
            "live",
        )
