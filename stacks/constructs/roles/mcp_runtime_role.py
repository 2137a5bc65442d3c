"""The MCP runtime's execution role: what the container serving the tools may do.

Every runtime's baseline (:mod:`.runtime_baseline`: the agent image, logs,
traces, metrics, workload tokens, report objects, the trust on this runtime's
own ARN) and nothing else: the tools read market data (the simulated provider,
or yfinance over the internet: no AWS permission) and write reports. No model,
no memory, no notifications: no tool calls the model or keeps a session.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .policy import acknowledge_wildcards
from .runtime_baseline import report_statement, runtime_principal, runtime_statements


class McpRuntimeRole(iam.Role):
    """The role the MCP tools' container runs as."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_name: str,
        repository: ecr.IRepository,
        report_bucket: s3.IBucket,
        presigned_links: bool,
    ) -> None:
        stack = Stack.of(scope)
        statements = [
            *runtime_statements(stack, runtime_name=runtime_name, repository=repository),
            report_statement(scope, report_bucket=report_bucket, presigned_links=presigned_links),
        ]
        super().__init__(
            scope,
            construct_id,
            description=f"AgentCore runtime execution role of {runtime_name} (MCP tools)",
            assumed_by=runtime_principal(stack, runtime_name=runtime_name),
            inline_policies={"mcp-runtime": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
