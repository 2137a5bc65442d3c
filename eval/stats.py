"""Paired comparisons of two targets over the same cases: pure functions, no I/O.

Two kinds of measure, two methods:

- A pass/fail outcome per case (a criterion): the exact paired interval of
  McNemar's setting. Only the discordant cases carry information about the
  difference: ``regressed`` (baseline passed, candidate failed) and
  ``improved`` (the reverse). Given ``m = regressed + improved`` of ``n``
  cases, ``improved`` is binomial with parameter ``π`` (the chance that a
  discordant case favours the candidate) and the difference in pass rates is
  ``m/n × (2π − 1)``. The interval maps the exact Clopper–Pearson interval of
  ``π`` through that line; with no discordant case it is ``[0, 0]`` (the two
  targets agreed on every case). The exact one-sided McNemar p-value that the
  candidate is worse comes with it.
- A number per case (the reward, model calls, latency): the paired percentile
  bootstrap of the mean difference, resampling cases with replacement from a
  seeded generator, so the same data give the same interval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_BISECTION_STEPS = 80  # 2**-80: far below any difference a report prints


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"interval low {self.low} > high {self.high}")


@dataclass(frozen=True)
class PairedBinary:
    """Pass/fail of the same cases on both targets, and the difference's interval."""

    cases: int
    baseline_passed: int
    candidate_passed: int
    regressed: int
    improved: int
    interval: Interval
    p_worse: float  # exact one-sided McNemar p-value of "the candidate is worse"

    @property
    def difference(self) -> float:
        """Candidate's pass rate minus the baseline's (0 without cases)."""
        return (self.improved - self.regressed) / self.cases if self.cases else 0.0

    @property
    def baseline_rate(self) -> float | None:
        return self.baseline_passed / self.cases if self.cases else None

    @property
    def candidate_rate(self) -> float | None:
        return self.candidate_passed / self.cases if self.cases else None


@dataclass(frozen=True)
class PairedMeans:
    """A number per case on both targets, and the mean difference's interval."""

    cases: int
    baseline_mean: float | None
    candidate_mean: float | None
    interval: Interval | None  # None without cases

    @property
    def difference(self) -> float | None:
        if self.baseline_mean is None or self.candidate_mean is None:
            return None
        return self.candidate_mean - self.baseline_mean


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (no overflow for large n)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    return min(
        1.0,
        math.fsum(
            math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p
                     + (n - i) * log_q)
            for i in range(k + 1)
        ),
    )  # fmt: skip


def _solve_decreasing(f: Callable[[float], float], target: float) -> float:
    """The p in [0, 1] where the decreasing function ``f(p)`` crosses ``target`` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        mid = (low + high) / 2
        if f(mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(successes: int, trials: int, *, confidence: float) -> Interval:
    """The exact two-sided interval of a binomial proportion."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is not in (0, 1)")
    tail = (1 - confidence) / 2
    # Lower end: P(X >= successes | p) = tail, i.e. P(X <= successes - 1 | p) = 1 - tail.
    low = (
        0.0
        if successes == 0
        else _solve_decreasing(lambda p: binomial_cdf(successes - 1, trials, p), 1 - tail)
    )
    high = (
        1.0
        if successes == trials
        else _solve_decreasing(lambda p: binomial_cdf(successes, trials, p), tail)
    )
    return Interval(low, high)


def paired_binary(pairs: Sequence[tuple[bool, bool]], *, confidence: float) -> PairedBinary:
    """``pairs`` of (baseline passed, candidate passed), one per case."""
    n = len(pairs)
    regressed = sum(1 for b, c in pairs if b and not c)
    improved = sum(1 for b, c in pairs if c and not b)
    discordant = regressed + improved
    if discordant == 0:
        interval, p_worse = Interval(0.0, 0.0), 1.0
    else:
        pi = clopper_pearson(improved, discordant, confidence=confidence)
        scale = discordant / n
        interval = Interval(scale * (2 * pi.low - 1), scale * (2 * pi.high - 1))
        # "Worse": at most `improved` of the discordant cases favour the candidate, under π = ½.
        p_worse = binomial_cdf(improved, discordant, 0.5)
    return PairedBinary(
        cases=n,
        baseline_passed=sum(1 for b, _ in pairs if b),
        candidate_passed=sum(1 for _, c in pairs if c),
        regressed=regressed,
        improved=improved,
        interval=interval,
        p_worse=p_worse,
    )


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``q`` in [0, 1]."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def paired_bootstrap(
    pairs: Sequence[tuple[float, float]], *, confidence: float, resamples: int, seed: int
) -> PairedMeans:
    """``pairs`` of (baseline value, candidate value), one per case."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is not in (0, 1)")
    if resamples < 1:
        raise ValueError(f"resamples {resamples} is not positive")
    n = len(pairs)
    if n == 0:
        return PairedMeans(0, None, None, None)
    differences = [c - b for b, c in pairs]
    rng = random.Random(seed)  # noqa: S311 - resampling, reproducible by design
    means = sorted(math.fsum(rng.choices(differences, k=n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    low, high = _percentile(means, tail), _percentile(means, 1 - tail)
    # All differences equal: every resample has that mean; no rounding noise in the ends.
    if len(set(differences)) == 1:
        low = high = differences[0]
    return PairedMeans(
        cases=n,
        baseline_mean=math.fsum(b for b, _ in pairs) / n,
        candidate_mean=math.fsum(c for _, c in pairs) / n,
        interval=Interval(low, high),
    )
