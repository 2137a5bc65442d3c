"""Customisation: the training job's role and the LoRA adapters beside the model.

Synthesised in-process with cdk-nag on (AwsSolutions): a finding fails
``app.synth()``, as in the negative control of ``tests/unit/infra/test_app.py``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.app_builder import build_app
from stacks.config import ConfigError, load_stage
from tests.support.cdk_synth import cdk_json_context, resources

ADAPTER = "narrator-v1=s3://models-bucket/adapters/narrator-v1/"
OVERRIDES = {
    "model.adapters": ADAPTER + ",narrator-v2=s3://other-bucket/lora/v2/",
    "model.max_lora_rank": "32",
    "training.bucket": "models-bucket",
    "runtime.model_adapter": "narrator-v1",
}

pytestmark = pytest.mark.slow


@cache
def _templates() -> dict[str, dict[str, Any]]:
    """dev with adapters and a training bucket, synthesised with cdk-nag on."""
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:disable-asset-staging": True})
    build_app(app, config=load_stage("dev", OVERRIDES), nag=True)
    assembly = app.synth()  # raises on any unacknowledged AwsSolutions finding
    return {stack.stack_name.rsplit("-", 1)[-1]: stack.template for stack in assembly.stacks}


def _role(template: dict[str, Any], logical_prefix: str) -> dict[str, Any]:
    [(_, role)] = [
        (k, r) for k, r in resources(template, "AWS::IAM::Role").items()
        if k.startswith(logical_prefix)
    ]  # fmt: skip
    return role


def _statements(role: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s
        for p in role["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    }


def _text(value: Any) -> str:
    return json.dumps(value)


def test_training_role_reads_datasets_writes_output_pulls_image_writes_logs() -> None:
    statements = _statements(_role(_templates()["Iam"], "TrainingJobRole"))
    assert set(statements) == {
        "ReadDatasets", "ListDatasetsAndOutput", "ReadWriteOutput", "PullTrainingImage",
        "EcrLogin", "TrainingJobLogGroups", "TrainingJobLogStreams", "PublishTrainingMetrics",
    }  # fmt: skip
    assert statements["ReadDatasets"]["Action"] == "s3:GetObject"
    assert _text(statements["ReadDatasets"]["Resource"]).endswith(
        ':s3:::models-bucket/training/datasets/*"]]}'
    )
    assert sorted(statements["ReadWriteOutput"]["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert _text(statements["ReadWriteOutput"]["Resource"]).endswith(
        ':s3:::models-bucket/training/output/*"]]}'
    )
    assert statements["ListDatasetsAndOutput"]["Condition"] == {
        "StringLike": {"s3:prefix": ["training/datasets/*", "training/output/*"]}
    }
    image = _text(statements["PullTrainingImage"]["Resource"])
    assert ":763104351884:repository/huggingface-pytorch-training" in image
    assert "training-job/*" in _text(
        _role(_templates()["Iam"], "TrainingJobRole")["Properties"]["AssumeRolePolicyDocument"]
    )
    # Nothing else in the bucket: no DeleteObject, no bucket-wide object access.
    assert "s3:DeleteObject" not in _text(statements)
    assert "models-bucket/*" not in _text(statements)
    assert "TrainingJobRoleArn" in _templates()["Iam"]["Outputs"]


def test_sagemaker_role_reads_only_the_adapter_prefixes() -> None:
    statements = _statements(_role(_templates()["Iam"], "SageMakerExecutionRole"))
    read = _text(statements["ReadAdapters"]["Resource"])
    assert "models-bucket/adapters/narrator-v1/*" in read and "other-bucket/lora/v2/*" in read
    conditions = sorted(
        (_text(s["Resource"]), s["Condition"]["StringLike"]["s3:prefix"])
        for sid, s in statements.items() if sid.startswith("ListAdapters")
    )  # fmt: skip
    assert [c[1] for c in conditions] == [["adapters/narrator-v1/*"], ["lora/v2/*"]]


def test_model_container_gets_the_adapters_and_rank() -> None:
    [(_, model)] = resources(_templates()["Model"], "AWS::SageMaker::Model").items()
    env = model["Properties"]["PrimaryContainer"]["Environment"]
    assert env["OPTION_LORA_MODULES"] == OVERRIDES["model.adapters"]
    assert env["OPTION_MAX_LORA_RANK"] == "32"


def test_agent_runtime_asks_for_the_chosen_adapter() -> None:
    [(_, runtime)] = resources(_templates()["Runtime"], "AWS::BedrockAgentCore::Runtime").items()
    assert runtime["Properties"]["EnvironmentVariables"]["MODEL_ADAPTER"] == "narrator-v1"
    with pytest.raises(ConfigError, match=r"runtime\.model_adapter.*one of model\.adapters"):
        load_stage("dev", {"runtime.model_adapter": "narrator-v1"})


def test_defaults_add_nothing() -> None:
    config = load_stage("dev")
    assert config.model.adapters == () and config.training.bucket is None
    from stacks.model_stack import model_environment

    assert "OPTION_LORA_MODULES" not in model_environment(
        model=config.model, accelerators_per_copy=config.endpoint.accelerators_per_copy
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model.adapters", "model=s3://models-bucket/a/"),
        ("model.adapters", "a=s3://models-bucket/a/,a=s3://models-bucket/b/"),
        ("model.adapters", "a=s3://models-bucket/no-trailing-slash"),
        ("model.adapters", "a=/local/path/"),
        ("model.adapters", "-a=s3://models-bucket/a/"),
        ("model.adapters", ",".join(f"a{i}=s3://models-bucket/a{i}/" for i in range(17))),
        ("model.max_lora_rank", "128"),
        ("model.max_lora_rank", "4"),
        ("training.bucket", "Not_A_Bucket"),
        ("training.datasets_prefix", "training/datasets"),
        ("training.output_prefix", "training/datasets/out/"),
        ("training.image_account", "7631043518"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_stage("dev", {key: value})


@pytest.mark.parametrize("rank", ["8", "64"])
def test_rank_edges_accepted(rank: str) -> None:
    assert load_stage("dev", {"model.max_lora_rank": rank}).model.max_lora_rank == int(rank)


def test_sixteen_adapters_is_the_limit() -> None:
    entries = ",".join(f"a{i}=s3://models-bucket/a{i}/" for i in range(16))
    assert len(load_stage("dev", {"model.adapters": entries}).model.adapter_uris) == 16
