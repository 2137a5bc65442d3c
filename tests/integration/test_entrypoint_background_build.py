"""The server answers ``/ping`` while the agent is still being built (cold start).

``create_app(..., build_in_background=True)`` is what ``stock-agent serve`` and
the container's ``python -m stock_agent.server.entrypoint`` use: importing LangGraph
costs about 2 s of CPU, more than the rest of the server, so it happens in a
thread while ``/ping`` already answers (benchmark row 4). These tests pin the
three promises of that change: the entrypoint module does not import LangGraph,
``/ping`` is healthy while the build is blocked and an invocation waits for the
build and then succeeds (real uvicorn on loopback), and a build that fails
stops the process instead of leaving a server that can only fail.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from stock_agent.agent import Dependencies, StockAgent
from stock_agent.errors import AgentError
from stock_agent.models.types import ModelError
from stock_agent.server import entrypoint
from stock_agent.settings import AgentSettings

pytestmark = pytest.mark.slow


def test_entrypoint_module_does_not_import_langgraph() -> None:
    code = (
        "import sys, stock_agent.server.entrypoint; "
        "print(sorted(m for m in sys.modules if m.startswith('langgraph')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


class _GatedAgent(StockAgent):
    """A real agent whose clients are built only once ``gate`` is set."""

    def __init__(self, *, ctx: AgentSettings, gate: threading.Event) -> None:
        super().__init__(ctx=ctx)
        self.gate = gate

    @property
    def dependencies(self) -> Dependencies:
        if not self.gate.wait(30):
            raise RuntimeError("gate never opened")
        return super().dependencies


def test_ping_answers_while_the_agent_builds_and_invocations_wait(
    tmp_path: Path, app_server: Any
) -> None:
    gate = threading.Event()
    ctx = AgentSettings(reports_dir=str(tmp_path / "reports"))
    app = entrypoint.create_app(
        ctx=ctx, agent=_GatedAgent(ctx=ctx, gate=gate), build_in_background=True
    )
    with app_server(app, reports_dir=tmp_path / "reports") as server:
        ping = server.ping()
        assert ping.status == 200 and ping.json()["status"] == "Healthy"
        assert not gate.is_set()  # the build is still blocked: ping did not wait for it
        threading.Timer(0.3, gate.set).start()
        reply = server.invoke({"prompt": "Analyze SIM_STOCK for investment purposes"})
    assert reply.status == 200, reply.body[:300]
    assert reply.json()["tickers"] == ["SIM_STOCK"]
    assert len(list((tmp_path / "reports").rglob("*.pdf"))) == 1


def test_a_failed_background_build_stops_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = AgentSettings(reports_dir=str(tmp_path))
    exited = threading.Event()
    codes: list[int] = []

    class _BrokenAgent(StockAgent):
        @property
        def dependencies(self) -> Dependencies:
            raise ModelError("model_client_error", "endpoint name rejected")

    def fake_exit(code: int) -> None:
        codes.append(code)
        exited.set()

    monkeypatch.setattr(entrypoint.os, "_exit", fake_exit)
    holder = entrypoint.AgentHolder(ctx=ctx, agent=_BrokenAgent(ctx=ctx))
    holder.build_in_background()
    assert exited.wait(10)
    assert codes == [2]
    with pytest.raises(AgentError) as err:
        holder.get(timeout_s=1)
    assert err.value.code == "internal_error"
