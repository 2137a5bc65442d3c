"""Every scoring rule, weight and threshold at its boundary and just across it.

Each case changes one input of a neutral record (flat prices, no metrics) and
checks the rule's own rationale line (its verdict and its points), the score
or risk points, so a changed threshold, comparison or weight fails a case.
"""

from __future__ import annotations

import dataclasses

import pytest
from stock_agent.analysis import scoring
from stock_agent.analysis.evidence import compute_indicators
from stock_agent.records import (
    Indicators,
    PeerComparison,
    PeerRank,
    PeriodReturn,
    StockSnapshot,
)

from tests.support.records import CRAFTED_AS_OF as AS_OF
from tests.support.records import crafted_snapshot

JUST = 1e-9  # "just across": the smallest step the rules can see

FLAT = crafted_snapshot([100.0] * 260)
NEUTRAL: Indicators = compute_indicators(FLAT)[0]


def _line(lines: tuple[str, ...], prefix: str) -> str:
    return next(line for line in lines if line.startswith(prefix))


def _technical(
    snapshot: StockSnapshot = FLAT, **indicator_changes: object
) -> tuple[int, tuple[str, ...]]:
    tech = scoring.analyze_technical(snapshot, dataclasses.replace(NEUTRAL, **indicator_changes))
    return tech.score, tech.rationale


def test_the_neutral_record_scores_three_and_low_risk() -> None:
    score, lines = _technical()
    assert score == 3
    assert NEUTRAL.rsi_14 == 50.0 and NEUTRAL.macd_histogram == 0.0
    assert _line(lines, "MACD").endswith("mixed: +0.")
    assert _line(lines, "RSI(14)").endswith("neutral: +0.")
    level, factors = scoring.assess_risk(FLAT, NEUTRAL)
    assert (level, factors) == (
        "LOW",
        ("No elevated risk factor found.", "Risk points: 0, level LOW."),
    )
    fund = scoring.analyze_fundamental(FLAT, None)
    assert fund.score == 3


def _momentum_closes(start: float, end_3m: float, end_1m_base: float) -> list[float]:
    """260 closes: ``start`` 63 sessions back, ``end_1m_base`` 21 back, ``end_3m`` last."""
    closes = [start] * 260
    closes[-22:] = [end_1m_base] * 21 + [end_3m]
    return closes


@pytest.mark.parametrize(
    ("closes", "momentum", "delta"),
    [
        (_momentum_closes(100, 105, 105), "positive", "+1"),  # +5.00 % exactly, flat month
        (_momentum_closes(100, 105 - 1e-9, 105 - 1e-9), "neutral", "+0"),
        (_momentum_closes(100, 105, 105 + 1e-9), "neutral", "+0"),  # the month fell a little
        (_momentum_closes(100, 95, 95), "negative", "-1"),  # -5.00 % exactly
        (_momentum_closes(100, 95 + 1e-9, 95 + 1e-9), "neutral", "+0"),
        (_momentum_closes(100, 95, 95 - 1e-9), "neutral", "+0"),  # the month rose a little
    ],
)
def test_momentum_edges(closes: list[float], momentum: str, delta: str) -> None:
    snap = crafted_snapshot(closes)
    tech = scoring.analyze_technical(snap, NEUTRAL)
    assert tech.momentum == momentum
    assert _line(tech.rationale, "Momentum").endswith(f": {delta}.")


@pytest.mark.parametrize(
    ("vol", "level", "delta"),
    [
        (0.20 - JUST, "low", "+0"),
        (0.20, "moderate", "+0"),
        (0.35 - JUST, "moderate", "+0"),
        (0.35, "high", "-1"),
    ],
)
def test_volatility_edges(vol: float, level: str, delta: str) -> None:
    tech = scoring.analyze_technical(dataclasses.replace(FLAT, annualized_volatility=vol), NEUTRAL)
    assert tech.volatility_level == level
    assert _line(tech.rationale, "Volatility").endswith(f": {delta}.")
    assert tech.score == 3 + int(delta)


def _one_year(excess: float) -> tuple[PeriodReturn, ...]:
    return (PeriodReturn("1Y", AS_OF, 0.5 + excess, 0.5, excess),)


@pytest.mark.parametrize(
    ("excess", "delta"),
    [(0.10, 1), (0.10 - JUST, 0), (-0.10, -1), (-0.10 + JUST, 0), (0.0, 0)],
)
def test_relative_strength_edges(excess: float, delta: int) -> None:
    score, lines = _technical(returns=_one_year(excess), benchmark_symbol="SIM_INDEX")
    assert score == 3 + delta
    line = _line(lines, "Relative strength")
    assert "vs SIM_INDEX" in line and line.endswith(f": {delta:+d}.")


@pytest.mark.parametrize(
    ("one_year", "delta"),
    [(0.20, 1), (0.20 - JUST, 0), (-0.20, -1), (-0.20 + JUST, 0)],
)
def test_one_year_return_edges_without_a_benchmark(one_year: float, delta: int) -> None:
    snap = dataclasses.replace(FLAT, one_year_return=one_year)
    score, lines = _technical(snap)  # NEUTRAL has a 1Y period but no benchmark return
    assert score == 3 + delta
    assert _line(lines, "1-year return").endswith(f"(no benchmark): {delta:+d}.")


@pytest.mark.parametrize(
    ("rsi", "words", "delta"),
    [
        (70.0, "overbought", -1),
        (70.0 - JUST, "neutral", 0),
        (30.0, "oversold", 1),
        (30.0 + JUST, "neutral", 0),
    ],
)
def test_rsi_edges(rsi: float, words: str, delta: int) -> None:
    score, lines = _technical(rsi_14=rsi)
    assert score == 3 + delta
    assert _line(lines, "RSI(14)").endswith(f"{words}: {delta:+d}.")


def test_rsi_and_macd_missing_score_nothing() -> None:
    score, lines = _technical(rsi_14=None, macd_line=None, macd_histogram=None)
    assert score == 3
    assert _line(lines, "RSI(14)") == "RSI(14): n/a (the history is too short): +0."
    assert _line(lines, "MACD") == "MACD: n/a (the history is too short): +0."
    assert _technical(macd_line=1.0, macd_histogram=None)[0] == 3
    assert _technical(macd_line=None, macd_histogram=1.0)[0] == 3


@pytest.mark.parametrize(
    ("line", "hist", "words", "delta"),
    [
        (JUST, JUST, "bullish", 1),
        (0.0, JUST, "mixed", 0),
        (JUST, 0.0, "mixed", 0),
        (-JUST, -JUST, "bearish", -1),
        (0.0, -JUST, "mixed", 0),
        (-JUST, 0.0, "mixed", 0),
        (JUST, -JUST, "mixed", 0),
    ],
)
def test_macd_edges(line: float, hist: float, words: str, delta: int) -> None:
    score, lines = _technical(macd_line=line, macd_histogram=hist)
    assert score == 3 + delta
    assert _line(lines, "MACD").endswith(f"{words}: {delta:+d}.")


def test_technical_score_is_clamped_to_one_and_five() -> None:
    high = dataclasses.replace(FLAT, annualized_volatility=0.1)
    assert _technical(high, rsi_14=25.0, macd_line=1.0, macd_histogram=1.0,
                      returns=_one_year(0.5))[0] == 5  # 3 + 3, clamped  # fmt: skip
    assert _technical(high, rsi_14=30.0, macd_line=1.0, macd_histogram=1.0)[0] == 5
    low = dataclasses.replace(FLAT, annualized_volatility=0.5)
    assert _technical(low, rsi_14=75.0, macd_line=-1.0, macd_histogram=-1.0,
                      returns=_one_year(-0.5))[0] == 1  # 3 - 4, clamped  # fmt: skip
    assert _technical(low, rsi_14=75.0, macd_line=-1.0, macd_histogram=-1.0)[0] == 1  # 3 - 3 = 0


def _fund(
    peers: PeerComparison | None = None, **metrics: object
) -> tuple[int, tuple[str, ...], object]:
    fund = scoring.analyze_fundamental(dataclasses.replace(FLAT, **metrics), peers)
    return fund.score, fund.rationale, fund


@pytest.mark.parametrize(
    ("pe", "valuation", "delta"),
    [
        (15.0 - JUST, "undervalued", 1),
        (15.0, "fair", 0),
        (30.0, "fair", 0),
        (30.0 + JUST, "expensive", -1),
        (0.0, "unknown", 0),
        (-5.0, "unknown", 0),
    ],
)
def test_valuation_edges(pe: float, valuation: str, delta: int) -> None:
    score, lines, fund = _fund(pe_ratio=pe)
    assert fund.valuation == valuation and score == 3 + delta  # type: ignore[attr-defined]
    assert _line(lines, "Valuation").endswith(f": {delta:+d}.")


def test_valuation_falls_back_to_the_forward_pe() -> None:
    _, lines, fund = _fund(forward_pe=12.0)
    assert fund.valuation == "undervalued"  # type: ignore[attr-defined]
    assert _line(lines, "Valuation") == "Valuation: undervalued (forward P/E 12.00): +1."


@pytest.mark.parametrize(
    ("margin", "label", "delta"),
    [(0.20, "strong", 1), (0.20 - JUST, "average", 0), (0.08, "average", 0),
     (0.08 - JUST, "weak", -1), (None, "unknown", 0)],
)  # fmt: skip
def test_profitability_edges(margin: float | None, label: str, delta: int) -> None:
    score, lines, fund = _fund(profit_margin=margin)
    assert fund.profitability == label and score == 3 + delta  # type: ignore[attr-defined]
    assert _line(lines, "Profitability").endswith(f": {delta:+d}.")


@pytest.mark.parametrize(
    ("dividend", "label", "delta"),
    [(0.03, "high", 1), (0.03 - JUST, "moderate", 0), (0.01, "moderate", 0),
     (0.01 - JUST, "low", 0), (0.0, "none", 0), (None, "none", 0)],
)  # fmt: skip
def test_income_edges(dividend: float | None, label: str, delta: int) -> None:
    score, _, fund = _fund(dividend_yield=dividend)
    assert fund.income == label and score == 3 + delta  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("forward", "words", "delta"),
    [
        (18.0, "grow", 1),  # exactly 10 % below a trailing 20
        (18.0 + 1e-6, "be stable", 0),
        (22.0, "fall", -1),  # exactly 10 % above
        (22.0 - 1e-6, "be stable", 0),
    ],
)
def test_earnings_outlook_edges(forward: float, words: str, delta: int) -> None:
    # A trailing P/E of 20 is "fair" (+0), so the score moves by the outlook alone.
    score, lines, _ = _fund(pe_ratio=20.0, forward_pe=forward)
    assert score == 3 + delta
    line = _line(lines, "Earnings outlook")
    assert f"earnings expected to {words} (" in line and line.endswith(f": {delta:+d}.")


@pytest.mark.parametrize(
    "metrics",
    [{"pe_ratio": 0.0, "forward_pe": 10.0}, {"pe_ratio": 20.0, "forward_pe": 0.0},
     {"pe_ratio": None, "forward_pe": 10.0}, {"pe_ratio": 20.0, "forward_pe": None}],
)  # fmt: skip
def test_earnings_outlook_needs_both_positive_pes(metrics: dict[str, float | None]) -> None:
    _, lines, _ = _fund(**metrics)
    assert _line(lines, "Earnings outlook").startswith("Earnings outlook: not assessed")


@pytest.mark.parametrize(
    ("growth", "delta"),
    [(0.10, 1), (0.10 - JUST, 0), (0.0, 0), (-JUST, -1)],
)
def test_growth_edges(growth: float, delta: int) -> None:
    score, lines, _ = _fund(revenue_growth_3y=growth)
    assert score == 3 + delta and _line(lines, "Growth").endswith(f"a year: {delta:+d}.")
    assert _fund(revenue_growth_3y=None)[1][-4] == "Growth: 3-year revenue growth n/a: +0."


@pytest.mark.parametrize(("fcf", "delta"), [(-1.0, -1), (0.0, 0), (5e9, 0)])
def test_free_cash_flow_edges(fcf: float, delta: int) -> None:
    score, lines, _ = _fund(free_cash_flow=fcf)
    assert score == 3 + delta and _line(lines, "Free cash flow").endswith(f": {delta:+d}.")


def _peers(pe_percentile: float | None) -> PeerComparison:
    return PeerComparison(
        sector="Testing",
        peers=(),
        ranks=(PeerRank("Profit Margin", 0.1, 0.0, 4), PeerRank("P/E", 20.0, pe_percentile, 4)),
    )


@pytest.mark.parametrize(
    ("percentile", "delta"),
    [(25.0, 1), (25.0 + JUST, 0), (75.0, -1), (75.0 - JUST, 0), (None, 0)],
)
def test_peer_valuation_edges(percentile: float | None, delta: int) -> None:
    score, lines, _ = _fund(_peers(percentile))
    assert score == 3 + delta and _line(lines, "Peer valuation").endswith(f": {delta:+d}.")


def test_fundamental_score_is_clamped() -> None:
    best = {"pe_ratio": 10.0, "forward_pe": 5.0, "profit_margin": 0.3, "dividend_yield": 0.05,
            "revenue_growth_3y": 0.2}  # fmt: skip
    assert _fund(_peers(10.0), **best)[0] == 5  # 3 + 6
    worst = {"pe_ratio": 50.0, "forward_pe": 90.0, "profit_margin": -0.1,
             "revenue_growth_3y": -0.1, "free_cash_flow": -1.0}  # fmt: skip
    assert _fund(_peers(90.0), **worst)[0] == 1  # 3 - 6


def _risk(indicators: Indicators = NEUTRAL, **metrics: object) -> tuple[str, int, tuple[str, ...]]:
    level, factors = scoring.assess_risk(dataclasses.replace(FLAT, **metrics), indicators)
    points = int(factors[-1].split("Risk points: ")[1].split(",")[0])
    return level, points, factors


@pytest.mark.parametrize(
    ("vol", "points"),
    [(0.40, 2), (0.40 - JUST, 1), (0.25, 1), (0.25 - JUST, 0)],
)
def test_risk_volatility_edges(vol: float, points: int) -> None:
    assert _risk(annualized_volatility=vol)[1] == points


@pytest.mark.parametrize(("beta", "points"), [(1.3, 1), (1.3 - JUST, 0)])
def test_risk_beta_edges_computed_and_provided(beta: float, points: int) -> None:
    computed = dataclasses.replace(NEUTRAL, beta_1y=beta, benchmark_symbol="SPY")
    _, found, factors = _risk(computed, beta=0.1)  # the computed beta wins
    assert found == points
    if points:
        assert "(1 year of daily returns vs SPY)" in factors[0]
    assert _risk(beta=beta)[1] == points  # no computed beta: the provider's
    assert _risk(beta=None)[1] == 0


@pytest.mark.parametrize(
    ("price", "points"),
    [(75.0, 2), (75.0 + JUST, 1), (90.0, 1), (90.0 + JUST, 0)],
)
def test_risk_drawdown_from_the_high_edges(price: float, points: int) -> None:
    assert _risk(current_price=price, week52_high=100.0)[1] == points


@pytest.mark.parametrize(("worst", "points"), [(0.30, 1), (0.30 - JUST, 0), (None, 0)])
def test_risk_max_drawdown_edges(worst: float | None, points: int) -> None:
    indicators = dataclasses.replace(
        NEUTRAL,
        max_drawdown_1y=worst,
        drawdown_peak_day=AS_OF,
        drawdown_trough_day=AS_OF,
    )
    _, found, factors = _risk(indicators)
    assert found == points
    if points:
        assert factors[0] == f"Maximum 1-year drawdown 30.00% ({AS_OF} to {AS_OF}) (+1)."


@pytest.mark.parametrize(
    ("metrics", "points"),
    [
        ({"pe_ratio": 40.0}, 0),
        ({"pe_ratio": 40.0 + JUST}, 1),
        ({"eps": -0.01}, 1),
        ({"eps": 0.0}, 0),
        ({"eps": 2.0}, 0),
        ({"debt_to_equity": 2.0}, 1),
        ({"debt_to_equity": 2.0 - JUST}, 0),
    ],
)
def test_risk_valuation_earnings_and_leverage_edges(metrics: dict[str, float], points: int) -> None:
    assert _risk(**metrics)[1] == points


@pytest.mark.parametrize(
    ("metrics", "level"),
    [
        ({"annualized_volatility": 0.25}, "LOW"),  # 1 point
        ({"annualized_volatility": 0.25, "eps": -1.0}, "MEDIUM"),  # 2
        ({"annualized_volatility": 0.40, "eps": -1.0}, "MEDIUM"),  # 3
        ({"annualized_volatility": 0.40, "eps": -1.0, "pe_ratio": 50.0}, "HIGH"),  # 4
    ],
)
def test_risk_level_edges(metrics: dict[str, float], level: str) -> None:
    assert _risk(**metrics)[0] == level


def test_every_risk_factor_adds_up() -> None:
    indicators = dataclasses.replace(
        NEUTRAL,
        beta_1y=2.0,
        max_drawdown_1y=0.5,
        drawdown_peak_day=AS_OF,
        drawdown_trough_day=AS_OF,
    )
    level, points, factors = _risk(
        indicators, annualized_volatility=0.5, current_price=70.0, week52_high=100.0,
        pe_ratio=60.0, eps=-1.0, debt_to_equity=3.0,
    )  # fmt: skip
    assert (level, points) == ("HIGH", 2 + 1 + 2 + 1 + 1 + 1 + 1)
    assert len(factors) == 8


@pytest.mark.parametrize(
    ("tech", "fund", "risk", "outlook"),
    [
        (4, 4, "LOW", "positive"),
        (4, 4, "MEDIUM", "positive"),
        (4, 4, "HIGH", "neutral"),
        (4, 3, "LOW", "neutral"),
        (2, 2, "HIGH", "negative"),
        (3, 2, "LOW", "neutral"),
    ],
)
def test_outlook_edges(tech: int, fund: int, risk: str, outlook: str) -> None:
    assert scoring.outlook_for(tech, fund, risk) == outlook  # type: ignore[arg-type]
