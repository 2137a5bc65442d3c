"""The MCP stack's outputs that ``stock-agent invoke --mcp`` reads, and the container's switch.

The agent's side is ``agent_runtime/stock_agent/mcp/gateway.py`` (the output
names) and ``stock_agent/settings.py`` (``SERVER_PROTOCOL``); the stacks never
import the agent, so a test pins both sides equal.
"""

from __future__ import annotations

OUTPUT_GATEWAY_URL = "GatewayUrl"
OUTPUT_GATEWAY_AUTH = "GatewayAuth"
OUTPUT_TOKEN_ENDPOINT = "TokenEndpointUrl"  # noqa: S105 - an output's name, not a secret
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_CLIENT_ID = "UserPoolClientId"
OUTPUT_OAUTH_SCOPES = "OAuthScopes"
STACK_OUTPUTS = (
    OUTPUT_GATEWAY_URL,
    OUTPUT_GATEWAY_AUTH,
    OUTPUT_TOKEN_ENDPOINT,
    OUTPUT_USER_POOL_ID,
    OUTPUT_USER_POOL_CLIENT_ID,
    OUTPUT_OAUTH_SCOPES,
)
# The image's command serves the MCP tools on 0.0.0.0:8000/mcp with this setting.
SERVER_PROTOCOL_VARIABLE = "SERVER_PROTOCOL"
SERVER_PROTOCOL_MCP = "mcp"
