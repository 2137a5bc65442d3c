"""The graph state across turns: reducers add up within a turn, and each turn starts from
nothing but the session.

A real LangGraph graph over ``AgentState`` with an in-memory checkpointer, two turns on
one thread; its one node adds what the agent's stages add (warnings, timings, counts).
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from stock_agent.state import AgentState, merge_dicts, turn_input


def _stage(state: AgentState) -> dict[str, Any]:
    """What a stage returns: only what it adds."""
    turn = state["prompt"]
    return {
        "warnings": [f"{turn}: warned"],
        "degraded_reasons": [f"{turn}: degraded"],
        "model_starting_eta_s": [30.0],
        "timings_ms": {turn: 1.0},
        "failures": {turn: {"stage": "s", "code": "c", "message": "m"}},
        "model_calls": 1,
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "tickers": ["AAPL"],
    }


def _graph() -> Any:
    builder = StateGraph(AgentState)
    builder.add_node("stage", _stage)
    builder.add_node("stage_again", _stage)
    builder.add_edge(START, "stage")
    builder.add_edge("stage", "stage_again")
    builder.add_edge("stage_again", END)
    return builder.compile(checkpointer=InMemorySaver())


def _turn(graph: Any, prompt: str, *, warnings: list[str] | None = None) -> dict[str, Any]:
    state = turn_input(request_id=prompt, session_id="s", prompt=prompt, warnings=warnings or [])
    result: dict[str, Any] = graph.invoke(state, {"configurable": {"thread_id": "s"}})
    return result


def test_within_a_turn_the_stages_add_up() -> None:
    first = _turn(_graph(), "one", warnings=["from the server"])
    assert first["warnings"] == ["from the server", "one: warned", "one: warned"]
    assert first["model_calls"] == 2 and first["prompt_tokens"] == 200
    assert first["completion_tokens"] == 20
    assert first["model_starting_eta_s"] == [30.0, 30.0]
    assert first["timings_ms"] == {"one": 1.0}


def test_a_new_turn_starts_from_nothing_but_the_session() -> None:
    graph = _graph()
    _turn(graph, "one")
    graph.update_state({"configurable": {"thread_id": "s"}}, {"session": {"kept": True}})
    second = _turn(graph, "two")
    assert second["warnings"] == ["two: warned", "two: warned"]
    assert second["degraded_reasons"] == ["two: degraded", "two: degraded"]
    assert second["model_starting_eta_s"] == [30.0, 30.0]
    assert second["timings_ms"] == {"two": 1.0}
    assert list(second["failures"]) == ["two"]
    assert (second["model_calls"], second["prompt_tokens"], second["completion_tokens"]) == (
        2,
        200,
        20,
    )
    assert second["session"] == {"kept": True}
    assert second["request_id"] == "two" and second["intent"] == "analyze"
    for key in ("snapshots", "analyses", "narratives", "reports", "generated_at", "response"):
        assert second[key] == {}, key
    for key in ("plan", "comparison", "answer", "error"):
        assert second[key] is None, key


def test_later_keys_win_when_dicts_merge() -> None:
    assert merge_dicts({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}
    assert merge_dicts({}, {}) == {}
