"""``endpoint``: the SageMaker endpoint (GPU instances) and its inference component (copies)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import positive, require

# SageMaker resource names: ^[a-zA-Z0-9](-*[a-zA-Z0-9])* , at most 63 characters.
SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

# NVIDIA GPU instance types SageMaker hosting offers, with their GPU count.
# vLLM's CUDA image needs an NVIDIA GPU: CPU, Inferentia and Trainium types
# are rejected by name.
GPU_INSTANCE_TYPES: dict[str, int] = {
    "ml.g5.xlarge": 1,
    "ml.g5.2xlarge": 1,
    "ml.g5.4xlarge": 1,
    "ml.g5.8xlarge": 1,
    "ml.g5.12xlarge": 4,
    "ml.g5.48xlarge": 8,
    "ml.g6.xlarge": 1,
    "ml.g6.2xlarge": 1,
    "ml.g6.4xlarge": 1,
    "ml.g6.8xlarge": 1,
    "ml.g6.12xlarge": 4,
    "ml.g6.48xlarge": 8,
    "ml.g6e.xlarge": 1,
    "ml.g6e.2xlarge": 1,
    "ml.g6e.4xlarge": 1,
    "ml.g6e.8xlarge": 1,
    "ml.g6e.12xlarge": 4,
    "ml.g6e.48xlarge": 8,
    "ml.p4d.24xlarge": 8,
    "ml.p5.48xlarge": 8,
}
ROUTING_STRATEGIES = ("LEAST_OUTSTANDING_REQUESTS", "RANDOM")
# How an inference-component update finds a GPU for the new copy: "rolling"
# keeps spare instance capacity for it (SageMaker starts the new copy before
# it stops the old one); "scale_to_zero_first" has no spare capacity and
# needs the copies scaled to zero before the deploy (README, "Update").
UPDATE_STRATEGIES = ("rolling", "scale_to_zero_first")
# CloudFormation's limits of InferenceComponentRollingUpdatePolicy.
ROLLING_WAIT_MAX_SECONDS = 3600
ROLLING_TIMEOUT_MIN_SECONDS = 600
ROLLING_TIMEOUT_MAX_SECONDS = 28_800
# The GPU inference AMIs SageMaker offers for a production variant. The model
# image (vLLM >= 0.20, CUDA 13) needs NVIDIA driver >= 580, which only the
# AL2023 "gpu-4-1" AMI has; the older ones ship driver 535/550 and would fail
# at container start-up with a CUDA driver error, after the instance is billed.
INFERENCE_AMI_VERSIONS = (
    "al2023-ami-sagemaker-inference-gpu-4-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-2",
)


@dataclass(frozen=True, kw_only=True)
class EndpointSettings:
    """The SageMaker endpoint (instances) and its inference component (copies)."""

    instance_type: str = "ml.g6e.4xlarge"
    initial_instance_count: int = 1
    min_instance_count: int = 1
    max_instance_count: int = 2
    # The copies CloudFormation creates the component with; None = the autoscaling maximum.
    # CloudFormation cannot read the live count back (the property is write-only) and may
    # send this value again on any update of the component: at the maximum, such an update
    # can only add copies (autoscaling trims them), never remove ones autoscaling added
    # (docs/infrastructure.md, "The copy count autoscaling owns").
    copy_count: int | None = None
    accelerators_per_copy: int = 1
    min_memory_mb: int = 32_768
    startup_health_check_timeout_seconds: int = 900
    model_data_download_timeout_seconds: int = 1_200
    routing_strategy: str = "LEAST_OUTSTANDING_REQUESTS"
    inference_ami_version: str = INFERENCE_AMI_VERSIONS[0]
    update_strategy: str = "rolling"
    # Copies replaced per rolling step (and per rollback step).
    rolling_batch_copies: int = 1
    # Bake time per step, during which the rollback alarm is watched.
    rolling_wait_seconds: int = 300
    # Limit of the whole update: at least one start-up plus one bake.
    rolling_timeout_seconds: int = 3600

    def validate(self) -> None:
        require(
            self.instance_type in GPU_INSTANCE_TYPES,
            "endpoint.instance_type",
            self.instance_type,
            "an NVIDIA GPU instance type, one of " + ", ".join(GPU_INSTANCE_TYPES),
        )
        positive("endpoint.initial_instance_count", self.initial_instance_count)
        positive("endpoint.min_instance_count", self.min_instance_count, minimum=0)
        positive("endpoint.max_instance_count", self.max_instance_count)
        require(
            self.min_instance_count <= self.initial_instance_count <= self.max_instance_count,
            "endpoint.initial_instance_count",
            self.initial_instance_count,
            f"between min_instance_count={self.min_instance_count} and "
            f"max_instance_count={self.max_instance_count}",
        )
        gpus = GPU_INSTANCE_TYPES[self.instance_type]
        positive("endpoint.accelerators_per_copy", self.accelerators_per_copy, maximum=gpus)
        positive("endpoint.min_memory_mb", self.min_memory_mb, minimum=1024)
        positive(
            "endpoint.startup_health_check_timeout_seconds",
            self.startup_health_check_timeout_seconds,
            minimum=600,
            maximum=3600,
        )
        positive(
            "endpoint.model_data_download_timeout_seconds",
            self.model_data_download_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        require(
            self.routing_strategy in ROUTING_STRATEGIES,
            "endpoint.routing_strategy",
            self.routing_strategy,
            " | ".join(ROUTING_STRATEGIES),
        )
        require(
            self.inference_ami_version in INFERENCE_AMI_VERSIONS,
            "endpoint.inference_ami_version",
            self.inference_ami_version,
            " | ".join(INFERENCE_AMI_VERSIONS)
            + " (the model image needs driver >= 580: use the first)",
        )
        require(
            self.update_strategy in UPDATE_STRATEGIES,
            "endpoint.update_strategy",
            self.update_strategy,
            " | ".join(UPDATE_STRATEGIES),
        )
        positive("endpoint.rolling_batch_copies", self.rolling_batch_copies)
        positive(
            "endpoint.rolling_wait_seconds",
            self.rolling_wait_seconds,
            minimum=0,
            maximum=ROLLING_WAIT_MAX_SECONDS,
        )
        positive(
            "endpoint.rolling_timeout_seconds",
            self.rolling_timeout_seconds,
            minimum=max(ROLLING_TIMEOUT_MIN_SECONDS, self.one_step_seconds),
            maximum=ROLLING_TIMEOUT_MAX_SECONDS,
        )

    @property
    def one_step_seconds(self) -> int:
        """Longest one rolling step may take: weights download, start-up, bake."""
        return (
            self.model_data_download_timeout_seconds
            + self.startup_health_check_timeout_seconds
            + self.rolling_wait_seconds
        )

    @property
    def copies_per_instance(self) -> int:
        """Model copies one instance of :attr:`instance_type` holds."""
        return GPU_INSTANCE_TYPES[self.instance_type] // self.accelerators_per_copy

    def check_update_capacity(self, *, max_copy_count: int, scale_to_zero: bool) -> None:
        """Fail when an update of the inference component could not get a GPU.

        SageMaker brings a new copy up before it stops an old one. With
        ``rolling`` the instance limit must hold the most copies autoscaling
        may run plus one batch; otherwise a warm component (or one at its
        maximum) cannot be updated. ``scale_to_zero_first`` skips the spare
        capacity and relies on the copies being at zero when the update
        starts, which only a stage that scales to zero can reach.
        """
        require(
            self.rolling_batch_copies <= max_copy_count,
            "endpoint.rolling_batch_copies",
            self.rolling_batch_copies,
            f"at most the component's copies ({max_copy_count})",
        )
        if self.update_strategy == "scale_to_zero_first":
            require(
                scale_to_zero,
                "endpoint.update_strategy",
                self.update_strategy,
                "rolling unless operations.autoscaling.scale_to_zero is on (copies can only "
                "be scaled to zero before an update where the stage allows zero copies)",
            )
            return
        peak = max_copy_count + self.rolling_batch_copies
        needed = -(-peak // self.copies_per_instance)
        require(
            self.max_instance_count >= needed,
            "endpoint.max_instance_count",
            self.max_instance_count,
            f">= {needed}: during a rolling update up to {peak} copies run "
            f"({max_copy_count} plus a batch of "
            f"{self.rolling_batch_copies}, {self.copies_per_instance} per {self.instance_type}); "
            "or endpoint.update_strategy=scale_to_zero_first",
        )
