"""What the model is sent: the facts of a record as formatted text, the turns of each call,
and how its structured answers are read back."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from stock_agent import formatting
from stock_agent.prompts import (
    NARRATIVE_RETRY_PROMPT,
    NARRATIVE_SYSTEM_PROMPT,
    PLAN_SYSTEM_PROMPT,
    answer_turns,
    json_in_content,
    narrative_messages,
    narrative_payload,
    plan_system_prompt,
    plan_turns,
)
from stock_agent.records import Headline, StockAnalysis, StockSnapshot

from tests.support.records import simulated_record


@functools.cache
def _record() -> tuple[StockSnapshot, StockAnalysis]:
    return simulated_record("AAPL", as_of=date(2026, 11, 30), track_record=True)


def _payload(snapshot: StockSnapshot, analysis: StockAnalysis, **kwargs: Any) -> dict[str, Any]:
    return narrative_payload(
        snapshot=snapshot,
        analysis=analysis,
        key_figures=formatting.key_figures(snapshot, analysis),
        **kwargs,
    )


def _data(turn: dict[str, Any]) -> Any:
    assert turn["role"] == "user"
    return json.loads(turn["content"])


def test_the_narrative_facts_are_the_formatted_figures_and_the_verdicts() -> None:
    snapshot, analysis = _record()
    payload = _payload(snapshot, analysis)
    figures = dict(formatting.key_figures(snapshot, analysis))
    detail = formatting.track_record_detail_labels(analysis)
    assert detail  # the record has detail rows, which a narrative leaves out
    assert payload["key_figures"] == {k: v for k, v in figures.items() if k not in detail}
    assert payload["key_figures"]["Current Price"] == figures["Current Price"]
    assert payload["technical"]["score"] == f"{analysis.technical.score}/5"
    assert payload["outlook"] == analysis.outlook and payload["as_of"] == "2026-11-30"
    assert "headlines" not in payload  # the simulation has no news and none is invented
    asked = _payload(snapshot, analysis, track_record_detail=True)
    assert asked["key_figures"] == figures  # a question about the track record gets it all


def test_at_most_five_headlines_reach_the_model() -> None:
    snapshot, analysis = _record()
    news = tuple(
        Headline(f"Headline {i}", f"Wire {i}", f"https://example.com/{i}", "2026-11-29")
        for i in range(7)
    )
    payload = _payload(replace(snapshot, headlines=news), analysis)
    assert payload["headlines"] == [
        {"title": f"Headline {i}", "publisher": f"Wire {i}"} for i in range(5)
    ]


def test_a_narrative_retry_shows_the_rejected_answer_and_why() -> None:
    payload = {"symbol": "AAPL"}
    first = narrative_messages(payload)
    assert first == [
        {"role": "system", "content": NARRATIVE_SYSTEM_PROMPT},
        {"role": "user", "content": '{"symbol":"AAPL"}'},
    ]
    retry = narrative_messages(payload, rejection="$1.00 is not in the facts", previous="Old.")
    assert retry[:2] == first
    assert retry[2:] == [
        {"role": "assistant", "content": "Old."},
        {
            "role": "user",
            "content": NARRATIVE_RETRY_PROMPT.format(reason="$1.00 is not in the facts"),
        },
    ]
    assert narrative_messages(payload, rejection="why")[2] == {"role": "assistant", "content": ""}


#: What of the plan the answer call is shown (its bookkeeping, e.g. ``source``, is not).
PLAN_KEYS = ("intent", "subjects", "aspects", "operator", "time_frame", "why")


def test_an_answer_is_asked_with_the_facts_the_plan_and_the_records_answer() -> None:
    facts = [{"symbol": "AAPL"}]
    plan = {"intent": "question", "subjects": ["AAPL"], "aspects": ["Beta"], "operator": None,
            "time_frame": None, "why": False, "source": "rules", "note": "internal"}  # fmt: skip
    [turn] = answer_turns("what is its beta?", facts, plan=plan, from_records="Beta: 1.20")
    assert _data(turn) == {
        "facts": facts,
        "question": "what is its beta?",
        "plan": {k: plan[k] for k in PLAN_KEYS},
        "from_records": "Beta: 1.20",
    }
    [bare] = answer_turns("what is its beta?", facts)
    assert _data(bare) == {"facts": facts, "question": "what is its beta?"}
    [partial] = answer_turns("q", facts, plan={"intent": "question"})
    assert _data(partial)["plan"] == {"intent": "question"}


@pytest.mark.parametrize(("count", "listed"), [(0, False), (1, True), (60, True), (61, False)])
def test_a_small_universe_is_listed_to_the_plan(count: int, listed: bool) -> None:
    symbols = [f"S{i:03d}" for i in range(count)]
    prompt = plan_system_prompt(reversed(symbols))
    if listed:
        assert (
            prompt
            == f"{PLAN_SYSTEM_PROMPT}\nOnly these symbols are available: "
            + ", ".join(symbols)
            + "."
        )
    else:
        assert prompt == PLAN_SYSTEM_PROMPT


def test_the_plan_is_asked_with_the_message_and_the_sessions_tickers_as_data() -> None:
    [turn] = plan_turns("и Microsoft?", session_tickers=("AAPL",))
    assert _data(turn) == {"message": "и Microsoft?", "session_tickers": ["AAPL"]}
    assert "и Microsoft" in turn["content"]  # sent as written, not escaped


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"intent": "analyze"}', {"intent": "analyze"}),
        ('  Here it is: {"a": {"b": 1}} hope that helps  ', {"a": {"b": 1}}),
        ("{}", {}),
        ('{"a": 1}.', {"a": 1}),
        ('x{"a": 1}', {"a": 1}),
        ("no object here", None),
        ("", None),
        ("}{", None),
        ("{", None),
        ('{"a": 1', None),
        ('{"a": } x }', None),
    ],
)
def test_a_structured_answer_is_read_from_the_object_in_it(content: str, expected: Any) -> None:
    assert json_in_content(content) == expected
