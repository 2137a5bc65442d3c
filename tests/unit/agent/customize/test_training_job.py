"""The training-job launcher: requests valid against botocore's SageMaker model, costs, follow.

No AWS here: the requests are checked with botocore's ``validate_parameters``
on the real CreateTrainingJob input shape, and ``submit`` runs against real
boto3 clients wrapped in botocore's Stubber (which validates every call's
parameters against the same service model and answers with canned
responses in the API's shape).
"""

from __future__ import annotations

import copy
import io
import tarfile
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from stock_agent.customize.training_job import (
    PLANS,
    TrainingJobError,
    build_bundle,
    cost_table,
    plan_job,
    submit,
    validate_request,
)

from tests.support.paths import REPO_ROOT

ROLE = "arn:aws:iam::123456789012:role/GptOssAgent-dev-Iam-TrainingJobRole"


NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


JOB_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:training-job/"


def _plan(method: str = "sft", **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "method": method,
        "data_uri": "s3://models-bucket/training/datasets/d1/",
        "output_uri": None,
        "role_arn": ROLE,
        "region": "eu-west-1",
        "repo_root": REPO_ROOT,
        "now": NOW,
    }
    return plan_job(**{**options, **kwargs})


@pytest.mark.parametrize("method", ["sft", "dpo", "grpo"])
def test_each_method_builds_a_valid_spot_checkpointed_request(method: str) -> None:
    job = _plan(method)
    request = job.request
    validate_request(request)  # botocore's CreateTrainingJob shape
    assert request["TrainingJobName"] == f"stock-narrator-{method}-20261130-120000"
    assert request["AlgorithmSpecification"]["TrainingImage"].startswith(
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-training:"
    )
    assert request["ResourceConfig"]["InstanceType"] == PLANS[method].instance_type
    assert request["EnableManagedSpotTraining"] is True
    stop = request["StoppingCondition"]
    assert stop["MaxRuntimeInSeconds"] == PLANS[method].max_runtime_hours * 3600
    assert stop["MaxWaitTimeInSeconds"] >= stop["MaxRuntimeInSeconds"]
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://models-bucket/training/output/checkpoints/{request['TrainingJobName']}/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    [channel] = request["InputDataConfig"]
    assert channel["ChannelName"] == "training"
    assert (
        channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://models-bucket/training/datasets/d1/"
    )
    assert request["OutputDataConfig"]["S3OutputPath"] == "s3://models-bucket/training/output/jobs/"
    hp = request["HyperParameters"]
    assert hp["method"] == method and hp["config"] == f"training/configs/{method}.json"
    assert hp["sagemaker_submit_directory"] == job.bundle_uri
    assert job.bundle_uri.startswith("s3://models-bucket/training/output/source/")
    assert all(isinstance(v, str) for v in hp.values())


def test_on_demand_drops_the_spot_wait_and_overrides_apply() -> None:
    request = _plan("grpo", spot=False, instance_type="ml.p4de.24xlarge").request
    assert request["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in request["StoppingCondition"]
    assert request["ResourceConfig"]["InstanceType"] == "ml.p4de.24xlarge"


def test_model_weights_channel_is_added_when_given() -> None:
    request = _plan(model_uri="s3://models-bucket/gpt-oss-20b/").request
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["training", "model"]


def test_botocore_validation_rejects_a_malformed_request() -> None:
    request = copy.deepcopy(_plan().request)
    request["ResourceConfig"]["VolumeSizeInGB"] = "200"
    with pytest.raises(TrainingJobError, match="VolumeSizeInGB"):
        validate_request(request)
    del request["RoleArn"]
    with pytest.raises(TrainingJobError, match="RoleArn"):
        validate_request(request)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"data_uri": "/local/folder"}, "--data"),
        ({"data_uri": "s3://Bad_Bucket/x/"}, "--data"),
        ({"output_uri": "https://example.com/"}, "--output"),
        ({"role_arn": "not-an-arn"}, "--role-arn"),
        ({"job_name": "-leading-dash"}, "--job-name"),
        ({"job_name": "x" * 64}, "--job-name"),
        ({"method": "ppo"}, "--method"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises(TrainingJobError, match=names):
        _plan(**kwargs)


def test_job_name_length_edge() -> None:
    assert _plan(job_name="x" * 63).request["TrainingJobName"] == "x" * 63


def test_bundle_is_deterministic_and_carries_code_reward_and_pins() -> None:
    first, second = build_bundle(REPO_ROOT), build_bundle(REPO_ROOT)
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
    assert {"run_training.py", "training/run.py", "training/configs/grpo.json",
            "stock_agent/customize/reward.py", "requirements.txt"} <= names  # fmt: skip
    assert not any("__pycache__" in n for n in names)
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert "trl==1.16.0" in pins and not any(p.startswith("torch") for p in pins)


def test_cost_table_lists_every_method_with_assumptions() -> None:
    table = cost_table(PLANS.items())
    for method, plan in PLANS.items():
        line = next(row for row in table.splitlines() if row.startswith(method))
        assert plan.instance_type in line
        assert f"{plan.expected_hours * plan.hourly_usd:.2f}" in line
        assert f"{plan.max_runtime_hours * plan.hourly_usd:.2f}" in line
    assert "assumed" in table


def _clients() -> tuple[Any, Any]:
    kwargs = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return boto3.client("sagemaker", **kwargs), boto3.client("s3", **kwargs)


def _describe(name: str, status: str, secondary: str, **extra: Any) -> dict[str, Any]:
    """A DescribeTrainingJob answer with the fields the API always returns."""
    return {
        "TrainingJobName": name,
        "TrainingJobArn": JOB_ARN + name,
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://models-bucket/training/output/jobs/{name}/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {
            "InstanceType": "ml.g6e.12xlarge", "InstanceCount": 1, "VolumeSizeInGB": 200
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 21600},
        "CreationTime": NOW,
        **extra,
    }  # fmt: skip


def test_submit_uploads_creates_and_follows_to_completion() -> None:
    job = _plan()
    name = job.request["TrainingJobName"]
    sagemaker, s3 = _clients()
    bucket, _, key = job.bundle_uri.removeprefix("s3://").partition("/")
    lines: list[str] = []
    sleeps: list[float] = []
    with Stubber(sagemaker) as sm_stub, Stubber(s3) as s3_stub:
        s3_stub.add_response(
            "put_object", {}, {"Bucket": bucket, "Key": key, "Body": ANY,
                               "ContentType": "application/gzip"}
        )  # fmt: skip
        sm_stub.add_response(
            "create_training_job", {"TrainingJobArn": JOB_ARN + name}, job.request
        )  # fmt: skip
        statuses = [("InProgress", "Starting"), ("InProgress", "Starting"),
                    ("InProgress", "Training"), ("Completed", "Completed")]  # fmt: skip
        for status, secondary in statuses:
            sm_stub.add_response(
                "describe_training_job", _describe(name, status, secondary),
                {"TrainingJobName": name},
            )  # fmt: skip
        status = submit(job, sagemaker=sagemaker, s3=s3, sleep=sleeps.append,
                        poll_seconds=7, on_status=lines.append)  # fmt: skip
        sm_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    assert status == "Completed"
    assert sleeps == [7, 7, 7]
    assert lines[0] == f"created training job {name}"
    assert [line.split(": ", 1)[1] for line in lines[1:4]] == [
        "InProgress (Starting)", "InProgress (Training)", "Completed (Completed)"
    ]  # fmt: skip
    assert lines[-1].endswith("output/model.tar.gz")


def test_submit_reports_the_failure_reason() -> None:
    job = _plan()
    name = job.request["TrainingJobName"]
    sagemaker, s3 = _clients()
    lines: list[str] = []
    with Stubber(sagemaker) as sm_stub, Stubber(s3) as s3_stub:
        s3_stub.add_response("put_object", {})
        sm_stub.add_response(
            "create_training_job",
            {"TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/x"},
        )
        sm_stub.add_response(
            "describe_training_job",
            _describe(name, "Failed", "Failed", FailureReason="CUDA out of memory"),
        )
        status = submit(job, sagemaker=sagemaker, s3=s3, sleep=lambda _: None,
                        on_status=lines.append)  # fmt: skip
    assert status == "Failed" and lines[-1].endswith("CUDA out of memory")
