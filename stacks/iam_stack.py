"""IAM: every role of the app, one construct each (:mod:`stacks.constructs.roles`).

The roles are the SageMaker execution role, the AgentCore runtime execution
role, the online-evaluation execution role, and those that exist only when
their feature is on: the watchlist schedule's role (``schedule.watchlist``),
the training-job role (``training.bucket``), and the MCP runtime's and its
gateway's roles (``mcp.enabled``). This stack and that folder
are the one place a security reviewer reads: every statement is written
there, as inline policies with stable names, and the other stacks receive
the roles as objects they cannot add statements to (the runtime stack passes
an immutable view to the AgentCore L2, whose ``addExecutionRolePermissions``
would otherwise append its own broader statements).

Resource scoping:

* ARNs of the endpoint, inference component and runtime are built from the
  deterministic names in :class:`~stacks.config.ResourceNames`, so this stack
  does not depend on the model or runtime stacks (no cycle).
* ECR pull is scoped to the repository holding the image (the CDK
  container-assets repository); ECR has no tag- or digest-level IAM, and the
  image itself is pinned by its content-hash tag in the model and the runtime.
* ``Resource: "*"`` appears only for the actions in
  :data:`~stacks.constructs.roles.WILDCARD_RESOURCE_ACTIONS`, each with the
  reason; the tests read that dict and fail on any other wildcard.
* Trust policies carry ``aws:SourceAccount`` and ``aws:SourceArn``
  (confused-deputy protection).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import (
    EvaluationSettings,
    McpSettings,
    ModelSettings,
    ResourceNames,
    ScheduleSettings,
    StorageSettings,
    TrainingSettings,
)
from stacks.constructs.roles import (
    EvaluationExecutionRole,
    McpGatewayRole,
    McpRuntimeRole,
    RuntimeExecutionRole,
    SageMakerExecutionRole,
    TrainingJobRole,
    WatchlistScheduleRole,
)
from stacks.constructs.roles.policy import arn


class IamStack(Stack):
    """The app's roles, with every statement they get, and nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        model: ModelSettings,
        storage: StorageSettings,
        schedule: ScheduleSettings,
        training: TrainingSettings,
        evaluation: EvaluationSettings,
        mcp: McpSettings,
        model_repository: ecr.IRepository,
        agent_repository: ecr.IRepository,
        report_bucket: s3.IBucket,
        session_memory: agentcore.IMemory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.endpoint_arn = arn(self, "sagemaker", "endpoint", names.endpoint.lower())
        self.inference_component_arn = arn(
            self, "sagemaker", "inference-component", names.inference_component.lower()
        )
        self.report_topic_arn = arn(self, "sns", names.report_topic)
        self.sagemaker_role = SageMakerExecutionRole(
            self,
            "SageMakerExecutionRole",
            endpoint_name=names.endpoint,
            inference_component_name=names.inference_component,
            model=model,
            repository=model_repository,
        )
        self.runtime_role = RuntimeExecutionRole(
            self,
            "RuntimeExecutionRole",
            runtime_name=names.runtime,
            endpoint_arn=self.endpoint_arn,
            inference_component_arn=self.inference_component_arn,
            repository=agent_repository,
            report_bucket=report_bucket,
            presigned_links=storage.presigned_link_seconds is not None,
            report_topic_arn=(
                self.report_topic_arn if schedule.enabled and schedule.notify else None
            ),
            session_memory=session_memory,
        )
        self.watchlist_role: WatchlistScheduleRole | None = None
        if schedule.enabled:
            self.watchlist_role = WatchlistScheduleRole(
                self,
                "WatchlistScheduleRole",
                runtime_name=names.runtime,
                runtime_endpoint_name=names.runtime_endpoint,
                schedule_name=names.watchlist_schedule,
                schedule_group_name=names.watchlist_schedule_group,
                dead_letter_queue_name=names.watchlist_dead_letter_queue,
            )
            CfnOutput(self, "WatchlistScheduleRoleArn", value=self.watchlist_role.role_arn)
        CfnOutput(self, "SageMakerExecutionRoleArn", value=self.sagemaker_role.role_arn)
        CfnOutput(self, "RuntimeExecutionRoleArn", value=self.runtime_role.role_arn)
        self.evaluation_role = EvaluationExecutionRole(
            self, "EvaluationExecutionRole", runtime_name=names.runtime, evaluation=evaluation
        )
        CfnOutput(self, "EvaluationExecutionRoleArn", value=self.evaluation_role.role_arn)
        self.mcp_runtime_role: McpRuntimeRole | None = None
        self.mcp_gateway_role: McpGatewayRole | None = None
        if mcp.enabled:
            self.mcp_runtime_role = McpRuntimeRole(
                self,
                "McpRuntimeRole",
                runtime_name=names.mcp_runtime,
                repository=agent_repository,
                report_bucket=report_bucket,
                presigned_links=storage.presigned_link_seconds is not None,
            )
            self.mcp_gateway_role = McpGatewayRole(
                self,
                "McpGatewayRole",
                gateway_name=names.mcp_gateway,
                runtime_name=names.mcp_runtime,
                runtime_endpoint_name=names.mcp_runtime_endpoint,
            )
            CfnOutput(self, "McpRuntimeRoleArn", value=self.mcp_runtime_role.role_arn)
            CfnOutput(self, "McpGatewayRoleArn", value=self.mcp_gateway_role.role_arn)
        self.training_role: TrainingJobRole | None = None
        if training.bucket:
            self.training_role = TrainingJobRole(
                self, "TrainingJobRole", stage=names.stage, training=training
            )
            CfnOutput(self, "TrainingJobRoleArn", value=self.training_role.role_arn)
