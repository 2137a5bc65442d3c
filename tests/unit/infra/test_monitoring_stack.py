"""Template tests of the operations layer: autoscaling, alarms, dashboard, cost.

Two sources of templates, both real synthesized CloudFormation:

* a small fixture app (a real ``CfnEndpoint``/``CfnInferenceComponent`` and an
  AgentCore ``Runtime`` L2, plus Monitoring stacks for the dev and prod
  operations configs, prod with an alarm e-mail) for the constructs' details;
* the project's own app per stage (``tests.support.cdk_synth``, shared with
  the other infra tests) for the wiring: the Monitoring stack targets the
  Model stack's component, the runtime traces, the stage config's values.

cdk-nag and cfn-lint over the Monitoring stack run with the whole app in
``test_app.py`` and ``test_cfn_lint.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Match, Template

from costs import PRICES, StageCost, render_cost_table, stage_cost
from stacks.config import (
    DEV_OPERATIONS,
    PROD_OPERATIONS,
    AlarmConfig,
    AutoscalingConfig,
    ConfigError,
    OperationsConfig,
    load_stage,
)
from stacks.constructs.autoscaling import InferenceComponentAutoscaling
from stacks.constructs.runtime_reference import RuntimeLookup, RuntimeParameters
from stacks.constructs.trace_delivery import allow_trace_delivery
from stacks.metric_contract import (
    AGENT_METRIC_DIMENSION,
    AGENT_METRIC_NAMESPACE,
    METRIC_MODEL_TOKENS,
    METRIC_REPORT_UPLOAD_FAILURES,
    METRIC_REPORTS_WRITTEN,
    METRIC_STAGE_TIMINGS,
)
from stacks.metrics import ModelMetrics
from stacks.monitoring_stack import MonitoringStack, dashboard_name_for
from tests.support.cdk_synth import STAGES, synth_templates

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
ENV = cdk.Environment(account="123456789012", region="us-east-1")
COMPONENT = "gptoss-agent-test-ic"
ENDPOINT = "gptoss-agent-test"
RUNTIME = "gptoss_agent_test"
RUNTIME_ENDPOINT = "live"
ALARM_EMAIL = "ops@example.com"
LOOKUP = RuntimeLookup(
    name=RUNTIME,
    arn_parameter="/gptoss-agent/test/runtime/arn",
    role_arn="arn:aws:iam::123456789012:role/fixture",
)


def _fixture_stack(app: cdk.App) -> tuple[sagemaker.CfnInferenceComponent, agentcore.Runtime]:
    """An endpoint with one inference component and an AgentCore runtime, as the
    Model and Runtime stacks build them (names set explicitly, imported role)."""
    stack = cdk.Stack(app, "Fixture", env=ENV)
    role_arn = "arn:aws:iam::123456789012:role/fixture"
    config = sagemaker.CfnEndpointConfig(
        stack,
        "EndpointConfig",
        execution_role_arn=role_arn,
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                instance_type="ml.g6e.4xlarge",
                initial_instance_count=1,
            )
        ],
    )
    endpoint = sagemaker.CfnEndpoint(
        stack,
        "Endpoint",
        endpoint_config_name=config.attr_endpoint_config_name,
        endpoint_name=ENDPOINT,
    )
    component = sagemaker.CfnInferenceComponent(
        stack,
        "Component",
        endpoint_name=endpoint.attr_endpoint_name,
        inference_component_name=COMPONENT,
        variant_name="AllTraffic",
        specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
            model_name="gptoss",
            compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                number_of_accelerator_devices_required=1, min_memory_required_in_mb=32768
            ),
        ),
        runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
            copy_count=1
        ),
    )
    runtime = agentcore.Runtime(
        stack,
        "Runtime",
        runtime_name=RUNTIME,
        agent_runtime_artifact=agentcore.AgentRuntimeArtifact.from_ecr_repository(
            ecr.Repository.from_repository_name(stack, "Repo", "agent"), "v1"
        ),
        execution_role=iam.Role.from_role_arn(stack, "Role", role_arn, mutable=False),
        tracing_enabled=True,
        manage_delivery_resource_policy=False,
    )
    allow_trace_delivery(stack, "TraceDelivery", runtime=runtime)
    RuntimeParameters(stack, "RuntimeParameters", runtime=runtime, lookup=LOOKUP)
    return component, runtime


def _monitoring(
    app: cdk.App,
    construct_id: str,
    *,
    stage: str,
    config: OperationsConfig,
    component: sagemaker.CfnInferenceComponent,
    runtime: agentcore.Runtime,
    min_instance_count: int,
    max_instance_count: int = 2,
) -> MonitoringStack:
    return MonitoringStack(
        app,
        construct_id,
        env=ENV,
        stage=stage,
        operations=config,
        inference_component=component,
        endpoint_name=ENDPOINT,
        variant_name="AllTraffic",
        runtime=LOOKUP,
        runtime_endpoint_name=RUNTIME_ENDPOINT,
        min_instance_count=min_instance_count,
        max_instance_count=max_instance_count,
        accelerators_per_instance=1,
    )


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Synthesize once: dev (scale-to-zero, no e-mail) and prod (warm, with e-mail)."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    component, runtime = _fixture_stack(app)
    _monitoring(
        app,
        "MonitoringDev",
        stage="dev",
        config=DEV_OPERATIONS,
        component=component,
        runtime=runtime,
        min_instance_count=0,
        max_instance_count=1,
    )
    prod_config = replace(
        PROD_OPERATIONS, alarms=replace(PROD_OPERATIONS.alarms, email=ALARM_EMAIL)
    )
    _monitoring(
        app,
        "MonitoringProd",
        stage="prod",
        config=prod_config,
        component=component,
        runtime=runtime,
        min_instance_count=1,
    )
    assembly = app.synth()
    return {
        "fixture": assembly.get_stack_by_name("Fixture"),
        "dev": assembly.get_stack_by_name("MonitoringDev"),
        "prod": assembly.get_stack_by_name("MonitoringProd"),
        "outdir": Path(assembly.directory),
    }


def _template(synthesized: dict[str, Any], stage: str) -> Template:
    return Template.from_json(synthesized[stage].template)


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = _resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def _alarm_by_metric(template: dict[str, Any], metric_name: str) -> dict[str, Any]:
    for alarm in _resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        names = [props.get("MetricName")] + [
            q.get("MetricStat", {}).get("Metric", {}).get("MetricName")
            for q in props.get("Metrics", [])
        ]
        if metric_name in names:
            return dict(props)
    raise AssertionError(f"no alarm on {metric_name}")


# -- autoscaling -------------------------------------------------------------------------


def test_dev_scalable_target_can_reach_zero_copies_with_the_service_linked_role(
    synthesized: dict[str, Any],
) -> None:
    template = _template(synthesized, "dev")
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            "ResourceId": f"inference-component/{COMPONENT}",
            "MinCapacity": 0,
            "MaxCapacity": DEV_OPERATIONS.autoscaling.max_copy_count,
            "RoleARN": Match.absent(),
        },
    )
    assert not _resources(synthesized["dev"].template, "AWS::IAM::Role")


def test_target_tracking_follows_concurrent_requests_per_copy(synthesized: dict[str, Any]) -> None:
    for stage, config in (("dev", DEV_OPERATIONS), ("prod", PROD_OPERATIONS)):
        raw = synthesized[stage].template
        target_id, _ = _only(raw, "AWS::ApplicationAutoScaling::ScalableTarget")
        policies = [
            p["Properties"]
            for p in _resources(raw, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
            if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
        ]
        assert len(policies) == 1, stage
        policy = policies[0]
        # The full CloudFormation ID of the target, not just its resource id.
        assert policy["ScalingTargetId"] == {"Ref": target_id}
        spec = policy["TargetTrackingScalingPolicyConfiguration"]
        metric = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
        assert spec["PredefinedMetricSpecification"] == {"PredefinedMetricType": metric}
        assert spec["TargetValue"] == config.autoscaling.target_concurrent_requests_per_copy
        assert spec["ScaleInCooldown"] == config.autoscaling.scale_in_cooldown_seconds
        assert spec["ScaleOutCooldown"] == config.autoscaling.scale_out_cooldown_seconds


def test_dev_wakes_from_zero_on_no_capacity_failures(synthesized: dict[str, Any]) -> None:
    raw = synthesized["dev"].template
    target_id, _ = _only(raw, "AWS::ApplicationAutoScaling::ScalableTarget")
    steps = {
        k: p["Properties"]
        for k, p in _resources(raw, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if p["Properties"]["PolicyType"] == "StepScaling"
    }
    assert len(steps) == 1
    step_id, step = next(iter(steps.items()))
    assert step["ScalingTargetId"] == {"Ref": target_id}
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": DEV_OPERATIONS.autoscaling.wake_up_cooldown_seconds,
        "MetricAggregationType": "Maximum",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    alarm = _alarm_by_metric(raw, "NoCapacityInvocationFailures")
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": COMPONENT}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # The wake-up alarm drives scaling only; it does not page.
    assert alarm["AlarmActions"] == [{"Ref": step_id}]
    assert "OKActions" not in alarm


def test_prod_keeps_one_copy_warm_and_has_no_wake_up_path(synthesized: dict[str, Any]) -> None:
    raw = synthesized["prod"].template
    _, target = _only(raw, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == PROD_OPERATIONS.autoscaling.min_copy_count >= 1
    kinds = [
        p["Properties"]["PolicyType"]
        for p in _resources(raw, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    assert kinds == ["TargetTrackingScaling"]
    with pytest.raises(AssertionError, match="no alarm"):
        _alarm_by_metric(raw, "NoCapacityInvocationFailures")


def test_monitoring_is_deployed_after_and_destroyed_before_the_model(
    synthesized: dict[str, Any],
) -> None:
    manifest = json.loads((synthesized["outdir"] / "manifest.json").read_text())
    for stack in ("MonitoringDev", "MonitoringProd"):
        assert "Fixture" in manifest["artifacts"][stack]["dependencies"]


def test_scalable_target_depends_on_the_component_in_the_same_stack() -> None:
    """Within one stack the dependency is a DependsOn (CloudFormation deletes the
    target before the component, so the component can be deleted)."""
    app = cdk.App()
    stack = cdk.Stack(app, "One", env=ENV)
    component = sagemaker.CfnInferenceComponent(
        stack,
        "Component",
        endpoint_name=ENDPOINT,
        inference_component_name=COMPONENT,
        specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
            model_name="gptoss"
        ),
    )
    InferenceComponentAutoscaling(
        stack,
        "Autoscaling",
        component=component,
        component_name=COMPONENT,
        model_metrics=ModelMetrics(
            endpoint_name=ENDPOINT, variant_name="AllTraffic", component_name=COMPONENT
        ),
        config=DEV_OPERATIONS.autoscaling,
    )
    raw = Template.from_stack(stack).to_json()
    component_id = stack.get_logical_id(component)
    _, target = _only(raw, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert component_id in target["DependsOn"]


# -- alarms and topic --------------------------------------------------------------------


def test_alarm_topic_is_kms_encrypted_tls_only_and_scoped_to_our_alarms(
    synthesized: dict[str, Any],
) -> None:
    raw = synthesized["dev"].template
    key_id, key = _only(raw, "AWS::KMS::Key")
    topic_id, topic = _only(raw, "AWS::SNS::Topic")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Delete"  # nothing billable left after destroy
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}

    _, policy = _only(raw, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow[0]["Action"] == "sns:Publish"
    assert allow[0]["Resource"] == {"Ref": topic_id}
    assert allow[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ENV.account}
    assert "aws:SourceArn" in allow[0]["Condition"]["ArnLike"]

    key_statements = key["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [
        s for s in key_statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(cloudwatch) == 1
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ENV.account}


def test_email_subscription_only_when_the_stage_gives_an_address(
    synthesized: dict[str, Any],
) -> None:
    assert not _resources(synthesized["dev"].template, "AWS::SNS::Subscription")
    _template(synthesized, "prod").has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL}
    )


def test_paging_alarms_watch_the_four_symptoms_and_notify_the_topic(
    synthesized: dict[str, Any],
) -> None:
    raw = synthesized["prod"].template
    topic_id, _ = _only(raw, "AWS::SNS::Topic")
    alarms = PROD_OPERATIONS.alarms
    period = alarms.period_seconds

    rate = _alarm_by_metric(raw, "Invocation5XXErrors")
    expression = next(q for q in rate["Metrics"] if "Expression" in q)
    assert expression["Expression"] == "IF(invocations > 0, 100 * errors / invocations, 0)"
    for query in rate["Metrics"]:
        if "MetricStat" in query:
            assert query["MetricStat"]["Metric"]["Dimensions"] == [
                {"Name": "InferenceComponentName", "Value": COMPONENT}
            ]
            assert query["MetricStat"]["Period"] == period
    assert rate["Threshold"] == alarms.endpoint_5xx_rate_percent

    latency = _alarm_by_metric(raw, "ModelLatency")
    assert latency["ExtendedStatistic"] == "p90"
    assert latency["Threshold"] == alarms.model_latency_p90_seconds * 1_000_000  # microseconds

    runtime = _alarm_by_metric(raw, "SystemErrors")
    assert runtime["Namespace"] == "AWS/Bedrock-AgentCore"
    dims = {d["Name"]: d["Value"] for d in runtime["Dimensions"]}
    assert dims["Name"] == f"{RUNTIME}::{RUNTIME_ENDPOINT}"
    assert dims["Operation"] == "InvokeAgentRuntime"

    uploads = _alarm_by_metric(raw, METRIC_REPORT_UPLOAD_FAILURES)
    assert uploads["Namespace"] == AGENT_METRIC_NAMESPACE
    assert uploads["Dimensions"] == [{"Name": AGENT_METRIC_DIMENSION, "Value": "prod"}]

    for alarm in (rate, latency, runtime, uploads):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["EvaluationPeriods"] == alarms.evaluation_periods


# -- dashboard ---------------------------------------------------------------------------


def _dashboard_body(raw: dict[str, Any]) -> dict[str, Any]:
    _, dashboard = _only(raw, "AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):  # Fn::Join around tokens (e.g. the imported runtime ARN)
        body = "".join(p if isinstance(p, str) else "<token>" for p in body["Fn::Join"][1])
    return dict(json.loads(body))


def _dashboard_metrics(body: dict[str, Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for widget in body["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            names = [x for x in row if isinstance(x, str)]
            if len(names) >= 2:
                found.add((names[0], names[1]))
    return found


def test_one_dashboard_per_stage_shows_everything_the_issue_lists(
    synthesized: dict[str, Any],
) -> None:
    for stage in ("dev", "prod"):
        raw = synthesized[stage].template
        _, dashboard = _only(raw, "AWS::CloudWatch::Dashboard")
        assert dashboard["Properties"]["DashboardName"] == dashboard_name_for(stage)
        metrics = _dashboard_metrics(_dashboard_body(raw))
        expected = {
            ("AWS/SageMaker", "Invocations"),
            ("AWS/SageMaker", "ModelLatency"),
            ("AWS/SageMaker", "Invocation4XXErrors"),
            ("AWS/SageMaker", "Invocation5XXErrors"),
            ("AWS/SageMaker", "ConcurrentRequestsPerCopy"),
            ("/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized"),
            ("/aws/sagemaker/InferenceComponents", "GPUMemoryUtilizationNormalized"),
            ("/aws/sagemaker/InferenceComponents", "CPUUtilizationNormalized"),  # copies
            ("/aws/sagemaker/Endpoints", "CPUUtilizationNormalized"),  # instances
            ("AWS/Bedrock-AgentCore", "Invocations"),
            ("AWS/Bedrock-AgentCore", "SystemErrors"),
            ("AWS/Bedrock-AgentCore", "UserErrors"),
            ("AWS/Bedrock-AgentCore", "Latency"),
            (AGENT_METRIC_NAMESPACE, METRIC_REPORTS_WRITTEN),
            (AGENT_METRIC_NAMESPACE, METRIC_REPORT_UPLOAD_FAILURES),
            (AGENT_METRIC_NAMESPACE, METRIC_MODEL_TOKENS),
            *((AGENT_METRIC_NAMESPACE, name) for name in METRIC_STAGE_TIMINGS),
        }
        assert expected <= metrics, sorted(expected - metrics)
        body = json.dumps(_dashboard_body(raw))
        assert f'"{AGENT_METRIC_DIMENSION}", "{stage}"' in body
        assert "alarm" in {w["type"] for w in _dashboard_body(raw)["widgets"]}


# -- tracing ---------------------------------------------------------------------------


def test_runtime_traces_reach_xray_without_the_l2_managing_policies(
    synthesized: dict[str, Any],
) -> None:
    raw = synthesized["fixture"].template
    runtime_id, _ = _only(raw, "AWS::BedrockAgentCore::Runtime")
    _, destination = _only(raw, "AWS::Logs::DeliveryDestination")
    assert destination["Properties"]["DeliveryDestinationType"] == "XRAY"
    _, policy = _only(raw, "AWS::XRay::ResourcePolicy")
    parts = policy["Properties"]["PolicyDocument"]["Fn::Join"][1]
    document = json.loads(
        "".join(p if isinstance(p, str) else f"<{json.dumps(p)}>".replace('"', "'") for p in parts)
    )
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Action"] == "xray:PutTraceSegments"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ENV.account}
    (runtime_arn,) = statement["Condition"]["ForAllValues:ArnLike"][
        "logs:LogGeneratingResourceArns"
    ]
    assert runtime_id in runtime_arn and "AgentRuntimeArn" in runtime_arn


# -- the project's app: wiring to the Model and Runtime stacks ---------------------------


def test_project_app_scales_the_model_stacks_component_per_stage_config(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    autoscaling = config.operations.autoscaling
    _, target = _only(templates["Monitoring"], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ResourceId"] == (
        f"inference-component/{config.inference_component_name}"
    )
    assert target["Properties"]["MinCapacity"] == autoscaling.min_copy_count
    assert target["Properties"]["MaxCapacity"] == autoscaling.max_copy_count
    # Managed instance scaling: to zero exactly where the copies may reach zero.
    _, endpoint_config = _only(templates["Model"], "AWS::SageMaker::EndpointConfig")
    (variant,) = endpoint_config["Properties"]["ProductionVariants"]
    scaling = variant["ManagedInstanceScaling"]
    assert scaling["Status"] == "ENABLED"
    assert (scaling["MinInstanceCount"] == 0) == autoscaling.scale_to_zero
    assert scaling["MaxInstanceCount"] == config.endpoint.max_instance_count
    steps = [
        p
        for p in _resources(
            templates["Monitoring"], "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).values()
        if p["Properties"]["PolicyType"] == "StepScaling"
    ]
    assert len(steps) == (1 if autoscaling.scale_to_zero else 0)
    assert stage == "dev" or not autoscaling.scale_to_zero  # prod stays warm by default


def test_project_app_graphs_and_alarms_the_named_runtime_endpoint(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    monitoring = templates["Monitoring"]
    _, dashboard = _only(monitoring, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == dashboard_name_for(stage)
    runtime = _alarm_by_metric(monitoring, "SystemErrors")
    dims = {d["Name"]: d["Value"] for d in runtime["Dimensions"]}
    assert dims["Name"] == f"{config.runtime_name}::{config.runtime.endpoint_name}"
    uploads = _alarm_by_metric(monitoring, METRIC_REPORT_UPLOAD_FAILURES)
    assert uploads["Dimensions"] == [{"Name": AGENT_METRIC_DIMENSION, "Value": stage}]
    # The runtime tells the agent its stage (the EMF dimension) and traces to X-Ray.
    runtime_template = templates["Runtime"]
    _, resource = _only(runtime_template, "AWS::BedrockAgentCore::Runtime")
    assert resource["Properties"]["EnvironmentVariables"]["STAGE"] == stage
    assert config.operations.tracing
    _only(runtime_template, "AWS::XRay::ResourcePolicy")


def test_operations_errors_reach_synth_as_config_errors_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"endpoint\.min_instance_count=1 is invalid"):
        load_stage("dev", {"endpoint.min_instance_count": "1"})
    with pytest.raises(ConfigError, match=r"operations\.autoscaling='on' is invalid"):
        load_stage("prod", {"operations.autoscaling": "on"})
    assert load_stage("dev", {"operations.tracing": "false"}).operations.tracing is False


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (
            lambda: AutoscalingConfig(scale_to_zero=True, min_copy_count=1, max_copy_count=2),
            "autoscaling.min_copy_count=1",
        ),
        (
            lambda: AutoscalingConfig(scale_to_zero=False, min_copy_count=0, max_copy_count=2),
            "autoscaling.min_copy_count=0",
        ),
        (
            lambda: AutoscalingConfig(scale_to_zero=False, min_copy_count=3, max_copy_count=2),
            "autoscaling.max_copy_count=2",
        ),
        (
            lambda: AutoscalingConfig(scale_to_zero=False, min_copy_count=-1, max_copy_count=2),
            "autoscaling.min_copy_count=-1",
        ),
        (
            lambda: AutoscalingConfig(
                scale_to_zero=False,
                min_copy_count=1,
                max_copy_count=1,
                target_concurrent_requests_per_copy=0,
            ),
            "autoscaling.target_concurrent_requests_per_copy=0",
        ),
        (lambda: AlarmConfig(email="not-an-address"), "alarms.email='not-an-address'"),
        (lambda: AlarmConfig(period_seconds=120), "alarms.period_seconds=120"),
        (lambda: AlarmConfig(endpoint_5xx_rate_percent=150), "alarms.endpoint_5xx_rate_percent"),
    ],
)
def test_bad_operations_settings_name_key_value_and_what_is_allowed(build: Any, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        build()
    message = str(error.value)
    assert f"operations.{key}" in message  # key, value and the allowed values
    assert "expected" in message


def test_scale_to_zero_requires_the_endpoint_to_release_its_instance() -> None:
    with pytest.raises(ConfigError, match=r"endpoint\.min_instance_count=1.*0 when"):
        DEV_OPERATIONS.autoscaling.check_endpoint(
            min_instance_count=1,
            max_instance_count=1,
            accelerators_per_instance=1,
            accelerators_per_copy=1,
        )
    with pytest.raises(ConfigError, match=r"max_copy_count=2.*<= 1"):
        PROD_OPERATIONS.autoscaling.check_endpoint(
            min_instance_count=1,
            max_instance_count=1,
            accelerators_per_instance=1,
            accelerators_per_copy=1,
        )
    PROD_OPERATIONS.autoscaling.check_endpoint(
        min_instance_count=1,
        max_instance_count=2,
        accelerators_per_instance=1,
        accelerators_per_copy=1,
    )


# -- contract and cost in docs/operations.md ---------------------------------------------


def _operations_doc() -> str:
    return (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_documented_emf_example_is_valid_for_the_dashboard_contract() -> None:
    """The EMF line the agent engineer copies must produce exactly the metrics the
    dashboard and alarms read (namespace, names, the Stage dimension)."""
    block = re.search(r"```json\n(\{.*?\})\n```", _operations_doc(), re.S)
    assert block, "docs/operations.md has no ```json EMF example"
    line = json.loads(block.group(1))
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert isinstance(line["_aws"]["Timestamp"], int)
    assert directive["Namespace"] == AGENT_METRIC_NAMESPACE
    assert directive["Dimensions"] == [[AGENT_METRIC_DIMENSION]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {METRIC_REPORTS_WRITTEN, METRIC_REPORT_UPLOAD_FAILURES, METRIC_MODEL_TOKENS}
    assert all(m["Unit"] == "Count" for m in directive["Metrics"])
    for name in names:
        assert isinstance(line[name], int)
    assert AGENT_METRIC_DIMENSION in line


def _stage_cost_of_the_app(stage: str) -> StageCost:
    """The cost model fed from the stage config and the synthesized app (alarms, keys)."""
    config = load_stage(stage)
    templates = synth_templates(stage).values()
    return stage_cost(
        stage=stage,
        instance_type=config.endpoint.instance_type,
        min_instance_count=config.endpoint.min_instance_count,
        scale_to_zero=config.operations.autoscaling.scale_to_zero,
        alarm_count=sum(len(_resources(t, "AWS::CloudWatch::Alarm")) for t in templates),
        kms_key_count=sum(len(_resources(t, "AWS::KMS::Key")) for t in templates),
        mcp_gateway_auth=config.mcp.gateway_auth if config.mcp.enabled else None,
    )


def test_cost_table_in_docs_is_the_generated_one() -> None:
    doc = _operations_doc()
    section = re.search(r"<!-- cost-table:start -->\n(.*?)<!-- cost-table:end -->", doc, re.S)
    assert section, "docs/operations.md lost its cost-table markers"
    expected = render_cost_table([_stage_cost_of_the_app(stage) for stage in STAGES])
    assert section.group(1) == expected, (
        "cost table out of date: paste render_cost_table(...) output between the markers"
    )


def test_scale_to_zero_makes_an_idle_stage_almost_free() -> None:
    on = stage_cost(
        stage="dev",
        instance_type="ml.g6e.4xlarge",
        min_instance_count=0,
        scale_to_zero=True,
        alarm_count=5,
        kms_key_count=3,
    )
    off = stage_cost(
        stage="dev",
        instance_type="ml.g6e.4xlarge",
        min_instance_count=1,
        scale_to_zero=False,
        alarm_count=5,
        kms_key_count=3,
    )
    instance = PRICES.instance_per_hour["ml.g6e.4xlarge"]
    assert on.idle_per_hour == pytest.approx(on.fixed_per_hour)
    assert on.idle_per_hour < 0.05
    assert off.idle_per_hour == pytest.approx(instance + off.fixed_per_hour)
    assert on.running_per_hour == pytest.approx(off.running_per_hour)
    assert on.scale_to_zero_saving_per_month > 0 == off.scale_to_zero_saving_per_month
    with pytest.raises(KeyError, match=r"ml\.m5\.xlarge"):
        stage_cost(
            stage="dev",
            instance_type="ml.m5.xlarge",
            min_instance_count=0,
            scale_to_zero=True,
            alarm_count=5,
            kms_key_count=3,
        )
