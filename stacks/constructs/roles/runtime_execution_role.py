"""The AgentCore runtime execution role: what the agent container may do.

Pull its image; write its logs and traces; publish metrics to its namespace;
get workload tokens; invoke exactly the stage's endpoint and inference
component; write (and, with presigned links, read) report objects; publish
run notifications; read and write its session memory. The AgentCore
runtime-permissions page lists the same actions; the scopes here are the
narrowest the names allow.

Trust: ``bedrock-agentcore.amazonaws.com`` with ``aws:SourceAccount`` and
``aws:SourceArn`` on the runtime's own ARN prefix (its id is
``<name>-<suffix>``).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .policy import (
    ECR_PULL_ACTIONS,
    acknowledge_wildcards,
    arn,
    imported,
    log_group_arn,
    log_statements,
    wildcard_statement,
)

RUNTIME_METRICS_NAMESPACE = "bedrock-agentcore"
SAGEMAKER_INVOKE_ACTIONS = [
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
]
# Data-plane actions of the session checkpointer: exactly what AgentCoreMemorySaver
# (langgraph-checkpoint-aws) calls when the agent reads and writes a session;
# DeleteEvent (delete_thread) is never used.
SESSION_MEMORY_ACTIONS = ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents"]


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
        report_actions = ["s3:PutObject"]
        if presigned_links:
            report_actions.append("s3:GetObject")
        bucket_arn = imported(scope, report_bucket.bucket_arn, owner=report_bucket)
        statements = [
            iam.PolicyStatement(
                sid="PullAgentImage",
                actions=ECR_PULL_ACTIONS,
                resources=[repository.repository_arn],
            ),
            wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *log_statements(
                stack, "Runtime", [f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*"]
            ),
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=[log_group_arn(stack, "*")],
            ),
            wildcard_statement(
                "XRay",
                [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
            ),
            wildcard_statement(
                "PublishRuntimeMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={"StringEquals": {"cloudwatch:namespace": RUNTIME_METRICS_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="WorkloadAccessToken",
                actions=[
                    "bedrock-agentcore:GetWorkloadAccessToken",
                    "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                    "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
                ],
                resources=[
                    arn(stack, "bedrock-agentcore", "workload-identity-directory", "default"),
                    arn(
                        stack,
                        "bedrock-agentcore",
                        "workload-identity-directory",
                        f"default/workload-identity/{runtime_name}-*",
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="InvokeModel",
                actions=SAGEMAKER_INVOKE_ACTIONS,
                resources=[endpoint_arn, inference_component_arn],
            ),
            iam.PolicyStatement(
                sid="WriteReports",
                actions=report_actions,
                resources=[f"{bucket_arn}/*"],
            ),
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
        super().__init__(
            scope,
            construct_id,
            description=f"AgentCore runtime execution role of {runtime_name}",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": arn(
                            stack, "bedrock-agentcore", "runtime", f"{runtime_name}-*"
                        )
                    },
                },
            ),
            inline_policies={"agentcore-runtime": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
