"""Mutation testing of the rule-heavy modules: ``python -m bench.mutants`` (``make mutants``).

A small AST-based runner rather than mutmut: mutmut 3 copies the project into
``mutants/`` and imports it from there, which does not fit a package installed
from ``agent_runtime/`` with tests at the repository root. This runner:

1. parses each target module and lists every mutation site (operators below)
   inside the functions it names, skipping docstrings, logging calls and lines
   marked ``# pragma: no mutate``;
2. for each mutant, writes the mutated module (``ast.unparse`` of the changed
   tree) into a private copy of ``agent_runtime/`` and runs the module's own
   tests against it (``pytest -x`` in a child forked from a runner that has
   already imported the heavy third-party packages, the copy first on
   ``sys.path``; a canary module that cannot import proves the copy is the one
   tested); a failing run, or one that exceeds three times the clean run plus
   10 s, kills the mutant;
3. writes ``bench/mutants.md``: the score per module, and every survivor with
   its diff, marked *equivalent* with the reason when ``EQUIVALENT`` explains it.

Operators: comparison flips (``<``/``<=``, ``>``/``>=``, ``==``/``!=``,
``in``/``not in``, ``is``/``is not``); arithmetic swaps (``+``/``-``,
``*``/``/``); ``and``/``or``; dropping ``not`` and unary minus; number
constants (``n`` -> ``n + 1``, ``0.2`` -> ``0.21``, i.e. +5 %); ``True``/``False``;
``+=``/``-=`` swaps and deleting an augmented assignment; deleting a ``for`` or
``while`` loop, or a statement that is only a call (``rows.append(...)``;
these two since 2026-12-08, so rows recorded before then did not draw them). String constants are
not mutated (messages are checked by the tests that care, and mutating
every literal mostly measures prose).

It is CPU heavy (one pytest process per mutant): run it alone, niced, and
with ``--sample N`` to draw N mutants per module (seeded) instead of all.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "agent_runtime" / "stock_agent"


@dataclass(frozen=True)
class Target:
    """One module under test, the functions to mutate (empty: all) and its tests."""

    name: str
    path: str  # relative to the package
    tests: tuple[str, ...]  # fastest, most targeted first: `pytest -x` stops at the first kill
    functions: tuple[str, ...] = ()


TARGETS: tuple[Target, ...] = (
    Target(
        "analysis.scoring",
        "analysis/scoring.py",
        (
            "tests/unit/agent/analysis/test_scoring_edges.py",
            "tests/unit/agent/analysis/test_scoring.py",
        ),
    ),
    Target(
        "analysis.indicators",
        "analysis/indicators.py",
        ("tests/unit/agent/analysis/test_indicators.py",),
    ),
    Target(
        "analysis.evidence",
        "analysis/evidence.py",
        (
            "tests/unit/agent/analysis/test_scoring_edges.py",
            "tests/unit/agent/analysis/test_indicators.py",
        ),
    ),
    Target(
        "analysis.peers",
        "analysis/peers.py",
        (
            "tests/unit/agent/analysis/test_peers.py",
            "tests/unit/agent/analysis/test_scoring_edges.py",
        ),
    ),
    Target(
        "formatting",
        "formatting.py",
        ("tests/unit/agent/test_formatting.py", "tests/unit/agent/test_formatting_track_record.py"),
    ),
    Target(
        "answering.narrative",
        "answering/narrative.py",
        ("tests/unit/agent/answering/test_narrative.py",),
    ),
    Target(
        "understanding.parsing",
        "understanding/parsing.py",
        ("tests/unit/agent/understanding/test_parsing.py",),
    ),
    Target(
        "understanding.names",
        "understanding/names.py",
        ("tests/unit/agent/understanding/test_names.py",),
    ),
    Target(
        "understanding.scan",
        "understanding/scan.py",
        ("tests/unit/agent/understanding/test_scan.py",),
    ),
    Target(
        "understanding.vocabulary",
        "understanding/vocabulary.py",
        ("tests/unit/agent/understanding/test_vocabulary.py",),
    ),
    Target(
        "understanding.signals",
        "understanding/signals.py",
        (
            "tests/unit/agent/understanding/test_signals.py",
            "tests/unit/agent/understanding/test_plan.py",
        ),
    ),
    Target(
        "understanding.plan",
        "understanding/plan.py",
        ("tests/unit/agent/understanding/test_plan.py",),
    ),
    Target(
        "answering.answers",
        "answering/answers.py",
        ("tests/unit/agent/answering/test_answers.py",),
    ),
    Target(
        "answering.conversation",
        "answering/conversation.py",
        ("tests/unit/agent/answering/test_conversation.py",),
    ),
    Target(
        "memory.checkpoints",
        "memory/checkpoints.py",
        (
            "tests/unit/agent/memory/test_checkpoints_versions.py",
            "tests/unit/agent/memory/test_checkpoints_identities.py",
            "tests/unit/agent/memory/test_checkpoints_session_db.py",
            "tests/unit/agent/memory/test_checkpoints.py",
        ),
    ),
    Target(
        "memory.bounded_saver",
        "memory/bounded_saver.py",
        ("tests/unit/agent/memory/test_bounded_saver.py",),
    ),
    Target(
        "customize.datasets",
        "customize/datasets.py",
        (
            "tests/unit/agent/customize/test_datasets_poisoned.py",
            "tests/unit/agent/customize/test_datasets_limits.py",
            "tests/unit/agent/customize/test_datasets.py",
        ),
    ),
    Target(
        "contract (payload validation)",
        "contract.py",
        ("tests/unit/agent/test_contract.py",),
        functions=("parse_body", "validate_payload", "_bad_char", "_type_name"),
    ),
    Target(
        "contract (response)",
        "contract.py",
        ("tests/unit/agent/test_contract_response.py", "tests/unit/agent/test_contract.py"),
        functions=(
            "_lines",
            "data_gathering_section",
            "performance_analysis_section",
            "report_generation_section",
            "ticker_sections",
            "render_text",
            "data_json",
            "narrative_json",
            "analysis_json",
            "apply_request_options",
            "report_json",
            "build_response",
            "starting_model_status",
            "_comparison_json",
            "_turn_text",
        ),
    ),
)

#: The other top-level modules of the package, each against the tests at its own path
#: (``tests/unit/agent/test_<module>*.py``, as tests/README.md places them).
TOP_LEVEL_TARGETS: tuple[Target, ...] = (
    Target(
        "agent",
        "agent.py",
        ("tests/unit/agent/test_agent.py", "tests/unit/agent/test_agent_memory_outage.py"),
    ),
    Target("graph", "graph.py", ("tests/unit/agent/test_graph.py",)),
    Target(
        "nodes",
        "nodes.py",
        ("tests/unit/agent/test_nodes_stages.py", "tests/unit/agent/test_nodes.py"),
    ),
    Target("state", "state.py", ("tests/unit/agent/test_state.py",)),
    Target("context", "context.py", ("tests/unit/agent/test_context.py",)),
    Target("errors", "errors.py", ("tests/unit/agent/test_errors.py",)),
    Target("records", "records.py", ("tests/unit/agent/test_records.py",)),
    Target("prompts", "prompts.py", ("tests/unit/agent/test_prompts.py",)),
    Target(
        "deadline",
        "deadline.py",
        ("tests/unit/agent/test_deadline.py", "tests/unit/agent/test_deadline_edges.py"),
    ),
    Target("tools", "tools.py", ("tests/unit/agent/test_tools.py",)),
    Target(
        "settings",
        "settings.py",
        ("tests/unit/agent/test_settings_edges.py", "tests/unit/agent/test_settings.py"),
    ),
    Target(
        "cli",
        "cli.py",
        (
            "tests/unit/agent/test_cli_docs.py",
            "tests/unit/agent/test_cli_bad_input.py",
            "tests/unit/agent/test_cli.py",
        ),
    ),
    Target("bounded_json", "bounded_json.py", ("tests/unit/agent/test_bounded_json.py",)),
    Target("container", "container.py", ("tests/unit/agent/test_container.py",)),
)
TARGETS += TOP_LEVEL_TARGETS

#: Survivors that cannot be killed because they do not change behaviour, keyed by
#: ``module:line:description`` as the report prints them, with the reason.
EQUIVALENT: dict[str, str] = {
    "understanding.names:152:69:0 -> 1": (
        "`max(..., default=1)` for an index with no names: every window is looked up in an "
        "empty mapping either way, so nothing is found with 0 or 1."
    ),
    "understanding.vocabulary:169:7:> -> >=": (
        "`len(without_versus) >= 1`: only a label that is the one word 'ratio' differs, and "
        "dropping that word leaves an empty phrase, which the derived list filters out."
    ),
    "understanding.vocabulary:181:28:+ -> -": (
        "`labels[i - 1:]` pairs every label with the ones before it and with itself as well: "
        "the pairs are the same set (order does not matter to a shared start), and a label "
        "paired with itself claims its own bare phrase, which its exact claim already holds "
        "at a higher priority."
    ),
    "understanding.vocabulary:287:11:or -> and": (
        "`not phrase and len(phrase) > 6` lets the empty phrase and phrases over six words "
        "be claimed; `find` never looks up an empty window or one over six words, so "
        "neither is ever read."
    ),
    "understanding.signals:206:12:<= -> <": (
        "`set(extra) < heard`: `heard` holds every word of the prompt, which names a "
        "performance word besides the label's extra words (the branch needs one), so the "
        "extra words are never all of it: subset and proper subset agree."
    ),
    "answering.conversation:54:63:True -> False": (
        "`zip(records.values(), facts, strict=False)`: `facts` is built from the same "
        "records one for one, so the two lists always have one length."
    ),
    "memory.checkpoints:385:56:2 -> 3": (
        "`keep_latest` asks whether a thread has at least two checkpoints: listing at most "
        "three instead of two gives a count of at least two exactly when the other does."
    ),
    "customize.datasets:151:50:1 -> 2": (
        "The file was checked to be at most the cap on its open descriptor; reading up to "
        "two bytes more instead of one still shows a file that grew past the cap."
    ),
    "customize.datasets:273:39:True -> False": (
        "The parts hashed are message lists built by one function (`narrative_messages`, "
        "keys always in the same order) and strings, so sorting their keys changes no digest."
    ),
    "analysis.indicators:223:15:- -> +": (
        "`(a + mean_s) * (b - mean_b)` sums to the same covariance: the extra "
        "`2 * mean_s * sum(b - mean_b)` is zero because deviations from a mean sum to zero "
        "(it differs by float rounding, about 1e-17 of the result)."
    ),
    "analysis.indicators:223:30:- -> +": (
        "The mirror image of the mutant above: `sum(a - mean_s)` is zero, so "
        "`(a - mean_s) * (b + mean_b)` sums to the same covariance."
    ),
    "analysis.indicators:223:73:True -> False": (
        "`zip(..., strict=False)`: both return series come from `aligned_closes`, which "
        "returns lists of equal length, so strictness never triggers."
    ),
    "formatting:138:70:< -> <=": (
        "`fmt_large_money` reaches this line only for amounts of at least 999,995 in "
        "magnitude (smaller ones return through `fmt_money`), so `value <= 0` and "
        "`value < 0` never differ there."
    ),
    "formatting:138:78:0 -> 1": (
        "Same line: every value that reaches it is either at most -999,995 or at least "
        "999,995, so `value < 1` and `value < 0` agree."
    ),
    "formatting:122:65:1000 -> 1001": (
        "The roll-over to the next letter (`1,000.00M` -> `1.00B`) is unreachable: an "
        "amount whose mantissa would round to 1,000.00 is at least 999.995 units, which the "
        "larger letter's own test (`>= size * 0.999995`) has already taken (checked with "
        "every float just below both thresholds). A threshold of 1001 therefore changes "
        "nothing either."
    ),
    "formatting:122:29:>= -> >": (
        "Same unreachable roll-over: the mantissa there is never 1,000.00 or more."
    ),
    "formatting:113:69:< -> <=": (
        "`fmt_money(0)` prints `$0.00`; `_signed` adds a minus only to text with a non-zero "
        "digit, so treating zero as negative changes nothing."
    ),
    "formatting:122:23:0 -> 1": (
        "Inside the unreachable roll-over (see `formatting:122:65`): no amount gets there."
    ),
    "formatting:123:49:- -> +": "Inside the unreachable roll-over (see `formatting:122:65`).",
    "formatting:123:57:1 -> 2": "Inside the unreachable roll-over (see `formatting:122:65`).",
    "formatting:147:25:< -> <=": (
        "`fmt_pct(0)` prints `0.00%`, unsigned either way (no non-zero digit)."
    ),
    "formatting:181:53:1 -> 2": (
        "`Decimal.quantize` uses only the exponent of its argument; `Decimal(2)` and "
        "`Decimal(1)` both have exponent 0."
    ),
    "formatting:182:21:<= -> <": (
        "The teen rule `10 <= n % 100 <= 20` at its ends: 10 and 20 end in 0, which takes "
        "`th` anyway."
    ),
    "formatting:182:21:10 -> 11": "10 ends in 0 and takes `th` whether or not it is a teen.",
    "formatting:182:35:100 -> 101": (
        "Percentiles are 0..100: `n % 101` and `n % 100` differ only at 100, which takes "
        "`th` both ways."
    ),
    "formatting:454:25:< -> <=": (
        "At exactly 10 the whole-number rounding is 10, which the displayed value's own "
        "canonical form (or its one-decimal rounding) already contributes."
    ),
    "formatting:456:23:1 -> 2": (
        "`quantize(Decimal(2).scaleb(-keep))`: only the exponent matters, as above."
    ),
    "formatting:465:7:or -> and": (
        "Callers pass only text that holds digits, or `n/a` (which both versions reject), so "
        "the guard's second half never decides."
    ),
    "answering.narrative:199:36:>= -> >": (
        "`time.monotonic() >= deadline` against `>`: they differ only when the clock reads "
        "the deadline to the nanosecond, which no test can arrange; either way the next "
        "check stops. Not killable rather than strictly equivalent."
    ),
    "bounded_json:45:15:> -> >=": (
        "`depth >= deepest` also re-assigns the same depth and re-asks `stop_above`, which "
        "already answered when that depth was first reached: the count and the early return "
        "are the same."
    ),
    "prompts:214:7:or -> and": (
        "`start == -1 and end <= start` lets a text with no object, or with its only '}' "
        "before its only '{', reach the parser; the slice it parses is then empty (or the "
        "lone last '}'), which is not JSON: None either way."
    ),
    "prompts:214:17:1 -> 2": (
        "`start == -2` never holds; a text without '{' then reaches the parser with a slice "
        "that is empty or the lone last '}', which is not JSON: None either way."
    ),
    "prompts:214:22:<= -> <": (
        "`end` and `start` index different characters ('}' and '{'), so they are equal only "
        "when both are -1, which `start == -1` has already answered."
    ),
    "deadline:343:55:True -> False": (
        "`zip(items, futures, strict=False)`: one future is submitted per item, so the two "
        "lists always have one length."
    ),
    "nodes:189:82:True -> False": (
        "`zip(parsed.offsets, parsed.tickers, strict=False)`: the parser records one offset "
        "per ticker it finds, so the two always have one length."
    ),
    "nodes:224:39:or -> and": (
        "`plan.note and OUT_OF_SCOPE_MESSAGE`: every out-of-scope plan, the rules' and the "
        "model's, carries `OUT_OF_SCOPE_MESSAGE` as its note, so both give that message."
    ),
    "nodes:598:38:in -> not in": (
        "`answer_question` narrows `reused` to the answerable tickers only to keep the plan "
        "valid (reused within subjects); a reused ticker comes from the session, so it is "
        "always answerable, and nothing after this reads `reused` (`write_answer` and the "
        "answer's prompt use the subjects and aspects): keeping none instead of all changes "
        "no answer."
    ),
    "formatting:160:25:< -> <=": (
        "`fmt_pct(0)` prints `0.00%`, unsigned either way (no non-zero digit); the same "
        "line as `formatting:147:25` before the module grew."
    ),
    "formatting:195:35:100 -> 101": (
        "Percentiles are 0..100: `n % 101` and `n % 100` differ only at 100, which takes "
        "`th` both ways (was `formatting:182:35`)."
    ),
    "formatting:478:56:5 -> 6": (
        "Technical scores are 1..5: a kind for score 6 finds no bucket and adds no row."
    ),
    "formatting:696:7:or -> and": (
        "Callers pass only text that holds digits, or `n/a` (which both versions reject), so "
        "the guard's second half never decides (was `formatting:465:7`)."
    ),
    "formatting:752:4:delete `allowed.add(as_of.isoformat())`": (
        "The number check reads a date in a text as its three numbers (2026-11-30 is 2026, "
        "11 and 30, each allowed on its own line above); the whole ISO date is never a "
        "token, so allowing it changes no verdict."
    ),
    "graph:103:4:delete `graph.add_edge('respond', END)`": (
        "LangGraph ends a run at a node with no outgoing edge and draws its edge to "
        "`__end__` all the same (docs/graph.md is unchanged): the explicit edge only says so."
    ),
    "state:39:34:False -> True": (
        "`AgentState(TypedDict, total=True)` changes only `__required_keys__`, which nothing "
        "reads at run time (LangGraph builds its channels from the annotations); the nodes' "
        "partial updates are type-checked, not validated."
    ),
    "formatting:155:41:< -> <=": (
        "`fmt_ratio(0)` prints `0.00`; `_signed` adds a minus only to text with a non-zero "
        "digit, so marking zero as negative changes nothing."
    ),
    "formatting:452:51:2 -> 3": (
        "Narrowing the half-ulp interval to a third: displayed values are multiples of one "
        "ulp and rounding ties of the coarser grids are too, so no tie lies between "
        "d +/- ulp/3 and d +/- ulp/2 and the roundings found are the same (checked for "
        "every value 0.000-200.000 in steps of 0.007 at 1, 2 and 3 decimals)."
    ),
}


@dataclass(frozen=True)
class Mutant:
    target: str
    line: int
    column: int
    description: str
    source: str  # the whole mutated module

    @property
    def key(self) -> str:
        return f"{self.target}:{self.line}:{self.column}:{self.description}"


_COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}
_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
}  # fmt: skip


def _skipped_lines(source: str) -> set[int]:
    return {
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if "pragma: no mutate" in line
    }


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (
        isinstance(parent, ast.Expr)
        and isinstance(node, ast.Constant)
        and isinstance(node.value, str)
    )


def _is_logging_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "logger"
    )


def _sites(tree: ast.Module, functions: Sequence[str]) -> Iterator[tuple[ast.AST, ast.AST]]:
    """``(node, parent)`` pairs eligible for mutation."""
    roots: list[ast.AST] = (
        [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in functions]
        if functions
        else [tree]
    )

    def walk(node: ast.AST, parent: ast.AST | None) -> Iterator[tuple[ast.AST, ast.AST]]:
        if _is_logging_call(node) or isinstance(node, (ast.JoinedStr, ast.arg)):
            return
        if isinstance(node, (ast.AnnAssign,)) and node.value is None:
            return
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    yield child, node
                    yield from walk(child, node)

    for root in roots:
        yield from walk(root, None)


def _variants(node: ast.AST, parent: ast.AST) -> Iterator[tuple[str, ast.AST | None]]:
    """``(description, replacement)`` for ``node``; ``None`` deletes a statement."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            swap = _COMPARE_SWAP.get(type(op))
            if swap is not None:
                new = copy.deepcopy(node)
                new.ops[index] = swap()
                yield f"{_SYMBOL[type(op)]} -> {_SYMBOL[swap]}", new
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
        swap = _BINOP_SWAP[type(node.op)]
        new = copy.deepcopy(node)
        new.op = swap()
        yield f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[swap]}", new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield ("and -> or" if isinstance(node.op, ast.And) else "or -> and"), new
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield (
            ("drop not" if isinstance(node.op, ast.Not) else "drop unary -"),
            copy.deepcopy(node.operand),
        )
    elif isinstance(node, ast.Constant) and not _is_docstring(node, parent):
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", ast.Constant(not value)
        elif isinstance(value, int):
            yield f"{value} -> {value + 1}", ast.Constant(value + 1)
        elif isinstance(value, float):
            bumped = round(value * 1.05, 12) if value else 1.0
            yield f"{value} -> {bumped}", ast.Constant(bumped)
    elif isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub):
        new = copy.deepcopy(node)
        new.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        op = "+=" if isinstance(node.op, ast.Add) else "-="
        yield f"{op} -> {'-=' if op == '+=' else '+='}", new
        yield f"delete `{ast.unparse(node)}`", None
    elif isinstance(node, (ast.For, ast.While)):
        over = node.iter if isinstance(node, ast.For) else node.test
        yield f"delete the loop over `{ast.unparse(over)[:50]}`", None
    elif (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and not _is_logging_call(node.value)
    ):
        yield f"delete `{ast.unparse(node.value)[:60]}`", None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST | None) -> None:
        self.target, self.replacement = target, replacement

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field, old in ast.iter_fields(node):
            if isinstance(old, list):
                new_list: list[object] = []
                for item in old:
                    if item is self.target:
                        if self.replacement is not None:
                            new_list.append(self.replacement)
                        elif isinstance(item, ast.stmt):
                            new_list.append(ast.Pass())
                    elif isinstance(item, ast.AST):
                        new_list.append(self.visit(item))
                    else:
                        new_list.append(item)
                setattr(node, field, new_list)
            elif old is self.target:
                setattr(node, field, self.replacement)
            elif isinstance(old, ast.AST):
                setattr(node, field, self.visit(old))
        return node


def _mutants(target: Target) -> list[Mutant]:
    """Every mutant of ``target``, in source order."""
    source = (PACKAGE / target.path).read_text(encoding="utf-8")
    skipped = _skipped_lines(source)
    tree = ast.parse(source)
    found: list[Mutant] = []
    for node, parent in list(_sites(tree, target.functions)):
        line = getattr(node, "lineno", getattr(parent, "lineno", 0))
        column = getattr(node, "col_offset", getattr(parent, "col_offset", 0))
        if line in skipped:
            continue
        for description, replacement in _variants(node, parent):
            memo: dict[int, object] = {}
            clone = copy.deepcopy(tree, memo)
            twin = memo[id(node)]
            assert isinstance(twin, ast.AST)
            mutated = _Replace(twin, replacement).visit(clone)
            ast.fix_missing_locations(mutated)
            found.append(Mutant(target.name, line, column, description, ast.unparse(mutated)))
    return found


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed: bool
    seconds: float


#: Imported once in the runner, before any fork: each mutant's test run then starts
#: in a child process that already has them (seconds saved per mutant). Nothing of
#: ``stock_agent`` is imported here, so every child imports the mutated copy.
PREIMPORTS = (
    "pytest", "hypothesis", "pandas", "numpy", "ta", "pypdf", "reportlab.platypus",
    "reportlab.graphics.shapes", "langchain_core.tools", "langgraph.graph", "yfinance", "httpx",
)  # fmt: skip


def _preimport() -> None:
    import importlib

    for name in PREIMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:  # optional: the child imports what it needs
            continue


def _run_tests(workdir: Path, tests: Sequence[str], timeout: float) -> tuple[bool, float]:
    """``(passed, seconds)`` of ``tests`` against the copy in ``workdir``, in a forked child."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: the copy first on the path, quiet, then pytest
        code = 3
        try:
            sys.path.insert(0, str(workdir / "agent_runtime"))
            sys.path.insert(1, str(REPO))
            os.chdir(REPO)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore", *tests]))
        finally:
            os._exit(code)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0, time.monotonic() - started
        if time.monotonic() - started > timeout:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return False, time.monotonic() - started
        time.sleep(0.02)


def run_target(
    target: Target, *, sample: int | None, seed: int, keys: frozenset[str] | None = None
) -> tuple[list[Outcome], int]:
    """Mutants of one target and whether the tests killed them; also the total site count.

    ``keys`` restricts the run to those mutants (e.g. the survivors of an earlier report).
    """
    mutants = _mutants(target)
    total = len(mutants)
    if sample is not None and sample < total:
        mutants = sorted(random.Random(seed).sample(mutants, sample), key=lambda m: m.line)
    if keys is not None:
        mutants = [m for m in mutants if m.key in keys]
        if not mutants:
            return [], total
    tests = tuple(t for t in target.tests if (REPO / t).exists())
    if not tests:  # pytest with no paths would run the whole suite
        raise SystemExit(f"{target.name}: none of its tests exist ({target.tests})")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        work = Path(tmp)
        shutil.copytree(REPO / "agent_runtime", work / "agent_runtime",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))  # fmt: skip
        # The package finds the checkout beside it (``stock-agent eval`` runs ``python -m
        # eval`` there): the copy's checkout is the real one's ``eval/``.
        (work / "eval").symlink_to(REPO / "eval", target_is_directory=True)
        module = work / "agent_runtime" / "stock_agent" / target.path
        original = module.read_text(encoding="utf-8")
        clean, baseline = _run_tests(work, tests, timeout=900)
        if not clean:
            raise SystemExit(f"{target.name}: the tests fail without mutations ({tests})")
        module.write_text("raise ImportError('mutation canary')\n", encoding="utf-8")
        if _run_tests(work, tests, timeout=900)[0]:
            raise SystemExit(f"{target.name}: the tests do not import the mutated copy")
        limit = baseline * 3 + 10
        for index, mutant in enumerate(mutants, start=1):
            module.write_text(mutant.source, encoding="utf-8")
            passed, seconds = _run_tests(work, tests, timeout=limit)
            outcomes.append(Outcome(mutant, killed=not passed, seconds=seconds))
            print(
                f"{target.name} {index}/{len(mutants)} line {mutant.line} "
                f"{mutant.description}: {'killed' if not passed else 'SURVIVED'}",
                flush=True,
            )
        module.write_text(original, encoding="utf-8")
    return outcomes, total


def _diff(target: Target, mutant: Mutant) -> str:
    source = ast.unparse(ast.parse((PACKAGE / target.path).read_text(encoding="utf-8")))
    lines = difflib.unified_diff(source.splitlines(), mutant.source.splitlines(), lineterm="", n=0)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++", "@@")))


def render(results: dict[str, tuple[Target, list[Outcome], int]], *, sample: int | None) -> str:
    """The markdown report: a score table, then the survivors."""
    rows = [
        "# Mutation testing",
        "",
        "`make mutants` (`python -m bench.mutants`); operators and method in the module "
        "docstring of `bench/mutants.py`. "
        + (f"A seeded sample of {sample} mutants per module." if sample else "All mutants."),
        "",
        "| module | mutants (sites) | killed | survived | equivalent | score | score without "
        "equivalents |",
        "|---|---|---|---|---|---|---|",
    ]
    survivors: list[str] = []
    for name, (target, outcomes, total) in results.items():
        killed = sum(o.killed for o in outcomes)
        alive = [o for o in outcomes if not o.killed]
        equivalent = [o for o in alive if o.mutant.key in EQUIVALENT]
        run = len(outcomes)
        score = killed / run if run else 1.0
        adjusted = killed / (run - len(equivalent)) if run - len(equivalent) else 1.0
        rows.append(
            f"| {name} | {run} ({total}) | {killed} | {len(alive)} | {len(equivalent)} | "
            f"{score:.0%} | {adjusted:.0%} |"
        )
        for outcome in alive:
            reason = EQUIVALENT.get(outcome.mutant.key)
            survivors += [
                f"### {outcome.mutant.key}",
                "",
                f"**Equivalent:** {reason}" if reason else "**Not killed.**",
                "",
                "```diff",
                _diff(target, outcome.mutant),
                "```",
                "",
            ]
    return "\n".join([*rows, "", "## Survivors", "", *(survivors or ["None."]), ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sample", type=int, default=None, help="mutants per module (seeded)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--only", action="append", default=[], help="module name to run")
    parser.add_argument("--list", action="store_true", help="count the mutants and stop")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "mutants.md")
    parser.add_argument(
        "--survivors-of",
        type=Path,
        default=None,
        help="re-run only the survivors listed in an earlier report (same --sample/--seed)",
    )
    args = parser.parse_args(argv)
    keys = (
        frozenset(
            line.removeprefix("### ").strip()
            for line in args.survivors_of.read_text(encoding="utf-8").splitlines()
            if line.startswith("### ")
        )
        if args.survivors_of
        else None
    )
    targets = [t for t in TARGETS if not args.only or t.name in args.only]
    if keys is not None:
        targets = [t for t in targets if any(k.startswith(f"{t.name}:") for k in keys)]
    if args.list:
        for target in targets:
            print(f"{target.name}: {len(_mutants(target))} mutants")
        return 0
    _preimport()
    results = {}
    for target in targets:
        outcomes, total = run_target(target, sample=args.sample, seed=args.seed, keys=keys)
        results[target.name] = (target, outcomes, total)
    report = render(results, sample=args.sample)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
