"""Typed, validated configuration of one deployment stage (``dev``, ``prod``).

Why a module of frozen dataclasses instead of ``cdk.json`` context values:
every key has a type, a default per stage and a validation rule, and a bad
value fails synth with a message naming the key, the value and what is
allowed, long before CloudFormation would reject it half-way through a
deploy. One dataclass per concern keeps the config easy to extend (the
operations stack adds its own section without touching the others).

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
from collections.abc import Mapping
from dataclasses import dataclass, field, is_dataclass, replace
from typing import Any, cast, get_type_hints

from stacks.operations.config import (
    DEV_OPERATIONS,
    PROD_OPERATIONS,
    STEADY_OPERATIONS,
    OperationsConfig,
    OperationsConfigError,
)

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


class ConfigError(ValueError):
    """A stage setting CDK cannot deploy; the message names key, value and what is allowed."""


def _bad(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise _bad(key, value, allowed)


def _positive(key: str, value: int, *, minimum: int = 1, maximum: int | None = None) -> None:
    upper = "" if maximum is None else f" and <= {maximum}"
    _require(
        isinstance(value, int) and value >= minimum and (maximum is None or value <= maximum),
        key,
        value,
        f"an integer >= {minimum}{upper}",
    )


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
    # --- LoRA adapters served beside the base model (docs/customization.md) ---
    # "NAME=s3://bucket/prefix/" entries; a request's "model" field picks one by NAME.
    adapters: tuple[str, ...] = ()
    max_lora_rank: int = 16
    # --- end LoRA adapters ---

    def validate(self) -> None:
        self._validate_adapters()
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

    # --- LoRA adapters ---
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
        """Served adapter name → its S3 folder."""
        return dict(str(entry).partition("=")[::2] for entry in self.adapters)

    # --- end LoRA adapters ---

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
    max_instance_count: int = 1
    copy_count: int = 1
    accelerators_per_copy: int = 1
    min_memory_mb: int = 32_768
    startup_health_check_timeout_seconds: int = 900
    model_data_download_timeout_seconds: int = 1_200
    routing_strategy: str = "LEAST_OUTSTANDING_REQUESTS"
    inference_ami_version: str = INFERENCE_AMI_VERSIONS[0]

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
    # Offer presigned GET links to reports: adds s3:GetObject to the runtime role.
    presigned_links: bool = False

    def validate(self) -> None:
        _positive("storage.report_retention_days", self.report_retention_days)
        _positive("storage.noncurrent_retention_days", self.noncurrent_retention_days)
        _positive("storage.access_log_retention_days", self.access_log_retention_days)
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


# --- training jobs (docs/customization.md) ---
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


# --- end training jobs ---


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything one stage deploys with. Build it with :func:`load_stage`."""

    stage: str
    # prod keeps data (bucket, log groups) on destroy; dev deletes it.
    retain_data: bool
    model: ModelSettings = field(default_factory=ModelSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    tags: TagSettings = field(default_factory=TagSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)  # training jobs
    # Autoscaling, alarms, dashboard, tracing (stacks/operations, docs/operations.md).
    operations: OperationsConfig = STEADY_OPERATIONS

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
        self.training.validate()
        _require(
            self.runtime.model_adapter is None
            or self.runtime.model_adapter in self.model.adapter_uris,
            "runtime.model_adapter",
            self.runtime.model_adapter,
            "unset or one of model.adapters: " + (", ".join(self.model.adapter_uris) or "(none)"),
        )
        try:
            self.operations.autoscaling.check_endpoint(
                min_instance_count=self.endpoint.min_instance_count,
                max_instance_count=self.endpoint.max_instance_count,
                accelerators_per_instance=GPU_INSTANCE_TYPES[self.endpoint.instance_type],
                accelerators_per_copy=self.endpoint.accelerators_per_copy,
            )
        except OperationsConfigError as error:
            raise ConfigError(str(error)) from None
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
    def tag_map(self) -> dict[str, str]:
        """Tags applied to every stack."""
        return {
            "project": self.tags.project,
            "stage": self.stage,
            "cost-center": self.tags.cost_center,
        }


# -- stage defaults --------------------------------------------------------------------
def _dev() -> StageConfig:
    return StageConfig(
        stage="dev",
        retain_data=False,
        # min 0: scale-to-zero releases the GPU instance when no copy runs.
        endpoint=EndpointSettings(min_instance_count=0, max_instance_count=1),
        runtime=RuntimeSettings(log_level="DEBUG"),
        storage=StorageSettings(
            report_retention_days=30, noncurrent_retention_days=7, access_log_retention_days=30
        ),
        logs=LogSettings(retention_days=14),
        operations=DEV_OPERATIONS,
    )


def _prod() -> StageConfig:
    return StageConfig(
        stage="prod",
        retain_data=True,
        endpoint=EndpointSettings(min_instance_count=1, max_instance_count=2),
        runtime=RuntimeSettings(log_level="INFO"),
        storage=StorageSettings(
            report_retention_days=365,
            infrequent_access_after_days=30,
            noncurrent_retention_days=90,
            access_log_retention_days=365,
        ),
        logs=LogSettings(retention_days=90),
        operations=PROD_OPERATIONS,
    )


_STAGE_DEFAULTS = {"dev": _dev, "prod": _prod}


def load_stage(stage: str, overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Return the validated config of ``stage``, with ``overrides`` applied.

    ``overrides`` maps dotted keys (``"endpoint.copy_count"``,
    ``"model.weights_s3_uri"``, ``"runtime.jwt"``) to values; strings are
    converted to the field's type (so values from ``-c key=value`` work).
    Raises :class:`ConfigError` naming the key for an unknown stage, an
    unknown key, or an invalid value.
    """
    if stage not in _STAGE_DEFAULTS:
        raise _bad("stage", stage, " | ".join(STAGES))
    config = _STAGE_DEFAULTS[stage]()
    if not overrides:
        return config
    try:
        # All overrides are applied together, so keys that must change as a
        # pair (scale_to_zero with min_copy_count and min_instance_count) can.
        changes = {key: (key, value) for key, value in overrides.items()}
        rebuilt = _rebuild(config, "", changes)
    except OperationsConfigError as error:  # the operations sections validate themselves
        raise ConfigError(str(error)) from None
    return cast(StageConfig, rebuilt)


def _rebuild(node: Any, prefix: str, changes: Mapping[str, tuple[str, Any]]) -> Any:
    """Return ``node`` (a config dataclass) with ``changes`` applied, recursively.

    ``changes`` maps a dotted path relative to ``node`` to ``(full key,
    value)``; the full key is what an error names. Sections nest
    (``operations.alarms.email``); a section itself cannot be replaced by a
    plain value, and ``stage`` cannot be overridden at all (it is ``-c stage``).
    """
    hints = get_type_hints(type(node))
    top = not prefix
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, tuple[str, Any]]] = {}
    for path, (key, value) in changes.items():
        name, _, rest = path.partition(".")
        current = getattr(node, name, None) if name in hints else None
        if top and name == "retain_data" and not rest:
            direct[name] = _coerce(key, bool, value)
        elif top and (name not in hints or name == "stage" or not _is_section(current)):
            sections = sorted(n for n in hints if _is_section(getattr(node, n)))
            raise _bad(
                key, value, "a key <section>.<field> with section one of " + ", ".join(sections)
            )
        elif name not in hints:
            raise _bad(key, value, f"a field of {prefix.rstrip('.')}: " + ", ".join(hints))
        elif rest and _is_section(current):
            nested.setdefault(name, {})[rest] = (key, value)
        elif rest:
            raise _bad(key, value, f"a key ending at {prefix}{name} ({name} has no fields)")
        elif _is_section(current) and name != "jwt":
            raise _bad(
                key,
                value,
                f"a key {prefix}{name}.<field>: one of " + ", ".join(get_type_hints(type(current))),
            )
        elif name == "jwt":
            direct[name] = _coerce_jwt(key, value)
        else:
            direct[name] = _coerce(key, hints[name], value)
    for name, sub_changes in nested.items():
        direct[name] = _rebuild(getattr(node, name), f"{prefix}{name}.", sub_changes)
    return replace(node, **direct)


def _is_section(value: Any) -> bool:
    """Whether ``value`` is a nested config section (a dataclass instance)."""
    return is_dataclass(value) and not isinstance(value, type)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """Convert a context string to ``hint``; non-strings pass through unchanged."""
    if not isinstance(value, str):
        return tuple(value) if isinstance(value, list) else value
    text = value.strip()
    optional = "None" in str(hint)
    if optional and text.lower() in ("", "none", "null"):
        return None
    kind = hint.__name__ if isinstance(hint, type) else str(hint)
    try:
        if hint is bool or kind.startswith("bool"):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if hint is int or kind.startswith("int"):
            return int(text)
        if hint is float or kind.startswith("float"):
            return float(text)
        if kind.startswith("tuple"):
            return tuple(p.strip() for p in text.split(",") if p.strip())
    except ValueError:
        raise _bad(key, value, f"a value of type {kind}") from None
    return text


def _coerce_jwt(key: str, value: Any) -> JwtSettings | None:
    if value is None or isinstance(value, JwtSettings):
        return value
    if isinstance(value, Mapping):
        try:
            return JwtSettings(
                discovery_url=str(value["discovery_url"]),
                allowed_clients=tuple(value.get("allowed_clients", ())),
                allowed_audience=tuple(value.get("allowed_audience", ())),
            )
        except KeyError:
            raise _bad(key, value, "a mapping with discovery_url") from None
    raise _bad(key, value, "a mapping {discovery_url, allowed_clients, allowed_audience}")
