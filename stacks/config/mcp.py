"""``mcp``: the analyst's tools as an MCP server on a second AgentCore Runtime, behind a Gateway.

Off unless ``enabled``: the stage then deploys the MCP stack (the runtime from
the agent's image with ``SERVER_PROTOCOL=mcp``, an AgentCore Gateway with that
runtime as its MCP server target) and the IAM stack the two roles it needs.
What it costs while idle is in docs/mcp.md (``costs.mcp_idle_month``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import flag, positive, require
from .runtime import (
    AGENTCORE_MAX_IDLE_SECONDS,
    AGENTCORE_MIN_IDLE_SECONDS,
    AGENTCORE_NAME_PATTERN,
    LOG_LEVELS,
)

# Who may call the gateway: a Cognito client-credentials token (the AgentCore Gateway L2's
# default) or an AWS IAM (SigV4) signature.
GATEWAY_AUTHS = ("cognito", "aws_iam")


@dataclass(frozen=True, kw_only=True)
class McpSettings:
    """The MCP runtime and its gateway (docs/mcp.md)."""

    enabled: bool = False
    gateway_auth: str = "cognito"
    # The gateway's natural-language tool search (x_amz_bedrock_agentcore_search).
    semantic_search: bool = True
    # The MCP runtime's named endpoint, the one the gateway's target calls.
    endpoint_name: str = "live"
    log_level: str = "INFO"
    idle_session_timeout_seconds: int = 900
    max_lifetime_seconds: int = 28_800

    def validate(self) -> None:
        flag("mcp.enabled", self.enabled)
        flag("mcp.semantic_search", self.semantic_search)
        require(
            self.gateway_auth in GATEWAY_AUTHS,
            "mcp.gateway_auth",
            self.gateway_auth,
            " | ".join(GATEWAY_AUTHS),
        )
        require(
            AGENTCORE_NAME_PATTERN.fullmatch(self.endpoint_name) is not None
            and self.endpoint_name != "DEFAULT",
            "mcp.endpoint_name",
            self.endpoint_name,
            "a name matching [a-zA-Z][a-zA-Z0-9_]{0,47}, not DEFAULT (reserved)",
        )
        require(
            self.log_level in LOG_LEVELS, "mcp.log_level", self.log_level, " | ".join(LOG_LEVELS)
        )
        positive(
            "mcp.idle_session_timeout_seconds",
            self.idle_session_timeout_seconds,
            minimum=AGENTCORE_MIN_IDLE_SECONDS,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
        positive(
            "mcp.max_lifetime_seconds",
            self.max_lifetime_seconds,
            minimum=self.idle_session_timeout_seconds,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
