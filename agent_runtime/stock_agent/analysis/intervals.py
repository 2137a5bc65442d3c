"""Confidence intervals for the track record: Student's t, in plain Python.

The agent's container has no scipy, so the t distribution's quantile is
computed here from the regularized incomplete beta function (continued
fraction, as in Press et al., *Numerical Recipes*, 6.4) and inverted by
bisection. Degrees of freedom may be fractional: overlapping forward windows
shrink the effective sample size (:func:`effective_size`) and Welch's test
gives fractional degrees of freedom too.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
_EPSILON = 1e-14
_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPSILON:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """``I_x(a, b)``, the regularized incomplete beta function, for ``0 <= x <= 1``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(value: float, df: float) -> float:
    """The cumulative distribution of Student's t with ``df`` (> 0) degrees of freedom."""
    tail = 0.5 * regularized_beta(df / (df + value * value), df / 2.0, 0.5)
    return 1.0 - tail if value > 0 else tail


@functools.lru_cache(maxsize=1024)
def t_quantile(probability: float, df: float) -> float:
    """The ``probability`` quantile of Student's t (bisection to 1e-10)."""
    if not 0.0 < probability < 1.0 or df <= 0:
        raise ValueError(f"need 0 < probability < 1 and df > 0, got {probability}, {df}")
    if probability < 0.5:
        return -t_quantile(1.0 - probability, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < probability:
        high *= 2.0
    while high - low > 1e-10 * max(1.0, high):
        middle = (low + high) / 2.0
        low, high = (middle, high) if t_cdf(middle, df) < probability else (low, middle)
    return (low + high) / 2.0


def effective_size(months: Sequence[int], horizon_months: int) -> float:
    """How many independent observations ``len(months)`` overlapping windows are worth.

    Signals at month indices ``months`` each measure the following
    ``horizon_months`` months. If monthly excess returns are independent with
    equal variance, two windows ``k`` months apart share ``max(0, h - k)``
    months, so the mean's variance is ``var / n_eff`` with
    ``n_eff = n² h / Σ_ij max(0, h - |m_i - m_j|)``: ``n`` for
    non-overlapping windows, ``n / 3`` for consecutive 3-month windows.
    """
    count = len(months)
    if count == 0:
        return 0.0
    shared = 0
    ordered = sorted(months)
    for i, first in enumerate(ordered):
        for second in ordered[i:]:
            gap = second - first
            if gap >= horizon_months:
                break
            shared += (horizon_months - gap) * (1 if gap == 0 else 2)
    return count * count * horizon_months / shared


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided interval at :data:`CONFIDENCE`."""

    mean: float
    low: float
    high: float
    effective_size: float


def mean_interval(values: Sequence[float], *, effective: float | None = None) -> Interval | None:
    """Student-t interval of the mean; ``None`` with fewer than two (effective) values."""
    size = float(len(values)) if effective is None else effective
    if len(values) < 2 or size < 2.0:
        return None
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / math.sqrt(size)
    half = t_quantile(0.5 + CONFIDENCE / 2.0, size - 1.0) * error
    return Interval(mean=mean, low=mean - half, high=mean + half, effective_size=size)


def difference_interval(
    first: Sequence[float],
    second: Sequence[float],
    *,
    first_effective: float | None = None,
    second_effective: float | None = None,
) -> Interval | None:
    """Welch's interval of ``mean(first) - mean(second)``; ``None`` when either is too small."""
    n1 = float(len(first)) if first_effective is None else first_effective
    n2 = float(len(second)) if second_effective is None else second_effective
    if len(first) < 2 or len(second) < 2 or n1 < 2.0 or n2 < 2.0:
        return None
    v1, v2 = statistics.variance(first) / n1, statistics.variance(second) / n2
    difference = statistics.fmean(first) - statistics.fmean(second)
    if v1 + v2 == 0.0:
        return Interval(difference, difference, difference, n1 + n2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0))
    half = t_quantile(0.5 + CONFIDENCE / 2.0, df) * math.sqrt(v1 + v2)
    return Interval(difference, difference - half, difference + half, n1 + n2)
