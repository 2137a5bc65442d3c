"""A notifying run end to end: the real agent server, moto's S3, SNS and SQS on loopback.

The server (``stock-agent serve``, offline model, simulated data) stores the
PDF in moto's S3 and publishes to a moto SNS topic that fans out to an SQS
queue; the test reads the message back from the queue and downloads the
report through the presigned link in it. ``AWS_ENDPOINT_URL`` points every
boto3 client of the server at moto, with dummy credentials: nothing can
reach AWS.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.support.moto_s3 import REGION, moto_s3_server

pytestmark = pytest.mark.slow

BUCKET = "gptoss-agent-dev-reports-test"
TOPIC_NAME = "gptoss-agent-dev-reports"


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_notify_publishes_one_message_with_scores_and_a_working_report_link(
    agent_server_factory: Callable[..., Any],
) -> None:
    with moto_s3_server() as endpoint:
        s3, sns, sqs = (_client(name, endpoint) for name in ("s3", "sns", "sqs"))
        s3.create_bucket(Bucket=BUCKET)
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        env = {
            "REPORT_BUCKET": BUCKET,
            "NOTIFY_TOPIC_ARN": topic_arn,
            "REPORT_URL_EXPIRES_SECONDS": "600",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        with agent_server_factory(env=env) as server:
            reply = server.invoke(
                {"prompt": "Analyze SIM_STOCK for investment purposes", "notify": True},
                timeout=120,
            )
            log = server.log_text()
        assert reply.status == 200, log[-3000:]
        body = json.loads(reply.body)
        assert body["notification"]["sent"] is True, body.get("warnings")
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
        ).get("Messages", [])
        assert len(messages) == 1  # one message per run
        envelope = json.loads(messages[0]["Body"])
        assert envelope["MessageId"] == body["notification"]["message_id"]
        assert envelope["Subject"] == "Stock reports: SIM_STOCK"
        message = json.loads(envelope["Message"])
        (result,) = body["results"]
        assert message["tickers"] == ["SIM_STOCK"]
        (item,) = message["results"]
        assert item["technical_score"] == result["analysis"]["technical"]["score"]
        assert item["fundamental_score"] == result["analysis"]["fundamental"]["score"]
        assert item["outlook"] == result["analysis"]["outlook"]
        assert item["report_uri"] == result["report"]["uri"]
        assert "X-Amz-Expires=600" in item["report_link"]
        assert item["report_link"] == result["report"]["url"]  # signed once, by the report store
        with urllib.request.urlopen(item["report_link"], timeout=10) as download:
            pdf = download.read()
        assert pdf.startswith(b"%PDF")
        assert hashlib.sha256(pdf).hexdigest() == result["report"]["sha256"]


def test_without_notify_nothing_is_published(agent_server_factory: Callable[..., Any]) -> None:
    with moto_s3_server() as endpoint:
        sns = _client("sns", endpoint)
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        env = {
            "NOTIFY_TOPIC_ARN": topic_arn,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        with agent_server_factory(env=env) as server:
            reply = server.invoke({"prompt": "Analyze SIM_STOCK for investment purposes"})
        assert reply.status == 200
        assert "notification" not in json.loads(reply.body)
