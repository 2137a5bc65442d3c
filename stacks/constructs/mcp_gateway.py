"""The AgentCore Gateway in front of the MCP runtime: inbound auth, one MCP server target.

Stable L2 ``aws_cdk.aws_bedrockagentcore.Gateway`` with:

* the MCP protocol in the versions AgentCore Gateway speaks (2025-06-18,
  2025-03-26) and, when asked, semantic tool search;
* inbound auth: a Cognito client-credentials token (default) or IAM (SigV4).
  The Cognito pool, its resource server (scope ``invoke``), its one app
  client (with a secret) and its domain are made here rather than left to
  the L2's default: that default names its domain after the construct path
  alone (the same for every account that deploys this app: Cognito domain
  prefixes are unique per region across AWS) and retains the pool on
  destroy (a redeploy would then meet the old domain). Here the domain is
  ``<gateway name>-<account id>`` and the pool goes with the stack;
* the gateway's role from the IAM stack (immutable: the L2 cannot add
  statements), allowed to invoke the MCP runtime's one endpoint;
* the runtime as its one MCP server target, called at
  ``https://bedrock-agentcore.<region>.amazonaws.com/runtimes/<URL-encoded
  runtime ARN>/invocations?qualifier=<endpoint>`` and signed with the
  gateway's role (``GATEWAY_IAM_ROLE``, service ``bedrock-agentcore``).
  Creating (or updating) the target lists the runtime's tools, so the
  target waits for the runtime's endpoint.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from stacks.constructs.agent_runtime import immutable_role
from stacks.nag import acknowledge

# What the gateway accepts from its MCP clients (AgentCore Gateway's supported versions).
MCP_VERSIONS = (
    agentcore.MCPProtocolVersion.MCP_2025_06_18,
    agentcore.MCPProtocolVersion.MCP_2025_03_26,
)
INVOKE_SCOPE = "invoke"
ACCESS_TOKEN_MINUTES = 60
SIGNING_SERVICE = "bedrock-agentcore"


def runtime_invocation_url(*, runtime_id: str, qualifier: str) -> str:
    """The MCP endpoint of an AgentCore runtime, its ARN URL-encoded (``:`` and ``/``)."""
    return Fn.join(
        "",
        [
            f"https://{SIGNING_SERVICE}.",
            Aws.REGION,
            ".",
            Aws.URL_SUFFIX,
            "/runtimes/arn%3A",
            Aws.PARTITION,
            f"%3A{SIGNING_SERVICE}%3A",
            Aws.REGION,
            "%3A",
            Aws.ACCOUNT_ID,
            "%3Aruntime%2F",
            runtime_id,
            f"/invocations?qualifier={qualifier}",
        ],
    )


class GatewayClients(Construct):
    """The Cognito pool whose app client may call the gateway (client credentials only)."""

    def __init__(self, scope: Construct, construct_id: str, *, gateway_name: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Pool",
            self_sign_up_enabled=False,
            # No person signs in here; these satisfy the account-wide rules all the same.
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.NONE,
            deletion_protection=False,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.user_pool,
            finding="AwsSolutions-COG8",
            reason="machine-to-machine only: no user signs in to this pool (client credentials "
            "of one app client), so the Plus plan's threat protection of user sign-ins has "
            "nothing to guard",
        )
        invoke = cognito.ResourceServerScope(
            scope_name=INVOKE_SCOPE, scope_description="List and call the tools"
        )
        self.resource_server = self.user_pool.add_resource_server(
            "Gateway", identifier=gateway_name, scopes=[invoke]
        )
        self.scope = cognito.OAuthScope.resource_server(self.resource_server, invoke)
        self.client = self.user_pool.add_client(
            "Client",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True), scopes=[self.scope]
            ),
            access_token_validity=Duration.minutes(ACCESS_TOKEN_MINUTES),
            prevent_user_existence_errors=True,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=Fn.join("-", [gateway_name, Aws.ACCOUNT_ID])
            ),
        )
        self.token_endpoint = f"{self.domain.base_url()}/oauth2/token"
        self.scope_name = f"{gateway_name}/{INVOKE_SCOPE}"


class McpGateway(Construct):
    """The gateway, its inbound auth, and the MCP runtime as its one target."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway_name: str,
        description: str,
        auth: str,
        semantic_search: bool,
        role: iam.IRole,
        target_name: str,
        runtime_id: str,
        runtime_endpoint_name: str,
        runtime_endpoint: IConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.clients: GatewayClients | None = None
        if auth == "cognito":
            self.clients = GatewayClients(self, "Clients", gateway_name=gateway_name)
            authorizer = agentcore.GatewayAuthorizer.using_cognito(
                user_pool=self.clients.user_pool,
                allowed_clients=[self.clients.client],
                allowed_scopes=[self.clients.scope_name],
            )
        else:
            authorizer = agentcore.GatewayAuthorizer.using_aws_iam()
        self.gateway = agentcore.Gateway(
            self,
            "Gateway",
            gateway_name=gateway_name,
            description=description,
            protocol_configuration=agentcore.GatewayProtocol.mcp(
                supported_versions=list(MCP_VERSIONS),
                search_type=agentcore.McpGatewaySearchType.SEMANTIC if semantic_search else None,
                instructions="Stock analysis tools: market data, technical, fundamental and risk "
                "analysis, PDF reports, comparisons and single figures with their sources.",
            ),
            authorizer_configuration=authorizer,
            role=immutable_role(role),
        )
        self.target = self.gateway.add_mcp_server_target(
            "Tools",
            gateway_target_name=target_name,
            description="The analyst's tools on the MCP AgentCore runtime",
            endpoint=runtime_invocation_url(runtime_id=runtime_id, qualifier=runtime_endpoint_name),
            credential_provider_configurations=[
                agentcore.GatewayCredentialProvider.from_iam_role(service=SIGNING_SERVICE)
            ],
        )
        # The target lists the runtime's tools when it is created: the endpoint must be there.
        self.target.node.add_dependency(runtime_endpoint)
