"""Stock Performance Analyzer: pure functions from a snapshot to a verdict.

The scores follow written rules so that a reader of the report can check
them by hand. The rules are stated in :data:`TECHNICAL_RULES`,
:data:`FUNDAMENTAL_RULES`, :data:`RISK_RULES` and :data:`OUTLOOK_RULES`
(the report's methodology section prints them), and every analysis returns,
in ``rationale``, one line per rule saying what it found and what it added.
Figures in those lines are formatted by :mod:`stock_agent.formatting`, like
everywhere else.

Missing metrics (``None``) never raise: a rule that needs them scores 0 and
says the metric is unavailable.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Literal

from .formatting import fmt_money, fmt_pct, fmt_ratio
from .records import (
    FundamentalAnalysis,
    Level,
    RiskLevel,
    StockAnalysis,
    StockSnapshot,
    TechnicalAnalysis,
    TrendLabel,
)

Momentum = Literal["positive", "neutral", "negative"]
Valuation = Literal["undervalued", "fair", "expensive", "unknown"]
Profitability = Literal["strong", "average", "weak", "unknown"]
Income = Literal["high", "moderate", "low", "none"]

# Thresholds (fractions unless stated). Changing one changes the rules' text.
SESSIONS_1M = 21
SESSIONS_3M = 63
MOMENTUM_3M = 0.05
VOL_LOW = 0.20
VOL_HIGH = 0.35
ONE_YEAR_STRONG = 0.20
PE_CHEAP = 15.0
PE_EXPENSIVE = 30.0
MARGIN_STRONG = 0.20
MARGIN_WEAK = 0.08
YIELD_MODERATE = 0.01
YIELD_HIGH = 0.03
EARNINGS_GROWTH = 0.10
RISK_VOL_ELEVATED = 0.25
RISK_VOL_HIGH = 0.40
RISK_BETA = 1.3
RISK_DRAWDOWN = 0.10
RISK_DRAWDOWN_DEEP = 0.25
RISK_PE = 40.0

TECHNICAL_RULES: tuple[str, ...] = (
    "Start from 3 (neutral); the sum is clamped to 1..5.",
    "Trend: +1 when the price is above its 50-day SMA and the 50-day SMA is above the "
    "200-day SMA (uptrend); -1 for the mirror image (downtrend); 0 otherwise (sideways).",
    f"Momentum: +1 when the 3-month return is at least +{MOMENTUM_3M:.0%} and the 1-month "
    f"return is not negative; -1 when the 3-month return is at most -{MOMENTUM_3M:.0%} and "
    "the 1-month return is not positive; 0 otherwise.",
    f"Volatility: annualized volatility below {VOL_LOW:.0%} is low, from {VOL_LOW:.0%} to "
    f"{VOL_HIGH:.0%} moderate, {VOL_HIGH:.0%} or more high (-1).",
    f"1-year return: +1 at +{ONE_YEAR_STRONG:.0%} or more, -1 at -{ONE_YEAR_STRONG:.0%} or less.",
)

FUNDAMENTAL_RULES: tuple[str, ...] = (
    "Start from 3 (neutral); the sum is clamped to 1..5.",
    f"Valuation (trailing P/E, else forward P/E): below {PE_CHEAP:.0f} undervalued (+1), "
    f"{PE_CHEAP:.0f} to {PE_EXPENSIVE:.0f} fair (0), above {PE_EXPENSIVE:.0f} expensive (-1); "
    "no positive earnings: unknown (0).",
    f"Profitability (net margin): {MARGIN_STRONG:.0%} or more strong (+1), {MARGIN_WEAK:.0%} "
    f"to {MARGIN_STRONG:.0%} average (0), below {MARGIN_WEAK:.0%} weak (-1).",
    f"Income (dividend yield): {YIELD_HIGH:.0%} or more high (+1), {YIELD_MODERATE:.0%} to "
    f"{YIELD_HIGH:.0%} moderate (0), below {YIELD_MODERATE:.0%} low (0), none (0).",
    f"Earnings outlook: +1 when the forward P/E is at least {EARNINGS_GROWTH:.0%} below the "
    f"trailing P/E (earnings expected to grow), -1 when at least {EARNINGS_GROWTH:.0%} above.",
)

RISK_RULES: tuple[str, ...] = (
    f"Volatility: +2 points at {RISK_VOL_HIGH:.0%} or more, +1 at {RISK_VOL_ELEVATED:.0%} or more.",
    f"Beta: +1 point at {RISK_BETA:.1f} or more.",
    f"Drawdown from the 52-week high: +2 points at {RISK_DRAWDOWN_DEEP:.0%} or more, +1 at "
    f"{RISK_DRAWDOWN:.0%} or more.",
    f"Valuation: +1 point for a P/E above {RISK_PE:.0f}, +1 for negative earnings per share.",
    "Level: 0-1 points LOW, 2-3 MEDIUM, 4 or more HIGH.",
)

OUTLOOK_RULES: tuple[str, ...] = (
    "Positive when technical + fundamental score is 8 or more and the risk is not HIGH.",
    "Negative when technical + fundamental score is 4 or less.",
    "Neutral otherwise.",
)


def _clamp_score(total: int) -> int:
    return max(1, min(5, total))


def _sma(closes: Sequence[float], window: int) -> float:
    """Mean of the last ``window`` closes (all of them when the history is shorter)."""
    return statistics.fmean(closes[-window:])


def _return_over(closes: Sequence[float], sessions: int) -> float:
    """Return over the last ``sessions`` sessions (from the oldest close when shorter)."""
    base = closes[-sessions - 1] if len(closes) > sessions else closes[0]
    return closes[-1] / base - 1.0


def analyze_technical(snapshot: StockSnapshot) -> TechnicalAnalysis:
    """Trend, momentum and volatility from the price history (rules: :data:`TECHNICAL_RULES`).

    - Trend: uptrend when price > 50-day SMA > 200-day SMA (+1), downtrend
      when price < 50-day SMA < 200-day SMA (-1), sideways otherwise (0).
    - Momentum: positive (+1) when the 3-month return is >= +5 % and the
      1-month return >= 0; negative (-1) when <= -5 % and <= 0; else neutral.
    - Volatility: < 20 % low, 20-35 % moderate, >= 35 % high (-1).
    - 1-year return: >= +20 % (+1), <= -20 % (-1).
    - Score: 3 plus the above, clamped to 1..5.
    """
    cur = snapshot.currency
    closes = [p.close for p in snapshot.prices] or [snapshot.current_price]
    price = snapshot.current_price
    sma_50, sma_200 = _sma(closes, 50), _sma(closes, 200)
    r1m, r3m = _return_over(closes, SESSIONS_1M), _return_over(closes, SESSIONS_3M)
    vol = snapshot.annualized_volatility
    rationale = ["Technical score starts at 3."]
    score = 3
    if len(closes) < 200:
        rationale.append(
            f"Only {len(closes)} sessions of history: the 200-day SMA uses all of them."
        )

    trend: TrendLabel
    levels = (
        f"price {fmt_money(price, cur)}, 50-day SMA {fmt_money(sma_50, cur)}, "
        f"200-day SMA {fmt_money(sma_200, cur)}"
    )
    if price > sma_50 > sma_200:
        trend, delta = "uptrend", 1
    elif price < sma_50 < sma_200:
        trend, delta = "downtrend", -1
    else:
        trend, delta = "sideways", 0
    score += delta
    rationale.append(f"Trend: {trend} ({levels}): {delta:+d}.")

    momentum: Momentum
    if r3m >= MOMENTUM_3M and r1m >= 0:
        momentum, delta = "positive", 1
    elif r3m <= -MOMENTUM_3M and r1m <= 0:
        momentum, delta = "negative", -1
    else:
        momentum, delta = "neutral", 0
    score += delta
    rationale.append(
        f"Momentum: {momentum} (1-month {fmt_pct(r1m, signed=True)}, "
        f"3-month {fmt_pct(r3m, signed=True)}): {delta:+d}."
    )

    level: Level
    if vol < VOL_LOW:
        level, delta = "low", 0
    elif vol < VOL_HIGH:
        level, delta = "moderate", 0
    else:
        level, delta = "high", -1
    score += delta
    rationale.append(f"Volatility: {level} ({fmt_pct(vol)} annualized): {delta:+d}.")

    one_year = snapshot.one_year_return
    delta = 1 if one_year >= ONE_YEAR_STRONG else -1 if one_year <= -ONE_YEAR_STRONG else 0
    score += delta
    rationale.append(f"1-year return {fmt_pct(one_year, signed=True)}: {delta:+d}.")

    final = _clamp_score(score)
    rationale.append(f"Technical score: {final}/5.")
    return TechnicalAnalysis(
        trend=trend,
        sma_50=sma_50,
        sma_200=sma_200,
        return_1m=r1m,
        return_3m=r3m,
        volatility_level=level,
        momentum=momentum,
        score=final,
        rationale=tuple(rationale),
    )


def analyze_fundamental(snapshot: StockSnapshot) -> FundamentalAnalysis:
    """Valuation, profitability and income (rules: :data:`FUNDAMENTAL_RULES`).

    - Valuation on the trailing P/E, else the forward P/E: < 15 undervalued
      (+1), 15-30 fair (0), > 30 expensive (-1), none: unknown (0).
    - Profitability on the net margin: >= 20 % strong (+1), 8-20 % average
      (0), < 8 % weak (-1), none: unknown (0).
    - Income on the dividend yield: >= 3 % high (+1), 1-3 % moderate,
      below 1 % low, none or zero: none (all 0).
    - Earnings outlook: forward P/E >= 10 % below trailing (+1), >= 10 %
      above (-1).
    - Score: 3 plus the above, clamped to 1..5.
    """
    s = snapshot
    rationale = ["Fundamental score starts at 3."]
    score = 3

    valuation: Valuation
    basis, pe = ("trailing", s.pe_ratio) if s.pe_ratio is not None else ("forward", s.forward_pe)
    if pe is None or pe <= 0:
        valuation, delta = "unknown", 0
        rationale.append("Valuation: unknown (no P/E: earnings are not positive): +0.")
    else:
        if pe < PE_CHEAP:
            valuation, delta = "undervalued", 1
        elif pe <= PE_EXPENSIVE:
            valuation, delta = "fair", 0
        else:
            valuation, delta = "expensive", -1
        rationale.append(f"Valuation: {valuation} ({basis} P/E {fmt_ratio(pe)}): {delta:+d}.")
    score += delta

    profitability: Profitability
    margin = s.profit_margin
    if margin is None:
        profitability, delta = "unknown", 0
    elif margin >= MARGIN_STRONG:
        profitability, delta = "strong", 1
    elif margin >= MARGIN_WEAK:
        profitability, delta = "average", 0
    else:
        profitability, delta = "weak", -1
    score += delta
    rationale.append(
        f"Profitability: {profitability} (profit margin {fmt_pct(margin)}): {delta:+d}."
    )

    income: Income
    dividend = s.dividend_yield
    if dividend is None or dividend <= 0:
        income, delta = "none", 0
    elif dividend >= YIELD_HIGH:
        income, delta = "high", 1
    elif dividend >= YIELD_MODERATE:
        income, delta = "moderate", 0
    else:
        income, delta = "low", 0
    score += delta
    rationale.append(f"Income: {income} (dividend yield {fmt_pct(dividend)}): {delta:+d}.")

    if s.pe_ratio and s.forward_pe and s.pe_ratio > 0 and s.forward_pe > 0:
        change = s.forward_pe / s.pe_ratio - 1.0
        if change <= -EARNINGS_GROWTH:
            words, delta = "earnings expected to grow", 1
        elif change >= EARNINGS_GROWTH:
            words, delta = "earnings expected to fall", -1
        else:
            words, delta = "earnings expected to be stable", 0
        rationale.append(
            f"Earnings outlook: {words} (forward P/E {fmt_ratio(s.forward_pe)} vs trailing "
            f"{fmt_ratio(s.pe_ratio)}): {delta:+d}."
        )
        score += delta
    else:
        rationale.append("Earnings outlook: not assessed (trailing or forward P/E missing): +0.")

    final = _clamp_score(score)
    rationale.append(f"Fundamental score: {final}/5.")
    return FundamentalAnalysis(
        valuation=valuation,
        profitability=profitability,
        income=income,
        score=final,
        rationale=tuple(rationale),
    )


def assess_risk(snapshot: StockSnapshot) -> tuple[RiskLevel, tuple[str, ...]]:
    """Risk level and the factors behind it (rules: :data:`RISK_RULES`).

    Points: volatility >= 40 % (+2) or >= 25 % (+1); beta >= 1.3 (+1);
    drawdown from the 52-week high >= 25 % (+2) or >= 10 % (+1); P/E > 40
    (+1); negative EPS (+1). 0-1 LOW, 2-3 MEDIUM, 4+ HIGH.
    """
    s = snapshot
    factors: list[str] = []
    points = 0
    vol = s.annualized_volatility
    if vol >= RISK_VOL_HIGH:
        points += 2
        factors.append(f"High volatility: {fmt_pct(vol)} annualized (+2).")
    elif vol >= RISK_VOL_ELEVATED:
        points += 1
        factors.append(f"Elevated volatility: {fmt_pct(vol)} annualized (+1).")
    if s.beta is not None and s.beta >= RISK_BETA:
        points += 1
        factors.append(f"Beta {fmt_ratio(s.beta)}: moves more than the market (+1).")
    drawdown = 1.0 - s.current_price / s.week52_high if s.week52_high > 0 else 0.0
    if drawdown >= RISK_DRAWDOWN_DEEP:
        points += 2
        factors.append(f"Deep drawdown: {fmt_pct(drawdown)} below the 52-week high (+2).")
    elif drawdown >= RISK_DRAWDOWN:
        points += 1
        factors.append(f"Drawdown: {fmt_pct(drawdown)} below the 52-week high (+1).")
    if s.pe_ratio is not None and s.pe_ratio > RISK_PE:
        points += 1
        factors.append(f"Rich valuation: P/E {fmt_ratio(s.pe_ratio)} (+1).")
    if s.eps is not None and s.eps < 0:
        points += 1
        factors.append(f"Negative earnings: EPS {fmt_money(s.eps, s.currency)} (+1).")
    level: RiskLevel = "LOW" if points <= 1 else "MEDIUM" if points <= 3 else "HIGH"
    if not factors:
        factors.append("No elevated risk factor found.")
    factors.append(f"Risk points: {points}, level {level}.")
    return level, tuple(factors)


def outlook_for(
    technical_score: int, fundamental_score: int, risk: RiskLevel
) -> Literal["positive", "neutral", "negative"]:
    """Combine the scores and the risk (rules: :data:`OUTLOOK_RULES`)."""
    combined = technical_score + fundamental_score
    if combined >= 8 and risk != "HIGH":
        return "positive"
    if combined <= 4:
        return "negative"
    return "neutral"


def analyze(snapshot: StockSnapshot) -> StockAnalysis:
    """The full verdict for one snapshot; pure and deterministic."""
    technical = analyze_technical(snapshot)
    fundamental = analyze_fundamental(snapshot)
    risk, factors = assess_risk(snapshot)
    return StockAnalysis(
        symbol=snapshot.symbol,
        technical=technical,
        fundamental=fundamental,
        risk_level=risk,
        risk_factors=factors,
        outlook=outlook_for(technical.score, fundamental.score, risk),
    )
