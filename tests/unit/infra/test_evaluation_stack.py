"""Online evaluation: the Evaluation stack, its IAM role, and the dashboard's score widgets.

Synthesized in-process for dev and prod (the same helper as the other infra
tests); cdk-nag over the whole app, this stack included, runs in
``test_app.py``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.app_builder import build_app
from stacks.config import ConfigError, EvaluationSettings, load_stage
from stacks.constructs.evaluation_widgets import EVALUATION_NAMESPACE
from stacks.constructs.online_evaluation import (
    BUILTIN_EVALUATORS,
    RUBRIC_FILE,
    custom_evaluator_name,
    load_rubric,
)
from stacks.constructs.roles import WILDCARD_RESOURCE_ACTIONS
from tests.support.cdk_synth import canary_prod_nag_assembly, cdk_json_context, synth_templates
from tests.support.iam_match import PSEUDO, allows, render


def _only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    [resource] = [r for r in template["Resources"].values() if r["Type"] == kind]
    return dict(resource["Properties"])


def _flat(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize(("stage", "percentage"), [("dev", 50), ("prod", 5)])
def test_online_evaluation_samples_the_live_endpoint_per_stage(stage: str, percentage: int) -> None:
    config = load_stage(stage)
    template = synth_templates(stage)["Evaluation"]
    online = _only(template, "AWS::BedrockAgentCore::OnlineEvaluationConfig")
    assert online["Rule"]["SamplingConfig"]["SamplingPercentage"] == percentage
    assert online["ExecutionStatus"] == "ENABLED"
    source = online["DataSourceConfig"]["CloudWatchLogs"]
    endpoint = config.runtime.endpoint_name
    assert source["ServiceNames"] == [f"{config.runtime_name}.{endpoint}"]
    assert "/aws/bedrock-agentcore/runtimes/" in _flat(source["LogGroupNames"])
    assert f"-{endpoint}" in _flat(source["LogGroupNames"])
    evaluators = [e["EvaluatorId"] for e in online["Evaluators"]]
    assert evaluators[:-1] == [str(b.value) for b in BUILTIN_EVALUATORS]
    assert "Fn::GetAtt" in evaluators[-1]  # our own judge
    assert "Iam" in _flat(online["EvaluationExecutionRoleArn"])  # the IAM stack's role


def test_the_custom_judge_carries_our_rubric_at_trace_level() -> None:
    evaluator = _only(synth_templates("dev")["Evaluation"], "AWS::BedrockAgentCore::Evaluator")
    assert evaluator["Level"] == "TRACE"
    judge = evaluator["EvaluatorConfig"]["LlmAsAJudge"]
    assert judge["Instructions"] == load_rubric()
    for placeholder in ("{context}", "{assistant_turn}"):
        assert placeholder in judge["Instructions"]
    text = judge["Instructions"].lower()
    assert "numeric faithfulness" in text and "personalised advice" in text
    scale = judge["RatingScale"]["Numerical"]
    assert sorted(option["Value"] for option in scale) == [0, 1]
    config = judge["ModelConfig"]["BedrockEvaluatorModelConfig"]
    # Environment-agnostic: the geography is looked up by region at deploy time.
    assert config["ModelId"] == {
        "Fn::Join": [
            "",
            [
                {"Fn::FindInMap": ["JudgeGeography", {"Ref": "AWS::Region"}, "prefix"]},
                ".anthropic.claude-sonnet-4-6",
            ],
        ]
    }
    assert config["InferenceConfig"]["Temperature"] == 0


def test_a_changed_rubric_or_model_gets_a_new_evaluator_name() -> None:
    evaluation = load_stage("dev").evaluation
    rubric = load_rubric()
    name = custom_evaluator_name(stage="dev", rubric=rubric, evaluation=evaluation)
    assert len(name) <= 48 and name.startswith("numeric_faithfulness_no_advice_dev_")
    assert name == custom_evaluator_name(stage="dev", rubric=rubric, evaluation=evaluation)
    assert name != custom_evaluator_name(stage="dev", rubric=rubric + " ", evaluation=evaluation)
    other_model = EvaluationSettings(judge_model="anthropic.claude-x-v1:0")
    assert name != custom_evaluator_name(stage="dev", rubric=rubric, evaluation=other_model)
    other_geography = EvaluationSettings(judge_geography="global")
    assert name != custom_evaluator_name(stage="dev", rubric=rubric, evaluation=other_geography)


def test_a_rubric_without_the_trace_placeholders_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rubric.md"
    bad.write_text(RUBRIC_FILE.read_text().replace("{assistant_turn}", "the answer"))
    with pytest.raises(ValueError, match="assistant_turn"):
        load_rubric(bad)


def _role(template: dict[str, Any], logical_prefix: str) -> dict[str, Any]:
    [role] = [
        r["Properties"]
        for key, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and key.startswith(logical_prefix)
    ]
    return dict(role)


def test_the_evaluation_role_is_least_privilege_and_lives_in_the_iam_stack() -> None:
    templates = synth_templates("dev")
    assert not [
        r for r in templates["Evaluation"]["Resources"].values() if r["Type"].startswith("AWS::IAM")
    ]
    role = _role(templates["Iam"], "EvaluationExecutionRole")
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    assert {"aws:SourceAccount", "aws:ResourceAccount"} <= set(trust["Condition"]["StringEquals"])
    [policy] = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "DescribeLogGroups",
        "QueryTraces",
        "TraceIndexPolicies",
        "WriteResults",
        "PublishScores",
        "InvokeJudgeModel",
    }
    for sid, statement in statements.items():
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if "*" in resources:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all(a in WILDCARD_RESOURCE_ACTIONS for a in actions), sid
    publish = statements["PublishScores"]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": EVALUATION_NAMESPACE}}
    judge = _flat(statements["InvokeJudgeModel"]["Resource"])
    assert ":bedrock:*::foundation-model/anthropic.claude-sonnet-4-6" in judge
    assert '":inference-profile/", {"Fn::FindInMap": ["JudgeGeography"' in judge
    assert "foundation-model/*" not in judge
    runtime = load_stage("dev").runtime_name
    assert f"/aws/bedrock-agentcore/runtimes/{runtime}-*" in _flat(statements["QueryTraces"])
    assert "log-group:*" not in _flat(statements["QueryTraces"])
    assert "/aws/bedrock-agentcore/evaluations/*" in _flat(statements["WriteResults"])


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body as JSON (tokens inside ``Fn::Join`` replaced by a marker)."""
    body = _only(template, "AWS::CloudWatch::Dashboard")["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return dict(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts)))


def test_the_dashboard_shows_every_evaluators_score() -> None:
    templates = synth_templates("dev")
    config = load_stage("dev")
    service = f"{config.runtime_name}.{config.runtime.endpoint_name}"
    widgets = _dashboard(templates["Monitoring"])["widgets"]
    [graph] = [
        w for w in widgets if w["properties"].get("title") == "Evaluation scores (hourly average)"
    ]
    metrics = [m[:4] for m in graph["properties"]["metrics"]]
    name = _only(templates["Evaluation"], "AWS::BedrockAgentCore::Evaluator")["EvaluatorName"]
    assert metrics == [
        [EVALUATION_NAMESPACE, evaluator, "service.name", service]
        for evaluator in [*(str(b.value) for b in BUILTIN_EVALUATORS), name]
    ]
    assert graph["properties"]["yAxis"]["left"] == {"min": 0, "max": 1, "showUnits": False}
    # Literals only: the Monitoring stack takes no reference to the Evaluation stack.
    assert "Evaluation:" not in _flat(templates["Monitoring"])


# -- the log groups the service checks at create time -------------------------------------

RUNTIME_ID = "gptoss_agent_dev-AbCdE12345"  # <runtime name>-<10 characters>, as AgentCore makes


INDEX_AND_QUERY = (
    "logs:DescribeIndexPolicies",
    "logs:PutIndexPolicy",
    "logs:StartQuery",
    "logs:GetQueryResults",
)


@pytest.mark.parametrize(
    ("stage", "endpoints"), [("dev", ["live"]), ("prod", ["live"]), ("canary", ["live", "canary"])]
)
def test_the_role_may_index_and_query_exactly_the_data_sources_groups(
    stage: str, endpoints: list[str]
) -> None:
    """CreateOnlineEvaluationConfig checks the role against the data source's log groups.

    The evaluations' own data sources are read from the template (the runtime id filled
    in the way AgentCore forms it): each runtime-endpoint group and ``aws/spans`` must
    be indexable and queryable, group and streams; another runtime's group must not.
    ``canary`` is prod with a canary endpoint evaluated beside live.
    """
    templates = canary_prod_nag_assembly()[1] if stage == "canary" else synth_templates(stage)
    stage = "prod" if stage == "canary" else stage
    name = load_stage(stage).runtime_name
    runtime_id = RUNTIME_ID.replace("gptoss_agent_dev", name)
    configs = [
        r["Properties"]
        for r in templates["Evaluation"]["Resources"].values()
        if r["Type"] == "AWS::BedrockAgentCore::OnlineEvaluationConfig"
    ]
    # The runtime's ARN reaches the stack as an SSM-typed template parameter.
    arn_parameters = {
        name: f"arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/{runtime_id}"
        for name, parameter in templates["Evaluation"]["Parameters"].items()
        if parameter.get("Default") == f"/gptoss-agent/{stage}/runtime/arn"
    }
    assert len(arn_parameters) == 1
    groups = [
        render(g, {**PSEUDO, **arn_parameters})
        for online in configs
        for g in online["DataSourceConfig"]["CloudWatchLogs"]["LogGroupNames"]
    ]
    assert groups == [f"/aws/bedrock-agentcore/runtimes/{runtime_id}-{e}" for e in endpoints]
    [policy] = _role(templates["Iam"], "EvaluationExecutionRole")["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:"
    for group in [*groups, "aws/spans"]:
        for resource in (f"{arn}{group}", f"{arn}{group}:*"):
            for action in INDEX_AND_QUERY:
                assert allows(statements, action, resource), (action, resource)
    other = f"{arn}/aws/bedrock-agentcore/runtimes/other_agent-AbCdE12345-live"
    assert not any(allows(statements, action, other) for action in INDEX_AND_QUERY)
    assert not allows(statements, "logs:PutIndexPolicy", f"{arn}/aws/lambda/anything")


# -- the judge's geography follows the region ------------------------------------------------


@functools.cache
def _regional(region: str, **overrides: str) -> dict[str, dict[str, Any]]:
    """The dev app pinned to ``region`` (as with CDK_DEFAULT_REGION set), cdk-nag on."""
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:disable-asset-staging": True})
    env = cdk.Environment(account="123456789012", region=region)
    config = load_stage("dev", {k.replace("__", "."): v for k, v in overrides.items()})
    stacks = build_app(app, config=config, env=env, nag=True)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding
    return {
        name: assembly.get_stack_by_name(stack.stack_name).template
        for name, stack in stacks.by_name().items()
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("region", "profile"),
    [
        ("eu-west-1", "eu.anthropic.claude-sonnet-4-6"),
        ("ap-southeast-1", "apac.anthropic.claude-sonnet-4-6"),
        ("ap-northeast-1", "jp.anthropic.claude-sonnet-4-6"),
    ],
)
def test_the_judge_uses_the_regions_inference_profile(region: str, profile: str) -> None:
    templates = _regional(region)
    evaluator = _only(templates["Evaluation"], "AWS::BedrockAgentCore::Evaluator")
    model = evaluator["EvaluatorConfig"]["LlmAsAJudge"]["ModelConfig"]
    assert model["BedrockEvaluatorModelConfig"]["ModelId"] == profile
    assert "Mappings" not in templates["Evaluation"]  # resolved at synth: no lookup left
    [policy] = _role(templates["Iam"], "EvaluationExecutionRole")["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    resources = [render(r, PSEUDO) for r in statements["InvokeJudgeModel"]["Resource"]]
    assert sorted(resources) == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-6",
        f"arn:aws:bedrock:{region}:123456789012:inference-profile/{profile}",
    ]


def test_an_unmapped_region_needs_an_explicit_geography() -> None:
    """sa-east-1 has no geography in the table: synth stops naming the key and the fix."""
    with pytest.raises(ConfigError) as caught:
        _regional("sa-east-1")
    assert str(caught.value).startswith(
        "evaluation.judge_geography='auto' is invalid: expected one of us | us-gov | eu | "
        "apac | jp | au | global or none: region sa-east-1"
    )


@pytest.mark.slow
def test_an_explicit_geography_wins_and_none_calls_the_model_itself() -> None:
    templates = _regional("sa-east-1", evaluation__judge_geography="global")
    evaluator = _only(templates["Evaluation"], "AWS::BedrockAgentCore::Evaluator")
    model_id = evaluator["EvaluatorConfig"]["LlmAsAJudge"]["ModelConfig"][
        "BedrockEvaluatorModelConfig"]["ModelId"]  # fmt: skip
    assert model_id == "global.anthropic.claude-sonnet-4-6"
    plain = EvaluationSettings(judge_geography="none")
    assert plain.geography_for("eu-west-1") is None
