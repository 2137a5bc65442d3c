"""Pairing two sides per case: how turns sum into a case, what is compared, who goes first."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from eval.cases import Case, Expectation, Turn, load_golden_set
from eval.compare import CaseResult, SideRun, case_result, pair, run_comparison
from eval.graders import Grade
from eval.runner import RunResult, TurnOutcome
from eval.targets import Exchange, InProcessTarget, Observation
from eval.thresholds import load_thresholds

GOLDEN = load_golden_set()
CASE = Case(id="case-a", category="single_ticker", turns=(Turn(Expectation(), prompt="x"),))


def turn(index: int, *grades: Grade, calls: object = 1, latency: float = 10.0) -> TurnOutcome:
    obs = Observation(
        status=200, streamed=True, events=(), response={"metrics": {"model_calls": calls}},
        error=None, raw_text="", latency_ms=latency,
    )  # fmt: skip
    return TurnOutcome(CASE, index, "x", obs, grades)


def test_a_case_fails_on_any_failing_turn_and_is_na_when_no_turn_applies() -> None:
    result = case_result(
        CASE,
        [
            turn(0, Grade.passed("a"), Grade.not_applicable("b"), Grade.failed("c", "first")),
            turn(1, Grade.failed("a", "second"), Grade.not_applicable("b"), Grade.failed("c", "x")),
            turn(2, Grade.passed("a"), Grade.not_applicable("b"), Grade.passed("c")),
        ],
        [0.5, 1.0],
    )
    assert result.outcomes == {"a": "fail", "b": "n/a", "c": "fail"}
    assert result.details == {"a": "turn 2: second", "c": "turn 1: first"}
    assert result.mean_reward == 0.75 and result.model_calls == 3
    assert result.mean_latency_ms == 10.0


@pytest.mark.parametrize("calls", [None, "2", -1, 2.5])
def test_a_turn_reporting_no_usable_model_calls_counts_none(calls: object) -> None:
    assert case_result(CASE, [turn(0, calls=calls), turn(1, calls=2)], []).model_calls == 2


def side(role: str, cases: dict[str, CaseResult]) -> SideRun:
    return SideRun(role, RunResult(golden=GOLDEN, target="t", model="m"), cases)


def result(outcome: str, rewards: tuple[float, ...] = (), calls: int = 1) -> CaseResult:
    return CaseResult(CASE, {"k": outcome}, {"k": "why"}, rewards, calls, (5.0,))  # type: ignore[dict-item]


def test_pairs_are_the_cases_a_criterion_applies_to_on_both_sides() -> None:
    baseline = side("baseline", {
        "p": result("pass", (1.0,)), "r": result("pass", (0.8,)), "i": result("fail"),
        "lone": result("pass", (0.5,)), "none": result("n/a"), "only-base": result("pass"),
    })  # fmt: skip
    candidate = side("candidate", {
        "p": result("pass", (1.0,)), "r": result("fail", (0.6,), calls=2), "i": result("pass"),
        "lone": result("n/a"), "none": result("n/a"),
    })  # fmt: skip
    compared = pair(GOLDEN, baseline, candidate, confidence=0.95, resamples=200, seed=1)
    stat = compared.binary["k"]
    assert (stat.cases, stat.regressed, stat.improved) == (3, 1, 1)
    assert compared.one_sided["k"] == 1  # "lone"; "none" applies on neither, "only-base" unpaired
    assert compared.reward.cases == 2  # p and r: both sides scored a narrative
    assert compared.reward.difference == pytest.approx(-0.1)
    assert compared.model_calls.cases == 5 and compared.model_calls.difference == pytest.approx(0.2)
    assert compared.regressions("k") == [("r", "why")]


@dataclass
class Recording:
    """A real target whose sends are logged with the side's name."""

    name: str
    inner: InProcessTarget
    log: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        return f"{self.name}: {self.inner.description}"

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def local_files(self) -> bool:
        return self.inner.local_files

    def send(self, body: bytes, *, session_id: str) -> Exchange:
        self.log.append(f"{self.name} {session_id}")
        return self.inner.send(body, session_id=session_id)

    def close(self) -> None:
        return None


def test_sides_take_turns_going_first_and_never_share_a_session(
    inprocess_target: InProcessTarget,
) -> None:
    log: list[str] = []
    base = Recording("baseline", inprocess_target, log)
    cand = Recording("candidate", inprocess_target, log)
    picked = {"single-01-sim-stock", "single-02-msft", "malformed-not-json"}
    compared = run_comparison(
        GOLDEN,
        baseline=(base, True),
        candidate=(cand, True),
        thresholds=load_thresholds(),
        capabilities=frozenset(load_thresholds().capabilities),
        confidence=0.95,
        resamples=200,
        seed=1,
        case_filter=lambda c: c.id in picked,
    )
    firsts = [entry.split()[0] for entry in log[::2]]
    assert firsts == ["baseline", "candidate", "baseline"][: len(firsts)] and len(firsts) == 3
    sessions = [entry.split()[1] for entry in log]
    assert len(set(sessions)) == len(sessions)
    assert set(compared.baseline.cases) == set(compared.candidate.cases) == picked
    assert compared.baseline.result.filtered and compared.baseline.result.rows
    # The same offline agent on both sides: identical outcomes, equal rewards.
    assert all(stat.regressed == stat.improved == 0 for stat in compared.binary.values())
    assert compared.reward.difference == 0.0 and compared.reward.cases == 2
