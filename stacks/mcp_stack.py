"""Mcp: the analyst's tools as an MCP server on AgentCore Runtime, behind an AgentCore Gateway.

Deployed when ``mcp.enabled`` (docs/mcp.md):

* the MCP runtime: the agent's own image with ``SERVER_PROTOCOL=mcp`` (its
  command then serves the tools as stateless streamable HTTP on
  0.0.0.0:8000/mcp, the AgentCore MCP contract), protocol ``MCP``, arm64, its
  own role from the IAM stack (market data and the report bucket; no model,
  no memory), inbound IAM (the gateway signs), a named endpoint, logs and
  traces as the agent runtime has them (:class:`AgentRuntime`);
* the gateway (:class:`McpGateway`): MCP, semantic search, Cognito or IAM
  inbound auth, the runtime as its one MCP server target called with the
  gateway's role from the IAM stack;
* the outputs ``stock-agent invoke --mcp --stack-name`` reads
  (:mod:`stacks.mcp_outputs`).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common import log_retention
from stacks.config import LogSettings, McpSettings, ResourceNames, StorageSettings
from stacks.constructs.agent_runtime import AgentRuntime
from stacks.constructs.mcp_gateway import McpGateway
from stacks.mcp_outputs import (
    OUTPUT_GATEWAY_AUTH,
    OUTPUT_GATEWAY_URL,
    OUTPUT_OAUTH_SCOPES,
    OUTPUT_TOKEN_ENDPOINT,
    OUTPUT_USER_POOL_CLIENT_ID,
    OUTPUT_USER_POOL_ID,
    SERVER_PROTOCOL_MCP,
    SERVER_PROTOCOL_VARIABLE,
)
from stacks.runtime_stack import REPORT_LINKS_OFF

# The tools through the gateway are named "<target>___<tool>".
GATEWAY_TARGET_NAME = "stock-analyst"


def mcp_environment(
    *, names: ResourceNames, mcp: McpSettings, storage: StorageSettings, report_bucket_name: str
) -> dict[str, str]:
    """Environment of the MCP container (names ``stock_agent.settings`` reads); no model."""
    return {
        SERVER_PROTOCOL_VARIABLE: SERVER_PROTOCOL_MCP,
        "REPORT_BUCKET": report_bucket_name,
        # Presigned report links need s3:GetObject, granted only when they are on.
        "REPORT_URL_EXPIRES_SECONDS": (
            REPORT_LINKS_OFF
            if storage.presigned_link_seconds is None
            else str(storage.presigned_link_seconds)
        ),
        "LOG_LEVEL": mcp.log_level,
        "STAGE": names.stage,
    }


class McpStack(Stack):
    """The MCP runtime and the gateway in front of it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        mcp: McpSettings,
        storage: StorageSettings,
        logs: LogSettings,
        tracing: bool,
        agent_image_uri: str,
        execution_role: iam.IRole,
        gateway_role: iam.IRole,
        report_bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tools_runtime = AgentRuntime(
            self,
            "Runtime",
            runtime_name=names.mcp_runtime,
            description=f"The stock analyst's tools over MCP ({names.stage})",
            image_uri=agent_image_uri,
            execution_role=execution_role,
            environment=mcp_environment(
                names=names, mcp=mcp, storage=storage, report_bucket_name=report_bucket.bucket_name
            ),
            idle_session_timeout_seconds=mcp.idle_session_timeout_seconds,
            max_lifetime_seconds=mcp.max_lifetime_seconds,
            jwt=None,  # the gateway signs its calls with its role (IAM)
            endpoint_name=mcp.endpoint_name,
            endpoint_description=f"Stable endpoint of the {names.stage} MCP tools (latest)",
            log_retention=log_retention(logs.retention_days),
            encrypt_logs=logs.kms_encryption,
            tracing=tracing,
            delivery_name_prefix=names.mcp_runtime,
            protocol=agentcore.ProtocolType.MCP,
        )
        runtime = self.tools_runtime.runtime
        self.gateway = McpGateway(
            self,
            "Gateway",
            gateway_name=names.mcp_gateway,
            description=f"The stock analyst's tools ({names.stage})",
            auth=mcp.gateway_auth,
            semantic_search=mcp.semantic_search,
            role=gateway_role,
            target_name=GATEWAY_TARGET_NAME,
            runtime_id=runtime.agent_runtime_id,
            runtime_endpoint_name=mcp.endpoint_name,
            runtime_endpoint=self.tools_runtime.runtime_endpoint,
        )
        gateway = self.gateway.gateway
        CfnOutput(self, "McpRuntimeArn", value=runtime.agent_runtime_arn)
        CfnOutput(self, OUTPUT_GATEWAY_URL, value=gateway.gateway_url or "")
        CfnOutput(self, OUTPUT_GATEWAY_AUTH, value=mcp.gateway_auth)
        clients = self.gateway.clients
        if clients is not None:
            CfnOutput(self, OUTPUT_TOKEN_ENDPOINT, value=clients.token_endpoint)
            CfnOutput(self, OUTPUT_USER_POOL_ID, value=clients.user_pool.user_pool_id)
            CfnOutput(self, OUTPUT_USER_POOL_CLIENT_ID, value=clients.client.user_pool_client_id)
            CfnOutput(self, OUTPUT_OAUTH_SCOPES, value=clients.scope_name)
        CfnOutput(
            self,
            "SynchronizeCommand",
            description="Refreshes the gateway's tool list after the tools change (AWS CLI v2)",
            value=Fn.join(
                "",
                [
                    "aws bedrock-agentcore-control synchronize-gateway-targets --region ",
                    Aws.REGION,
                    " --gateway-identifier ",
                    gateway.gateway_id,
                    " --target-id-list ",
                    self.gateway.target.target_id,
                ],
            ),
        )
