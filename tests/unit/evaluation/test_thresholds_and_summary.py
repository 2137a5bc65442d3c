"""Thresholds file validation, and the verdict of a criterion at and across its threshold."""

from __future__ import annotations

import tomllib

import pytest

from eval.cases import Case, Expectation, Turn, load_golden_set
from eval.graders import Grade
from eval.runner import RunResult, TurnOutcome, summarise
from eval.targets import Observation
from eval.thresholds import THRESHOLDS_FILE, ThresholdsError, load_thresholds, parse_thresholds


def _raw() -> dict:
    return tomllib.loads(THRESHOLDS_FILE.read_text())


def test_the_thresholds_file_names_every_criterion() -> None:
    thresholds = load_thresholds()
    assert thresholds.criteria["numeric_faithfulness"] == 1.0
    assert (
        thresholds.budgets(offline=True).latency_ms < thresholds.budgets(offline=False).latency_ms
    )
    # The conversational analyst has every capability the golden set asks for.
    assert thresholds.capabilities == {
        "conversation",
        "comparison_report",
        "company_names",
        "intent_routing",
        "request_plan",
        "user_memory",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["criteria"].pop("latency"), "missing ['latency']"),
        (lambda r: r["criteria"].update(vibes=0.5), "unknown ['vibes']"),
        (lambda r: r["criteria"].update(latency=1.01), "criteria.latency=1.01"),
        (lambda r: r["criteria"].update(latency=True), "criteria.latency=True"),
        (
            lambda r: r["budgets"].update(model_calls_per_ticker=-1),
            "budgets.model_calls_per_ticker",
        ),
        (lambda r: r["judge"].update(min_agreement="high"), "judge.min_agreement='high'"),
        (lambda r: r["capabilities"].update(enabled=["x"]), "capabilities.enabled=['x']"),
    ],
)
def test_a_bad_value_is_named(edit, message: str) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(ThresholdsError) as info:
        parse_thresholds(raw)
    assert message in str(info.value)


def _result(passes: int, fails: int, criterion: str = "latency") -> RunResult:
    case = Case(id="abc", category="single_ticker", turns=(Turn(expect=Expectation(), prompt="x"),))
    obs = Observation(200, False, (), {}, None, "", 1.0)
    outcomes = [
        TurnOutcome(case, 0, "x", obs, (Grade(criterion, "pass" if i < passes else "fail"),))
        for i in range(passes + fails)
    ]
    return RunResult(golden=load_golden_set(), target="t", model="m", outcomes=outcomes)


@pytest.mark.parametrize(
    ("passes", "fails", "verdict"),
    [(19, 1, "PASS"), (18, 2, "FAIL"), (20, 0, "PASS")],  # latency threshold 0.95
)
def test_verdict_at_and_just_below_the_threshold(passes: int, fails: int, verdict: str) -> None:
    result = _result(passes, fails)
    summarise(result, load_thresholds())
    [row] = [r for r in result.rows if r.criterion == "latency"]
    assert row.threshold == 0.95 and row.verdict == verdict


def test_no_judge_is_skipped_visibly_and_nothing_graded_is_not_a_pass() -> None:
    result = _result(1, 0)
    summarise(result, load_thresholds())
    rows = {r.criterion: r for r in result.rows}
    for criterion in ("helpfulness", "analytical_soundness", "no_personal_advice"):
        assert rows[criterion].verdict == "SKIPPED" and "no judge" in rows[criterion].note
        assert rows[criterion].passed == 0
    assert rows["ticker_accuracy"].verdict == "NO DATA"  # nothing pending, nothing graded
    assert not result.gate_passed


def test_an_extra_grader_registered_at_the_reward_hook_gets_its_own_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eval import runner

    monkeypatch.setitem(
        runner.EXTRA_GRADERS, "reward", lambda expect, obs, history: Grade("reward", "fail", "low")
    )
    result = _result(1, 0)
    result.outcomes = [
        TurnOutcome(o.case, o.index, o.request, o.observation, (*o.grades, Grade("reward", "fail")))
        for o in result.outcomes
    ]
    summarise(result, load_thresholds())
    [row] = [r for r in result.rows if r.criterion == "reward"]
    assert (row.passed, row.applicable, row.threshold, row.verdict) == (0, 1, 1.0, "FAIL")


def test_the_judge_sample_takes_turns_from_every_category_up_to_the_limit() -> None:
    from eval.runner import judge_sample

    ok = Observation(200, False, (), {}, None, "", 1.0)
    refused = Observation(422, False, (), None, {"code": "no_ticker"}, "", 1.0)

    def outcome(category: str, obs: Observation) -> TurnOutcome:
        case = Case(id="abc", category=category, turns=(Turn(expect=Expectation(), prompt="x"),))
        return TurnOutcome(case, 0, "x", obs, ())

    outcomes = [
        *(outcome("single_ticker", ok) for _ in range(5)),
        outcome("out_of_scope", refused),
        outcome("compare", ok),
        outcome("other_language", ok),
    ]
    assert judge_sample(outcomes, 3) == [0, 6, 7]  # one per answered category first
    assert judge_sample(outcomes, 4) == [0, 1, 6, 7]
    assert judge_sample(outcomes, 100) == [0, 1, 2, 3, 4, 6, 7]  # never a refused turn
    assert judge_sample(outcomes, 0) == []


def test_a_bad_class_pass_rate_is_named_and_an_absent_one_is_95_percent() -> None:
    raw = _raw()
    raw["classes"]["min_pass_rate"] = 1.5
    with pytest.raises(ThresholdsError, match=r"classes.min_pass_rate=1.5"):
        parse_thresholds(raw)
    raw.pop("classes")
    assert parse_thresholds(raw).min_class_pass_rate == 0.95


def _class_outcomes(category: str, passing: int, failing: int) -> list[TurnOutcome]:
    obs = Observation(200, False, (), {}, None, "", 1.0)
    outcomes = []
    for i in range(passing + failing):
        case = Case(
            id=f"{category[:3]}-{i:03d}",
            category=category,
            turns=(Turn(expect=Expectation(), prompt="x"), Turn(expect=Expectation(), prompt="y")),
        )
        # the setup turn passes; the question turn fails for the failing cases
        outcomes.append(TurnOutcome(case, 0, "x", obs, (Grade("latency", "pass"),)))
        second = "pass" if i < passing else "fail"
        outcomes.append(TurnOutcome(case, 1, "y", obs, (Grade("answer_gives_figures", second),)))
    return outcomes


@pytest.mark.parametrize(
    ("passing", "failing", "verdict"), [(19, 1, "PASS"), (18, 2, "FAIL"), (20, 0, "PASS")]
)
def test_a_conversation_class_passes_at_95_percent_of_its_cases(
    passing: int, failing: int, verdict: str
) -> None:
    from eval.runner import class_rows

    rows = {r.category: r for r in class_rows(_class_outcomes("why", passing, failing), 0.95)}
    assert (rows["why"].passed, rows["why"].run, rows["why"].verdict) == (
        passing,
        passing + failing,
        verdict,
    )
    assert rows["advice"].verdict == "NOT RUN"  # a class with no case run does not fail the gate
    result = _result(1, 0)
    result.outcomes = _class_outcomes("why", passing, failing)
    summarise(result, load_thresholds())
    assert ("why", verdict) in {(r.category, r.verdict) for r in result.classes}
    if verdict == "FAIL":
        assert not result.gate_passed
