"""Physical names two stacks must agree on, derived from the project and the stage.

The IAM stack writes exact ARNs for the endpoint, the component, the runtime,
the schedule group and queue and the report topic from these names, without a
reference to the stacks that create them (they need the IAM stack's roles):
no dependency cycle, and the IAM stack stays ahead of them.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "gptoss-agent"
STAGES = ("dev", "prod")


@dataclass(frozen=True, kw_only=True)
class ResourceNames:
    """The names of one stage's shared resources (built by ``StageConfig.names``)."""

    stage: str
    # Prefix of the CloudFormation stack names, e.g. ``GptOssAgent-dev``.
    stack_prefix: str
    # SageMaker lower-cases names in ARNs; these are lower case already.
    endpoint: str
    inference_component: str
    # AgentCore runtime and the named endpoint its callers use.
    runtime: str
    runtime_endpoint: str
    # Name prefix of the runtime's log-delivery sources and destinations: None for the
    # stage's default runtime name (they keep the L2's names), the runtime's name otherwise,
    # so a renamed (replaced) runtime gets delivery resources of its own names.
    log_delivery_prefix: str | None
    watchlist_schedule: str
    watchlist_schedule_group: str
    watchlist_dead_letter_queue: str
    report_topic: str
    # The MCP runtime, the named endpoint its gateway calls, and the gateway (docs/mcp.md).
    mcp_runtime: str
    mcp_runtime_endpoint: str
    mcp_gateway: str

    def parameter(self, *path: str) -> str:
        """An SSM parameter name under ``/<project>/<stage>/``."""
        return "/".join(("", PROJECT, self.stage, *path))
