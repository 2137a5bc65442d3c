"""A canary endpoint on the adapter's runtime version, live pinned to the base, and promotion.

The canary app is prod serving ``narrator-v1`` with ``runtime.canary`` on and
``runtime.live_version`` = 4, synthesized with cdk-nag on (a finding fails the
synth). Then the promotion loop as CloudFormation would deploy it, computed
from the registry schemas cfn-lint bundles (``tests/support/replacement.py``):
starting the canary updates the runtime (a new version) and creates the canary's
endpoint, log group and evaluation; promotion and rollback change the live
endpoint's version and nothing else, so they never create a runtime version.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import load_stage
from stacks.constructs.online_evaluation import BUILTIN_EVALUATORS
from tests.support.cdk_synth import (
    CANARY_ADAPTER,
    CANARY_LIVE_VERSION,
    canary_prod_nag_assembly,
    dashboard_body,
    only,
    resources,
    synth_templates,
)
from tests.support.replacement import (
    NAME_PROPERTY,
    exports_in_use_changed,
    name_collisions,
    replaced_ids,
    updated_ids,
)

pytestmark = pytest.mark.slow

ADAPTER = CANARY_ADAPTER.split("=", 1)[0]
RUNTIME_GETATT_VERSION = {"Fn::GetAtt": ["Runtime99E3DDFA", "AgentRuntimeVersion"]}


@pytest.fixture(scope="module")
def canary() -> dict[str, dict[str, Any]]:
    return canary_prod_nag_assembly()[1]


def _endpoints(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Name"]: {"id": logical_id, **r}
        for logical_id, r in resources(template, "AWS::BedrockAgentCore::RuntimeEndpoint").items()
    }


def test_the_canary_serves_the_latest_version_while_live_stays_pinned(
    canary: dict[str, dict[str, Any]],
) -> None:
    runtime = canary["Runtime"]
    _, resource = only(runtime, "AWS::BedrockAgentCore::Runtime")
    # The runtime's configuration asks for the adapter: deploying it makes a new version.
    assert resource["Properties"]["EnvironmentVariables"]["MODEL_ADAPTER"] == ADAPTER
    endpoints = _endpoints(runtime)
    assert set(endpoints) == {"live", "canary"}
    live, cand = endpoints["live"], endpoints["canary"]
    assert live["Properties"]["AgentRuntimeVersion"] == str(CANARY_LIVE_VERSION)
    assert live["Properties"]["Description"] == "Stable endpoint of the prod agent (version 4)"
    assert cand["Properties"]["AgentRuntimeVersion"] == RUNTIME_GETATT_VERSION
    # The canary's own service log group exists first, with the stage's retention and key.
    group = runtime["Resources"]["CanaryEndpointLogs"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert "CanaryEndpointLogs" in cand["DependsOn"]
    assert group["Properties"]["RetentionInDays"] == load_stage("prod").logs.retention_days
    assert "KmsKeyId" in group["Properties"]
    assert json.dumps(group["Properties"]["LogGroupName"]).endswith('"-canary"]]}')
    outputs = runtime["Outputs"]
    assert outputs["RuntimeVersion"]["Value"] == RUNTIME_GETATT_VERSION
    assert outputs["LiveEndpointVersion"]["Value"] == {"Fn::GetAtt": [live["id"], "LiveVersion"]}
    assert outputs["CanaryEndpointVersion"]["Value"] == {"Fn::GetAtt": [cand["id"], "LiveVersion"]}
    command = "".join(p if isinstance(p, str) else "ARN" for p in
                      outputs["CompareCommand"]["Value"]["Fn::Join"][1])  # fmt: skip
    assert command == (
        "stock-agent eval --runtime-arn ARN --baseline qualifier:live --candidate qualifier:canary"
    )


def test_online_evaluation_samples_both_endpoints_with_the_same_judges(
    canary: dict[str, dict[str, Any]],
) -> None:
    configs = {
        r["Properties"]["OnlineEvaluationConfigName"]: r["Properties"]
        for r in resources(
            canary["Evaluation"], "AWS::BedrockAgentCore::OnlineEvaluationConfig"
        ).values()
    }
    assert set(configs) == {"stock_agent_online_prod", "stock_agent_online_prod_canary"}
    live, cand = configs["stock_agent_online_prod"], configs["stock_agent_online_prod_canary"]
    services = {
        name: c["DataSourceConfig"]["CloudWatchLogs"]["ServiceNames"] for name, c in configs.items()
    }
    assert services == {
        "stock_agent_online_prod": ["gptoss_agent_prod.live"],
        "stock_agent_online_prod_canary": ["gptoss_agent_prod.canary"],
    }
    assert (
        live["Evaluators"] == cand["Evaluators"]
        and len(live["Evaluators"]) == len(BUILTIN_EVALUATORS) + 1
    )
    assert live["EvaluationExecutionRoleArn"] == cand["EvaluationExecutionRoleArn"]
    assert live["Rule"]["SamplingConfig"]["SamplingPercentage"] == 5
    assert cand["Rule"]["SamplingConfig"]["SamplingPercentage"] == 100


def test_the_dashboard_puts_live_and_canary_side_by_side(
    canary: dict[str, dict[str, Any]],
) -> None:
    widgets = dashboard_body(canary["Monitoring"])["widgets"]
    titled = {w["properties"].get("title"): w for w in widgets if w["type"] == "metric"}
    for measure in (
        "evaluation scores (hourly average)",
        "latest scores",
        "invocations and throttles",
        "errors",
        "latency",
    ):
        live, cand = titled[f"live: {measure}"], titled[f"canary: {measure}"]
        assert (live["x"], cand["x"], live["y"], live["width"]) == (0, 12, cand["y"], 12)

        def endpoint_free(widget: dict[str, Any], name: str) -> str:
            return json.dumps(widget["properties"]["metrics"]).replace(name, "ENDPOINT")

        # The same metrics, but for the endpoint's own service or dimension.
        assert endpoint_free(live, "live") == endpoint_free(cand, "canary")
        assert "canary" not in json.dumps(live["properties"]["metrics"])


def test_every_statement_stays_in_the_iam_stack_and_nothing_is_left_unacknowledged() -> None:
    outdir, templates = canary_prod_nag_assembly()
    for stack, template in templates.items():
        if stack != "Iam":
            assert not resources(template, "AWS::IAM::Policy"), stack
            assert not resources(template, "AWS::IAM::Role"), stack
    left = [
        (path, entry["type"])
        for metadata in outdir.glob("*.metadata.json")
        for path, entries in json.loads(metadata.read_text()).items()
        for entry in entries
        if entry["type"] in ("aws:cdk:error", "aws:cdk:warning", "aws:cdk:info")
    ]
    assert left == []


def test_without_a_canary_there_is_one_endpoint_one_evaluation_and_no_comparison() -> None:
    templates = synth_templates("prod")
    assert set(_endpoints(templates["Runtime"])) == {"live"}
    assert _endpoints(templates["Runtime"])["live"]["Properties"]["AgentRuntimeVersion"] == (
        RUNTIME_GETATT_VERSION
    )
    assert (
        len(resources(templates["Evaluation"], "AWS::BedrockAgentCore::OnlineEvaluationConfig"))
        == 1
    )
    titles = [
        w["properties"].get("title", "") for w in dashboard_body(templates["Monitoring"])["widgets"]
    ]
    assert not [t for t in titles if t.startswith(("live:", "canary:"))]


# -- the promotion loop, deploy by deploy ---------------------------------------------------

# The adapter is already served beside the base (its own deploy: a new SageMaker model).
SERVED = {"model__adapters": CANARY_ADAPTER}
CANARY = {**SERVED, "runtime__model_adapter": ADAPTER, "runtime__canary": "true"}


def _deploy(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """What CloudFormation updates; asserts it replaces nothing and reuses no name."""
    assert replaced_ids(old, new) == {}
    assert name_collisions(old, new, NAME_PROPERTY) == []
    assert exports_in_use_changed(old, new) == []
    return updated_ids(old, new)


def test_start_promote_roll_back_and_end_a_canary() -> None:
    base = synth_templates("dev", **SERVED)
    started = synth_templates("dev", **CANARY, runtime__live_version="4")
    promoted = synth_templates("dev", **CANARY, runtime__live_version="5")
    ended = synth_templates(
        "dev", **SERVED, runtime__model_adapter=ADAPTER, runtime__live_version="5"
    )
    live_id = _endpoints(base["Runtime"])["live"]["id"]
    runtime_id, _ = only(base["Runtime"], "AWS::BedrockAgentCore::Runtime")

    # Start: the runtime takes the adapter (a new version), the canary appears beside live.
    changed = _deploy(base, started)
    assert runtime_id in changed["Runtime"] and live_id in changed["Runtime"]
    assert {"CanaryEndpointLogs", _endpoints(started["Runtime"])["canary"]["id"]} <= set(
        changed["Runtime"]
    )
    assert "OnlineEvaluationOnlineCanary3E8EB297" in changed["Evaluation"]
    # Promote, then roll back: the live endpoint's version moves; no new runtime version.
    assert _deploy(started, promoted) == {"Runtime": [live_id]}
    assert _deploy(promoted, started) == {"Runtime": [live_id]}
    # End the canary, live kept on the promoted version: the canary's endpoint, log group and
    # evaluation go; the log key's policy and the dashboard lose them; live is not touched.
    key_id, _ = only(ended["Runtime"], "AWS::KMS::Key")
    dashboard_id, _ = only(ended["Monitoring"], "AWS::CloudWatch::Dashboard")
    assert _deploy(promoted, ended) == {"Runtime": [key_id], "Monitoring": [dashboard_id]}
    assert set(_endpoints(ended["Runtime"])) == {"live"}
    assert _endpoints(ended["Runtime"])["live"]["Properties"]["AgentRuntimeVersion"] == "5"
