"""The promotion gate: may the candidate replace the baseline? Rules in ``thresholds.toml``.

``[promotion]`` holds them, validated when loaded (an error names the key,
the value and what is allowed):

- ``[promotion.max_drop]``: the criteria on which the candidate may not be
  worse, each with the drop in pass rate it tolerates (a fraction). The
  candidate is **worse** on a criterion when the lower end of the paired
  interval of (candidate − baseline) pass rate over cases lies below
  ``−max_drop``: the data cannot rule out a larger drop. With ``0`` a
  candidate that changes no case's outcome is not worse, and one that breaks
  a case is worse unless its improvements outweigh that with the stated
  confidence (one regression needs eight improvements at 95 %).
- ``min_reward_gain``: the candidate is **better** when the lower end of the
  paired bootstrap interval of its mean reward gain per case is at least
  this. Two equal models gain 0 and are "not better".
- ``confidence``, ``bootstrap_resamples``, ``bootstrap_seed``: the intervals'
  level, and the bootstrap's size and seed (same data, same verdict).

Verdict: ``worse`` when any listed criterion is worse; otherwise
``not better`` unless the reward gain is shown; otherwise ``promote``.
Interval ends are compared at :data:`DECIMALS` decimals, so floating-point
noise in a sum is never a regression.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import Comparison
from .first_answers import FIRST_ANSWER
from .stats import PairedBinary, PairedMeans
from .thresholds import ALL_CRITERIA, THRESHOLDS_FILE, ThresholdsError, _number

DECIMALS = 9
GATEABLE = (*ALL_CRITERIA, FIRST_ANSWER)
REWARD = "reward"

OK, WORSE, NOT_BETTER, NO_DATA = "ok", "WORSE", "NOT BETTER", "NO DATA"
PROMOTE, VERDICT_WORSE, VERDICT_NOT_BETTER = "promote", "worse", "not better"


@dataclass(frozen=True)
class PromotionRules:
    max_drop: dict[str, float]
    min_reward_gain: float
    confidence: float
    bootstrap_resamples: int
    bootstrap_seed: int


@dataclass(frozen=True)
class GateRow:
    criterion: str
    rule: str
    status: str  # ok | WORSE | NOT BETTER | NO DATA
    message: str


@dataclass(frozen=True)
class Decision:
    verdict: str  # promote | worse | not better
    rows: tuple[GateRow, ...]

    @property
    def promotable(self) -> bool:
        return self.verdict == PROMOTE

    @property
    def failures(self) -> list[GateRow]:
        """The rows that stop the promotion, each saying by how much."""
        return [
            r for r in self.rows if r.status in (WORSE, NOT_BETTER) or (
                r.criterion == REWARD and r.status == NO_DATA)
        ]  # fmt: skip


def _integer(section: dict[str, Any], key: str, *, low: int, high: int) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ThresholdsError(
            f"promotion.{key}={value!r} is invalid: expected an integer in [{low}, {high}]"
        )
    return value


def parse_rules(raw: dict[str, Any]) -> PromotionRules:
    """The ``[promotion]`` section of a parsed thresholds file."""
    section = raw.get("promotion")
    if not isinstance(section, dict):
        raise ThresholdsError("promotion: missing; expected a [promotion] table")
    drops = section.get("max_drop")
    if not isinstance(drops, dict) or not drops:
        raise ThresholdsError(
            "promotion.max_drop: expected a table of criterion = tolerated drop, e.g. "
            "numeric_faithfulness = 0.0"
        )
    unknown = [c for c in drops if c not in GATEABLE]
    if unknown:
        raise ThresholdsError(
            f"promotion.max_drop: unknown criteria {unknown}; expected some of {list(GATEABLE)}"
        )
    max_drop = {}
    for criterion in drops:
        value = drops[criterion]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ThresholdsError(
                f"promotion.max_drop.{criterion}={value!r} is invalid: "
                "expected a fraction in [0, 1]"
            )
        max_drop[criterion] = float(value)
    return PromotionRules(
        max_drop=max_drop,
        min_reward_gain=_number(section, "min_reward_gain", "promotion", low=0.0, high=1.0),
        confidence=_number(section, "confidence", "promotion", low=0.5, high=0.999),
        bootstrap_resamples=_integer(section, "bootstrap_resamples", low=100, high=1_000_000),
        bootstrap_seed=_integer(section, "bootstrap_seed", low=0, high=2**63 - 1),
    )


def load_rules(path: Path = THRESHOLDS_FILE) -> PromotionRules:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ThresholdsError(f"{path.name} is not valid TOML: {err}") from None
    return parse_rules(raw)


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def is_worse(stat: PairedBinary, max_drop: float) -> bool:
    """The interval's lower end lies below the tolerated drop (never without cases)."""
    return stat.cases > 0 and round(stat.interval.low, DECIMALS) < -max_drop


def is_better(stat: PairedMeans, min_gain: float) -> bool:
    """The interval's lower end reaches the required gain."""
    return stat.interval is not None and round(stat.interval.low, DECIMALS) >= min_gain


def no_worse_row(
    criterion: str, stat: PairedBinary | None, *, max_drop: float, one_sided: int,
    confidence: float,
) -> GateRow:  # fmt: skip
    rule = f"not worse; drop tolerated {max_drop * 100:.1f} points"
    if stat is None or stat.cases == 0:
        why = "graded on no case on both sides"
        if one_sided:
            why += f" ({one_sided} case(s) on one side only)"
        return GateRow(criterion, rule, NO_DATA, why)
    assert stat.candidate_rate is not None and stat.baseline_rate is not None
    measured = (
        f"candidate {stat.candidate_rate:.1%} vs baseline {stat.baseline_rate:.1%} of "
        f"{stat.cases} cases ({_points(stat.difference)} points; {confidence:.0%} interval "
        f"{_points(stat.interval.low)} to {_points(stat.interval.high)} points; "
        f"{stat.regressed} regressed, {stat.improved} improved; "
        f"McNemar exact one-sided p = {stat.p_worse:.3g})"
    )
    if is_worse(stat, max_drop):
        short = (-max_drop - stat.interval.low) * 100
        return GateRow(
            criterion,
            rule,
            WORSE,
            f"{measured}: the interval's lower end is {short:.1f} points beyond the "
            f"tolerated drop of {max_drop * 100:.1f} points",
        )
    return GateRow(criterion, rule, OK, measured)


def reward_row(stat: PairedMeans, *, min_gain: float, confidence: float) -> GateRow:
    rule = f"better; gain of at least {min_gain:+.3f} at the interval's lower end"
    if stat.interval is None or stat.baseline_mean is None or stat.candidate_mean is None:
        return GateRow(REWARD, rule, NO_DATA, "no case with a scored narrative on both sides")
    assert stat.difference is not None
    measured = (
        f"mean {stat.candidate_mean:.3f} vs baseline {stat.baseline_mean:.3f} over "
        f"{stat.cases} cases ({stat.difference:+.3f}; {confidence:.0%} interval "
        f"{stat.interval.low:+.3f} to {stat.interval.high:+.3f})"
    )
    if is_better(stat, min_gain):
        return GateRow(REWARD, rule, OK, measured)
    short = min_gain - stat.interval.low
    return GateRow(
        REWARD,
        rule,
        NOT_BETTER,
        f"{measured}: the lower end is short of {min_gain:+.3f} by {short:.3f}",
    )


def decide(comparison: Comparison, rules: PromotionRules) -> Decision:
    rows = [
        no_worse_row(
            criterion,
            comparison.binary.get(criterion),
            max_drop=drop,
            one_sided=comparison.one_sided.get(criterion, 0),
            confidence=comparison.confidence,
        )
        for criterion, drop in rules.max_drop.items()
    ]
    rows.append(
        reward_row(
            comparison.reward, min_gain=rules.min_reward_gain, confidence=comparison.confidence
        )
    )
    if any(r.status == WORSE for r in rows):
        verdict = VERDICT_WORSE
    elif rows[-1].status != OK:
        verdict = VERDICT_NOT_BETTER
    else:
        verdict = PROMOTE
    return Decision(verdict, tuple(rows))
