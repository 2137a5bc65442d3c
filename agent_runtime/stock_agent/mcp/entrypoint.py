"""The MCP runtime's container entry: the tools on ``0.0.0.0:8000/mcp``, stateless.

The same image as the agent runtime, another command
(``python -m stock_agent.mcp.entrypoint``): AgentCore Runtime with the MCP
protocol forwards ``InvokeAgentRuntime`` bodies to ``POST /mcp`` on port
8000 of an arm64 container. Settings come from the environment as for the
agent (``DATA_PROVIDER``, ``REPORT_BUCKET``, ...); no model is configured
there, so narratives are the deterministic ones. Host and Content-Type are
not checked (only AgentCore reaches the container, and its headers are not
documented), as in :mod:`stock_agent.server.entrypoint`.
"""

from __future__ import annotations

import json
import logging
import sys

from ..observability.logging_setup import configure_logging
from ..server.http_guard import GuardSettings
from ..settings import AgentSettings, ConfigError
from .http import DEFAULT_MCP_PORT, create_http_app, serve_http
from .toolbox import Toolbox

logger = logging.getLogger(__name__)


def main() -> int:
    """Settings from the environment, JSON logs, the tools on 0.0.0.0:8000."""
    try:
        settings = AgentSettings.from_env()
        toolbox = Toolbox.from_settings(settings)
    except ConfigError as err:
        sys.stderr.write(
            json.dumps({"level": "ERROR", "message": f"invalid settings: {err}"}) + "\n"
        )
        return 2
    configure_logging(level=settings.log_level)
    guard = GuardSettings.container(request_deadline_s=settings.request_deadline_seconds)
    app = create_http_app(toolbox, guard=guard)
    logger.info("serving MCP", extra={"port": DEFAULT_MCP_PORT})
    # The container must listen on every interface for AgentCore to reach it.
    serve_http(app, host="0.0.0.0", port=DEFAULT_MCP_PORT)  # noqa: S104
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
