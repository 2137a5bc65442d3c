"""The AgentCore runtime execution role: what the agent container may do.

Every runtime's baseline (:mod:`.runtime_baseline`: image, logs, traces,
metrics, workload tokens, report objects, the trust), plus: invoke exactly
the stage's endpoint and inference component; publish run notifications;
read and write its session memory; keep each user's long-term records (watchlist,
preferences) in the same memory. The scopes are the narrowest the names allow.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .policy import acknowledge_wildcards
from .runtime_baseline import (
    report_statement,
    runtime_principal,
    runtime_statements,
)

SAGEMAKER_INVOKE_ACTIONS = [
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
]
# Data-plane actions of the session checkpointer: exactly what AgentCoreMemorySaver
# (langgraph-checkpoint-aws) calls when the agent reads and writes a session;
# DeleteEvent (delete_thread) is never used.
SESSION_MEMORY_ACTIONS = ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents"]
# Data-plane actions of the user's long-term memory (stock_agent.memory's AgentCore
# profile store): records are written directly, listed by the actor's namespace and
# deleted on "forget"; no extraction strategy, so no RetrieveMemoryRecords.
USER_MEMORY_ACTIONS = [
    "bedrock-agentcore:BatchCreateMemoryRecords",
    "bedrock-agentcore:BatchDeleteMemoryRecords",
    "bedrock-agentcore:ListMemoryRecords",
]


class RuntimeExecutionRole(iam.Role):
    """The role the agent container runs as."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_name: str,
        endpoint_arn: str,
        inference_component_arn: str,
        repository: ecr.IRepository,
        report_bucket: s3.IBucket,
        presigned_links: bool,
        report_topic_arn: str | None,
        session_memory: agentcore.IMemory | None,
    ) -> None:
        stack = Stack.of(scope)
        statements = [
            *runtime_statements(stack, runtime_name=runtime_name, repository=repository),
            iam.PolicyStatement(
                sid="InvokeModel",
                actions=SAGEMAKER_INVOKE_ACTIONS,
                resources=[endpoint_arn, inference_component_arn],
            ),
            report_statement(scope, report_bucket=report_bucket, presigned_links=presigned_links),
        ]
        if report_topic_arn is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="PublishRunNotifications",
                    actions=["sns:Publish"],
                    resources=[report_topic_arn],
                )
            )
        if session_memory is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="SessionMemory",
                    actions=SESSION_MEMORY_ACTIONS,
                    resources=[session_memory.memory_arn],
                )
            )
            # The actor's namespace is chosen by the agent from the verified identity;
            # IAM scopes the records to this memory (the service authorization reference
            # lists no namespace condition key for these actions).
            statements.append(
                iam.PolicyStatement(
                    sid="UserMemory",
                    actions=USER_MEMORY_ACTIONS,
                    resources=[session_memory.memory_arn],
                )
            )
        super().__init__(
            scope,
            construct_id,
            description=f"AgentCore runtime execution role of {runtime_name}",
            assumed_by=runtime_principal(stack, runtime_name=runtime_name),
            inline_policies={"agentcore-runtime": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
