"""The agent starts and answers with exactly the environment a synthesized template gives it.

For every combination of the options that change the runtime's environment
(the stage; report links on or off; the scheduled reports' notifications; a
LoRA adapter), the AgentCore runtime's ``EnvironmentVariables`` are read from
the synthesized Runtime template, not retyped: literal values are kept as they
are, and each deploy-time reference (``Fn::ImportValue`` of the endpoint, the
bucket and the memory; the topic ARN's ``Fn::Join`` of pseudo parameters) is
resolved to the resource that stands in for it here. ``stock-agent serve`` then
runs with that environment plus what AgentCore adds (the region, credentials),
and one request has to be answered, a notifying one where the template names a
topic.

What cannot run here stands in on loopback, reached by the agent's own boto3
clients through the service-specific endpoint variables: moto's server for S3 and
SNS, FakeSageMakerRuntime in front of FakeVLLM for the model (SageMaker Runtime's
REST protocol, vLLM's JSON). AgentCore Memory is not reached (the request has
no session). A template whose environment gains a reference this test does not
know fails here, so the list is kept honest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.conftest import start_agent_server
from tests.support.cdk_synth import (
    FLIPPED_ADAPTER,
    flipped_templates,
    only,
    scheduled_prod_nag_assembly,
    synth_templates,
)
from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.fake_vllm import FakeVLLM
from tests.support.moto_s3 import REGION, moto_s3_server, s3_client

pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"  # moto's account: the topic ARN the template builds names it
COMBINATIONS: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
    "dev": lambda: synth_templates("dev"),
    "prod": lambda: synth_templates("prod"),
    # no links, an adapter, notifications (cdk_synth.FLIPPED_OPTIONS)
    "dev-every-option-flipped": lambda: flipped_templates("dev"),
    "prod-every-option-flipped": lambda: flipped_templates("prod"),
    # links on with notifications: the scheduled prod app the nag tests synthesize
    "prod-scheduled": lambda: scheduled_prod_nag_assembly()[1],
}
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto takes any
NARRATIVE = "The shares trade in a range; the valuation and the risks are in the table."


def runtime_environment(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    _, runtime = only(templates["Runtime"], "AWS::BedrockAgentCore::Runtime")
    return dict(runtime["Properties"]["EnvironmentVariables"])


def resolve(key: str, value: Any, exports: dict[str, str]) -> str:
    """A deploy-time reference as the deployed runtime would see it (literals unchanged)."""
    if isinstance(value, str):
        return value
    if set(value) == {"Fn::ImportValue"}:
        matches = [literal for part, literal in exports.items() if part in value["Fn::ImportValue"]]
        assert len(matches) == 1, f"{key}: an import this test does not know: {value}"
        return matches[0]
    if set(value) == {"Ref"}:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        assert value["Ref"] in pseudo, f"{key}: a reference this test does not know: {value}"
        return pseudo[value["Ref"]]
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(key, part, exports) for part in parts)
    raise AssertionError(f"{key}: an intrinsic this test does not know: {value}")


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_the_synthesized_environment_starts_the_agent_and_answers(
    combination: str, tmp_path: Path
) -> None:
    raw = runtime_environment(COMBINATIONS[combination]())
    with (
        moto_s3_server() as aws,
        FakeVLLM.start(adapters=(FLIPPED_ADAPTER,)) as vllm,
        FakeSageMakerRuntime.start(backend=vllm.base_url) as sagemaker,
    ):
        vllm.default_response = NARRATIVE
        bucket = f"gptoss-agent-{combination}-reports"
        s3_client(aws).create_bucket(Bucket=bucket)
        exports = {"Endpoint": "gptoss-agent-endpoint", "ReportBucket": bucket,
                   "SessionMemory": "StockAgentMemory_test-AbCdEf1234"}  # fmt: skip
        env = {key: resolve(key, value, exports) for key, value in raw.items()}
        topic = env.get("NOTIFY_TOPIC_ARN")
        if topic is not None:
            sns = boto3.client("sns", endpoint_url=aws, region_name=REGION, **DUMMY_KEYS)
            assert sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"] == topic
        around = {
            "AWS_REGION": REGION,  # AgentCore sets it in the container
            "AWS_ACCESS_KEY_ID": DUMMY_KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": DUMMY_KEYS["aws_secret_access_key"],
            "AWS_ENDPOINT_URL_S3": aws,
            "AWS_ENDPOINT_URL_SNS": aws,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": sagemaker.url,
        }
        assert not set(around) & set(env), "the template sets what AgentCore sets"
        payload = {"prompt": "Analyze SIM_STOCK for investment purposes"}
        if topic is not None:
            payload["notify"] = True
        with start_agent_server(reports_dir=tmp_path / "reports", env=env | around) as server:
            reply = server.invoke(payload, timeout=120)
            log = server.log_text()
    assert reply.status == 200, f"{reply.body[:300]!r}\n{log[-3000:]}"
    body = reply.json()
    (result,) = body["results"]
    assert result["narrative"]["source"] == "model", body["warnings"]
    assert vllm.chat_requests[-1]["model"] == raw.get("MODEL_ADAPTER", "model")
    assert result["report"]["uri"].startswith(f"s3://{bucket}/")
    links = env["REPORT_URL_EXPIRES_SECONDS"]
    if links == "off":
        assert "url" not in result["report"]
    else:
        assert f"X-Amz-Expires={links}" in result["report"]["url"]
    if topic is not None:
        assert body["notification"]["sent"] is True, body["warnings"]
        assert body["notification"]["topic_arn"] == topic
