"""Run notifications without a network: settings, message, payload flag, failure handling.

SNS is stood in for by botocore's Stubber on a real boto3 SNS client: it
validates every ``Publish`` call against botocore's SNS service model. The
end-to-end path (real server, moto's SNS/SQS/S3) is in
``tests/integration/test_notify_end_to_end.py``.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from stock_agent.contract import validate_payload
from stock_agent.errors import AgentError
from stock_agent.server.notify import (
    MAX_SUBJECT_CHARS,
    TOPIC_ENV,
    NotifyError,
    NotifySettings,
    after_run,
    build_message,
    subject_for,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:gptoss-agent-dev-reports"


def _response() -> dict[str, Any]:
    """The parts of a success response the notification reads."""
    return {
        "request_id": "req-1",
        "session_id": None,
        "tickers": ["AAPL", "MSFT"],
        "degraded": False,
        "warnings": [],
        "results": [
            {
                "symbol": symbol,
                "analysis": {
                    "technical": {"score": tech},
                    "fundamental": {"score": fund},
                    "outlook": "positive",
                    "risk_level": "medium",
                },
                "report": {"uri": f"s3://reports/2026/11/30/{symbol}.pdf"},
            }
            for symbol, tech, fund in (("AAPL", 4, 3), ("MSFT", 2, 5))
        ],
        "failed": [],
    }


def _sns() -> Any:
    return boto3.client(
        "sns",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# -- payload flag --------------------------------------------------------------------------


def test_notify_is_a_boolean_payload_field() -> None:
    assert validate_payload({"prompt": "Analyze AAPL", "notify": True}).notify is True
    assert validate_payload({"prompt": "Analyze AAPL"}).notify is False
    assert validate_payload({"prompt": "Analyze AAPL", "notify": True}).ignored_keys == ()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"prompt": "Analyze AAPL", "notify": "yes"},
            "'notify' must be true or false, not str",
        ),
        ({"prompt": "Analyze AAPL", "notify": 1}, "'notify' must be true or false"),
        ({"prompt": "Analyze AAPL", "notify": True, "stream": True}, "cannot be combined"),
    ],
)
def test_bad_notify_values_are_invalid_payloads(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(AgentError) as caught:
        validate_payload(payload)
    assert caught.value.code == "invalid_payload"
    assert message in str(caught.value)


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, NotifySettings(topic_arn=None)),
        ({TOPIC_ENV: TOPIC}, NotifySettings(topic_arn=TOPIC)),
        # AgentCore sets AWS_REGION; boto3 alone would only read AWS_DEFAULT_REGION.
        ({TOPIC_ENV: TOPIC, "AWS_REGION": "us-west-2"}, NotifySettings(TOPIC, "us-west-2")),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, NotifySettings(None, "eu-west-1")),
    ],
)
def test_settings_from_env(env: dict[str, str], expected: NotifySettings) -> None:
    assert NotifySettings.from_env(env) == expected


@pytest.mark.parametrize(
    "env",
    [
        {TOPIC_ENV: "arn:aws:sqs:us-east-1:123456789012:queue"},
        {TOPIC_ENV: "my-topic"},
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(NotifyError, match=next(iter(env))) as caught:
        NotifySettings.from_env(env)
    assert caught.value.code == "bad_notify_setting"


# -- the message -----------------------------------------------------------------------------


def test_message_carries_tickers_headline_scores_and_the_responses_own_links() -> None:
    """The link is the response's ``report.url`` (signed once, by the report store); a report
    without one (links off, or a local report) gets none."""
    response = _response()
    response["results"][0]["report"]["url"] = "https://example/link"
    message = build_message(response)
    assert message["tickers"] == ["AAPL", "MSFT"]
    assert message["results"] == [
        {
            "symbol": "AAPL",
            "technical_score": 4,
            "fundamental_score": 3,
            "outlook": "positive",
            "risk_level": "medium",
            "report_uri": "s3://reports/2026/11/30/AAPL.pdf",
            "report_link": "https://example/link",
        },
        {
            "symbol": "MSFT",
            "technical_score": 2,
            "fundamental_score": 5,
            "outlook": "positive",
            "risk_level": "medium",
            "report_uri": "s3://reports/2026/11/30/MSFT.pdf",
            "report_link": None,
        },
    ]


def test_subject_fits_snss_limit_at_and_past_it() -> None:
    assert subject_for(_response()) == "Stock reports: AAPL, MSFT"
    prefix = len("Stock reports: ")
    exact = {"tickers": ["X" * (MAX_SUBJECT_CHARS - prefix)]}
    assert len(subject_for(exact)) == MAX_SUBJECT_CHARS and not subject_for(exact).endswith("...")
    over = {"tickers": ["X" * (MAX_SUBJECT_CHARS - prefix + 1)]}
    assert len(subject_for(over)) == MAX_SUBJECT_CHARS and subject_for(over).endswith("...")


# -- publishing ------------------------------------------------------------------------------


def test_publish_sends_one_validated_message_and_records_its_id() -> None:
    sns = _sns()
    with Stubber(sns) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "TopicArn": TOPIC,
                "Subject": "Stock reports: AAPL, MSFT",
                "Message": ANY,
                "MessageAttributes": {
                    "tickers": {"DataType": "String", "StringValue": "AAPL,MSFT"}
                },
            },
        )
        result = after_run(_response(), env={TOPIC_ENV: TOPIC}, sns_client=sns)
        stub.assert_no_pending_responses()
    assert result["notification"] == {"sent": True, "topic_arn": TOPIC, "message_id": "m-1"}
    assert result["warnings"] == []


def test_a_refused_publish_is_a_warning_not_a_failed_run() -> None:
    sns = _sns()
    with Stubber(sns) as stub:
        stub.add_client_error(
            "publish", service_error_code="AuthorizationError", http_status_code=403
        )
        result = after_run(_response(), env={TOPIC_ENV: TOPIC}, sns_client=sns)
    assert result["notification"] == {"sent": False, "code": "notify_failed"}
    assert result["warnings"] == [
        "notification not sent: SNS refused the message (AuthorizationError)"
    ]
    assert len(result["results"]) == 2  # the run's results are untouched


def test_without_a_topic_the_run_says_so() -> None:
    result = after_run(_response(), env={}, sns_client=_sns())
    assert result["notification"] == {"sent": False, "code": "notify_not_configured"}
    assert "NOTIFY_TOPIC_ARN is not set" in result["warnings"][0]


def test_a_bad_setting_is_reported_without_publishing() -> None:
    result = after_run(_response(), env={TOPIC_ENV: "nope"}, sns_client=_sns())
    assert result["notification"] == {"sent": False, "code": "bad_notify_setting"}


def test_no_region_is_a_warning_not_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = after_run(_response(), env={TOPIC_ENV: TOPIC})
    assert result["notification"] == {"sent": False, "code": "notify_failed"}
    assert "NoRegionError" in result["warnings"][0]


def test_only_success_responses_are_notified() -> None:
    error_body = {"error": {"code": "no_ticker", "message": "no ticker"}}
    assert after_run(error_body, env={TOPIC_ENV: TOPIC}, sns_client=_sns()) is error_body
    assert json.dumps(error_body) == '{"error": {"code": "no_ticker", "message": "no ticker"}}'
