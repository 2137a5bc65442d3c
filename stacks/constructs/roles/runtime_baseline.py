"""What every AgentCore runtime's execution role needs, whatever its container does.

Pull its image; write its logs and traces; publish metrics to the runtime
namespace; get workload tokens (the AgentCore runtime-permissions page lists
these); write (and, with presigned links, read) report objects. Trust:
``bedrock-agentcore.amazonaws.com`` with ``aws:SourceAccount`` and
``aws:SourceArn`` on the runtime's own ARN prefix (its id is
``<name>-<suffix>``). The agent's and the MCP tools' roles add their own
statements to these.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .policy import (
    ECR_PULL_ACTIONS,
    arn,
    imported,
    log_group_arn,
    log_statements,
    wildcard_statement,
)

RUNTIME_METRICS_NAMESPACE = "bedrock-agentcore"


def runtime_statements(
    stack: Stack, *, runtime_name: str, repository: ecr.IRepository
) -> list[iam.PolicyStatement]:
    """Image pull, logs, traces, metrics and workload tokens of the runtime ``runtime_name``."""
    return [
        iam.PolicyStatement(
            sid="PullAgentImage",
            actions=ECR_PULL_ACTIONS,
            resources=[repository.repository_arn],
        ),
        wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
        *log_statements(stack, "Runtime", [f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*"]),
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
    ]


def report_statement(
    scope: Construct, *, report_bucket: s3.IBucket, presigned_links: bool
) -> iam.PolicyStatement:
    """Write report objects (read them too when reports are handed out as presigned links)."""
    actions = ["s3:PutObject"]
    if presigned_links:
        actions.append("s3:GetObject")
    bucket_arn = imported(scope, report_bucket.bucket_arn, owner=report_bucket)
    return iam.PolicyStatement(sid="WriteReports", actions=actions, resources=[f"{bucket_arn}/*"])


def runtime_principal(stack: Stack, *, runtime_name: str) -> iam.ServicePrincipal:
    """AgentCore, for this account's runtime ``runtime_name`` only (confused-deputy guard)."""
    return iam.ServicePrincipal(
        "bedrock-agentcore.amazonaws.com",
        conditions={
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": arn(stack, "bedrock-agentcore", "runtime", f"{runtime_name}-*")
            },
        },
    )
