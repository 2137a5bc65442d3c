"""The JSON depth limit is ours, not the interpreter's recursion limit.

``[`` x 5,000 parses on Python 3.13 and raises ``RecursionError`` on 3.11;
the payload, the clients and the evaluation must refuse both the same way,
at the same depth, on every interpreter the README promises.
"""

from __future__ import annotations

import json
import time

import pytest
from stock_agent.bounded_json import MAX_JSON_DEPTH, JsonTooDeep, json_depth, loads
from stock_agent.contract import parse_body
from stock_agent.errors import AgentError

from tests.support.paths import REPO_ROOT


def _nested(depth: int) -> str:
    return '{"prompt": "x", "n": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[{"', 0),  # brackets inside a string do not count
        ('"a \\" [[ \\\\"', 0),  # nor after an escaped quote
        ('[{"a": ["[", "]]]"]}]', 3),
        ("[[],[[]],[]]", 3),
        ('{"a": {"b": {"c": []}}}', 4),
    ],
)
def test_depth_is_counted_outside_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth
    assert json_depth(text.encode()) == depth


def test_the_limit_is_pinned_at_its_edge() -> None:
    assert json_depth(_nested(MAX_JSON_DEPTH)) == MAX_JSON_DEPTH
    assert loads(_nested(MAX_JSON_DEPTH))["prompt"] == "x"
    with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        loads(_nested(MAX_JSON_DEPTH + 1))
    assert isinstance(JsonTooDeep("x"), ValueError)  # callers handling bad JSON handle it too
    assert loads("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(JsonTooDeep):
        loads("[[[1]]]", max_depth=2)


@pytest.mark.parametrize("depth", [5_000, 32_000])  # 64 KB is the body limit
def test_a_deep_body_is_invalid_payload_on_every_interpreter(depth: int) -> None:
    started = time.perf_counter()
    with pytest.raises(AgentError) as info:
        parse_body(("[" * depth + "]" * depth).encode())
    assert info.value.code == "invalid_payload"
    assert f"at most {MAX_JSON_DEPTH} levels" in info.value.message
    assert time.perf_counter() - started < 1.0


def test_a_body_at_the_limit_is_parsed() -> None:
    assert parse_body(_nested(MAX_JSON_DEPTH).encode())["prompt"] == "x"
    with pytest.raises(AgentError) as info:
        parse_body(_nested(MAX_JSON_DEPTH + 1).encode())
    assert info.value.code == "invalid_payload"


def test_a_deep_document_costs_no_recursion() -> None:
    text = "[" * 1_000_000
    assert json_depth(text, stop_above=MAX_JSON_DEPTH) == MAX_JSON_DEPTH + 1
    assert json_depth(text) == 1_000_000
    assert json_depth(json.dumps({"k": ["v" * 50] * 1000})) == 2


def test_the_mcp_tool_arguments_are_depth_bounded_too(capsys: pytest.CaptureFixture[str]) -> None:
    from stock_agent.cli import main

    deep = "[" * 100_000
    code = main(["invoke", "--mcp", "get_figure", deep, "--url", "http://127.0.0.1:9/mcp"])
    assert code == 2
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in capsys.readouterr().err


def test_the_limit_is_the_one_the_decisions_state() -> None:
    """docs/decisions.md promises callers 64 levels (a response nests about 8)."""
    decisions = (REPO_ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    assert f"**JSON depth is our limit**, {MAX_JSON_DEPTH} levels" in decisions
