"""The golden set: enough cases, every category covered, and strict validation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.cases import (
    CAPABILITIES,
    CATEGORIES,
    CONVERSATION_CLASSES,
    GoldenSetError,
    load_golden_set,
    parse_case,
)


def test_golden_set_has_at_least_80_cases_covering_every_category() -> None:
    golden = load_golden_set()
    assert len(golden.cases) >= 80
    counts = Counter(c.category for c in golden.cases)
    assert set(counts) == set(CATEGORIES)
    assert all(n >= 6 for n in counts.values()), counts
    runnable = [c for c in golden.cases if not c.requires]
    assert len(runnable) >= 80  # the gate runs at least 80 cases today
    assert {c for case in golden.cases for c in case.requires} == set(CAPABILITIES)
    assert any(len(c.turns) > 1 for c in golden.cases)
    assert len(golden.sha256) == 64 and golden.version == "cases.v1"


def test_every_conversation_question_has_three_paraphrases_and_a_relevance_grader() -> None:
    golden = load_golden_set()
    conversation = [c for c in golden.cases if c.category in CONVERSATION_CLASSES]
    assert len(conversation) >= 80
    groups = Counter(c.question for c in conversation)
    assert "" not in groups  # every conversation case says which question it paraphrases
    assert min(groups.values()) >= 3, {q: n for q, n in groups.items() if n < 3}
    for case in conversation:
        last = case.turns[-1].expect
        graded = (
            last.figures or last.winner or last.why or last.advice or last.declined
            or last.tickers or last.refusal or last.remembers
        )  # fmt: skip
        assert graded, f"{case.id} grades nothing about its answer"
        # the same question is asked in different words, never twice alike
    prompts = [c.turns[-1].prompt for c in conversation]
    assert len(prompts) == len(set(prompts))


def test_every_expected_error_code_is_a_contract_code_or_announced() -> None:
    from stock_agent.errors import ERROR_STATUS

    # Codes the conversational analyst adds to the contract.
    announced = {"no_context", "out_of_scope"}
    codes = {
        code
        for case in load_golden_set().cases
        for turn in case.turns
        for code in turn.expect.error_codes
    }
    assert codes <= set(ERROR_STATUS) | announced, codes - set(ERROR_STATUS) - announced


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "x", "category": "compare", "turns": [{"prompt": "a"}]}, "id='x'"),
        ({"id": "abc", "category": "chat", "turns": [{"prompt": "a"}]}, "category='chat'"),
        ({"id": "abc", "category": "compare", "turns": []}, "non-empty list"),
        (
            {"id": "abc", "category": "compare", "turns": [{"prompt": "a", "body": "b"}]},
            "exactly one of",
        ),
        (
            {"id": "abc", "category": "compare", "turns": [{"prompt": "a", "expect": {"x": 1}}]},
            "unknown keys ['x']",
        ),
        (
            {
                "id": "abc",
                "category": "compare",
                "turns": [{"prompt": "a", "expect": {"intent": "chat"}}],
            },
            "intent='chat'",
        ),
        (
            {
                "id": "abc",
                "category": "compare",
                "requires": ["telepathy"],
                "turns": [{"prompt": "a"}],
            },
            "['telepathy']",
        ),
        (
            {"id": "abc", "category": "multi_turn", "turns": [{"prompt": "a"}, {"prompt": "b"}]},
            "must require 'conversation'",
        ),
        (
            {"id": "abc", "category": "malformed", "turns": [{"oversize": 0}]},
            "oversize must be an integer in 1..1000000",
        ),
        (
            {
                "id": "abc",
                "category": "why",
                "turns": [
                    {
                        "prompt": "a",
                        "expect": {
                            "winner": {"aspect": "Beta", "order": "biggest", "symbols": ["A", "B"]}
                        },
                    }
                ],
            },
            "order='biggest'",
        ),
        (
            {
                "id": "abc",
                "category": "why",
                "turns": [
                    {
                        "prompt": "a",
                        "expect": {
                            "winner": {"aspect": "Beta", "order": "highest", "symbols": ["A"]}
                        },
                    }
                ],
            },
            "at least two tickers",
        ),
        (
            {
                "id": "abc",
                "category": "why",
                "turns": [
                    {"prompt": "a", "expect": {"why": [{"symbol": "A", "verdict": "vibes"}]}}
                ],
            },
            "verdict 'vibes'",
        ),
        (
            {
                "id": "abc",
                "category": "why",
                "turns": [{"prompt": "a", "expect": {"figures": [{"symbol": "A"}]}}],
            },
            "items must be {symbol, label}",
        ),
        (
            {
                "id": "abc",
                "category": "why",
                "turns": [{"prompt": "a", "expect": {"declined": "yes"}}],
            },
            "declined must be true or false",
        ),
        (
            {"id": "abc", "category": "why", "question": "Q 1", "turns": [{"prompt": "a"}]},
            "question='Q 1'",
        ),
    ],
)
def test_a_bad_case_is_refused_naming_the_field(raw: dict, message: str) -> None:
    with pytest.raises(GoldenSetError) as info:
        parse_case(raw, where="cases.jsonl:7")
    assert "cases.jsonl:7" in str(info.value) and message in str(info.value)


def test_duplicate_ids_and_bad_json_name_the_line(tmp_path: Path) -> None:
    line = json.dumps({"id": "abc", "category": "compare", "turns": [{"prompt": "a"}]})
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{line}\n\n{line}\n")
    with pytest.raises(GoldenSetError, match=r"cases.jsonl:3: duplicate id 'abc'"):
        load_golden_set(path)
    path.write_text(f"{line}\n{{not json\n")
    with pytest.raises(GoldenSetError, match=r"cases.jsonl:2 is not valid JSON"):
        load_golden_set(path)
