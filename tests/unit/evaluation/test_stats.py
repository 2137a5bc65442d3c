"""The comparison's statistics: exact paired intervals for pass/fail, the paired bootstrap.

Reference values are closed forms (Clopper-Pearson at 0 or n successes) and
published tables; the edges are the ones the promotion gate relies on.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from eval.stats import (
    Interval,
    binomial_cdf,
    clopper_pearson,
    paired_binary,
    paired_bootstrap,
)


def test_binomial_cdf_matches_exact_fractions_and_survives_large_n() -> None:
    for n in (1, 5, 12):
        for k in range(-1, n + 1):
            exact = sum(
                Fraction(math.comb(n, i), 3**i) * Fraction(2, 3) ** (n - i)
                for i in range(max(k + 1, 0))
            )
            assert binomial_cdf(k, n, 1 / 3) == pytest.approx(float(exact), abs=1e-12)
    assert binomial_cdf(1000, 2000, 0.5) == pytest.approx(0.5 + 0.5 * 0.01784, abs=1e-4)
    assert binomial_cdf(3, 10, 0.0) == 1.0 and binomial_cdf(3, 10, 1.0) == 0.0


@pytest.mark.parametrize("n", [1, 5, 14, 80])
def test_clopper_pearson_closed_forms_at_zero_and_all(n: int) -> None:
    zero = clopper_pearson(0, n, confidence=0.95)
    assert zero.low == 0.0 and zero.high == pytest.approx(1 - 0.025 ** (1 / n), abs=1e-9)
    full = clopper_pearson(n, n, confidence=0.95)
    assert full.high == 1.0 and full.low == pytest.approx(0.025 ** (1 / n), abs=1e-9)


def test_clopper_pearson_against_a_published_value() -> None:
    # 3 of 10 at 95 %: 0.0667 to 0.6525 (e.g. R's binom.test(3, 10)).
    interval = clopper_pearson(3, 10, confidence=0.95)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0667, 0.6525)


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"), [(-1, 5, 0.95), (6, 5, 0.95), (0, 0, 0.95), (1, 5, 1.0)]
)
def test_clopper_pearson_refuses_impossible_input(
    successes: int, trials: int, confidence: float
) -> None:
    with pytest.raises(ValueError):
        clopper_pearson(successes, trials, confidence=confidence)


def test_agreement_on_every_case_is_a_zero_interval() -> None:
    stat = paired_binary([(True, True)] * 10 + [(False, False)] * 4, confidence=0.95)
    assert (stat.cases, stat.regressed, stat.improved) == (14, 0, 0)
    assert stat.interval == Interval(0.0, 0.0) and stat.difference == 0.0 and stat.p_worse == 1.0
    assert stat.baseline_rate == stat.candidate_rate == 10 / 14


def test_one_regression_in_fourteen_cases() -> None:
    stat = paired_binary([(True, False)] + [(True, True)] * 13, confidence=0.95)
    assert stat.difference == pytest.approx(-1 / 14)
    # π's interval for 0 of 1 is [0, 0.975]: the difference runs from -1/14 to 0.95/14.
    assert stat.interval.low == pytest.approx(-1 / 14)
    assert stat.interval.high == pytest.approx(0.95 / 14, abs=1e-9)
    assert stat.p_worse == 0.5


@pytest.mark.parametrize(("improved", "low_is_negative"), [(7, True), (8, False)])
def test_one_regression_needs_eight_improvements_to_clear_zero(
    improved: int, low_is_negative: bool
) -> None:
    pairs = [(True, False)] + [(False, True)] * improved + [(True, True)] * 30
    stat = paired_binary(pairs, confidence=0.95)
    assert (stat.interval.low < 0) is low_is_negative


def test_the_difference_is_always_inside_its_interval() -> None:
    for regressed in range(0, 6):
        for improved in range(0, 6):
            pairs = [(True, False)] * regressed + [(False, True)] * improved + [(True, True)] * 9
            stat = paired_binary(pairs, confidence=0.95)
            assert stat.interval.low <= stat.difference <= stat.interval.high


def test_bootstrap_of_identical_differences_is_that_difference() -> None:
    stat = paired_bootstrap([(0.5, 0.52)] * 12, confidence=0.95, resamples=500, seed=1)
    assert stat.interval is not None
    assert stat.interval.low == stat.interval.high == pytest.approx(0.02)
    assert stat.difference == pytest.approx(0.02)


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    pairs = [(0.6, 0.7), (0.5, 0.4), (0.9, 0.95), (0.3, 0.6), (0.8, 0.8), (0.7, 0.9)]
    first = paired_bootstrap(pairs, confidence=0.95, resamples=2000, seed=7)
    again = paired_bootstrap(pairs, confidence=0.95, resamples=2000, seed=7)
    assert first == again
    assert first.interval is not None and first.difference is not None
    assert first.interval.low < first.difference < first.interval.high
    # The resampled means lie between the smallest and largest case difference.
    assert first.interval.low >= -0.1 and first.interval.high <= 0.3


def test_bootstrap_without_cases_has_no_interval_and_refuses_bad_settings() -> None:
    empty = paired_bootstrap([], confidence=0.95, resamples=100, seed=0)
    assert empty.interval is None and empty.difference is None
    with pytest.raises(ValueError):
        paired_bootstrap([(0.0, 1.0)], confidence=1.0, resamples=100, seed=0)
    with pytest.raises(ValueError):
        paired_bootstrap([(0.0, 1.0)], confidence=0.95, resamples=0, seed=0)
