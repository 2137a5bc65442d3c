"""Run notifications: one SNS message per run invoked with ``"notify": true``.

The message carries the tickers, each ticker's headline scores (technical
and fundamental score, outlook, risk level) and where its report is, with the
response's own presigned link (``report.url``) when the deployment offers
them. Everything comes from the run's response record: nothing is recomputed,
and nothing is signed again here (the report store is the one presigner).

Settings: ``NOTIFY_TOPIC_ARN``, the topic the Runtime stack sets (unset:
notify is a no-op with a warning), read here when a run asks to notify, and
the region AgentCore sets (``AWS_REGION``; boto3 itself only reads
``AWS_DEFAULT_REGION``).

A notification never fails the run: the reports are already stored when it
is sent, so a publish error (or a missing topic) becomes a warning and a
``notification`` block with ``sent: false`` in the response.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

TOPIC_ENV = "NOTIFY_TOPIC_ARN"
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
# SNS: a subject is at most 100 printable ASCII characters.
MAX_SUBJECT_CHARS = 100
CLIENT_TIMEOUT_SECONDS = 10


class NotifyError(Exception):
    """A notification could not be sent; ``code`` says why, ``str()`` the detail."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NotifySettings:
    """Where to publish."""

    topic_arn: str | None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        """The topic from ``env`` (a bad ARN raises :class:`NotifyError`)."""
        topic = env.get(TOPIC_ENV, "").strip() or None
        if topic is not None and not _TOPIC_ARN.fullmatch(topic):
            raise NotifyError(
                "bad_notify_setting", f"{TOPIC_ENV}={topic!r} is not an SNS topic ARN"
            )
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        return cls(topic_arn=topic, region=region)


def build_message(response: Mapping[str, Any]) -> dict[str, Any]:
    """The notification body: the run's tickers, headline scores and report locations."""
    results = []
    for result in response.get("results", []):
        analysis = result.get("analysis", {})
        report = result.get("report", {})
        results.append(
            {
                "symbol": result["symbol"],
                "technical_score": analysis.get("technical", {}).get("score"),
                "fundamental_score": analysis.get("fundamental", {}).get("score"),
                "outlook": analysis.get("outlook"),
                "risk_level": analysis.get("risk_level"),
                "report_uri": report.get("uri"),
                "report_link": report.get("url"),
            }
        )
    return {
        "request_id": response.get("request_id"),
        "session_id": response.get("session_id"),
        "tickers": list(response.get("tickers", [])),
        "degraded": bool(response.get("degraded")),
        "results": results,
        "failed": list(response.get("failed", [])),
    }


def subject_for(response: Mapping[str, Any]) -> str:
    """``Stock reports: AAPL, MSFT`` within SNS's 100-character subject limit."""
    tickers = ", ".join(str(t) for t in response.get("tickers", [])) or "no ticker"
    subject = f"Stock reports: {tickers}"
    subject = "".join(c if 32 <= ord(c) < 127 else "?" for c in subject)
    return (
        subject if len(subject) <= MAX_SUBJECT_CHARS else subject[: MAX_SUBJECT_CHARS - 3] + "..."
    )


def publish_run(response: Mapping[str, Any], *, settings: NotifySettings, sns_client: Any) -> str:
    """Publish one message about ``response``; its SNS message id, or :class:`NotifyError`."""
    if settings.topic_arn is None:
        raise NotifyError("notify_not_configured", f"no topic: {TOPIC_ENV} is not set")
    try:
        answer = sns_client.publish(
            TopicArn=settings.topic_arn,
            Subject=subject_for(response),
            Message=json.dumps(build_message(response), sort_keys=True),
            MessageAttributes={
                "tickers": {
                    "DataType": "String",
                    "StringValue": ",".join(response.get("tickers", [])) or "-",
                }
            },
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "ClientError")
        raise NotifyError("notify_failed", f"SNS refused the message ({code})") from error
    except BotoCoreError as error:
        raise NotifyError(
            "notify_failed", f"SNS could not be reached ({type(error).__name__})"
        ) from error
    return str(answer["MessageId"])


def _sns_client(settings: NotifySettings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CLIENT_TIMEOUT_SECONDS,
        read_timeout=CLIENT_TIMEOUT_SECONDS,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    try:
        return boto3.client("sns", region_name=settings.region, config=config)
    except BotoCoreError as error:
        raise NotifyError(
            "notify_failed", f"no SNS client could be made ({type(error).__name__})"
        ) from error


def after_run(
    response: Any, *, env: Mapping[str, str] | None = None, sns_client: Any | None = None
) -> Any:
    """The run's response with a ``notification`` block; never raises.

    Anything but a success response (a dict with ``results``) is returned
    unchanged: a failed run is reported by its error, not by a notification.
    """
    if not isinstance(response, dict) or "results" not in response:
        return response
    try:
        settings = NotifySettings.from_env(os.environ if env is None else env)
        client = sns_client if sns_client is not None else _sns_client(settings)
        message_id = publish_run(response, settings=settings, sns_client=client)
    except NotifyError as error:
        logger.warning("run notification not sent", extra={"code": error.code})
        response["warnings"] = [*response.get("warnings", []), f"notification not sent: {error}"]
        response["notification"] = {"sent": False, "code": error.code}
        return response
    logger.info("run notification sent", extra={"message_id": message_id})
    response["notification"] = {
        "sent": True,
        "topic_arn": settings.topic_arn,
        "message_id": message_id,
    }
    return response
