"""The promotion gate: its rules as ``thresholds.toml`` states them, each pinned at its edge.

"Worse": the lower end of the pass-rate difference's interval is below
``-max_drop``; "better": the lower end of the reward gain's interval is at
least ``min_reward_gain``. Each is tested at the edge and just across it, and
the verdict's precedence (worse, then not better, then promote) is pinned.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from eval.cases import load_golden_set
from eval.compare import Comparison, SideRun
from eval.gate import (
    DECIMALS,
    NO_DATA,
    NOT_BETTER,
    OK,
    PROMOTE,
    VERDICT_NOT_BETTER,
    VERDICT_WORSE,
    WORSE,
    PromotionRules,
    decide,
    is_better,
    is_worse,
    load_rules,
    parse_rules,
)
from eval.runner import RunResult
from eval.stats import Interval, PairedBinary, PairedMeans
from eval.thresholds import THRESHOLDS_FILE, ThresholdsError

RAW = tomllib.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))
GATED = ("numeric_faithfulness", "first_answer_faithful", "disclaimer_present",
         "refusal_correctness", "trajectory")  # fmt: skip


def binary(low: float, *, cases: int = 20, regressed: int = 1, improved: int = 0) -> PairedBinary:
    return PairedBinary(
        cases=cases,
        baseline_passed=cases - improved,
        candidate_passed=cases - regressed,
        regressed=regressed,
        improved=improved,
        interval=Interval(low, max(low, 0.05)),
        p_worse=0.5,
    )


def means(low: float | None, *, base: float = 0.8, cand: float = 0.85) -> PairedMeans:
    interval = None if low is None else Interval(low, max(low, 0.2))
    return PairedMeans(20 if low is not None else 0, base, cand, interval)


def comparison(
    binaries: dict[str, PairedBinary],
    reward: PairedMeans,
    *,
    one_sided: dict[str, int] | None = None,
) -> Comparison:
    golden = load_golden_set()
    run = SideRun("baseline", RunResult(golden=golden, target="t", model="m"))
    return Comparison(
        golden=golden,
        baseline=run,
        candidate=SideRun("candidate", RunResult(golden=golden, target="t", model="m")),
        criteria=tuple(binaries),
        binary=binaries,
        one_sided=one_sided or {},
        reward=reward,
        model_calls=PairedMeans(0, None, None, None),
        latency_ms=PairedMeans(0, None, None, None),
        confidence=0.95,
    )


def rules(*, max_drop: float = 0.0, min_gain: float = 0.02) -> PromotionRules:
    return PromotionRules({c: max_drop for c in GATED}, min_gain, 0.95, 1000, 1)


def test_the_shipped_rules() -> None:
    shipped = load_rules()
    assert tuple(shipped.max_drop) == GATED
    assert all(drop == 0.0 for drop in shipped.max_drop.values())
    assert shipped.min_reward_gain == 0.02 and shipped.confidence == 0.95
    assert shipped.bootstrap_resamples == 10_000


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.pop("promotion"), "promotion: missing"),
        (lambda r: r["promotion"].pop("max_drop"), "promotion.max_drop: expected a table"),
        (lambda r: r["promotion"]["max_drop"].update(helpfulnes=0.0), "unknown criteria"),
        (
            lambda r: r["promotion"]["max_drop"].update(trajectory=-0.01),
            "max_drop.trajectory=-0.01",
        ),
        (lambda r: r["promotion"]["max_drop"].update(trajectory=1.01), "expected a fraction"),
        (lambda r: r["promotion"]["max_drop"].update(trajectory=True), "trajectory=True"),
        (lambda r: r["promotion"].update(min_reward_gain=-0.001), "min_reward_gain=-0.001"),
        (lambda r: r["promotion"].update(min_reward_gain=1.5), "min_reward_gain=1.5"),
        (lambda r: r["promotion"].update(confidence=0.49), "confidence=0.49"),
        (lambda r: r["promotion"].update(confidence=1.0), "confidence=1.0"),
        (lambda r: r["promotion"].update(bootstrap_resamples=99), "bootstrap_resamples=99"),
        (lambda r: r["promotion"].update(bootstrap_resamples=1e4), "expected an integer"),
        (lambda r: r["promotion"].update(bootstrap_seed=-1), "bootstrap_seed=-1"),
    ],
)
def test_a_bad_rule_is_named(edit: Any, message: str) -> None:
    raw = copy.deepcopy(RAW)
    edit(raw)
    with pytest.raises(ThresholdsError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_rules(raw)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_reward_gain", 0),
        ("min_reward_gain", 1),
        ("confidence", 0.5),
        ("confidence", 0.999),
        ("bootstrap_resamples", 100),
        ("bootstrap_resamples", 1_000_000),
        ("bootstrap_seed", 0),
    ],
)
def test_rules_at_their_bounds_are_accepted(key: str, value: float) -> None:
    raw = copy.deepcopy(RAW)
    raw["promotion"][key] = value
    raw["promotion"]["max_drop"]["trajectory"] = 1
    raw["promotion"]["max_drop"]["refusal_correctness"] = 0
    parsed = parse_rules(raw)
    assert getattr(parsed, key) == value
    assert parsed.max_drop["trajectory"] == 1.0 and parsed.max_drop["refusal_correctness"] == 0.0


@pytest.mark.parametrize(
    ("max_drop", "low", "worse"),
    [
        (0.0, 0.0, False),  # no discordant case: [0, 0]
        (0.0, -1e-6, True),  # just across
        (0.0, -1e-12, False),  # floating-point noise, below the compared decimals
        (0.05, -0.05, False),  # at the tolerated drop
        (0.05, -0.050001, True),
        (0.05, -0.049999, False),
    ],
)
def test_worse_at_and_across_the_tolerated_drop(max_drop: float, low: float, worse: bool) -> None:
    assert is_worse(binary(low), max_drop) is worse
    assert 1e-12 < 10**-DECIMALS < 1e-6


def test_no_case_is_never_worse() -> None:
    assert not is_worse(binary(-1.0, cases=0, regressed=0), 0.0)


@pytest.mark.parametrize(
    ("min_gain", "low", "better"),
    [
        (0.02, 0.02, True),  # at the margin
        (0.02, 0.019999, False),
        (0.02, 0.020001, True),
        (0.0, 0.0, True),
        (0.0, -1e-6, False),
        (0.02, 0.02 - 1e-12, True),  # floating-point noise
    ],
)
def test_better_at_and_across_the_required_gain(min_gain: float, low: float, better: bool) -> None:
    assert is_better(means(low), min_gain) is better


def test_equal_sides_are_not_better() -> None:
    zero = {c: binary(0.0, regressed=0) for c in GATED}
    decision = decide(comparison(zero, means(0.0, base=0.9, cand=0.9)), rules())
    assert decision.verdict == VERDICT_NOT_BETTER and not decision.promotable
    statuses = {r.criterion: r.status for r in decision.rows}
    assert statuses == {**dict.fromkeys(GATED, OK), "reward": NOT_BETTER}
    [failure] = decision.failures
    assert "the lower end is short of +0.020 by 0.020" in failure.message


def test_a_worse_criterion_refuses_and_says_by_how_much() -> None:
    stats = {c: binary(0.0, regressed=0) for c in GATED}
    stats["first_answer_faithful"] = PairedBinary(14, 14, 13, 1, 0, Interval(-1 / 14, 0.0679), 0.5)
    decision = decide(comparison(stats, means(0.05)), rules())
    assert decision.verdict == VERDICT_WORSE
    [failure] = decision.failures
    assert failure.criterion == "first_answer_faithful" and failure.status == WORSE
    assert "candidate 92.9% vs baseline 100.0% of 14 cases (-7.1 points" in failure.message
    assert "interval -7.1 to +6.8 points; 1 regressed, 0 improved" in failure.message
    assert "7.1 points beyond the tolerated drop of 0.0 points" in failure.message


def test_worse_outranks_not_better_and_both_are_listed() -> None:
    stats = {c: binary(0.0, regressed=0) for c in GATED}
    stats["trajectory"] = binary(-0.2)
    decision = decide(comparison(stats, means(-0.1)), rules())
    assert decision.verdict == VERDICT_WORSE
    assert [r.criterion for r in decision.failures] == ["trajectory", "reward"]


def test_promote_when_no_worse_and_the_gain_is_shown() -> None:
    stats = {c: binary(0.0, regressed=0) for c in GATED}
    decision = decide(comparison(stats, means(0.02)), rules())
    assert decision.verdict == PROMOTE and decision.promotable and decision.failures == []


def test_no_data_blocks_through_the_reward_only() -> None:
    stats = {c: binary(0.0, regressed=0) for c in GATED if c != "first_answer_faithful"}
    decision = decide(
        comparison(stats, means(0.05), one_sided={"first_answer_faithful": 3}), rules()
    )
    row = next(r for r in decision.rows if r.criterion == "first_answer_faithful")
    assert row.status == NO_DATA and "3 case(s) on one side only" in row.message
    assert decision.verdict == PROMOTE
    no_reward = decide(comparison(stats, means(None)), rules())
    assert no_reward.verdict == VERDICT_NOT_BETTER
    assert [r.criterion for r in no_reward.failures] == ["reward"]
