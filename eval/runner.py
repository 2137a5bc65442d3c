"""Run the golden set against a target, grade every turn, sum up per criterion.

Per case: pending when the agent lacks a capability the case requires
(reported, never passed); otherwise each turn is sent in order with the
case's own session id, observed, its PDFs read back, and graded. The
criteria's pass rates are compared with ``eval/thresholds.toml``.

HOOK(reward): the training reward function, once it lands in
``stock_agent.customize.reward``, becomes one more per-turn grader here: add its
criterion to :data:`EXTRA_GRADERS` (a callable ``(expect, observation,
history) -> Grade``) and its threshold to ``thresholds.toml``.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .cases import CONVERSATION_CLASSES, Case, Expectation, GoldenSet
from .graders import Grade
from .graders.deterministic import CRITERIA, Budgets, grade_turn, results_of, safely
from .graders.judge import JUDGE_CRITERIA, Agreement, Judge, judge_item_of
from .graders.relevance import RELEVANCE_CRITERIA, grade_relevance
from .sensitivity import FaultRow
from .targets import Observation, Target, observe
from .thresholds import Thresholds
from .turns import describe, request_body, with_reports

logger = logging.getLogger(__name__)

ExtraGrader = Callable[[Expectation, Observation, Sequence[dict[str, Any]]], Grade]
#: HOOK(reward): per-turn graders added to the deterministic ones (criterion name -> grader).
EXTRA_GRADERS: dict[str, ExtraGrader] = {}
#: A runtime user id's limit (InvokeAgentRuntime's runtimeUserId).
MAX_USER_ID_CHARS = 1024


@dataclass(frozen=True)
class TurnOutcome:
    case: Case
    index: int
    request: str
    observation: Observation
    grades: tuple[Grade, ...]


@dataclass(frozen=True)
class CriterionRow:
    criterion: str
    passed: int
    applicable: int
    threshold: float
    # PASS | FAIL | SKIPPED | PENDING | NOT RUN | NO DATA | UNCALIBRATED | NOT CHECKED
    verdict: str
    note: str = ""

    @property
    def rate(self) -> float | None:
        return self.passed / self.applicable if self.applicable else None


@dataclass(frozen=True)
class ClassRow:
    """One conversation class: cases whose every grade passed, of the cases run."""

    category: str
    passed: int
    run: int
    threshold: float

    @property
    def rate(self) -> float | None:
        return self.passed / self.run if self.run else None

    @property
    def verdict(self) -> str:
        if not self.run:
            return "NOT RUN"
        return "PASS" if self.passed / self.run >= self.threshold else "FAIL"


@dataclass
class RunResult:
    golden: GoldenSet
    target: str
    model: str
    outcomes: list[TurnOutcome] = field(default_factory=list)
    pending: list[tuple[Case, tuple[str, ...]]] = field(default_factory=list)
    judge: str | None = None
    agreement: dict[str, Agreement] = field(default_factory=dict)
    judged_turns: int = 0
    filtered: bool = False  # only some cases were selected
    rows: list[CriterionRow] = field(default_factory=list)
    classes: list[ClassRow] = field(default_factory=list)
    sensitivity: list[FaultRow] = field(default_factory=list)

    @property
    def gate_passed(self) -> bool:
        """Every criterion and conversation class that was measured meets its threshold.

        ``NOT CHECKED`` (no ground truth for the agent's data provider) does not
        fail the gate; the results file says in words what was not checked.
        """
        allowed = ("PASS", "SKIPPED", "PENDING", "NOT RUN", "NOT CHECKED")
        rows_ok = all(r.verdict in allowed for r in self.rows)
        classes_ok = all(c.verdict in ("PASS", "NOT RUN") for c in self.classes)
        return rows_ok and classes_ok and all(row.caught for row in self.sensitivity)

    def failures(self) -> list[tuple[str, int, Grade]]:
        return [
            (o.case.id, o.index, g) for o in self.outcomes for g in o.grades if g.outcome == "fail"
        ]


def run_case(case: Case, target: Target, *, run_id: str, budgets: Budgets) -> list[TurnOutcome]:
    base = f"eval-{run_id}-{case.id}"
    history: list[dict[str, Any]] = []
    outcomes: list[TurnOutcome] = []
    for index, turn in enumerate(case.turns):
        session_id = (f"{base}-{turn.session}" if turn.session else base)[:256]
        body = request_body(turn, session_id=session_id)
        if turn.user is None:
            exchange = target.send(body, session_id=session_id)
        else:  # a user of this run and case: a rerun never finds an earlier run's memory
            user_id = f"{base}-{turn.user}"[-MAX_USER_ID_CHARS:]
            exchange = target.send(body, session_id=session_id, user_id=user_id)
        obs = with_reports(
            observe(exchange),
            s3_client=getattr(target, "s3_client", None),
            allow_local_files=target.local_files,
        )
        grades = grade_turn(turn.expect, obs, history=history, budgets=budgets)
        grades += grade_relevance(turn.expect, obs, history=history)
        grades += [
            safely(name, functools.partial(grader, turn.expect, obs, history))
            for name, grader in EXTRA_GRADERS.items()
        ]
        outcomes.append(TurnOutcome(case, index, describe(turn), obs, tuple(grades)))
        history.extend(results_of(obs))
    return outcomes


def judge_sample(outcomes: Sequence[TurnOutcome], limit: int) -> list[int]:
    """Indices of at most ``limit`` answered turns, taken in turn from each category.

    The first turns of a run are all single-ticker analyses; round-robin over
    categories gives the judge injections, other languages and comparisons too.
    """
    by_category: dict[str, list[int]] = {}
    for i, outcome in enumerate(outcomes):
        if outcome.observation.succeeded:
            by_category.setdefault(outcome.case.category, []).append(i)
    queues = list(by_category.values())
    chosen: list[int] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return sorted(chosen)


def _judge_turns(result: RunResult, judge: Judge, limit: int) -> None:
    judged = 0
    for i in judge_sample(result.outcomes, limit):
        outcome = result.outcomes[i]
        response = outcome.observation.response
        item = judge_item_of(outcome.request, response) if response is not None else None
        if item is None:
            continue
        grades = tuple(judge.grade(c, item) for c in JUDGE_CRITERIA)
        result.outcomes[i] = replace(outcome, grades=outcome.grades + grades)
        judged += 1
    result.judged_turns = judged


def summarise(result: RunResult, thresholds: Thresholds) -> None:
    """One row per criterion: passed / applicable, threshold, verdict."""
    counts: dict[str, list[int]] = {}
    # Why a criterion could not grade a turn it applies to (no ground truth for the provider).
    unchecked: dict[str, Counter[str]] = {}
    for outcome in result.outcomes:
        for grade in outcome.grades:
            entry = counts.setdefault(grade.criterion, [0, 0])
            if grade.outcome != "n/a":
                entry[1] += 1
                entry[0] += int(grade.outcome == "pass")
            elif grade.detail:
                unchecked.setdefault(grade.criterion, Counter())[grade.detail] += 1
    rows: list[CriterionRow] = []
    for criterion in (*CRITERIA, *RELEVANCE_CRITERIA, *EXTRA_GRADERS):
        passed, applicable = counts.get(criterion, [0, 0])
        threshold = thresholds.criteria.get(criterion, 1.0)
        reasons = unchecked.get(criterion, Counter())
        note = ""
        if reasons:
            turns = sum(reasons.values())
            why, _ = reasons.most_common(1)[0]
            note = f"not checked on {turns} turn(s): {why[:120]}"
        if applicable == 0 and reasons:
            verdict = "NOT CHECKED"
        elif applicable == 0:
            # Nothing graded: the cases that would exercise it wait for a capability,
            # or were left out of this run on purpose (--category).
            verdict = "PENDING" if result.pending else "NOT RUN" if result.filtered else "NO DATA"
        else:
            verdict = "PASS" if passed / applicable >= threshold else "FAIL"
        rows.append(CriterionRow(criterion, passed, applicable, threshold, verdict, note))
    for criterion in JUDGE_CRITERIA:
        threshold = thresholds.criteria[criterion]
        if result.judge is None:
            rows.append(
                CriterionRow(
                    criterion, 0, 0, threshold, "SKIPPED", "no judge configured (--judge-url)"
                )
            )
            continue
        passed, applicable = counts.get(criterion, [0, 0])
        agreement = result.agreement.get(criterion)
        note = f"judge agreement {agreement.agreed}/{agreement.total}" if agreement else ""
        if agreement is None or agreement.rate < thresholds.min_judge_agreement:
            verdict = "UNCALIBRATED"
        elif applicable == 0:
            verdict = "NO DATA"
        else:
            verdict = "PASS" if passed / applicable >= threshold else "FAIL"
        rows.append(CriterionRow(criterion, passed, applicable, threshold, verdict, note))
    result.rows = rows
    result.classes = class_rows(result.outcomes, thresholds.min_class_pass_rate)


def class_rows(outcomes: Sequence[TurnOutcome], threshold: float) -> list[ClassRow]:
    """Per conversation class: a case passes when none of its turns' grades failed."""
    failed: dict[str, bool] = {}
    category: dict[str, str] = {}
    for outcome in outcomes:
        case_id = outcome.case.id
        category[case_id] = outcome.case.category
        failed[case_id] = failed.get(case_id, False) or any(
            g.outcome == "fail" for g in outcome.grades
        )
    rows: list[ClassRow] = []
    for name in CONVERSATION_CLASSES:
        cases = [c for c, cat in category.items() if cat == name]
        passed = sum(not failed[c] for c in cases)
        rows.append(ClassRow(name, passed, len(cases), threshold))
    return rows


def run_golden_set(
    golden: GoldenSet,
    target: Target,
    thresholds: Thresholds,
    *,
    offline: bool,
    capabilities: frozenset[str] | None = None,
    judge: Judge | None = None,
    agreement: dict[str, Agreement] | None = None,
    case_filter: Callable[[Case], bool] | None = None,
) -> RunResult:
    """Every case (or those ``case_filter`` keeps), graded and summed up."""
    enabled = thresholds.capabilities if capabilities is None else capabilities
    budgets = thresholds.budgets(offline=offline)
    result = RunResult(
        golden=golden,
        target=target.description,
        model=target.model,
        filtered=case_filter is not None,
    )
    run_id = uuid.uuid4().hex
    for case in golden.cases:
        if case_filter is not None and not case_filter(case):
            continue
        missing = case.missing(enabled)
        if missing:
            result.pending.append((case, missing))
            continue
        result.outcomes.extend(run_case(case, target, run_id=run_id, budgets=budgets))
    if judge is not None:
        result.judge = judge.description
        result.agreement = dict(agreement or {})
        _judge_turns(result, judge, thresholds.max_judged_turns)
    summarise(result, thresholds)
    return result
