"""The image's command: the agent's server or the tools' MCP server, by ``SERVER_PROTOCOL``.

Both AgentCore runtimes run the one agent image, and a runtime runs the
image's own command (its container configuration names only the image). So the
command reads one setting: ``http`` (the default) serves the AgentCore HTTP
contract on 0.0.0.0:8080 (:mod:`stock_agent.server.entrypoint`), ``mcp`` the
MCP tools on 0.0.0.0:8000/mcp (:mod:`stock_agent.mcp.entrypoint`). Only the
chosen server's modules are imported, so neither pays for the other at cold
start.
"""

from __future__ import annotations

import json
import sys

from .settings import AgentSettings, ConfigError


def main() -> int:
    """Run the server ``SERVER_PROTOCOL`` names; exit 2 with one JSON line on bad settings."""
    try:
        protocol = AgentSettings.from_env().server_protocol
    except ConfigError as err:
        sys.stderr.write(
            json.dumps({"level": "ERROR", "message": f"invalid settings: {err}"}) + "\n"
        )
        return 2
    if protocol == "mcp":
        from .mcp.entrypoint import main as serve
    else:
        from .server.entrypoint import main as serve
    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
