"""The model stack's template: the inference-component endpoint and the container env.

Checks what matters for the endpoint to come up and be reachable: the
g6e.4xlarge variant without a model, the 1-accelerator component with
start-up timeouts, the destroy order, the pinned logical IDs, the env that
``model_container/serve.py`` reads, the S3-weights variant, and a copy count
no update can lower.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, load_stage
from stacks.model_stack import ENDPOINT_LOGICAL_ID, INFERENCE_COMPONENT_LOGICAL_ID
from tests.support.cdk_synth import VARIANT_WEIGHTS_URI as WEIGHTS
from tests.support.cdk_synth import only, resources, synth_templates, variant_templates
from tests.support.replacement import updated_ids


@pytest.fixture(scope="module")
def s3_weights_templates() -> dict[str, dict[str, Any]]:
    """dev with weights from S3 and network isolation on (the shared variant synth)."""
    return variant_templates()


def test_variant_is_g6e_4xlarge_with_managed_scaling_and_no_model(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    _, endpoint_config = only(templates["Model"], "AWS::SageMaker::EndpointConfig")
    props = endpoint_config["Properties"]
    assert "Fn::ImportValue" in props["ExecutionRoleArn"]
    (variant,) = props["ProductionVariants"]
    assert variant["InstanceType"] == "ml.g6e.4xlarge"
    assert "ModelName" not in variant
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": config.endpoint.min_instance_count,
        "MaxInstanceCount": config.endpoint.max_instance_count,
    }
    assert variant["InitialInstanceCount"] == config.endpoint.initial_instance_count
    # vLLM >= 0.20 is a CUDA 13 build: only the driver-580 AMI starts it.
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


def test_inference_component_has_one_accelerator_and_startup_timeouts(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    component = templates["Model"]["Resources"][INFERENCE_COMPONENT_LOGICAL_ID]
    assert component["Type"] == "AWS::SageMaker::InferenceComponent"
    props = component["Properties"]
    assert props["InferenceComponentName"] == config.inference_component_name
    spec = props["Specification"]
    assert spec["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "MinMemoryRequiredInMb": config.endpoint.min_memory_mb,
    }
    assert spec["StartupParameters"]["ContainerStartupHealthCheckTimeoutInSeconds"] >= 600
    assert spec["StartupParameters"]["ModelDataDownloadTimeoutInSeconds"] > 0
    assert spec["ModelName"] == {"Fn::GetAtt": ["Model", "ModelName"]}
    assert props["RuntimeConfig"] == {"CopyCount": config.component_copy_count}


def test_component_is_deleted_before_the_endpoint(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    model = templates["Model"]
    component = model["Resources"][INFERENCE_COMPONENT_LOGICAL_ID]
    assert component["Properties"]["EndpointName"] == {
        "Fn::GetAtt": [ENDPOINT_LOGICAL_ID, "EndpointName"]
    }
    assert ENDPOINT_LOGICAL_ID in component["DependsOn"]
    # Log groups exist before SageMaker writes to them (retention is ours, not "never").
    endpoint = model["Resources"][ENDPOINT_LOGICAL_ID]
    log_groups = resources(model, "AWS::Logs::LogGroup")
    assert sorted(endpoint["DependsOn"]) == sorted(log_groups)


def test_pinned_logical_ids_and_deterministic_names(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    endpoints = resources(templates["Model"], "AWS::SageMaker::Endpoint")
    assert list(endpoints) == [ENDPOINT_LOGICAL_ID]
    assert endpoints[ENDPOINT_LOGICAL_ID]["Properties"]["EndpointName"] == config.endpoint_name
    outputs = templates["Model"]["Outputs"]
    assert outputs["InferenceComponentName"]["Value"] == config.inference_component_name
    assert outputs["EndpointName"]["Value"] == {"Fn::GetAtt": [ENDPOINT_LOGICAL_ID, "EndpointName"]}


def test_container_env_downloads_from_the_hub_by_default(
    dev_templates: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("dev")
    _, model = only(dev_templates["Model"], "AWS::SageMaker::Model")
    container = model["Properties"]["PrimaryContainer"]
    assert container["Environment"] == {
        "OPTION_MODEL": "openai/gpt-oss-20b",
        "OPTION_SERVED_MODEL_NAME": "model",
        "OPTION_MAX_MODEL_LEN": str(config.model.max_model_len),
        "OPTION_GPU_MEMORY_UTILIZATION": "0.90",
        "OPTION_TENSOR_PARALLEL_SIZE": "1",
        "OPTION_ENABLE_PREFIX_CACHING": "true",
        "OPTION_ASYNC_SCHEDULING": "true",
    }
    assert "ModelDataSource" not in container
    assert model["Properties"]["EnableNetworkIsolation"] is False
    assert "Fn::Sub" in container["Image"]


def test_s3_weights_mount_at_opt_ml_model_and_are_readable_by_exactly_that_prefix(
    s3_weights_templates: dict[str, dict[str, Any]],
) -> None:
    _, model = only(s3_weights_templates["Model"], "AWS::SageMaker::Model")
    container = model["Properties"]["PrimaryContainer"]
    assert container["Environment"]["OPTION_MODEL"] == "/opt/ml/model"
    assert container["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": WEIGHTS,
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    assert model["Properties"]["EnableNetworkIsolation"] is True

    roles = resources(s3_weights_templates["Iam"], "AWS::IAM::Role")
    role = next(r for r in roles.values() if "SageMaker" in r["Properties"]["Description"])
    statements = {
        s["Sid"]: s
        for policy in role["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    }
    assert statements["ReadModelWeights"]["Action"] == "s3:GetObject"
    assert statements["ReadModelWeights"]["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::example-weights/gpt-oss-20b/*"]]
    }
    assert statements["ListModelWeights"]["Condition"] == {
        "StringLike": {"s3:prefix": ["gpt-oss-20b/*"]}
    }


def test_without_s3_weights_the_sagemaker_role_reads_no_s3(
    dev_templates: dict[str, dict[str, Any]],
) -> None:
    roles = resources(dev_templates["Iam"], "AWS::IAM::Role")
    actions = [
        action
        for role in roles.values()
        if "SageMaker" in role["Properties"]["Description"]
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
    ]
    assert actions and not [a for a in actions if a.startswith("s3:")]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- the copy count autoscaling owns ------------------------------------------------------


def _component(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(templates["Model"]["Resources"][INFERENCE_COMPONENT_LOGICAL_ID]["Properties"])


def test_the_component_is_created_with_the_autoscaling_maximum(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    """CopyCount is write-only: CloudFormation may send it again on any update of the
    component. At the scalable target's maximum, that can only add copies."""
    _, templates = stage_templates
    _, target = only(templates["Monitoring"], "AWS::ApplicationAutoScaling::ScalableTarget")
    copies = _component(templates)["RuntimeConfig"]["CopyCount"]
    assert copies == target["Properties"]["MaxCapacity"] >= target["Properties"]["MinCapacity"]


@pytest.mark.slow
def test_unrelated_updates_leave_the_component_alone() -> None:
    """Alarm, log and agent settings change other resources; the component's properties (and
    every value they refer to) stay the same, so CloudFormation never calls its handler."""
    deployed = synth_templates("dev")
    unrelated = synth_templates(
        "dev",
        operations__alarms__model_latency_p90_seconds="40",
        logs__retention_days="30",
        runtime__log_level="INFO",
    )
    updated = updated_ids(deployed, unrelated)
    assert updated["Model"] and updated["Monitoring"] and updated["Runtime"]  # they did change
    assert INFERENCE_COMPONENT_LOGICAL_ID not in updated["Model"]


@pytest.mark.slow
def test_a_model_update_updates_the_component_and_keeps_its_copy_count_at_the_maximum() -> None:
    """A new model replaces the Model and so updates the component (its handler runs with
    the whole desired state); the CopyCount it may send is still the maximum."""
    deployed = synth_templates("dev")
    new_model = synth_templates("dev", model__max_model_len="16384")
    assert INFERENCE_COMPONENT_LOGICAL_ID in updated_ids(deployed, new_model)["Model"]
    assert _component(new_model)["RuntimeConfig"] == _component(deployed)["RuntimeConfig"]
    assert _component(new_model)["RuntimeConfig"]["CopyCount"] == (
        load_stage("dev").operations.autoscaling.max_copy_count
    )


@pytest.mark.parametrize(("value", "ok"), [("0", False), ("1", True), ("2", True), ("3", False)])
def test_an_explicit_copy_count_stays_inside_the_scaling_range(value: str, ok: bool) -> None:
    overrides = {"endpoint.copy_count": value}
    if ok:
        assert load_stage("prod", overrides).component_copy_count == int(value)
        return
    with pytest.raises(ConfigError) as caught:
        load_stage("prod", overrides)
    assert str(caught.value) == (
        f"endpoint.copy_count={int(value)} is invalid: expected an integer >= 1 and <= 2"
    )
