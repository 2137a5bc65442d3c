"""The whole configuration of one stage: its sections and the rules that span them.

Why frozen dataclasses instead of ``cdk.json`` context values: every key has a
type, a default per stage (:mod:`.stages`) and a validation rule, and a bad
value fails synth with a message naming the key, the value and what is
allowed, long before CloudFormation would reject it half-way through a deploy.
One section per concern, one module per section; nothing here reads the
environment or CDK context (``app.py`` does, and passes the overrides in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .endpoint import GPU_INSTANCE_TYPES, SAGEMAKER_NAME_PATTERN, EndpointSettings
from .errors import positive, require
from .evaluation import EvaluationSettings
from .logs import LogSettings
from .mcp import McpSettings
from .memory import MemorySettings
from .model import ModelSettings
from .names import PROJECT, STAGES, ResourceNames
from .operations import OperationsConfig
from .runtime import RuntimeSettings
from .schedule import ScheduleSettings
from .storage import StorageSettings
from .tags import TagSettings
from .training import TrainingSettings


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything one stage deploys with. Build it with :func:`load_stage`."""

    stage: str
    # prod keeps the report buckets on destroy; dev deletes them. Log groups have
    # service-given fixed names and are never retained (stacks/constructs/log_groups.py).
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
    memory: MemorySettings = field(default_factory=MemorySettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    # The tools as an MCP server behind an AgentCore Gateway (the MCP stack, docs/mcp.md).
    mcp: McpSettings = field(default_factory=McpSettings)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid key."""
        require(self.stage in STAGES, "stage", self.stage, " | ".join(STAGES))
        self.model.validate()
        self.endpoint.validate()
        self.runtime.validate(derived_name=self.runtime_name)
        self.storage.validate()
        self.logs.validate()
        self.tags.validate()
        self.schedule.validate()
        self.training.validate()
        self.memory.validate()
        self.evaluation.validate()
        self.mcp.validate()
        require(
            self.runtime.model_adapter is None
            or self.runtime.model_adapter in self.model.adapter_uris,
            "runtime.model_adapter",
            self.runtime.model_adapter,
            "unset or one of model.adapters: " + (", ".join(self.model.adapter_uris) or "(none)"),
        )
        if self.endpoint.copy_count is not None:
            max_copies = self.operations.autoscaling.max_copy_count
            positive(
                "endpoint.copy_count",
                self.endpoint.copy_count,
                maximum=max_copies,
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
            require(
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
        return self.runtime.name or self.default_runtime_name

    @property
    def default_runtime_name(self) -> str:
        """The runtime name of a stage that does not set ``runtime.name``."""
        return f"{PROJECT.replace('-', '_')}_{self.stage}"

    @property
    def watchlist_schedule_name(self) -> str:
        """EventBridge Scheduler schedule name, unique inside its schedule group."""
        return f"{PROJECT}-{self.stage}-watchlist"

    @property
    def report_topic_name(self) -> str:
        """SNS topic of the run notifications (the IAM stack grants Publish on it)."""
        return f"{PROJECT}-{self.stage}-reports"

    @property
    def watchlist_schedule_group_name(self) -> str:
        """Schedule group of the stage's schedules (the scheduler role's trust names it)."""
        return f"{PROJECT}-{self.stage}-schedules"

    @property
    def watchlist_dead_letter_queue_name(self) -> str:
        """Dead-letter queue of the schedule (the IAM stack grants SendMessage on it)."""
        return f"{PROJECT}-{self.stage}-watchlist-dlq"

    @property
    def mcp_runtime_name(self) -> str:
        """The MCP runtime's name (AgentCore names take no hyphens)."""
        return f"{self.default_runtime_name}_mcp"

    @property
    def mcp_gateway_name(self) -> str:
        """The AgentCore Gateway's name (unique in the account; its id starts with it)."""
        return f"{PROJECT}-{self.stage}-mcp"

    @property
    def names(self) -> ResourceNames:
        """The shared names, for the stacks that must agree on them."""
        return ResourceNames(
            stage=self.stage,
            stack_prefix=self.stack_prefix,
            endpoint=self.endpoint_name,
            inference_component=self.inference_component_name,
            runtime=self.runtime_name,
            runtime_endpoint=self.runtime.endpoint_name,
            log_delivery_prefix=(
                None if self.runtime_name == self.default_runtime_name else self.runtime_name
            ),
            watchlist_schedule=self.watchlist_schedule_name,
            watchlist_schedule_group=self.watchlist_schedule_group_name,
            watchlist_dead_letter_queue=self.watchlist_dead_letter_queue_name,
            report_topic=self.report_topic_name,
            mcp_runtime=self.mcp_runtime_name,
            mcp_runtime_endpoint=self.mcp.endpoint_name,
            mcp_gateway=self.mcp_gateway_name,
        )

    @property
    def component_copy_count(self) -> int:
        """The inference component's ``CopyCount`` (``endpoint.copy_count``, else the maximum)."""
        return self.endpoint.copy_count or self.operations.autoscaling.max_copy_count

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags applied to every stack."""
        return {
            "project": self.tags.project,
            "stage": self.stage,
            "cost-center": self.tags.cost_center,
        }
