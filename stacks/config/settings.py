"""The settings of one deployment stage: typed sections, one error type, one set of validators.

Why frozen dataclasses instead of ``cdk.json`` context values: every key has
a type, a default per stage (:mod:`stacks.config.stages`) and a validation
rule, and a bad value fails synth with a message naming the key, the value
and what is allowed, long before CloudFormation would reject it half-way
through a deploy. One dataclass per concern; the operations sections
(autoscaling, alarms, tracing) are sections like the others.

Nothing here reads the environment or CDK context: ``app.py`` does, and
passes the stage name and any overrides in.

Physical names that two stacks must agree on (endpoint, inference
component, runtime) are derived here, deterministically, from the project
and stage. That is what lets the IAM stack write exact ARNs for the
endpoint without a reference to the model stack (which needs the IAM
stack's role): no dependency cycle, and the IAM stack stays first.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field

PROJECT = "gptoss-agent"

# AgentCore's own limits (API reference of CreateAgentRuntime / the L2 docs).
AGENTCORE_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
AGENTCORE_MAX_IDLE_SECONDS = 28_800
AGENTCORE_MIN_IDLE_SECONDS = 60
# A synchronous InvokeAgentRuntime request is cut off by AgentCore after 15 min;
# the agent's own deadline must end before that so it can answer with an error.
AGENTCORE_REQUEST_TIMEOUT_SECONDS = 900

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

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
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
STAGES = ("dev", "prod")

# Scheduled watchlist reports. The ticker shape and the per-request limit are
# the agent's own (a test checks both against the agent's payload validation
# and ticker parsing; the stacks never import the agent).
WATCHLIST_TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{0,9}(?:[._][A-Z0-9]{1,10}){0,2}$")
MAX_WATCHLIST_TICKERS = 5
# EventBridge Scheduler expressions: cron with six fields, or rate with a unit.
SCHEDULE_CRON_PATTERN = re.compile(r"^cron\((\S+ ){5}\S+\)$")
SCHEDULE_RATE_PATTERN = re.compile(
    r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$"
)
# EventBridge Scheduler's retry policy limits.
SCHEDULE_MAX_RETRY_ATTEMPTS = 185
SCHEDULE_MIN_EVENT_AGE_SECONDS = 60
SCHEDULE_MAX_EVENT_AGE_SECONDS = 86_400


# RFC 5322 is far wider; this is the shape SNS email endpoints accept in practice.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_ALARM_PERIODS = (60, 300, 900, 3600)
# SageMaker real-time inference cuts a call off after 60 s; the call then
# counts in InvocationModelErrors and leaves no ModelLatency sample, so a
# latency threshold near 60 s could hardly ever be crossed.
SAGEMAKER_INVOCATION_TIMEOUT_SECONDS = 60
MAX_LATENCY_THRESHOLD_SECONDS = 45


class ConfigError(ValueError):
    """A stage setting CDK cannot deploy; the message names key, value and what is allowed."""


def invalid(key: str, value: object, allowed: str) -> ConfigError:
    """The one error message shape: key, value, what is allowed."""
    return ConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise invalid(key, value, allowed)


def _positive(key: str, value: int, *, minimum: int = 1, maximum: int | None = None) -> None:
    """An integer (never a bool) in ``[minimum, maximum]``."""
    upper = "" if maximum is None else f" and <= {maximum}"
    _require(
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum),
        key,
        value,
        f"an integer >= {minimum}{upper}",
    )


def _number(key: str, value: object, low: float, high: float) -> None:
    """A number (never a bool) in ``(low, high]``."""
    _require(
        isinstance(value, int | float) and not isinstance(value, bool) and low < value <= high,
        key,
        value,
        f"a number in ({low:g}, {high:g}]",
    )


def _flag(key: str, value: object) -> None:
    _require(isinstance(value, bool), key, value, "true | false")


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """What the vLLM container serves and how (becomes the Model's container env)."""

    model_id: str = "openai/gpt-oss-20b"
    # s3://bucket/prefix/ with the unpacked weights; None = download from the hub.
    weights_s3_uri: str | None = None
    # Only possible with S3 weights: an isolated container cannot reach the hub.
    network_isolation: bool = False
    max_model_len: int = 32_768
    gpu_memory_utilization: float = 0.90
    # SAGEMAKER_CONTAINER_LOG_LEVEL (Python logging level number), None = unset.
    container_log_level: int | None = None
    # LoRA adapters served beside the base model (docs/customization.md):
    # "NAME=s3://bucket/prefix/" entries; a request's "model" field picks one by NAME.
    adapters: tuple[str, ...] = ()
    max_lora_rank: int = 16

    def validate(self) -> None:
        _require(bool(self.model_id.strip()), "model.model_id", self.model_id, "a model id")
        if self.weights_s3_uri is not None:
            _require(
                re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(\S+/)?", self.weights_s3_uri)
                is not None,
                "model.weights_s3_uri",
                self.weights_s3_uri,
                "s3://<bucket>/<prefix>/ (a folder URI ending in '/') or unset",
            )
        _require(
            not self.network_isolation or self.weights_s3_uri is not None,
            "model.network_isolation",
            self.network_isolation,
            "false unless model.weights_s3_uri is set (an isolated container cannot "
            "download weights from the hub)",
        )
        _positive("model.max_model_len", self.max_model_len, minimum=1024, maximum=131_072)
        _require(
            0.1 <= self.gpu_memory_utilization <= 0.98,
            "model.gpu_memory_utilization",
            self.gpu_memory_utilization,
            "a fraction in [0.1, 0.98]",
        )
        if self.container_log_level is not None:
            _require(
                self.container_log_level in (10, 20, 30, 40),
                "model.container_log_level",
                self.container_log_level,
                "10 | 20 | 30 | 40 or unset",
            )
        self._validate_adapters()

    def _validate_adapters(self) -> None:
        names: list[str] = []
        for entry in self.adapters:
            name, _, uri = str(entry).partition("=")
            _require(
                re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name) is not None
                and name not in ("model", *names)
                and re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(\S+/)", uri) is not None,
                "model.adapters",
                entry,
                "NAME=s3://<bucket>/<prefix>/ entries with distinct names of [A-Za-z0-9._-] "
                "(not 'model', the base's served name)",
            )
            names.append(name)
        _require(len(names) <= 16, "model.adapters", len(names), "at most 16 adapters")
        _require(
            self.max_lora_rank in (8, 16, 32, 64),
            "model.max_lora_rank",
            self.max_lora_rank,
            "8 | 16 | 32 | 64",
        )

    @property
    def adapter_uris(self) -> dict[str, str]:
        """Served adapter name -> its S3 folder."""
        return dict(str(entry).partition("=")[::2] for entry in self.adapters)

    @property
    def weights_bucket(self) -> str | None:
        """Bucket name of :attr:`weights_s3_uri`."""
        if not self.weights_s3_uri:
            return None
        return self.weights_s3_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def weights_prefix(self) -> str | None:
        """Key prefix of :attr:`weights_s3_uri` (may be empty for a whole bucket)."""
        if not self.weights_s3_uri:
            return None
        return self.weights_s3_uri.removeprefix("s3://").split("/", 1)[1]


@dataclass(frozen=True, kw_only=True)
class EndpointSettings:
    """The SageMaker endpoint (instances) and its inference component (copies)."""

    instance_type: str = "ml.g6e.4xlarge"
    initial_instance_count: int = 1
    min_instance_count: int = 1
    max_instance_count: int = 2
    copy_count: int = 1
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
        _require(
            self.instance_type in GPU_INSTANCE_TYPES,
            "endpoint.instance_type",
            self.instance_type,
            "an NVIDIA GPU instance type, one of " + ", ".join(GPU_INSTANCE_TYPES),
        )
        _positive("endpoint.initial_instance_count", self.initial_instance_count)
        _positive("endpoint.min_instance_count", self.min_instance_count, minimum=0)
        _positive("endpoint.max_instance_count", self.max_instance_count)
        _require(
            self.min_instance_count <= self.initial_instance_count <= self.max_instance_count,
            "endpoint.initial_instance_count",
            self.initial_instance_count,
            f"between min_instance_count={self.min_instance_count} and "
            f"max_instance_count={self.max_instance_count}",
        )
        _positive("endpoint.copy_count", self.copy_count)
        gpus = GPU_INSTANCE_TYPES[self.instance_type]
        _positive("endpoint.accelerators_per_copy", self.accelerators_per_copy, maximum=gpus)
        _require(
            self.copy_count * self.accelerators_per_copy <= gpus * self.initial_instance_count,
            "endpoint.copy_count",
            self.copy_count,
            f"at most {gpus * self.initial_instance_count // self.accelerators_per_copy} "
            f"copies ({gpus} GPU(s) per {self.instance_type} x "
            f"{self.initial_instance_count} instance(s))",
        )
        _positive("endpoint.min_memory_mb", self.min_memory_mb, minimum=1024)
        _positive(
            "endpoint.startup_health_check_timeout_seconds",
            self.startup_health_check_timeout_seconds,
            minimum=600,
            maximum=3600,
        )
        _positive(
            "endpoint.model_data_download_timeout_seconds",
            self.model_data_download_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        _require(
            self.routing_strategy in ROUTING_STRATEGIES,
            "endpoint.routing_strategy",
            self.routing_strategy,
            " | ".join(ROUTING_STRATEGIES),
        )
        _require(
            self.inference_ami_version in INFERENCE_AMI_VERSIONS,
            "endpoint.inference_ami_version",
            self.inference_ami_version,
            " | ".join(INFERENCE_AMI_VERSIONS)
            + " (the model image needs driver >= 580: use the first)",
        )
        _require(
            self.update_strategy in UPDATE_STRATEGIES,
            "endpoint.update_strategy",
            self.update_strategy,
            " | ".join(UPDATE_STRATEGIES),
        )
        _positive("endpoint.rolling_batch_copies", self.rolling_batch_copies)
        _positive(
            "endpoint.rolling_wait_seconds",
            self.rolling_wait_seconds,
            minimum=0,
            maximum=ROLLING_WAIT_MAX_SECONDS,
        )
        _positive(
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
        _require(
            self.rolling_batch_copies <= max(max_copy_count, self.copy_count),
            "endpoint.rolling_batch_copies",
            self.rolling_batch_copies,
            f"at most the component's copies ({max(max_copy_count, self.copy_count)})",
        )
        if self.update_strategy == "scale_to_zero_first":
            _require(
                scale_to_zero,
                "endpoint.update_strategy",
                self.update_strategy,
                "rolling unless operations.autoscaling.scale_to_zero is on (copies can only "
                "be scaled to zero before an update where the stage allows zero copies)",
            )
            return
        peak = max(max_copy_count, self.copy_count) + self.rolling_batch_copies
        needed = -(-peak // self.copies_per_instance)
        _require(
            self.max_instance_count >= needed,
            "endpoint.max_instance_count",
            self.max_instance_count,
            f">= {needed}: during a rolling update up to {peak} copies run "
            f"({max(max_copy_count, self.copy_count)} plus a batch of "
            f"{self.rolling_batch_copies}, {self.copies_per_instance} per {self.instance_type}); "
            "or endpoint.update_strategy=scale_to_zero_first",
        )


@dataclass(frozen=True, kw_only=True)
class JwtSettings:
    """Optional inbound JWT (OIDC) authorizer of the runtime; None means IAM SigV4."""

    discovery_url: str
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()

    def validate(self) -> None:
        _require(
            self.discovery_url.startswith("https://")
            and self.discovery_url.endswith("/.well-known/openid-configuration"),
            "runtime.jwt.discovery_url",
            self.discovery_url,
            "an https URL ending in /.well-known/openid-configuration",
        )
        _require(
            bool(self.allowed_clients or self.allowed_audience),
            "runtime.jwt.allowed_clients",
            self.allowed_clients,
            "at least one allowed client or audience (otherwise any token of the issuer passes)",
        )


@dataclass(frozen=True, kw_only=True)
class RuntimeSettings:
    """The AgentCore Runtime: naming, lifecycle, agent settings, inbound auth."""

    # None = derived from project and stage (see StageConfig.runtime_name).
    name: str | None = None
    endpoint_name: str = "live"
    log_level: str = "INFO"
    request_deadline_seconds: int = 300
    model_cold_start_wait_seconds: int = 120
    idle_session_timeout_seconds: int = 900
    max_lifetime_seconds: int = 28_800
    jwt: JwtSettings | None = None
    # The served LoRA adapter the agent asks for (one of model.adapters); None = the base.
    model_adapter: str | None = None

    def validate(self, *, derived_name: str) -> None:
        name = self.name or derived_name
        _require(
            AGENTCORE_NAME_PATTERN.fullmatch(name) is not None,
            "runtime.name",
            name,
            "a name matching [a-zA-Z][a-zA-Z0-9_]{0,47} (letters, digits, underscores; no hyphens)",
        )
        _require(
            AGENTCORE_NAME_PATTERN.fullmatch(self.endpoint_name) is not None
            and self.endpoint_name != "DEFAULT",
            "runtime.endpoint_name",
            self.endpoint_name,
            "a name matching [a-zA-Z][a-zA-Z0-9_]{0,47}, not DEFAULT (reserved)",
        )
        _require(
            self.log_level in LOG_LEVELS,
            "runtime.log_level",
            self.log_level,
            " | ".join(LOG_LEVELS),
        )
        _positive(
            "runtime.request_deadline_seconds",
            self.request_deadline_seconds,
            maximum=AGENTCORE_REQUEST_TIMEOUT_SECONDS - 30,
        )
        _positive(
            "runtime.model_cold_start_wait_seconds",
            self.model_cold_start_wait_seconds,
            maximum=self.request_deadline_seconds - 1,
        )
        _positive(
            "runtime.idle_session_timeout_seconds",
            self.idle_session_timeout_seconds,
            minimum=AGENTCORE_MIN_IDLE_SECONDS,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
        _positive(
            "runtime.max_lifetime_seconds",
            self.max_lifetime_seconds,
            minimum=self.idle_session_timeout_seconds,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
        if self.jwt is not None:
            self.jwt.validate()


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """The report bucket's lifecycle and access."""

    report_retention_days: int = 30
    # None = no transition (S3 needs >= 30 days before STANDARD_IA).
    infrequent_access_after_days: int | None = None
    noncurrent_retention_days: int = 7
    access_log_retention_days: int = 30
    # Offer presigned GET links to reports (the response's report.url and the run
    # notifications): adds s3:GetObject on report keys to the runtime role.
    presigned_links: bool = True
    # How long a presigned link works: at most one hour, so a leaked link dies soon.
    presigned_link_seconds: int = 3600

    def validate(self) -> None:
        _positive("storage.report_retention_days", self.report_retention_days)
        _positive("storage.noncurrent_retention_days", self.noncurrent_retention_days)
        _positive("storage.access_log_retention_days", self.access_log_retention_days)
        _positive(
            "storage.presigned_link_seconds",
            self.presigned_link_seconds,
            minimum=60,
            maximum=3600,
        )
        if self.infrequent_access_after_days is not None:
            _positive(
                "storage.infrequent_access_after_days",
                self.infrequent_access_after_days,
                minimum=30,
                maximum=self.report_retention_days - 1,
            )


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    """Retention of the CloudWatch log groups this app creates."""

    retention_days: int = 14
    # Encrypt the app's log groups with a customer-managed KMS key (one per stack).
    kms_encryption: bool = True

    def validate(self) -> None:
        _require(
            self.retention_days in LOG_RETENTION_DAYS,
            "logs.retention_days",
            self.retention_days,
            "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )


@dataclass(frozen=True, kw_only=True)
class TagSettings:
    """Tags on every resource (cost allocation and ownership)."""

    project: str = PROJECT
    cost_center: str = "ml-platform"

    def validate(self) -> None:
        for key, value in (("tags.project", self.project), ("tags.cost_center", self.cost_center)):
            _require(
                re.fullmatch(r"[\w .:/=+@-]{1,256}", value) is not None,
                key,
                value,
                "1-256 characters of letters, digits, spaces and _.:/=+-@",
            )


# -- operations: autoscaling, alarms, tracing ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AutoscalingConfig:
    """How the inference component's copy count follows the load.

    ``scale_to_zero`` is the stage option the issue asks for: when on, the
    copy count may reach 0 and a step policy driven by
    ``NoCapacityInvocationFailures`` brings one copy back on the first
    request; the endpoint's managed instance scaling (minimum 0, checked by
    :meth:`check_endpoint`) then releases the idle GPU instance. When off, at
    least one copy stays warm so no request ever waits for a cold start.

    Instance counts are not repeated here: the endpoint settings of the
    stage own them (managed instance scaling min/max) and
    :meth:`check_endpoint` keeps the two consistent.
    """

    scale_to_zero: bool
    min_copy_count: int
    max_copy_count: int
    # Target tracking on SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution.
    target_concurrent_requests_per_copy: float = 5.0
    scale_out_cooldown_seconds: int = 120
    scale_in_cooldown_seconds: int = 900
    # Cooldown of the wake-up step policy: one copy per cold start is enough;
    # target tracking adds more once the copy serves traffic.
    wake_up_cooldown_seconds: int = 300

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first inconsistent key."""
        _flag("operations.autoscaling.scale_to_zero", self.scale_to_zero)
        _positive(
            "operations.autoscaling.min_copy_count", self.min_copy_count, minimum=0, maximum=100
        )
        _positive("operations.autoscaling.max_copy_count", self.max_copy_count, maximum=100)
        if self.scale_to_zero and self.min_copy_count != 0:
            raise invalid(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                "0 when scale_to_zero is on",
            )
        if not self.scale_to_zero and self.min_copy_count < 1:
            raise invalid(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                ">= 1 when scale_to_zero is off",
            )
        if self.max_copy_count < self.min_copy_count:
            raise invalid(
                "operations.autoscaling.max_copy_count",
                self.max_copy_count,
                f">= min_copy_count ({self.min_copy_count})",
            )
        _number(
            "operations.autoscaling.target_concurrent_requests_per_copy",
            self.target_concurrent_requests_per_copy,
            0,
            1000,
        )
        for key in (
            "scale_out_cooldown_seconds",
            "scale_in_cooldown_seconds",
            "wake_up_cooldown_seconds",
        ):
            _positive(f"operations.autoscaling.{key}", getattr(self, key), minimum=0, maximum=3600)

    def check_endpoint(
        self,
        *,
        min_instance_count: int,
        max_instance_count: int,
        accelerators_per_instance: int,
        accelerators_per_copy: int,
    ) -> None:
        """Fail when the endpoint's instance scaling contradicts the copy scaling.

        Scale-to-zero needs managed instance scaling down to 0, or the idle
        GPU instance stays billed and the option saves nothing. And
        ``max_copy_count`` copies must fit on ``max_instance_count``
        instances: SageMaker would accept the target and leave the extra
        copies pending forever.
        """
        if self.scale_to_zero and min_instance_count != 0:
            raise invalid(
                "endpoint.min_instance_count",
                min_instance_count,
                "0 when operations.autoscaling.scale_to_zero is on "
                "(an idle instance would stay billed)",
            )
        if accelerators_per_copy < 1 or accelerators_per_instance < accelerators_per_copy:
            raise invalid(
                "endpoint.accelerators_per_copy",
                accelerators_per_copy,
                f"between 1 and the instance's {accelerators_per_instance} accelerator(s)",
            )
        per_instance = accelerators_per_instance // accelerators_per_copy
        if self.max_copy_count > max_instance_count * per_instance:
            raise invalid(
                "operations.autoscaling.max_copy_count",
                self.max_copy_count,
                f"<= {max_instance_count * per_instance} (max_instance_count "
                f"{max_instance_count} x {per_instance} copies per instance)",
            )


@dataclass(frozen=True, kw_only=True)
class AlarmConfig:
    """Thresholds of the paging alarms and where they are sent.

    ``email`` is optional: without it the SNS topic still exists (so other
    subscribers such as chat webhooks can be attached by hand) but nobody
    receives mail. The subscription must be confirmed from the inbox.
    """

    email: str | None = None
    endpoint_5xx_rate_percent: float = 5.0
    model_latency_p90_seconds: float = 30.0
    # Calls that got no valid answer, timeouts at 60 s included.
    model_invocation_errors: int = 1
    runtime_system_errors: int = 1
    report_upload_failures: int = 1
    period_seconds: int = 300
    evaluation_periods: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first bad key."""
        if self.email is not None and not _EMAIL.match(self.email):
            raise invalid(
                "operations.alarms.email", self.email, "an e-mail address like ops@example.com"
            )
        _number(
            "operations.alarms.endpoint_5xx_rate_percent", self.endpoint_5xx_rate_percent, 0, 100
        )
        _number(
            "operations.alarms.model_latency_p90_seconds",
            self.model_latency_p90_seconds,
            0,
            MAX_LATENCY_THRESHOLD_SECONDS,
        )
        for key in ("model_invocation_errors", "runtime_system_errors", "report_upload_failures"):
            _positive(f"operations.alarms.{key}", getattr(self, key), maximum=100_000)
        if self.period_seconds not in _ALARM_PERIODS:
            raise invalid(
                "operations.alarms.period_seconds",
                self.period_seconds,
                " | ".join(str(p) for p in _ALARM_PERIODS),
            )
        _positive("operations.alarms.evaluation_periods", self.evaluation_periods, maximum=24)


@dataclass(frozen=True, kw_only=True)
class OperationsConfig:
    """Everything the Monitoring stack needs from a stage."""

    # Default: one warm copy and no scaling range (a stage that does not choose).
    autoscaling: AutoscalingConfig = field(
        default_factory=lambda: AutoscalingConfig(
            scale_to_zero=False, min_copy_count=1, max_copy_count=1
        )
    )
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    # Tracing of the AgentCore runtime (X-Ray through the L2's tracingEnabled).
    tracing: bool = True

    def __post_init__(self) -> None:
        # The sections validate themselves; here only that they are sections
        # (a config override could put a plain string in their place).
        if not isinstance(self.autoscaling, AutoscalingConfig):
            raise invalid("operations.autoscaling", self.autoscaling, "an AutoscalingConfig")
        if not isinstance(self.alarms, AlarmConfig):
            raise invalid("operations.alarms", self.alarms, "an AlarmConfig")
        _flag("operations.tracing", self.tracing)


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """Optional scheduled reports of a watchlist (off while ``watchlist`` is empty).

    EventBridge Scheduler invokes the agent runtime with the watchlist as the
    prompt; with ``notify`` the agent publishes one SNS message per run.
    """

    watchlist: tuple[str, ...] = ()
    # 16:30 New York time on weekdays: after the US market close.
    expression: str = "cron(30 16 ? * MON-FRI *)"
    timezone: str = "America/New_York"
    notify: bool = True
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600

    @property
    def enabled(self) -> bool:
        return bool(self.watchlist)

    def validate(self) -> None:
        _require(
            len(self.watchlist) <= MAX_WATCHLIST_TICKERS,
            "schedule.watchlist",
            ",".join(self.watchlist),
            f"at most {MAX_WATCHLIST_TICKERS} tickers (the agent's limit per request)",
        )
        for ticker in self.watchlist:
            _require(
                WATCHLIST_TICKER_PATTERN.fullmatch(ticker) is not None,
                "schedule.watchlist",
                ticker,
                "upper-case tickers like AAPL, BRK.B or SIM_STOCK, separated by commas",
            )
        _require(
            len(set(self.watchlist)) == len(self.watchlist),
            "schedule.watchlist",
            ",".join(self.watchlist),
            "each ticker once",
        )
        _require(
            SCHEDULE_CRON_PATTERN.fullmatch(self.expression) is not None
            or SCHEDULE_RATE_PATTERN.fullmatch(self.expression) is not None,
            "schedule.expression",
            self.expression,
            "cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>) or "
            "rate(<n> minutes|hours|days)",
        )
        _require(
            _is_time_zone(self.timezone),
            "schedule.timezone",
            self.timezone,
            "an IANA time zone such as America/New_York or UTC",
        )
        _flag("schedule.notify", self.notify)
        _positive(
            "schedule.retry_attempts",
            self.retry_attempts,
            minimum=0,
            maximum=SCHEDULE_MAX_RETRY_ATTEMPTS,
        )
        _positive(
            "schedule.max_event_age_seconds",
            self.max_event_age_seconds,
            minimum=SCHEDULE_MIN_EVENT_AGE_SECONDS,
            maximum=SCHEDULE_MAX_EVENT_AGE_SECONDS,
        )

    def prompt(self) -> str:
        """What the schedule asks the agent: the watchlist, by ticker."""
        return f"Analyze {', '.join(self.watchlist)} for investment purposes"


def _is_time_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """Where SageMaker training jobs read datasets and write adapters; None = no training role."""

    bucket: str | None = None
    datasets_prefix: str = "training/datasets/"
    output_prefix: str = "training/output/"
    # The AWS Deep Learning Containers registry account that serves the training image.
    image_account: str = "763104351884"
    image_repository: str = "huggingface-pytorch-training"

    def validate(self) -> None:
        if self.bucket is not None:
            _require(
                re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", self.bucket) is not None,
                "training.bucket",
                self.bucket,
                "an S3 bucket name or unset",
            )
        for key, prefix in (
            ("training.datasets_prefix", self.datasets_prefix),
            ("training.output_prefix", self.output_prefix),
        ):
            _require(
                re.fullmatch(r"([A-Za-z0-9._-]+/)+", prefix) is not None,
                key,
                prefix,
                "a key prefix like training/datasets/ (ending in '/')",
            )
        _require(
            not (
                self.datasets_prefix.startswith(self.output_prefix)
                or self.output_prefix.startswith(self.datasets_prefix)
            ),
            "training.output_prefix",
            self.output_prefix,
            "a prefix that neither contains nor lies inside training.datasets_prefix "
            "(a job must not overwrite its own data)",
        )
        _require(
            re.fullmatch(r"\d{12}", self.image_account) is not None,
            "training.image_account",
            self.image_account,
            "a 12-digit AWS account id",
        )


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything one stage deploys with. Build it with :func:`load_stage`."""

    stage: str
    # prod keeps the report buckets on destroy; dev deletes them. Log groups
    # have service-given fixed names and are never retained (see stacks/constructs/log_groups.py).
    retain_data: bool
    model: ModelSettings = field(default_factory=ModelSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    tags: TagSettings = field(default_factory=TagSettings)
    # Autoscaling, alarms, dashboard, tracing (the Monitoring stack, docs/operations.md).
    operations: OperationsConfig = field(default_factory=OperationsConfig)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid key."""
        _require(self.stage in STAGES, "stage", self.stage, " | ".join(STAGES))
        self.model.validate()
        self.endpoint.validate()
        self.runtime.validate(derived_name=self.runtime_name)
        self.storage.validate()
        self.logs.validate()
        self.tags.validate()
        self.schedule.validate()
        self.training.validate()
        _require(
            self.runtime.model_adapter is None
            or self.runtime.model_adapter in self.model.adapter_uris,
            "runtime.model_adapter",
            self.runtime.model_adapter,
            "unset or one of model.adapters: " + (", ".join(self.model.adapter_uris) or "(none)"),
        )
        self.operations.autoscaling.check_endpoint(
            min_instance_count=self.endpoint.min_instance_count,
            max_instance_count=self.endpoint.max_instance_count,
            accelerators_per_instance=GPU_INSTANCE_TYPES[self.endpoint.instance_type],
            accelerators_per_copy=self.endpoint.accelerators_per_copy,
        )
        self.endpoint.check_update_capacity(
            max_copy_count=self.operations.autoscaling.max_copy_count,
            scale_to_zero=self.operations.autoscaling.scale_to_zero,
        )
        for key, name in (
            ("endpoint name", self.endpoint_name),
            ("inference component name", self.inference_component_name),
        ):
            _require(
                SAGEMAKER_NAME_PATTERN.fullmatch(name) is not None,
                key,
                name,
                "at most 63 letters, digits and hyphens",
            )

    # -- names shared between stacks -------------------------------------------------
    @property
    def stack_prefix(self) -> str:
        """Prefix of the CloudFormation stack names, e.g. ``GptOssAgent-dev``."""
        return f"GptOssAgent-{self.stage}"

    @property
    def endpoint_name(self) -> str:
        """SageMaker endpoint name (lower case: SageMaker lower-cases it in ARNs)."""
        return f"{PROJECT}-{self.stage}"

    @property
    def inference_component_name(self) -> str:
        """Inference component name (there is no CloudFormation attribute for it)."""
        return f"{PROJECT}-{self.stage}-ic"

    @property
    def runtime_name(self) -> str:
        """AgentCore runtime name (no hyphens allowed)."""
        return self.runtime.name or f"{PROJECT.replace('-', '_')}_{self.stage}"

    @property
    def watchlist_schedule_name(self) -> str:
        """EventBridge Scheduler schedule name (the IAM stack's trust condition names it)."""
        return f"{PROJECT}-{self.stage}-watchlist"

    @property
    def report_topic_name(self) -> str:
        """SNS topic of the run notifications (the IAM stack grants Publish on it)."""
        return f"{PROJECT}-{self.stage}-reports"

    @property
    def watchlist_dead_letter_queue_name(self) -> str:
        """Dead-letter queue of the schedule (the IAM stack grants SendMessage on it)."""
        return f"{PROJECT}-{self.stage}-watchlist-dlq"

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags applied to every stack."""
        return {
            "project": self.tags.project,
            "stage": self.stage,
            "cost-center": self.tags.cost_center,
        }
