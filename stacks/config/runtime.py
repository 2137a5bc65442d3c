"""``runtime``: the AgentCore Runtime: naming, lifecycle, agent settings, inbound auth,
and which runtime version each named endpoint serves.

AgentCore versions a runtime on every change of its configuration (image,
environment, ...); an endpoint serves one version. ``live`` follows the
latest version unless ``live_version`` pins it. With ``canary`` on, a second
endpoint serves the latest version (or ``canary_version``) while ``live``
stays pinned: a runtime whose ``model_adapter`` is set becomes a new version,
served by the canary, while live keeps the base. Promotion moves
``live_version`` to the canary's version; rollback moves it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import flag, positive, require

# AgentCore's own limits (API reference of CreateAgentRuntime / the L2 docs).
AGENTCORE_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
AGENTCORE_MAX_IDLE_SECONDS = 28_800
AGENTCORE_MIN_IDLE_SECONDS = 60
# A synchronous InvokeAgentRuntime request is cut off by AgentCore after 15 min;
# the agent's own deadline must end before that so it can answer with an error.
AGENTCORE_REQUEST_TIMEOUT_SECONDS = 900
# An endpoint's AgentRuntimeVersion: [1-9][0-9]{0,4} (CreateAgentRuntimeEndpoint).
MAX_RUNTIME_VERSION = 99_999
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
    # The runtime version the live endpoint serves; None = the latest (moves with every change).
    live_version: int | None = None
    # A second endpoint for the candidate version, evaluated online beside live.
    canary: bool = False
    canary_endpoint_name: str = "canary"
    # The runtime version the canary serves; None = the latest.
    canary_version: int | None = None

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
        self._validate_versions()

    def _validate_versions(self) -> None:
        for key, version in (
            ("runtime.live_version", self.live_version),
            ("runtime.canary_version", self.canary_version),
        ):
            if version is not None:
                positive(key, version, maximum=MAX_RUNTIME_VERSION)
        flag("runtime.canary", self.canary)
        require(
            AGENTCORE_NAME_PATTERN.fullmatch(self.canary_endpoint_name) is not None
            and self.canary_endpoint_name not in ("DEFAULT", self.endpoint_name),
            "runtime.canary_endpoint_name",
            self.canary_endpoint_name,
            f"a name matching [a-zA-Z][a-zA-Z0-9_]{{0,47}}, not DEFAULT and not "
            f"runtime.endpoint_name ({self.endpoint_name})",
        )
        require(
            self.canary or self.canary_version is None,
            "runtime.canary_version",
            self.canary_version,
            "unset while runtime.canary is false (no canary endpoint to pin)",
        )
        require(
            not self.canary or self.live_version is not None or self.canary_version is not None,
            "runtime.canary",
            self.canary,
            "false, or runtime.live_version (or runtime.canary_version) set: with neither, both "
            "endpoints follow the latest version and the canary can never differ from live",
        )

    @property
    def endpoint_names(self) -> tuple[str, ...]:
        """The named endpoints: live, then the canary when there is one."""
        return (self.endpoint_name, self.canary_endpoint_name) if self.canary else (
            self.endpoint_name,)  # fmt: skip
