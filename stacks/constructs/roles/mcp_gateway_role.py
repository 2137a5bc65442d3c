"""The AgentCore Gateway's role: invoke the MCP runtime's one endpoint, nothing else.

The gateway calls its one target, the MCP runtime, signing with this role
(outbound ``GATEWAY_IAM_ROLE``, service ``bedrock-agentcore``): listing the
tools when the target is created or synchronized, and each tool call.

Trust: ``bedrock-agentcore.amazonaws.com`` with ``aws:SourceAccount`` and
``aws:SourceArn`` on this gateway's ARN (its id is ``<name>-<10
characters>``), never unconditioned.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .policy import acknowledge_wildcards, arn

# AgentCore ids are "<name>-<10 letters or digits>" (the CloudFormation schemas' patterns for
# a runtime id and a gateway identifier): ten "?" match the suffix and never a "/", so the
# runtime's resource is the runtime itself, not every endpoint under it as "*" would be.
ID_SUFFIX = "-" + "?" * 10


class McpGatewayRole(iam.Role):
    """The role the gateway invokes the MCP runtime with."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_name: str,
        runtime_name: str,
        runtime_endpoint_name: str,
    ) -> None:
        stack = Stack.of(scope)
        runtime = arn(stack, "bedrock-agentcore", "runtime", runtime_name + ID_SUFFIX)
        statements = [
            iam.PolicyStatement(
                sid="InvokeMcpRuntime",
                actions=["bedrock-agentcore:InvokeAgentRuntime"],
                resources=[runtime, f"{runtime}/runtime-endpoint/{runtime_endpoint_name}"],
            )
        ]
        super().__init__(
            scope,
            construct_id,
            description=f"AgentCore Gateway role of {gateway_name}: invokes {runtime_name} only",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": arn(
                            stack, "bedrock-agentcore", "gateway", gateway_name + ID_SUFFIX
                        )
                    },
                },
            ),
            inline_policies={"mcp-gateway": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
