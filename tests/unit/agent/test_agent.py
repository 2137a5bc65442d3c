"""The agent around its graph: one turn at a time per session, a session another process holds,
the caller errors raised before a stream starts, one metrics record per request, the answer on
the turn's span, and a session store that keeps only the latest checkpoint.

The real agent (offline model, simulated data, local reports); sessions in the real
in-memory and SQLite checkpointers; the other process's hold is a second checkpointer on the
same SQLite file, whose lock is a real ``flock`` on its own open file.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.errors import AgentError
from stock_agent.market_data import get_provider
from stock_agent.memory.checkpoints import build_checkpointer, thread_config
from stock_agent.observability import metrics
from stock_agent.settings import AgentSettings

from tests.support.agents import offline_agent


def _settings(tmp_path: Path, **values: Any) -> AgentSettings:
    return AgentSettings.from_env({}, reports_dir=str(tmp_path / "reports"), **values)


# --- one turn at a time per session ------------------------------------------------------------


class _GatedProvider:
    """The simulated provider, whose first snapshot waits until the test opens the gate."""

    def __init__(self) -> None:
        self.inner = get_provider("simulated")
        self.name = self.inner.name
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.calls: list[str] = []

    def snapshot(self, symbol: str, *, as_of: date) -> Any:
        self.calls.append(symbol)
        if len(self.calls) == 1:
            self.entered.set()
            assert self.gate.wait(10)
        return self.inner.snapshot(symbol, as_of=as_of)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _agent_with(tmp_path: Path, provider: _GatedProvider) -> StockAgent:
    settings = _settings(tmp_path)
    return StockAgent(
        ctx=settings, dependencies=Dependencies.from_settings(settings, provider=provider)
    )


@pytest.mark.parametrize(("second_session", "waits"), [("s1", True), ("s2", False)])
def test_a_sessions_turns_run_one_at_a_time_and_other_sessions_do_not_wait(
    tmp_path: Path, second_session: str, waits: bool
) -> None:
    provider = _GatedProvider()
    agent = _agent_with(tmp_path, provider)
    first = threading.Thread(
        target=agent.invoke, args=("Analyze AAPL",), kwargs={"request_id": "r1", "session_id": "s1"}
    )
    first.start()
    try:
        assert provider.entered.wait(10)
        second = threading.Thread(
            target=agent.invoke,
            args=("Analyze KO",),
            kwargs={"request_id": "r2", "session_id": second_session},
        )
        second.start()
        second.join(1.0)
        assert second.is_alive() is waits
        assert provider.calls == (["AAPL"] if waits else ["AAPL", "KO"])
    finally:
        provider.gate.set()
        first.join(30)
        second.join(30)
    assert provider.calls == ["AAPL", "KO"]


# --- a session another process holds (a shared SQLite file) -------------------------------------


def test_a_turn_waits_half_its_deadline_for_a_session_another_process_holds(
    tmp_path: Path,
) -> None:
    values = {
        "memory_backend": "sqlite",
        "session_db": str(tmp_path / "sessions.sqlite"),
        "request_deadline_seconds": 3.0,
    }
    agent = offline_agent(tmp_path, **values)
    other_process = build_checkpointer(_settings(tmp_path, **values))
    config = thread_config(session_id="shared", actor=None)
    with other_process.session_lock(config, wait_s=0):
        started = time.monotonic()
        response = agent.invoke("Analyze KO", request_id="r1", session_id="shared")
        waited = time.monotonic() - started
    assert waited >= 1.5
    busy = "the session was in use by another process for over 1.5 s"
    assert any(busy in w for w in response["warnings"]), response["warnings"]
    assert response["degraded"] is True and response["session_saved"] is False
    free = agent.invoke("Analyze KO", request_id="r2", session_id="shared")
    assert free["session_saved"] is True and not any(busy in w for w in free["warnings"])


# --- before a stream starts ----------------------------------------------------------------------


def test_preflight_raises_the_routings_caller_errors(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    with pytest.raises(AgentError) as info:
        agent.preflight("write me a poem")
    assert info.value.code == "no_ticker"
    with pytest.raises(AgentError) as info:
        agent.preflight("what is its beta?", session_id="fresh")
    assert info.value.code == "no_context"
    agent.preflight("Analyze AAPL")
    agent.invoke("Analyze AAPL", request_id="r1", session_id="kept")
    agent.preflight("what is its beta?", session_id="kept")  # the session holds AAPL


# --- one metrics record per request -------------------------------------------------------------


def _records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def test_every_request_emits_one_metrics_record_success_or_failure(tmp_path: Path) -> None:
    lines: list[str] = []
    agent = StockAgent(ctx=_settings(tmp_path), metrics_sink=lines.append)
    agent.invoke("Analyze KO", request_id="r1")
    assert [r[metrics.REPORTS_WRITTEN] for r in _records(lines)] == [1]
    with pytest.raises(AgentError):
        agent.invoke("write me a poem", request_id="r2")
    assert [r[metrics.REPORTS_WRITTEN] for r in _records(lines)] == [1, 0]
    list(agent.stream("Analyze KO", request_id="r3"))
    assert len(lines) == 3


def test_a_deployed_stage_emits_to_stdout_and_a_laptop_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    StockAgent(ctx=_settings(tmp_path, stage="dev")).invoke("Analyze KO", request_id="r1")
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)[metrics.REPORTS_WRITTEN] == 1
    StockAgent(ctx=_settings(tmp_path)).invoke("Analyze KO", request_id="r2")
    assert capsys.readouterr().out == ""


# --- the answer on the turn's span ---------------------------------------------------------------


def test_the_turns_span_carries_the_answer_when_content_is_recorded(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    agent = offline_agent(tmp_path, trace_model_content=True)
    invoked = agent.invoke("Analyze KO", request_id="r1")
    events = list(agent.stream("Analyze KO", request_id="r2"))
    streamed = events[-1]
    outputs = [
        json.loads(dict(s.attributes or {})["traceloop.entity.output"])
        for s in spans.get_finished_spans()
        if s.name.startswith("invoke_agent")
    ]
    assert [o["outputs"]["messages"][-1]["content"] for o in outputs] == [
        invoked["text"],
        streamed["text"],
    ]


# --- the session store keeps the latest checkpoint only -----------------------------------------


def test_a_saved_session_keeps_only_its_latest_checkpoint(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    agent.invoke("and MSFT?", request_id="r2", session_id="s")
    config = thread_config(session_id="s", actor=None)
    thread = {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
    kept = list(agent.checkpointer.inner.list(thread))  # type: ignore[arg-type]
    assert len(kept) == 1
    assert kept[0].checkpoint["channel_values"]["session"]  # and it is the session
