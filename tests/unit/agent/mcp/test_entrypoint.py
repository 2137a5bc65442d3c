"""The MCP runtime's container entry: 0.0.0.0:8000, the container's guard, settings checked."""

from __future__ import annotations

from typing import Any

import pytest
from stock_agent.mcp import entrypoint
from stock_agent.mcp.http import MCP_PATH, McpGuard


def test_it_serves_every_interface_on_the_contracts_port(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(
        entrypoint, "serve_http", lambda app, **where: served.update(app=app, **where)
    )
    for name in ("MODEL_PROVIDER", "REPORT_BUCKET", "DATA_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPORTS_DIR", "/tmp/reports")
    assert entrypoint.main() == 0
    assert (served["host"], served["port"]) == ("0.0.0.0", 8000)
    app = served["app"]
    assert isinstance(app, McpGuard)
    # AgentCore is the only caller: neither Host nor Content-Type is checked there.
    assert app.settings.allowed_hosts is None
    assert app.settings.require_json_content_type is False
    assert MCP_PATH == "/mcp"


def test_bad_settings_exit_2_with_one_json_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(entrypoint, "serve_http", lambda app, **where: pytest.fail("served"))
    monkeypatch.setenv("DATA_PROVIDER", "carrier-pigeon")
    assert entrypoint.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid settings" in err and "DATA_PROVIDER" in err
