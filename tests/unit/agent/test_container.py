"""The image's command picks the server by ``SERVER_PROTOCOL``: the agent's by default."""

from __future__ import annotations

import pytest
from stock_agent import container
from stock_agent.mcp import entrypoint as mcp_entrypoint
from stock_agent.server import entrypoint as http_entrypoint


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(http_entrypoint, "main", lambda: calls.append("http") or 0)
    monkeypatch.setattr(mcp_entrypoint, "main", lambda: calls.append("mcp") or 0)
    monkeypatch.delenv("SERVER_PROTOCOL", raising=False)
    return calls


@pytest.mark.parametrize(("value", "server"), [(None, "http"), ("http", "http"), ("mcp", "mcp"),
                                               ("MCP", "mcp")])  # fmt: skip
def test_the_setting_chooses_the_server(
    started: list[str], monkeypatch: pytest.MonkeyPatch, value: str | None, server: str
) -> None:
    if value is not None:
        monkeypatch.setenv("SERVER_PROTOCOL", value)
    assert container.main() == 0
    assert started == [server]


def test_an_unknown_protocol_exits_2_and_starts_nothing(
    started: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERVER_PROTOCOL", "a2a")
    assert container.main() == 2
    assert started == []
    assert "SERVER_PROTOCOL='a2a' is invalid: expected http | mcp" in capsys.readouterr().err


def test_the_mcp_stack_sets_the_setting_this_command_reads() -> None:
    """stacks/mcp_outputs.py names the variable and its value (the stacks never import the
    agent); the settings read the same name and accept the same value."""
    from stock_agent.settings import _ENV_NAMES, SERVER_PROTOCOLS

    from stacks import mcp_outputs

    assert _ENV_NAMES["server_protocol"] == mcp_outputs.SERVER_PROTOCOL_VARIABLE
    assert mcp_outputs.SERVER_PROTOCOL_MCP in SERVER_PROTOCOLS
