"""Analysis: the written scoring rules, applied to crafted and simulated snapshots."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.analysis import (
    FUNDAMENTAL_RULES,
    RISK_RULES,
    TECHNICAL_RULES,
    analyze,
    analyze_fundamental,
    assess_risk,
    outlook_for,
)
from stock_agent.formatting import fmt_money, fmt_pct, fmt_ratio
from stock_agent.market_data import SimulatedProvider, known_symbols

from tests.support.records import crafted_snapshot

PROVIDER = SimulatedProvider()
SYMBOLS = sorted(known_symbols())
AS_OF = date(2025, 9, 5)


def rising(n: int = 260, start: float = 100.0, step: float = 0.004) -> list[float]:
    return [round(start * (1 + step) ** i, 4) for i in range(n)]


def zigzag(n: int = 260, level: float = 100.0, swing: float = 0.04) -> list[float]:
    return [level * (1 + swing if i % 2 else 1 - swing) for i in range(n)]


def test_technical_rules_on_a_steady_rise() -> None:
    tech = analyze(crafted_snapshot(rising())).technical
    assert (tech.trend, tech.momentum, tech.volatility_level) == ("uptrend", "positive", "low")
    assert tech.score == 5  # 3 + trend + momentum + 1-year return, clamped
    closes = rising()
    assert tech.sma_50 == pytest.approx(statistics.fmean(closes[-50:]))
    assert tech.sma_200 == pytest.approx(statistics.fmean(closes[-200:]))
    assert tech.return_1m == pytest.approx(closes[-1] / closes[-22] - 1)
    assert tech.return_3m == pytest.approx(closes[-1] / closes[-64] - 1)
    assert any(fmt_money(tech.sma_50) in line for line in tech.rationale)
    assert tech.rationale[-1] == "Technical score: 5/5."


def test_technical_rules_on_a_steady_fall_and_on_noise() -> None:
    down = analyze(crafted_snapshot(rising(step=-0.004))).technical
    assert (down.trend, down.momentum, down.score) == ("downtrend", "negative", 1)
    noisy = analyze(crafted_snapshot(zigzag())).technical
    assert noisy.volatility_level == "high" and noisy.trend == "sideways"
    # Ends on an up-swing: 1- and 3-month returns +8.33% (+1), volatility high (-1),
    # MACD line and histogram positive after the last up-swing (+1).
    assert noisy.momentum == "positive" and noisy.score == 4
    assert any("high" in line and "-1" in line for line in noisy.rationale)


def test_short_history_is_handled_and_said() -> None:
    tech = analyze(crafted_snapshot(rising(n=60))).technical
    assert tech.sma_200 == pytest.approx(statistics.fmean(rising(n=60)))
    assert any("Only 60 sessions" in line for line in tech.rationale)


@pytest.mark.parametrize(
    ("metrics", "valuation", "profitability", "income", "score"),
    [
        (
            {"pe_ratio": 10.0, "forward_pe": 8.0, "profit_margin": 0.25, "dividend_yield": 0.04},
            "undervalued",
            "strong",
            "high",
            5,  # 3 + 1 + 1 + 1 + 1 = 7, clamped
        ),
        (
            {"pe_ratio": 50.0, "forward_pe": 60.0, "profit_margin": 0.02, "dividend_yield": 0.0},
            "expensive",
            "weak",
            "none",
            1,  # 3 - 1 - 1 - 1 = 0, clamped
        ),
        (
            {"pe_ratio": 20.0, "forward_pe": 19.0, "profit_margin": 0.10, "dividend_yield": 0.015},
            "fair",
            "average",
            "moderate",
            3,
        ),
        (
            {"pe_ratio": None, "forward_pe": 12.0, "profit_margin": None},
            "undervalued",
            "unknown",
            "none",
            4,
        ),
        ({}, "unknown", "unknown", "none", 3),  # every metric missing: no crash, neutral
    ],
)
def test_fundamental_rules(
    metrics: dict[str, float | None], valuation: str, profitability: str, income: str, score: int
) -> None:
    fund = analyze_fundamental(crafted_snapshot(rising(), **metrics))
    assert (fund.valuation, fund.profitability, fund.income, fund.score) == (
        valuation,
        profitability,
        income,
        score,
    )
    assert fund.rationale[0] == "Fundamental score starts at 3."
    assert fund.rationale[-1] == f"Fundamental score: {score}/5."
    pe = metrics.get("pe_ratio") or metrics.get("forward_pe")
    if pe is not None:
        assert any(fmt_ratio(pe) in line for line in fund.rationale)


def test_risk_rules() -> None:
    calm = crafted_snapshot(rising(), beta=0.5, pe_ratio=20.0, eps=3.0)
    level, factors = assess_risk(calm)
    assert level == "LOW" and factors[0] == "No elevated risk factor found."

    # Up about 48 %, then down about 32 %: deep drawdown; plus volatility, beta, losses.
    up = rising(n=130, step=0.003)
    stormy = crafted_snapshot(
        up + [up[-1] * 0.997 ** (i + 1) for i in range(130)], beta=1.8, eps=-2.0
    )
    stormy = dataclasses.replace(stormy, annualized_volatility=0.55)
    level, factors = assess_risk(stormy)
    text = " ".join(factors)
    assert level == "HIGH"
    assert "High volatility: 55.00%" in text and "Beta 1.80" in text
    assert "Deep drawdown" in text and "Negative earnings: EPS -$2.00" in text
    drawdown = 1 - stormy.current_price / stormy.week52_high
    assert fmt_pct(drawdown) in text


@pytest.mark.parametrize(
    ("tech", "fund", "risk", "expected"),
    [
        (5, 4, "LOW", "positive"),
        (4, 4, "MEDIUM", "positive"),
        (5, 5, "HIGH", "neutral"),  # high risk caps the outlook
        (3, 3, "LOW", "neutral"),
        (2, 2, "LOW", "negative"),
        (1, 3, "HIGH", "negative"),
    ],
)
def test_outlook_rules(tech: int, fund: int, risk: str, expected: str) -> None:
    assert outlook_for(tech, fund, risk) == expected  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), as_of=st.dates(date(2015, 1, 1), date(2030, 12, 31)))
def test_analysis_is_pure_and_bounded(symbol: str, as_of: date) -> None:
    snap = PROVIDER.snapshot(symbol, as_of=as_of)
    first, second = analyze(snap), analyze(snap)
    assert first == second and first.symbol == symbol
    assert 1 <= first.technical.score <= 5 and 1 <= first.fundamental.score <= 5
    assert first.risk_level in ("LOW", "MEDIUM", "HIGH")
    assert first.technical.rationale[-1] == f"Technical score: {first.technical.score}/5."
    assert first.fundamental.rationale[-1] == f"Fundamental score: {first.fundamental.score}/5."
    assert first.risk_factors[-1].endswith(f"level {first.risk_level}.")


def test_verdicts_vary_across_the_universe() -> None:
    """The public sample always said MEDIUM; ours must depend on the data."""
    analyses = [analyze(PROVIDER.snapshot(s, as_of=AS_OF)) for s in SYMBOLS]
    risks = Counter(a.risk_level for a in analyses)
    combos = {(a.technical.score, a.fundamental.score) for a in analyses}
    assert set(risks) == {"LOW", "MEDIUM", "HIGH"}, risks
    assert len({a.technical.score for a in analyses}) >= 4
    assert len({a.fundamental.score for a in analyses}) >= 4
    assert len(combos) >= 6, combos
    assert len({a.outlook for a in analyses}) >= 2
    assert len({a.technical.trend for a in analyses}) >= 2


def test_rules_are_written_with_their_thresholds() -> None:
    text = " ".join(TECHNICAL_RULES + FUNDAMENTAL_RULES + RISK_RULES)
    for phrase in ("50-day SMA", "200-day SMA", "35%", "below 15", "above 30", "20%", "3%"):
        assert phrase in text, phrase
    assert "HIGH" in RISK_RULES[-1] and "LOW" in RISK_RULES[-1]
