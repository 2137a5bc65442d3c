"""Run the golden set against a baseline and a candidate, and pair the results per case.

Both targets get the same cases, the same request bytes and the same session
ids' shape; the cases run one after the other with both targets in turn (who
goes first alternates, so a machine that slows down during the run does not
favour one side's latency). Every turn is graded by the ordinary graders and,
from the run records, by :mod:`eval.first_answers` (the model's first answer
and its reward).

The unit of comparison is the **case**: the turns of one conversation share
a session and are not independent. A case passes a criterion when every
turn the criterion applies to passes; it is compared on a criterion when
the criterion applies on both sides. The reward, model calls and latency
of a case are its turns' mean reward (over scored narratives), total model
calls and mean latency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from .cases import Case, GoldenSet
from .first_answers import measure_turn
from .graders import Outcome
from .runner import RunResult, TurnOutcome, run_case, summarise
from .stats import PairedBinary, PairedMeans, paired_binary, paired_bootstrap
from .targets import Target
from .thresholds import Thresholds


@dataclass(frozen=True)
class CaseResult:
    """One case on one side, summed over its turns."""

    case: Case
    outcomes: dict[str, Outcome]  # criterion -> the case's outcome
    details: dict[str, str]  # criterion -> the first failing turn's detail
    rewards: tuple[float, ...]
    model_calls: int
    latency_ms: tuple[float, ...]

    @property
    def mean_reward(self) -> float | None:
        return sum(self.rewards) / len(self.rewards) if self.rewards else None

    @property
    def mean_latency_ms(self) -> float:
        return sum(self.latency_ms) / len(self.latency_ms) if self.latency_ms else 0.0


@dataclass
class SideRun:
    """Everything one side produced: the ordinary run result and the per-case sums."""

    role: str
    result: RunResult
    cases: dict[str, CaseResult] = field(default_factory=dict)

    @property
    def rewards(self) -> list[float]:
        return [r for c in self.cases.values() for r in c.rewards]


@dataclass
class Comparison:
    golden: GoldenSet
    baseline: SideRun
    candidate: SideRun
    criteria: tuple[str, ...]
    binary: dict[str, PairedBinary]
    one_sided: dict[str, int]  # cases the criterion applied to on one side only
    reward: PairedMeans
    model_calls: PairedMeans
    latency_ms: PairedMeans
    confidence: float

    def regressions(self, criterion: str) -> list[tuple[str, str]]:
        """``(case id, the candidate's failure)`` of each case the candidate made fail."""
        found = []
        for case_id, base in self.baseline.cases.items():
            cand = self.candidate.cases.get(case_id)
            if cand is None:
                continue
            if base.outcomes.get(criterion) == "pass" and cand.outcomes.get(criterion) == "fail":
                found.append((case_id, cand.details.get(criterion, "")))
        return found


def case_result(case: Case, turns: Iterable[TurnOutcome], rewards: Iterable[float]) -> CaseResult:
    """One case's outcome per criterion: fail if any turn fails, n/a if none applies."""
    outcomes: dict[str, Outcome] = {}
    details: dict[str, str] = {}
    calls = 0
    latency: list[float] = []
    for turn in turns:
        response = turn.observation.response or {}
        metrics = response.get("metrics") if isinstance(response, dict) else None
        reported = metrics.get("model_calls") if isinstance(metrics, dict) else None
        calls += reported if isinstance(reported, int) and reported >= 0 else 0
        latency.append(turn.observation.latency_ms)
        for grade in turn.grades:
            current = outcomes.get(grade.criterion, "n/a")
            if grade.outcome == "fail" and current != "fail":
                outcomes[grade.criterion] = "fail"
                details[grade.criterion] = f"turn {turn.index + 1}: {grade.detail}"
            elif grade.outcome == "pass" and current == "n/a":
                outcomes[grade.criterion] = "pass"
            else:
                outcomes.setdefault(grade.criterion, current)
    return CaseResult(case, outcomes, details, tuple(rewards), calls, tuple(latency))


def _run_one(
    case: Case, side: SideRun, target: Target, *, run_id: str, thresholds: Thresholds,
    offline: bool,
) -> None:  # fmt: skip
    turns = run_case(case, target, run_id=run_id, budgets=thresholds.budgets(offline=offline))
    s3 = getattr(target, "s3_client", None)
    graded: list[TurnOutcome] = []
    rewards: list[float] = []
    for turn in turns:
        measured = measure_turn(
            turn.observation, s3_client=s3, allow_local_files=target.local_files
        )
        rewards.extend(measured.rewards)
        graded.append(replace(turn, grades=(*turn.grades, measured.grade)))
    side.result.outcomes.extend(graded)
    side.cases[case.id] = case_result(case, graded, rewards)


def _criteria(runs: Iterable[SideRun]) -> tuple[str, ...]:
    """Every criterion graded on either side, in the graders' order."""
    seen: dict[str, None] = {}
    for run in runs:
        for case in run.cases.values():
            seen.update(dict.fromkeys(case.outcomes))
    return tuple(seen)


def pair(
    golden: GoldenSet,
    baseline: SideRun,
    candidate: SideRun,
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Comparison:
    """Pair the two sides' cases: per criterion, the reward, model calls and latency."""
    common = [cid for cid in baseline.cases if cid in candidate.cases]
    criteria = _criteria((baseline, candidate))
    binary: dict[str, PairedBinary] = {}
    one_sided: dict[str, int] = {}
    for criterion in criteria:
        pairs: list[tuple[bool, bool]] = []
        lone = 0
        for cid in common:
            before = baseline.cases[cid].outcomes.get(criterion, "n/a")
            after = candidate.cases[cid].outcomes.get(criterion, "n/a")
            if before != "n/a" and after != "n/a":
                pairs.append((before == "pass", after == "pass"))
            elif before != after:
                lone += 1
        binary[criterion] = paired_binary(pairs, confidence=confidence)
        one_sided[criterion] = lone
    reward_pairs = [
        (b, c)
        for cid in common
        if (b := baseline.cases[cid].mean_reward) is not None
        and (c := candidate.cases[cid].mean_reward) is not None
    ]

    def means(pairs: list[tuple[float, float]]) -> PairedMeans:
        return paired_bootstrap(pairs, confidence=confidence, resamples=resamples, seed=seed)

    return Comparison(
        golden=golden,
        baseline=baseline,
        candidate=candidate,
        criteria=criteria,
        binary=binary,
        one_sided=one_sided,
        reward=means(reward_pairs),
        model_calls=means(
            [(baseline.cases[c].model_calls, candidate.cases[c].model_calls) for c in common]
        ),
        latency_ms=means(
            [
                (baseline.cases[c].mean_latency_ms, candidate.cases[c].mean_latency_ms)
                for c in common
            ]
        ),
        confidence=confidence,
    )


def run_comparison(
    golden: GoldenSet,
    *,
    baseline: tuple[Target, bool],
    candidate: tuple[Target, bool],
    thresholds: Thresholds,
    capabilities: frozenset[str],
    confidence: float,
    resamples: int,
    seed: int,
    case_filter: Callable[[Case], bool] | None = None,
) -> Comparison:
    """Both ``(target, offline)`` sides on every selected case, then :func:`pair`."""
    runs = {
        role: SideRun(
            role,
            RunResult(
                golden=golden,
                target=target.description,
                model=target.model,
                filtered=case_filter is not None,
            ),
        )
        for role, (target, _) in (("baseline", baseline), ("candidate", candidate))
    }
    sides = {"baseline": baseline, "candidate": candidate}
    run_id = uuid.uuid4().hex
    position = 0
    for case in golden.cases:
        if case_filter is not None and not case_filter(case):
            continue
        missing = case.missing(capabilities)
        if missing:
            for run in runs.values():
                run.result.pending.append((case, missing))
            continue
        order = ("baseline", "candidate") if position % 2 == 0 else ("candidate", "baseline")
        position += 1
        for role in order:
            target, offline = sides[role]
            _run_one(
                case, runs[role], target, run_id=f"{run_id}-{role[0]}", thresholds=thresholds,
                offline=offline,
            )  # fmt: skip
    for run in runs.values():
        summarise(run.result, thresholds)
    return pair(
        golden,
        runs["baseline"],
        runs["candidate"],
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
