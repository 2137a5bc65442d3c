"""Assemble the stacks of one stage into a CDK app, in dependency order.

Images -> Bucket -> Memory -> Iam -> Model -> Runtime -> Monitoring -> Evaluation, and
Mcp (after Images, Bucket and Iam) where ``mcp.enabled``.
Resources cross stacks as objects (image assets, bucket, roles, endpoint), except
the agent runtime, which a new name replaces: its readers find it through an SSM
parameter (:mod:`stacks.constructs.runtime_reference`), never an export.
References that CDK cannot see (image URIs built from pseudo-parameters, the SSM
parameter) get an explicit stack dependency, so ``cdk deploy --all`` deploys in
this order and ``cdk destroy --all`` removes in the reverse order.

No environment or context is read here: ``app.py`` does that and passes a
validated :class:`~stacks.config.StageConfig`, which is also how the tests
build the same app.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.bucket_stack import BucketStack
from stacks.config import GPU_INSTANCE_TYPES, StageConfig
from stacks.constructs.endpoint_comparison import score_comparison_widgets
from stacks.constructs.evaluation_widgets import evaluation_score_widgets
from stacks.constructs.online_evaluation import evaluator_metric_names, service_name
from stacks.constructs.runtime_reference import RuntimeLookup
from stacks.evaluation_stack import EvaluationStack
from stacks.iam_stack import IamStack
from stacks.images_stack import ImagesStack
from stacks.mcp_stack import McpStack
from stacks.memory_stack import MemoryStack
from stacks.model_stack import VARIANT_NAME, ModelStack
from stacks.monitoring_stack import MonitoringStack
from stacks.runtime_stack import RuntimeStack

STACK_ORDER = (
    "Images",
    "Bucket",
    "Memory",
    "Iam",
    "Model",
    "Runtime",
    "Monitoring",
    "Evaluation",
    "Mcp",
)
# Stacks a stage deploys only when their feature is on (``mcp.enabled``).
OPTIONAL_STACKS = frozenset({"Mcp"})


def stage_stacks(config: StageConfig) -> tuple[str, ...]:
    """The stacks ``config``'s stage deploys, in :data:`STACK_ORDER`."""
    enabled = {"Mcp": config.mcp.enabled}
    return tuple(name for name in STACK_ORDER if enabled.get(name, True))


@dataclass(frozen=True)
class AppStacks:
    """The stacks of one stage, for tests and for the operations stack to extend."""

    images: ImagesStack
    bucket: BucketStack
    memory: MemoryStack
    iam: IamStack
    model: ModelStack
    runtime: RuntimeStack
    monitoring: MonitoringStack
    evaluation: EvaluationStack
    mcp: McpStack | None = None

    def by_name(self) -> dict[str, Stack]:
        """Short name ("Images", ...) to stack, in dependency order; the stage's stacks only."""
        stacks = (
            self.images,
            self.bucket,
            self.memory,
            self.iam,
            self.model,
            self.runtime,
            self.monitoring,
            self.evaluation,
            self.mcp,
        )
        return {
            name: stack
            for name, stack in zip(STACK_ORDER, stacks, strict=True)
            if stack is not None
        }


def build_app(
    app: App, *, config: StageConfig, env: Environment | None = None, nag: bool = True
) -> AppStacks:
    """Add the stage's stacks to ``app``; with ``nag`` cdk-nag AwsSolutions validates synth."""
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    prefix = config.stack_prefix
    names = config.names
    schedule = config.schedule

    def common(name: str, what: str) -> dict[str, object]:
        return {
            "stack_name": f"{prefix}-{name}",
            "description": f"gpt-oss stock agent ({config.stage}): {what}",
            "env": env,
        }

    images = ImagesStack(
        app, f"{prefix}-Images", names=names, **common("Images", "container images")
    )
    bucket = BucketStack(
        app,
        f"{prefix}-Bucket",
        storage=config.storage,
        retain=config.retain_data,
        report_topic_name=names.report_topic if schedule.enabled and schedule.notify else None,
        **common("Bucket", "PDF report bucket"),
    )
    memory = MemoryStack(
        app,
        f"{prefix}-Memory",
        stage=config.stage,
        memory=config.memory,
        **common("Memory", "agent session memory"),
    )
    iam = IamStack(
        app,
        f"{prefix}-Iam",
        names=names,
        model=config.model,
        storage=config.storage,
        schedule=schedule,
        training=config.training,
        evaluation=config.evaluation,
        mcp=config.mcp,
        model_repository=images.model_repository,
        agent_repository=images.agent_repository,
        report_bucket=bucket.bucket,
        session_memory=memory.memory,
        **common("Iam", "every IAM role of the app (SageMaker, AgentCore, Scheduler, Gateway)"),
    )
    model = ModelStack(
        app,
        f"{prefix}-Model",
        names=names,
        model=config.model,
        endpoint=config.endpoint,
        copy_count=config.component_copy_count,
        logs=config.logs,
        model_image_uri=images.model_image.image_uri,
        execution_role=iam.sagemaker_role,
        **common("Model", "gpt-oss-20b on a SageMaker inference component"),
    )
    # The canary endpoint's name, or None: the Runtime, Monitoring and Evaluation stacks agree.
    canary = config.runtime.canary_endpoint_name if config.runtime.canary else None
    runtime_lookup = RuntimeLookup(
        name=names.runtime,
        arn_parameter=names.parameter("runtime", "arn"),
        role_arn=iam.runtime_role.role_arn,
    )
    runtime = RuntimeStack(
        app,
        f"{prefix}-Runtime",
        names=names,
        runtime=config.runtime,
        storage=config.storage,
        schedule=schedule,
        logs=config.logs,
        tracing=config.operations.tracing,
        agent_image_uri=images.agent_image.image_uri,
        execution_role=iam.runtime_role,
        endpoint_name=model.endpoint_name,
        report_bucket=bucket.bucket,
        runtime_lookup=runtime_lookup,
        watchlist_role=iam.watchlist_role,
        session_memory_id=memory.memory.memory_id,
        **common("Runtime", "stock-analysis agent on AgentCore Runtime"),
    )
    monitoring = MonitoringStack(
        app,
        f"{prefix}-Monitoring",
        stage=config.stage,
        operations=config.operations,
        inference_component=model.inference_component,
        endpoint_name=config.endpoint_name,
        variant_name=VARIANT_NAME,
        runtime=runtime_lookup,
        runtime_endpoint_name=config.runtime.endpoint_name,
        canary_endpoint_name=canary,
        min_instance_count=config.endpoint.min_instance_count,
        max_instance_count=config.endpoint.max_instance_count,
        accelerators_per_instance=GPU_INSTANCE_TYPES[config.endpoint.instance_type],
        accelerators_per_copy=config.endpoint.accelerators_per_copy,
        watchlist_dead_letter_queue=runtime.watchlist.dead_letter_queue
        if runtime.watchlist
        else None,
        **common("Monitoring", "autoscaling, alarms and dashboard"),
    )
    iam.add_stack_dependency(images, "ECR pull is scoped to the image repository")
    iam.add_stack_dependency(bucket, "the runtime role writes to the report bucket")
    iam.add_stack_dependency(memory, "the runtime role reads and writes the session memory")
    model.add_stack_dependency(images, "the model runs the model image")
    model.add_stack_dependency(iam, "the model uses the SageMaker execution role")
    runtime.add_stack_dependency(images, "the runtime runs the agent image")
    runtime.add_stack_dependency(model, "the agent calls the endpoint")
    runtime.add_stack_dependency(bucket, "the agent publishes to the report topic by name")
    runtime.add_stack_dependency(memory, "the agent keeps its sessions in the memory")
    monitoring.add_stack_dependency(model, "autoscaling targets the inference component")
    monitoring.add_stack_dependency(runtime, "alarms and graphs read the runtime's metrics")
    evaluation = EvaluationStack(
        app,
        f"{prefix}-Evaluation",
        stage=config.stage,
        evaluation=config.evaluation,
        runtime=runtime_lookup,
        runtime_endpoint_name=config.runtime.endpoint_name,
        canary_endpoint_name=canary,
        execution_role=iam.evaluation_role.without_policy_updates(),
        **common(
            "Evaluation",
            "AgentCore online evaluation of the live runtime endpoint"
            + (f" and the {canary} endpoint" if canary else ""),
        ),
    )
    evaluation.add_stack_dependency(iam, "the evaluation runs as the IAM stack's role")
    evaluation.add_stack_dependency(runtime, "it evaluates the runtime endpoint's traces")
    evaluators = evaluator_metric_names(evaluation.evaluation.custom_evaluator_name)
    monitoring.dashboard.dashboard.add_widgets(
        *(
            score_comparison_widgets(
                services={
                    e: service_name(config.runtime_name, e) for e in config.runtime.endpoint_names
                },
                evaluators=evaluators,
            )
            if canary
            else evaluation_score_widgets(
                service=service_name(config.runtime_name, config.runtime.endpoint_name),
                evaluators=evaluators,
            )
        )
    )
    mcp: McpStack | None = None
    if iam.mcp_runtime_role is not None and iam.mcp_gateway_role is not None:
        mcp = McpStack(
            app,
            f"{prefix}-Mcp",
            names=names,
            mcp=config.mcp,
            storage=config.storage,
            logs=config.logs,
            tracing=config.operations.tracing,
            agent_image_uri=images.agent_image.image_uri,
            execution_role=iam.mcp_runtime_role,
            gateway_role=iam.mcp_gateway_role,
            report_bucket=bucket.bucket,
            **common("Mcp", "the analyst's tools over MCP: AgentCore Runtime and Gateway"),
        )
        mcp.add_stack_dependency(images, "the MCP runtime runs the agent image")
        mcp.add_stack_dependency(bucket, "the tools write reports to the bucket")
        mcp.add_stack_dependency(iam, "the runtime and the gateway use the IAM stack's roles")
    for key, value in config.tag_map.items():
        Tags.of(app).add(key, value)
    return AppStacks(
        images=images,
        bucket=bucket,
        memory=memory,
        iam=iam,
        model=model,
        runtime=runtime,
        monitoring=monitoring,
        evaluation=evaluation,
        mcp=mcp,
    )
