"""Day two in the synthesized templates: updates, destroys and redeploys that work.

* a model update finds a GPU: the instance limit leaves room for the rolling
  batch, and the component carries an explicit rolling policy with a
  rollback alarm (the capacity sums are read from the templates);
* no resource is both retained and given a fixed physical name (every
  resource type in the templates is classified, so a new one cannot slip by);
* log groups are KMS-encrypted with a key only CloudWatch Logs may use for
  exactly those groups, with rotation, and keep their retention;
* the trace delivery waits for its X-Ray resource policy;
* a new runtime name deploys: nothing is created under a name the deployed
  app still holds, and no export a deployed stack imports changes
  (:mod:`tests.support.replacement`, from CloudFormation's resource schemas).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError, load_stage
from stacks.model_stack import INFERENCE_COMPONENT_LOGICAL_ID
from tests.support.cdk_synth import (
    SCHEDULED_WATCHLIST,
    STAGES,
    canary_prod_nag_assembly,
    only,
    resources,
    synth_templates,
    variant_templates,
)
from tests.support.replacement import (
    NAME_PROPERTY,
    exports_in_use_changed,
    name_collisions,
    replaced_ids,
)

# Types without a physical name of their own (policies, attachments, custom resources).
UNNAMED_TYPES = {
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::Logs::Delivery",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "Custom::S3AutoDeleteObjects",
}
RETAINING_POLICIES = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def retained_with_fixed_name(template: dict[str, Any]) -> list[str]:
    """Logical ids of resources that survive a delete and carry a literal physical name."""
    found = []
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in UNNAMED_TYPES:
            continue
        if kind not in NAME_PROPERTY:
            raise AssertionError(f"{logical_id}: classify {kind} in NAME_PROPERTY or UNNAMED_TYPES")
        name_property = NAME_PROPERTY[kind]
        retained = {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")}
        name = resource.get("Properties", {}).get(name_property) if name_property else None
        if retained & RETAINING_POLICIES and name is not None:
            found.append(logical_id)
    return found


def _all_templates() -> list[tuple[str, str, dict[str, Any]]]:
    out = [(stage, stack, t) for stage in STAGES for stack, t in synth_templates(stage).items()]
    out += [("variant", stack, t) for stack, t in variant_templates().items()]
    # The optional watchlist schedule adds a fixed-name schedule, queue and topic.
    scheduled = synth_templates("dev", schedule__watchlist="AAPL,MSFT")
    out += [("scheduled", stack, t) for stack, t in scheduled.items()]
    # A canary endpoint adds a fixed-name endpoint, log group and evaluation configuration.
    out += [("canary", stack, t) for stack, t in canary_prod_nag_assembly()[1].items()]
    return out


@pytest.mark.slow
def test_no_resource_is_both_retained_and_fixed_named() -> None:
    offenders = {
        f"{stage}/{stack}": ids
        for stage, stack, template in _all_templates()
        if (ids := retained_with_fixed_name(template))
    }
    assert offenders == {}


def test_the_retained_name_check_finds_a_retained_fixed_name() -> None:
    def group(**extra: Any) -> dict[str, Any]:
        return {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/x"}, **extra}

    template = {
        "Resources": {
            "Fixed": group(DeletionPolicy="Retain"),
            "FixedExceptOnCreate": group(DeletionPolicy="RetainExceptOnCreate"),
            "FixedReplaceRetained": group(UpdateReplacePolicy="Retain"),
            "FixedDeleted": group(DeletionPolicy="Delete"),
            "GeneratedRetained": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "Policy": {"Type": "AWS::S3::BucketPolicy", "DeletionPolicy": "Retain"},
        }
    }
    assert retained_with_fixed_name(template) == [
        "Fixed",
        "FixedExceptOnCreate",
        "FixedReplaceRetained",
    ]
    with pytest.raises(AssertionError, match="classify AWS::Foo::Bar"):
        retained_with_fixed_name({"Resources": {"X": {"Type": "AWS::Foo::Bar"}}})


# -- model update capacity ---------------------------------------------------------------


def _update_capacity(templates: dict[str, dict[str, Any]]) -> tuple[int, int, int, int]:
    """(max instances, copies per instance, max copies, rolling batch) from the templates."""
    _, endpoint_config = only(templates["Model"], "AWS::SageMaker::EndpointConfig")
    (variant,) = endpoint_config["Properties"]["ProductionVariants"]
    component = templates["Model"]["Resources"][INFERENCE_COMPONENT_LOGICAL_ID]["Properties"]
    accelerators = component["Specification"]["ComputeResourceRequirements"][
        "NumberOfAcceleratorDevicesRequired"
    ]
    gpus_per_instance = {"ml.g6e.4xlarge": 1}[variant["InstanceType"]]
    _, target = only(templates["Monitoring"], "AWS::ApplicationAutoScaling::ScalableTarget")
    policy = component["DeploymentConfig"]["RollingUpdatePolicy"]
    assert policy["MaximumBatchSize"]["Type"] == "COPY_COUNT"
    return (
        variant["ManagedInstanceScaling"]["MaxInstanceCount"],
        gpus_per_instance // accelerators,
        target["Properties"]["MaxCapacity"],
        policy["MaximumBatchSize"]["Value"],
    )


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "gpu_quota"), [("dev", 2), ("prod", 3)])
def test_a_rolling_update_fits_even_at_the_maximum_copy_count(stage: str, gpu_quota: int) -> None:
    """SageMaker starts the new copy before stopping the old: the limit holds both."""
    max_instances, per_instance, max_copies, batch = _update_capacity(synth_templates(stage))
    assert max_instances * per_instance >= max_copies + batch
    # The GPU quota each stage needs (README, "Deploy"): exactly its instance limit.
    assert max_instances == gpu_quota


@pytest.mark.slow
def test_component_rolls_one_batch_and_rolls_back_on_its_own_alarm(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    endpoint = load_stage(stage).endpoint
    component = templates["Model"]["Resources"][INFERENCE_COMPONENT_LOGICAL_ID]["Properties"]
    deployment = component["DeploymentConfig"]
    batch = {"Type": "COPY_COUNT", "Value": endpoint.rolling_batch_copies}
    assert deployment["RollingUpdatePolicy"] == {
        "MaximumBatchSize": batch,
        "RollbackMaximumBatchSize": batch,
        "WaitIntervalInSeconds": endpoint.rolling_wait_seconds,
        "MaximumExecutionTimeoutInSeconds": endpoint.rolling_timeout_seconds,
    }
    (alarm_ref,) = deployment["AutoRollbackConfiguration"]["Alarms"]
    alarm_id = alarm_ref["AlarmName"]["Ref"]
    alarm = templates["Model"]["Resources"][alarm_id]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SageMaker", "Invocation5XXErrors")
    assert alarm["Dimensions"] == [
        {"Name": "InferenceComponentName", "Value": component["InferenceComponentName"]}
    ]
    assert alarm["Threshold"] == 1
    assert "AlarmActions" not in alarm  # SageMaker watches it; it pages nobody
    # One rolling step (download, start-up, bake) fits in the update's time limit.
    startup = component["Specification"]["StartupParameters"]
    one_step = (
        startup["ModelDataDownloadTimeoutInSeconds"]
        + startup["ContainerStartupHealthCheckTimeoutInSeconds"]
        + deployment["RollingUpdatePolicy"]["WaitIntervalInSeconds"]
    )
    assert one_step <= deployment["RollingUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"]


@pytest.mark.parametrize(
    ("stage", "overrides", "error"),
    [
        ("dev", {"endpoint.max_instance_count": "1"}, "endpoint.max_instance_count=1"),
        ("prod", {"endpoint.max_instance_count": "2"}, "endpoint.max_instance_count=2"),
        (
            "prod",
            {"endpoint.max_instance_count": "3", "endpoint.rolling_batch_copies": "2"},
            "endpoint.max_instance_count=3",
        ),
        ("dev", {"endpoint.rolling_batch_copies": "2"}, "endpoint.rolling_batch_copies=2"),
        ("dev", {"endpoint.rolling_batch_copies": "0"}, "endpoint.rolling_batch_copies=0"),
        (
            "prod",
            {"endpoint.update_strategy": "scale_to_zero_first"},
            "endpoint.update_strategy='scale_to_zero_first'",
        ),
        ("dev", {"endpoint.update_strategy": "blue_green"}, "endpoint.update_strategy"),
        ("dev", {"endpoint.rolling_wait_seconds": "3601"}, "endpoint.rolling_wait_seconds"),
        # one step = 1200 download + 900 start-up + 300 bake = 2400 s
        ("dev", {"endpoint.rolling_timeout_seconds": "2399"}, "endpoint.rolling_timeout_seconds"),
        ("dev", {"endpoint.rolling_timeout_seconds": "28801"}, "endpoint.rolling_timeout_seconds"),
    ],
)
def test_update_capacity_rules_name_the_key(
    stage: str, overrides: dict[str, str], error: str
) -> None:
    with pytest.raises(ConfigError, match=error.replace(".", r"\.")):
        load_stage(stage, overrides)


@pytest.mark.parametrize(
    ("stage", "overrides"),
    [
        ("dev", {"endpoint.max_instance_count": "2"}),
        ("prod", {"endpoint.max_instance_count": "3"}),
        ("prod", {"endpoint.max_instance_count": "4", "endpoint.rolling_batch_copies": "2"}),
        # A one-GPU quota: dev may skip the spare instance if it scales to zero before updating.
        (
            "dev",
            {"endpoint.max_instance_count": "1", "endpoint.update_strategy": "scale_to_zero_first"},
        ),
        ("dev", {"endpoint.rolling_timeout_seconds": "2400"}),
        ("dev", {"endpoint.rolling_wait_seconds": "0", "endpoint.rolling_timeout_seconds": "2100"}),
    ],
)
def test_update_capacity_accepts_the_edges(stage: str, overrides: dict[str, str]) -> None:
    load_stage(stage, overrides)


# -- log groups: encrypted, deleted with the stack, retention kept -----------------------


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["Model", "Runtime"])
def test_log_groups_use_a_rotating_key_only_logs_may_use_for_them(
    stage_templates: tuple[str, dict[str, dict[str, Any]]], stack: str
) -> None:
    stage, templates = stage_templates
    template = templates[stack]
    groups = resources(template, "AWS::Logs::LogGroup")
    key_id, key = only(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    retention = load_stage(stage).logs.retention_days
    names = []
    for group in groups.values():
        props = group["Properties"]
        assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert props["RetentionInDays"] == retention
        names.append(props["LogGroupName"])
    (logs_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudWatchLogsForTheseLogGroups"
    ]
    principal = logs_statement["Principal"]["Service"]["Fn::Join"][1]
    assert principal == ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]
    assert "kms:GenerateDataKey*" in logs_statement["Action"]
    arns = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    arns = arns if isinstance(arns, list) else [arns]
    # The ARN after its account part, the way the group's own name renders it.
    rendered = sorted(json.dumps(a["Fn::Join"][1][6:]) for a in arns)
    assert rendered == sorted(json.dumps(_name_parts(":log-group:", name)) for name in names)


def _name_parts(prefix: str, name: Any) -> list[Any]:
    """``prefix`` + a literal or ``Fn::Join`` name as the parts of an ``Fn::Join``."""
    if isinstance(name, str):
        return [prefix + name]
    first, *rest = name["Fn::Join"][1]
    return [prefix + first, *rest]


def test_log_encryption_can_be_turned_off_per_stage() -> None:
    config = load_stage("dev", {"logs.kms_encryption": "false"})
    assert config.logs.kms_encryption is False


# -- tidy-ups ------------------------------------------------------------------------------


@pytest.mark.slow
def test_trace_delivery_waits_for_its_xray_resource_policy(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    runtime = templates["Runtime"]
    policy_id, _ = only(runtime, "AWS::XRay::ResourcePolicy")
    xray_destinations = {
        logical_id
        for logical_id, d in resources(runtime, "AWS::Logs::DeliveryDestination").items()
        if d["Properties"]["DeliveryDestinationType"] == "XRAY"
    }
    trace_deliveries = [
        d
        for d in resources(runtime, "AWS::Logs::Delivery").values()
        if d["Properties"]["DeliveryDestinationArn"]["Fn::GetAtt"][0] in xray_destinations
    ]
    assert len(trace_deliveries) == 1
    assert policy_id in trace_deliveries[0]["DependsOn"]


@pytest.mark.slow
def test_model_alarms_can_fire_below_sagemakers_60_second_cut_off(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    alarms = resources(templates["Monitoring"], "AWS::CloudWatch::Alarm").values()
    by_metric = {a["Properties"].get("MetricName"): a["Properties"] for a in alarms}
    latency = by_metric["ModelLatency"]
    assert latency["ExtendedStatistic"] == "p90"
    assert latency["Threshold"] <= 45 * 1_000_000  # microseconds, well below the 60 s cut-off
    # A call cut off at 60 s leaves no latency sample; it counts here instead.
    errors = by_metric["InvocationModelErrors"]
    assert errors["Namespace"] == "AWS/SageMaker"
    assert errors["Threshold"] == load_stage(stage).operations.alarms.model_invocation_errors
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert errors["AlarmActions"] == latency["AlarmActions"]


@pytest.mark.parametrize(("value", "ok"), [("45", True), ("45.01", False), ("60", False)])
def test_latency_threshold_stays_below_the_invocation_cut_off(value: str, ok: bool) -> None:
    overrides = {"operations.alarms.model_latency_p90_seconds": value}
    if ok:
        load_stage("dev", overrides)
    else:
        with pytest.raises(ConfigError, match=r"model_latency_p90_seconds.*\(0, 45\]"):
            load_stage("dev", overrides)


# -- renaming the runtime ------------------------------------------------------------------

RENAMED_RUNTIME = "stock_agent_v2"


@pytest.mark.slow
def test_renaming_the_runtime_deploys() -> None:
    """A new runtime.name replaces the runtime (AgentRuntimeName is create-only) and all
    that hangs on it; every replacement gets a name of its own and nothing imports the
    old id or ARN (the readers take them from SSM)."""
    deployed = synth_templates("dev", schedule__watchlist=SCHEDULED_WATCHLIST)
    renamed = synth_templates(
        "dev", schedule__watchlist=SCHEDULED_WATCHLIST, runtime__name=RENAMED_RUNTIME
    )
    replaced = replaced_ids(deployed, renamed)
    runtime_id, _ = only(renamed["Runtime"], "AWS::BedrockAgentCore::Runtime")
    assert runtime_id in replaced["Runtime"]
    assert set(replaced) == {"Runtime"}  # the readers' resources are updated, not replaced
    assert name_collisions(deployed, renamed, NAME_PROPERTY) == []
    assert exports_in_use_changed(deployed, renamed) == []
    # The delivery resources the replacement creates carry the new runtime's name.
    for kind in ("AWS::Logs::DeliverySource", "AWS::Logs::DeliveryDestination"):
        for resource in resources(renamed["Runtime"], kind).values():
            assert resource["Properties"]["Name"].startswith(f"{RENAMED_RUNTIME}-")


def test_the_replacement_check_finds_a_reused_name_and_an_export_in_use() -> None:
    """Negative control of the check above, on two hand-written apps."""

    def app(target: str, export_value: object) -> dict[str, dict[str, object]]:
        destination = {
            "Type": "AWS::Logs::DeliveryDestination",
            # DestinationResourceArn is create-only: a new target replaces the destination.
            "Properties": {"Name": "fixed", "DestinationResourceArn": target},
        }
        endpoint = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {}}
        producer = {
            "Resources": {"Dest": destination, "Config": endpoint},
            "Outputs": {"Out": {"Value": export_value, "Export": {"Name": "P:Out"}}},
        }
        reader = {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String"}}
        consumer = {
            "Resources": {"R": {**reader, "Properties": {"Value": {"Fn::ImportValue": "P:Out"}}}}
        }
        return {"Producer": producer, "Consumer": consumer}

    deployed = app("arn:a", {"Fn::GetAtt": ["Dest", "Arn"]})
    assert name_collisions(deployed, app("arn:b", "x"), NAME_PROPERTY) == ['Producer/Dest: "fixed"']
    # The export's value follows the replaced destination: in use, so the deploy fails.
    moved = app("arn:b", {"Fn::GetAtt": ["Dest", "Arn"]})
    assert exports_in_use_changed(deployed, moved) == ["P:Out"]
    assert exports_in_use_changed(deployed, deployed) == []
    assert name_collisions(deployed, deployed, NAME_PROPERTY) == []
