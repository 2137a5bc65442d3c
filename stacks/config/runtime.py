"""``runtime``: the AgentCore Runtime: naming, lifecycle, agent settings, inbound auth."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import positive, require

# AgentCore's own limits (API reference of CreateAgentRuntime / the L2 docs).
AGENTCORE_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
AGENTCORE_MAX_IDLE_SECONDS = 28_800
AGENTCORE_MIN_IDLE_SECONDS = 60
# A synchronous InvokeAgentRuntime request is cut off by AgentCore after 15 min;
# the agent's own deadline must end before that so it can answer with an error.
AGENTCORE_REQUEST_TIMEOUT_SECONDS = 900
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, kw_only=True)
class JwtSettings:
    """Optional inbound JWT (OIDC) authorizer of the runtime; None means IAM SigV4."""

    discovery_url: str
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()

    def validate(self) -> None:
        require(
            self.discovery_url.startswith("https://")
            and self.discovery_url.endswith("/.well-known/openid-configuration"),
            "runtime.jwt.discovery_url",
            self.discovery_url,
            "an https URL ending in /.well-known/openid-configuration",
        )
        require(
            bool(self.allowed_clients or self.allowed_audience),
            "runtime.jwt.allowed_clients",
            self.allowed_clients,
            "at least one allowed client or audience (otherwise any token of the issuer passes)",
        )


@dataclass(frozen=True, kw_only=True)
class RuntimeSettings:
    """The AgentCore Runtime: naming, lifecycle, agent settings, inbound auth."""

    # None = derived from project and stage (see StageConfig.runtime_name).
    name: str | None = None
    endpoint_name: str = "live"
    log_level: str = "INFO"
    request_deadline_seconds: int = 300
    model_cold_start_wait_seconds: int = 120
    idle_session_timeout_seconds: int = 900
    max_lifetime_seconds: int = 28_800
    jwt: JwtSettings | None = None
    # The served LoRA adapter the agent asks for (one of model.adapters); None = the base.
    model_adapter: str | None = None

    def validate(self, *, derived_name: str) -> None:
        name = self.name or derived_name
        require(
            AGENTCORE_NAME_PATTERN.fullmatch(name) is not None,
            "runtime.name",
            name,
            "a name matching [a-zA-Z][a-zA-Z0-9_]{0,47} (letters, digits, underscores; no hyphens)",
        )
        require(
            AGENTCORE_NAME_PATTERN.fullmatch(self.endpoint_name) is not None
            and self.endpoint_name != "DEFAULT",
            "runtime.endpoint_name",
            self.endpoint_name,
            "a name matching [a-zA-Z][a-zA-Z0-9_]{0,47}, not DEFAULT (reserved)",
        )
        require(
            self.log_level in LOG_LEVELS,
            "runtime.log_level",
            self.log_level,
            " | ".join(LOG_LEVELS),
        )
        positive(
            "runtime.request_deadline_seconds",
            self.request_deadline_seconds,
            maximum=AGENTCORE_REQUEST_TIMEOUT_SECONDS - 30,
        )
        positive(
            "runtime.model_cold_start_wait_seconds",
            self.model_cold_start_wait_seconds,
            maximum=self.request_deadline_seconds - 1,
        )
        positive(
            "runtime.idle_session_timeout_seconds",
            self.idle_session_timeout_seconds,
            minimum=AGENTCORE_MIN_IDLE_SECONDS,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
        positive(
            "runtime.max_lifetime_seconds",
            self.max_lifetime_seconds,
            minimum=self.idle_session_timeout_seconds,
            maximum=AGENTCORE_MAX_IDLE_SECONDS,
        )
        if self.jwt is not None:
            self.jwt.validate()
