"""The nodes as a streaming caller sees them: a stage event per stage and ticker (done,
reused, failed, skipped), timings that are the stages' own, the error a request whose every
ticker failed gets, and the conditional edges' routes.

The real agent (offline model, simulated data, local reports), its events read from
``StockAgent.stream``; the routes are the functions the graph's edges call.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.errors import INTERNAL_ERROR_MESSAGE, AgentError
from stock_agent.market_data import get_provider
from stock_agent.models.types import ChatResult, ModelError, Usage
from stock_agent.nodes import (
    all_failed_error,
    route_after_comparison,
    route_after_plan,
    route_after_reports,
    route_after_understanding,
)
from stock_agent.settings import AgentSettings
from stock_agent.understanding.plan import OUT_OF_SCOPE_MESSAGE

from tests.support.agents import agent_on, offline_agent
from tests.support.spans import ScriptedModel


def _stages(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [
        (e["stage"], e["status"], e.get("symbol"))
        for e in events
        if e.get("event") == "stage" and e["stage"] != "understand_request"
    ]


def test_a_follow_up_reuses_the_sessions_records_and_says_so(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    list(agent.stream("Analyze AAPL", request_id="r1", session_id="s"))
    events = list(agent.stream("and MSFT?", request_id="r2", session_id="s"))
    stages = _stages(events)
    for stage in ("data_gathering", "performance_analysis", "narrative", "report_generation"):
        assert (stage, "reused", "AAPL") in stages and (stage, "done", "MSFT") in stages
        assert stages.index((stage, "reused", "AAPL")) < stages.index((stage, "done", "MSFT"))
    [comparison] = [e for e in events if e.get("stage") == "comparison_report"]
    assert comparison["status"] == "done" and comparison["symbols"] == ["AAPL", "MSFT"]
    [remembered] = [e for e in events if e.get("stage") == "remember"]
    assert (remembered["status"], remembered["turns"], remembered["records"]) == ("done", 2, 2)
    assert events[-1]["event"] == "result" and events[-1]["tickers"] == ["AAPL", "MSFT"]


def test_a_turn_without_a_session_remembers_nothing(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    events = list(agent.stream("Analyze KO", request_id="r1"))
    assert ("remember", "skipped", None) in _stages(events)
    assert ("respond", "done", None) in _stages(events)


def test_a_refused_turn_says_why_in_its_stage_event(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    events: list[dict[str, Any]] = []
    with pytest.raises(AgentError) as info:
        for event in agent.stream("write me a poem", request_id="r1"):
            events.append(event)
    assert info.value.code == "no_ticker" and info.value.message == OUT_OF_SCOPE_MESSAGE
    understood = events[0]
    assert (understood["stage"], understood["status"]) == ("understand_request", "failed")
    assert understood["error"] == {"code": "no_ticker", "message": OUT_OF_SCOPE_MESSAGE}
    assert ("respond", "failed", None) in _stages(events)


def test_each_stage_times_itself(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    started = time.perf_counter()
    response = agent.invoke("Analyze AAPL", request_id="r1")
    wall_ms = (time.perf_counter() - started) * 1000
    timings = response["metrics"]["timings_ms"]
    assert set(timings) == {
        "understand_request", "data_gathering", "performance_analysis", "narrative",
        "report_generation",
    }  # fmt: skip
    assert all(0 <= ms <= wall_ms for ms in timings.values()), (timings, wall_ms)
    assert sum(timings.values()) <= wall_ms


def _failure(code: str, message: str) -> dict[str, str]:
    return {"stage": "data_gathering", "code": code, "message": message}


def test_when_every_ticker_fails_the_most_telling_failure_is_the_error() -> None:
    unknown = all_failed_error({"NOPE": _failure("unknown_ticker", "no NOPE"),
                                "ZZZZ": _failure("unknown_ticker", "no ZZZZ")})  # fmt: skip
    assert (unknown.code, unknown.message) == ("unknown_ticker", "NOPE: no NOPE; ZZZZ: no ZZZZ")
    mixed = all_failed_error(
        {
            "NOPE": _failure("unknown_ticker", "no NOPE"),
            "AAPL": _failure("market_data_unavailable", "source down"),
            "MSFT": _failure("deadline_exceeded", "late"),
        }
    )
    assert mixed.code == "market_data_unavailable"  # the first that is not the caller's typo
    assert mixed.message == "NOPE: no NOPE; AAPL: source down; MSFT: late"
    bug = all_failed_error({"AAPL": _failure("internal_error", "KeyError: 'x' at line 3")})
    assert (bug.code, bug.message) == ("internal_error", INTERNAL_ERROR_MESSAGE)


# --- the conditional edges ------------------------------------------------------------------


def test_after_understanding_a_turn_is_refused_unsure_a_question_or_an_analysis() -> None:
    error = {"code": "no_ticker", "message": "m"}
    assert route_after_understanding({"error": error, "plan": {"confident": False}}) == "refused"
    assert route_after_understanding({"plan": {"confident": False}}) == "unsure"
    assert route_after_understanding({"plan": {"confident": True}, "intent": "question"}) == (
        "question"
    )
    assert route_after_understanding({"plan": {}, "intent": "analyze"}) == "analyze_or_compare"
    assert route_after_understanding({"intent": "compare"}) == "analyze_or_compare"
    assert route_after_plan({"error": error, "intent": "question"}) == "refused"
    assert route_after_plan({"intent": "question"}) == "question"


def _reported(*symbols: str) -> dict[str, Any]:
    return {"tickers": list(symbols), "reports": dict.fromkeys(symbols, object()),
            **{k: dict.fromkeys(symbols, object()) for k in (
                "snapshots", "analyses", "narratives", "generated_at")}}  # fmt: skip


def test_after_the_reports_two_make_a_comparison_and_a_question_gets_its_answer() -> None:
    error = {"code": "unknown_ticker", "message": "m"}
    assert route_after_reports({**_reported("AAPL", "MSFT"), "error": error}) == (
        "every_ticker_failed"
    )
    assert route_after_reports({**_reported("AAPL", "MSFT"), "intent": "compare"}) == "compare"
    one_left = {**_reported("AAPL", "MSFT"), "intent": "compare"}
    del one_left["reports"]["MSFT"]
    assert route_after_reports(one_left) == "analyze"
    assert route_after_reports({**_reported("AAPL"), "intent": "analyze", "plan": None}) == (
        "analyze"
    )
    asked = {"intent": "question", "subjects": ["AAPL"], "aspects": ["Beta"]}
    assert route_after_reports({**_reported("AAPL"), "intent": "question", "plan": asked}) == (
        "answer"
    )
    assert route_after_comparison({"plan": None}) == "done"
    assert route_after_comparison({"plan": asked}) == "answer"


# --- bounds: threads per stage, and the request's deadline on the data ------------------------


class _SlowProvider:
    """The simulated provider, each snapshot taking ``delay`` seconds; counts how many run
    at once."""

    def __init__(self, delay: float) -> None:
        self.inner = get_provider("simulated")
        self.name = self.inner.name
        self.delay = delay
        self.running = self.most = 0
        self.lock = threading.Lock()

    def snapshot(self, symbol: str, *, as_of: date) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            return self.inner.snapshot(symbol, as_of=as_of)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _agent_on(tmp_path: Path, provider: _SlowProvider, **values: Any) -> StockAgent:
    settings = AgentSettings.from_env({}, reports_dir=str(tmp_path), **values)
    return StockAgent(
        ctx=settings, dependencies=Dependencies.from_settings(settings, provider=provider)
    )


def test_a_stage_runs_at_most_four_tickers_at_once(tmp_path: Path) -> None:
    provider = _SlowProvider(0.3)
    response = _agent_on(tmp_path, provider).invoke(
        "Compare AAPL, MSFT, NVDA, KO and JPM", request_id="r1"
    )
    assert len(response["results"]) == 5
    assert provider.most == 4


def test_the_data_stage_gets_no_grace_past_the_deadline(tmp_path: Path) -> None:
    provider = _SlowProvider(4.0)
    agent = _agent_on(tmp_path, provider, request_deadline_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(AgentError) as info:
        agent.invoke("Analyze KO", request_id="r1")
    assert info.value.code == "deadline_exceeded"
    assert time.monotonic() - started < 3.0  # the stage stops at the deadline, not 5 s after


# --- the model fills the plan the rules were unsure of ------------------------------------------
# A scripted model client (the GPU model cannot run here): it answers every call with one
# chat-completions result, as the real clients return it.

UNSURE = "analyze the iphone maker stock"  # no ticker the rules can name with confidence


def _plan_json(*subjects: str) -> str:
    return json.dumps({"intent": "analyze", "subjects": list(subjects), "aspects": [],
                       "operator": None, "time_frame": None, "why": False})  # fmt: skip


def test_tickers_the_model_inferred_are_said_to_be_inferred(tmp_path: Path) -> None:
    usage = Usage(prompt_tokens=50, completion_tokens=20)
    model = ScriptedModel(ChatResult(content=_plan_json("AAPL"), finish_reason="stop", usage=usage))
    response = agent_on(AgentSettings(reports_dir=str(tmp_path)), model=model).invoke(
        UNSURE, request_id="r1"
    )
    assert response["tickers"] == ["AAPL"] and response["plan"]["source"] == "model"
    assert "tickers AAPL were inferred by the model from the request" in response["warnings"]
    assert model.calls[0]["profile"].purpose == "request_plan"
    assert response["metrics"]["prompt_tokens"] >= 50


@pytest.mark.parametrize(
    ("finish_reason", "says"),
    [
        ("stop", "the model could not map the company name to a known ticker"),
        ("length", "the model ran out of its answer budget while reading the request"),
    ],
)
def test_an_unreadable_plan_leaves_the_rules_refusal_saying_why(
    tmp_path: Path, finish_reason: str, says: str
) -> None:
    model = ScriptedModel(ChatResult(content="not json", finish_reason=finish_reason))
    agent = agent_on(AgentSettings(reports_dir=str(tmp_path)), model=model)
    with pytest.raises(AgentError) as info:
        agent.invoke(UNSURE, request_id="r1")
    assert info.value.code == "no_ticker" and says in info.value.message


# --- questions answered from the session ----------------------------------------------------------


def test_a_figure_question_is_answered_from_the_session(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    first = agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    beta = first["results"][0]["key_figures"]["Beta"]
    events = list(agent.stream("what is its beta?", request_id="r2", session_id="s"))
    response = events[-1]
    assert (response["intent"], response["tickers"], response["results"]) == (
        "question",
        ["AAPL"],
        [],
    )
    assert f"- Beta: {beta}" in response["answer"]
    [answered] = [e for e in events if e.get("stage") == "answer_question"]
    assert answered["status"] == "done" and answered["tickers"] == ["AAPL"]


def test_a_ticker_that_failed_this_turn_is_left_out_of_the_answer(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    response = agent.invoke("what are the betas of AAPL and NOPE?", request_id="r2", session_id="s")
    assert [f["symbol"] for f in response["failed"]] == ["NOPE"]
    assert response["answer"].startswith("AAPL (Apple Inc.)") and "Beta" in response["answer"]
    assert "NOPE" not in response["answer"]


def test_an_answer_written_while_the_model_starts_says_when_to_ask_again(tmp_path: Path) -> None:
    """A dev model scaled to zero answers 'no capacity' with a wait: the answer comes from the
    records at once and the response says when a model-written one can be had."""
    cold = ModelError("model_no_capacity", "cold start", retryable=True, retry_after=120)
    agent = agent_on(AgentSettings(reports_dir=str(tmp_path)), model=ScriptedModel(cold))
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    response = agent.invoke("what is its beta?", request_id="r2", session_id="s")
    assert response["intent"] == "question" and "Beta" in response["answer"]
    assert response["model_status"]["status"] == "starting"
    assert response["model_status"]["retry_after_s"] == 120
    assert response["model_status"]["message"] in response["warnings"]


def test_tickers_the_model_read_from_the_session_are_not_called_inferred(tmp_path: Path) -> None:
    """A question the rules could not read, about the session's ticker: the model's plan names
    the same ticker the session holds, which is nothing the model made up."""
    plan = json.dumps({"intent": "question", "subjects": ["AAPL"], "aspects": ["Beta"],
                       "operator": None, "time_frame": None, "why": False})  # fmt: skip
    model = ScriptedModel(ChatResult(content=plan, finish_reason="stop"))
    agent = agent_on(AgentSettings(reports_dir=str(tmp_path)), model=model)
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    response = agent.invoke("what do you make of its moat?", request_id="r2", session_id="s")
    assert (response["intent"], response["plan"]["source"]) == ("question", "model")
    assert not any("inferred" in w for w in response["warnings"]), response["warnings"]
