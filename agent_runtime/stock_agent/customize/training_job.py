"""SageMaker training jobs for the narrative adapters: build, validate, submit, follow.

``stock-agent train --method sft|dpo|grpo|dapo|gspo --data s3://bucket/training/datasets/<id>/``
builds one ``CreateTrainingJob`` request:

- image: the AWS Hugging Face PyTorch training Deep Learning Container
  (:data:`TRAINING_IMAGE`); the job installs the pinned trainers from the
  bundle's ``requirements.txt`` on top of it;
- code: ``training/`` plus the agent's ``stock_agent`` package (the reward)
  as a ``sourcedir.tar.gz`` under the output prefix, run by the image's
  training toolkit (``sagemaker_program`` / ``sagemaker_submit_directory``);
- instance, runtime and spot per method (:data:`PLANS`), with a cost estimate;
- checkpoints synchronised with S3, so managed spot training resumes after
  an interruption (``training/run.py`` resumes from the newest checkpoint);
- the dataset prefix as the ``training`` channel; the adapter and metrics
  land in ``<output>/<job>/output/model.tar.gz``.

The request is validated against botocore's own service model of
``CreateTrainingJob`` before anything is sent; ``--dry-run`` prints it and
the cost table and calls nothing. Without ``--dry-run`` the bundle is
uploaded, the job created and followed until it ends.

Prices are assumptions written here (on-demand list prices, us-east-1), not
fetched: check the SageMaker pricing page before relying on them. They live in
one table, :data:`INSTANCE_TYPES` (GPUs, GPU memory, price per hour per type):
a method's plan and ``--instance-type`` both read it, and a type it does not
list is refused rather than priced as another.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import logging
import re
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

METHODS = ("sft", "dpo", "grpo", "dapo", "gspo")
TRAINING_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-training:"
    "2.9.0-transformers5.3.0-gpu-py312-cu130-ubuntu22.04"
)
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
ENTRY_POINT = "run_training.py"
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/placeholder-pass-role-arn"
SPOT_DISCOUNT_ASSUMED = 0.6  # typical, varies by region and hour; not a quote
TERMINAL = ("Completed", "Failed", "Stopped")
POLL_SECONDS = 30.0
_S3_PREFIX_URI = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/((?:[^/\s]+/)*)")
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@/-]+")


class TrainingJobError(ValueError):
    """The job cannot be built or run; the message names the option and what is allowed."""


@dataclass(frozen=True)
class InstancePlan:
    """Where one method trains, for how long at most, and what that costs."""

    instance_type: str
    gpus: int
    gpu_memory_gib: int
    hourly_usd: float  # assumed on-demand list price, us-east-1
    expected_hours: float  # an estimate for ~1,000 examples, not a measurement
    max_runtime_hours: float
    spot: bool
    why: str
    volume_gib: int = 200

    def cost(self) -> dict[str, float | None]:
        expected = self.expected_hours * self.hourly_usd
        return {
            "expected_on_demand_usd": round(expected, 2),
            "expected_spot_usd": (
                round(expected * (1 - SPOT_DISCOUNT_ASSUMED), 2) if self.spot else None
            ),
            "ceiling_usd": round(self.max_runtime_hours * self.hourly_usd, 2),
        }


@dataclass(frozen=True)
class InstanceType:
    """What one SageMaker training instance type has, and what it costs."""

    gpus: int
    gpu: str
    gpu_memory_gib: int
    hourly_usd: float  # ASSUMPTION: on-demand list price, us-east-1, as of 2026-11


#: Every instance type the jobs may run on. Prices are SageMaker training list prices
#: (about 1.25x the EC2 rate for G types, 1.15x for P types), not fetched: verify them.
INSTANCE_TYPES: dict[str, InstanceType] = {
    "ml.g5.12xlarge": InstanceType(4, "A10G", 96, 7.09),
    "ml.g5.48xlarge": InstanceType(8, "A10G", 192, 20.36),
    "ml.g6e.12xlarge": InstanceType(4, "L40S", 192, 13.12),
    "ml.g6e.24xlarge": InstanceType(4, "L40S", 192, 18.83),
    "ml.g6e.48xlarge": InstanceType(8, "L40S", 384, 37.66),
    "ml.p4d.24xlarge": InstanceType(8, "A100 40 GB", 320, 37.69),
    "ml.p4de.24xlarge": InstanceType(8, "A100 80 GB", 640, 47.11),
    "ml.p5.48xlarge": InstanceType(8, "H100", 640, 113.07),
}


def instance(instance_type: str) -> dict[str, Any]:
    """The plan fields of ``instance_type`` from :data:`INSTANCE_TYPES`, or the error."""
    found = INSTANCE_TYPES.get(instance_type)
    if found is None:
        raise TrainingJobError(
            f"--instance-type {instance_type!r} is invalid: expected one of "
            f"{', '.join(sorted(INSTANCE_TYPES))} (the types this module can price)"
        )
    return {
        "instance_type": instance_type,
        "gpus": found.gpus,
        "gpu_memory_gib": found.gpu_memory_gib,
        "hourly_usd": found.hourly_usd,
    }


# gpt-oss-20b dequantised to bf16 is ~42 GB of weights before activations and
# optimizer state of the adapter; 4 x L40S (192 GB) holds it with room for
# DPO's second forward pass and GRPO's generations (device_map="auto").
DEFAULT_INSTANCE_TYPE = "ml.g6e.12xlarge"
PLANS: dict[str, InstancePlan] = {
    "sft": InstancePlan(
        **instance(DEFAULT_INSTANCE_TYPE),
        expected_hours=1.0,
        max_runtime_hours=6.0,
        spot=True,
        why="one pass over short chats; checkpoints every 50 steps make spot safe",
    ),
    "dpo": InstancePlan(
        **instance(DEFAULT_INSTANCE_TYPE),
        expected_hours=1.5,
        max_runtime_hours=8.0,
        spot=True,
        why="policy and reference (adapter off) forward passes per pair; checkpointed",
    ),
    "grpo": InstancePlan(
        **instance(DEFAULT_INSTANCE_TYPE),
        expected_hours=5.0,
        max_runtime_hours=12.0,
        spot=True,
        why="8 sampled answers per prompt dominate; checkpoints every 25 steps",
    ),
}


# DAPO and GSPO sample as many answers per optimizer step as GRPO (64 per rollout, four
# optimizer steps on each), so they are planned, and cost, like GRPO.
PLANS["dapo"] = replace(PLANS["grpo"], why="GRPO's sampling; four clip-higher updates per rollout")
PLANS["gspo"] = replace(
    PLANS["grpo"], why="GRPO's sampling; four sequence-ratio updates per rollout"
)


@dataclass(frozen=True)
class JobPlan:
    """A built, validated request plus what it depends on."""

    request: dict[str, Any]
    plan: InstancePlan
    bundle: bytes
    bundle_uri: str


def parse_s3_prefix(option: str, uri: str) -> tuple[str, str]:
    """(bucket, prefix ending in '/') of an ``s3://bucket/prefix/`` folder URI."""
    if not uri.endswith("/"):
        uri += "/"
    match = _S3_PREFIX_URI.fullmatch(uri)
    if not match:
        raise TrainingJobError(f"{option} {uri!r} is invalid: expected s3://bucket/prefix/")
    return match.group(1), match.group(2)


def build_bundle(repo_root: Path) -> bytes:
    """``sourcedir.tar.gz``: training/, the agent's stock_agent, requirements, entry point.

    Deterministic (sorted names, fixed times), so its hash names it and an
    unchanged bundle is not uploaded twice.
    """
    training = repo_root / "training"
    package = repo_root / "agent_runtime" / "stock_agent"
    if not (training / "run.py").is_file() or not (package / "customize" / "reward.py").is_file():
        raise TrainingJobError(f"{repo_root}: expected training/ and agent_runtime/stock_agent/")
    members: list[tuple[str, bytes]] = []

    def add_tree(root: Path, arcbase: str) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{arcbase}/{path.relative_to(root).as_posix()}"
                members.append((name, path.read_bytes()))

    add_tree(training, "training")
    add_tree(package, "stock_agent")
    # training/config.py checks LoRA targets with the model container's serving rules.
    rules = repo_root / "model_container" / "lora_support.py"
    members.append(("model_container/lora_support.py", rules.read_bytes()))
    members.append(("requirements.txt", (training / "requirements-job.txt").read_bytes()))
    members.append((ENTRY_POINT, b"from training.run import main\n\nraise SystemExit(main())\n"))
    buffer = io.BytesIO()
    # gzip stamps its header with the time unless told otherwise: mtime=0 keeps the hash stable.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_request(
    *,
    method: str,
    data_uri: str,
    output_uri: str,
    role_arn: str,
    region: str,
    bundle_uri: str,
    job_name: str,
    plan: InstancePlan,
    model_uri: str | None = None,
) -> dict[str, Any]:
    """The ``CreateTrainingJob`` parameters (not yet validated; see :func:`validate_request`)."""
    out_bucket, out_prefix = parse_s3_prefix("--output", output_uri)
    parse_s3_prefix("--data", data_uri)
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": int(plan.max_runtime_hours * 3600)}
    if plan.spot:
        # Spot waits for capacity too: allow as long again as the run itself.
        stopping["MaxWaitTimeInSeconds"] = 2 * stopping["MaxRuntimeInSeconds"]
    channels = [_channel("training", data_uri)]
    hyperparameters = {
        "sagemaker_program": ENTRY_POINT,
        "sagemaker_submit_directory": bundle_uri,
        "sagemaker_region": region,
        "method": method,
        "config": f"training/configs/{method}.json",
    }
    if model_uri:
        channels.append(_channel("model", model_uri))
    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": TRAINING_IMAGE.format(region=region),
            "TrainingInputMode": "File",
            "EnableSageMakerMetricsTimeSeries": True,
            "MetricDefinitions": [
                {"Name": "train:loss", "Regex": r"'loss': '?([0-9.eE+-]+)"},
                {"Name": "train:reward", "Regex": r"'reward': '?([0-9.eE+-]+)"},
            ],
        },
        "RoleArn": role_arn,
        "HyperParameters": hyperparameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{out_bucket}/{out_prefix}jobs/"},
        "ResourceConfig": {
            "InstanceType": plan.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": plan.volume_gib,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": plan.spot,
        "CheckpointConfig": {
            "S3Uri": f"s3://{out_bucket}/{out_prefix}checkpoints/{job_name}/",
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        },
        "Environment": {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_TELEMETRY": "1"},
        "Tags": [
            {"Key": "project", "Value": "stock-agent"},
            {"Key": "training-method", "Value": method},
        ],
    }


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "InputMode": "File",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri if uri.endswith("/") else uri + "/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def validate_request(request: dict[str, Any]) -> None:
    """Check ``request`` against botocore's model of CreateTrainingJob (types, required, limits)."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateTrainingJob").input_shape
    try:
        validate_parameters(request, shape)
    except ParamValidationError as err:
        raise TrainingJobError(f"CreateTrainingJob request is invalid: {err}") from None


def default_job_name(method: str, now: datetime) -> str:
    return f"stock-narrator-{method}-{now.astimezone(UTC):%Y%m%d-%H%M%S}"


def plan_job(
    *,
    method: str,
    data_uri: str,
    output_uri: str | None,
    role_arn: str | None,
    region: str,
    repo_root: Path,
    job_name: str | None = None,
    instance_type: str | None = None,
    spot: bool | None = None,
    model_uri: str | None = None,
    now: datetime | None = None,
) -> JobPlan:
    """Everything ``stock-agent train`` needs, validated; raises :class:`TrainingJobError`."""
    if method not in PLANS:
        raise TrainingJobError(f"--method {method!r} is invalid: expected {' | '.join(METHODS)}")
    data_bucket, data_prefix = parse_s3_prefix("--data", data_uri)
    if output_uri is None:
        output_uri = f"s3://{data_bucket}/training/output/"
    out_bucket, out_prefix = parse_s3_prefix("--output", output_uri)
    if role_arn is not None and not _ROLE_ARN.fullmatch(role_arn):
        raise TrainingJobError(f"--role-arn {role_arn!r} is invalid: expected an IAM role ARN")
    name = job_name or default_job_name(method, now or datetime.now(UTC))
    if not _JOB_NAME.fullmatch(name):
        raise TrainingJobError(
            f"--job-name {name!r} is invalid: expected 1-63 of [a-zA-Z0-9-], no leading dash"
        )
    if model_uri is not None:
        parse_s3_prefix("--model-s3", model_uri)
    plan = PLANS[method]
    if instance_type is not None:
        plan = dataclasses.replace(plan, **instance(instance_type))
    if spot is not None:
        plan = dataclasses.replace(plan, spot=spot)
    bundle = build_bundle(repo_root)
    digest = hashlib.sha256(bundle).hexdigest()[:16]
    bundle_uri = f"s3://{out_bucket}/{out_prefix}source/{digest}/sourcedir.tar.gz"
    request = build_request(
        method=method,
        data_uri=f"s3://{data_bucket}/{data_prefix}",
        output_uri=output_uri,
        role_arn=role_arn or PLACEHOLDER_ROLE,
        region=region,
        bundle_uri=bundle_uri,
        job_name=name,
        plan=plan,
        model_uri=model_uri,
    )
    validate_request(request)
    return JobPlan(request=request, plan=plan, bundle=bundle, bundle_uri=bundle_uri)


def cost_table(plans: Iterable[tuple[str, InstancePlan]]) -> str:
    """A plain-text table of the methods' instances and estimated costs."""
    lines = [
        f"{'method':<6} {'instance':<17} {'GPUs':>4} {'$/h*':>7} {'exp. h':>6} "
        f"{'on-demand $':>11} {'spot $':>7} {'ceiling $':>9}",
    ]
    for method, plan in plans:
        c = plan.cost()
        spot = "-" if c["expected_spot_usd"] is None else f"{c['expected_spot_usd']:.2f}"
        lines.append(
            f"{method:<6} {plan.instance_type:<17} {plan.gpus:>4} {plan.hourly_usd:>7.2f} "
            f"{plan.expected_hours:>6.1f} {c['expected_on_demand_usd']:>11.2f} {spot:>7} "
            f"{c['ceiling_usd']:>9.2f}"
        )
    lines.append(
        "* assumed us-east-1 on-demand list price; spot assumes a "
        f"{SPOT_DISCOUNT_ASSUMED:.0%} discount; ceiling = MaxRuntimeInSeconds at on-demand"
    )
    return "\n".join(lines)


def submit(
    job: JobPlan,
    *,
    sagemaker: Any,
    s3: Any,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = POLL_SECONDS,
    on_status: Callable[[str], None] | None = None,
    follow: bool = True,
) -> str:
    """Upload the bundle, create the job and (by default) follow it to its end; final status."""
    bucket, _, key = job.bundle_uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=job.bundle, ContentType="application/gzip")
    name = job.request["TrainingJobName"]
    sagemaker.create_training_job(**job.request)
    report = on_status or (lambda line: logger.info("%s", line))
    report(f"created training job {name}")
    if not follow:
        return "InProgress"
    seen: tuple[str, str] | None = None
    while True:
        described = sagemaker.describe_training_job(TrainingJobName=name)
        status = described["TrainingJobStatus"]
        secondary = described.get("SecondaryStatus", "")
        if (status, secondary) != seen:
            seen = (status, secondary)
            report(f"{name}: {status} ({secondary})")
        if status in TERMINAL:
            if status != "Completed":
                report(f"{name}: {described.get('FailureReason', 'no reason given')}")
            else:
                artifacts = described.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
                report(f"{name}: adapter and metrics in {artifacts}")
            return str(status)
        sleep(poll_seconds)
