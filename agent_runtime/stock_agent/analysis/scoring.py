"""Stock Performance Analyzer: the scoring rules, pure functions from a snapshot to a verdict.

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

from ..formatting import fmt_large_money, fmt_money, fmt_pct, fmt_ratio
from ..records import (
    FundamentalAnalysis,
    Indicators,
    Level,
    PeerComparison,
    RiskLevel,
    StockAnalysis,
    StockSnapshot,
    TechnicalAnalysis,
    TrendLabel,
)
from .evidence import DEFAULT_RISK_FREE_RATE, SESSIONS_1M, SESSIONS_3M, compute_indicators
from .peers import compare_with_peers

Momentum = Literal["positive", "neutral", "negative"]
Valuation = Literal["undervalued", "fair", "expensive", "unknown"]
Profitability = Literal["strong", "average", "weak", "unknown"]
Income = Literal["high", "moderate", "low", "none"]

# Thresholds (fractions unless stated). Changing one changes the rules' text.
MOMENTUM_3M = 0.05
VOL_LOW = 0.20
VOL_HIGH = 0.35
ONE_YEAR_STRONG = 0.20
EXCESS_STRONG = 0.10
RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0
PE_CHEAP = 15.0
PE_EXPENSIVE = 30.0
MARGIN_STRONG = 0.20
MARGIN_WEAK = 0.08
YIELD_MODERATE = 0.01
YIELD_HIGH = 0.03
EARNINGS_GROWTH = 0.10
REVENUE_GROWTH_STRONG = 0.10
PEER_CHEAP = 25.0
PEER_DEAR = 75.0
RISK_VOL_ELEVATED = 0.25
RISK_VOL_HIGH = 0.40
RISK_BETA = 1.3
RISK_DRAWDOWN = 0.10
RISK_DRAWDOWN_DEEP = 0.25
RISK_PE = 40.0
RISK_MAX_DRAWDOWN = 0.30
RISK_LEVERAGE = 2.0
RISK_LOW_MAX = 1
RISK_MEDIUM_MAX = 3

TECHNICAL_RULES: tuple[str, ...] = (
    "Start from 3 (neutral); the sum is clamped to 1..5.",
    "Trend: +1 when the price is above its 50-day SMA and the 50-day SMA is above the "
    "200-day SMA (uptrend); -1 for the mirror image (downtrend); 0 otherwise (sideways).",
    f"Momentum: +1 when the 3-month return is at least +{MOMENTUM_3M:.0%} and the 1-month "
    f"return is not negative; -1 when the 3-month return is at most -{MOMENTUM_3M:.0%} and "
    "the 1-month return is not positive; 0 otherwise.",
    f"Volatility: annualized volatility below {VOL_LOW:.0%} is low, from {VOL_LOW:.0%} to "
    f"{VOL_HIGH:.0%} moderate, {VOL_HIGH:.0%} or more high (-1).",
    f"Relative strength: +1 when the 1-year return beats the benchmark's by "
    f"{EXCESS_STRONG:.0%} or more, -1 when it trails by {EXCESS_STRONG:.0%} or more; without a "
    f"benchmark, +1 at a 1-year return of +{ONE_YEAR_STRONG:.0%} or more, -1 at "
    f"-{ONE_YEAR_STRONG:.0%} or less.",
    f"RSI(14): -1 at {RSI_OVERBOUGHT:.0f} or more (overbought), +1 at {RSI_OVERSOLD:.0f} or "
    "less (oversold).",
    "MACD(12, 26, 9): +1 when the histogram and the MACD line are both positive, -1 when "
    "both are negative.",
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
    f"Growth: +1 when 3-year revenue growth is {REVENUE_GROWTH_STRONG:.0%} a year or more, -1 "
    "when revenue shrank (growth below 0%).",
    "Free cash flow: -1 when it is negative.",
    f"Peer valuation: +1 when the P/E is at or below the {PEER_CHEAP:.0f}th percentile of its "
    f"sector peers, -1 at or above the {PEER_DEAR:.0f}th.",
)

RISK_RULES: tuple[str, ...] = (
    f"Volatility: +2 points at {RISK_VOL_HIGH:.0%} or more, +1 at {RISK_VOL_ELEVATED:.0%} or more.",
    f"Beta (1 year of daily returns against the benchmark, else the provider's): +1 point at "
    f"{RISK_BETA:.1f} or more.",
    f"Drawdown from the 52-week high: +2 points at {RISK_DRAWDOWN_DEEP:.0%} or more, +1 at "
    f"{RISK_DRAWDOWN:.0%} or more.",
    f"Maximum drawdown over one year: +1 point at {RISK_MAX_DRAWDOWN:.0%} or more.",
    f"Valuation: +1 point for a P/E above {RISK_PE:.0f}, +1 for negative earnings per share.",
    f"Leverage: +1 point for debt-to-equity of {RISK_LEVERAGE:.1f} or more.",
    f"Level: 0-{RISK_LOW_MAX} points LOW, {RISK_LOW_MAX + 1}-{RISK_MEDIUM_MAX} MEDIUM, "
    f"{RISK_MEDIUM_MAX + 1} or more HIGH.",
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


def _base_close(closes: Sequence[float], sessions: int) -> float:
    """The close ``sessions`` sessions back (the oldest close when the history is shorter)."""
    return closes[-sessions - 1] if len(closes) > sessions else closes[0]


def _return_over(closes: Sequence[float], sessions: int) -> float:
    """Return over the last ``sessions`` sessions (from the oldest close when shorter)."""
    return closes[-1] / _base_close(closes, sessions) - 1.0


def analyze_technical(
    snapshot: StockSnapshot, indicators: Indicators | None = None
) -> TechnicalAnalysis:
    """Trend, momentum and volatility from the price history (rules: :data:`TECHNICAL_RULES`).

    - Trend: uptrend when price > 50-day SMA > 200-day SMA (+1), downtrend
      when price < 50-day SMA < 200-day SMA (-1), sideways otherwise (0).
    - Momentum: positive (+1) when the 3-month return is >= +5 % and the
      1-month return >= 0; negative (-1) when <= -5 % and <= 0; else neutral.
    - Volatility: < 20 % low, 20-35 % moderate, >= 35 % high (-1).
    - Relative strength: 1-year excess over the benchmark >= +10 % (+1),
      <= -10 % (-1); without a benchmark the 1-year return >= +20 % (+1),
      <= -20 % (-1).
    - RSI(14) >= 70 (-1), <= 30 (+1); MACD histogram and line both > 0 (+1),
      both < 0 (-1).
    - Score: 3 plus the above, clamped to 1..5.
    """
    if indicators is None:
        indicators = compute_indicators(snapshot)[0]
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
    # The thresholds apply to prices (last close against the base close times 1 +/- 5 %)
    # so that a rise of exactly 5 % counts in floating point.
    last, base_1m, base_3m = (
        closes[-1],
        _base_close(closes, SESSIONS_1M),
        _base_close(closes, SESSIONS_3M),
    )
    if last >= base_3m * (1.0 + MOMENTUM_3M) and last >= base_1m:
        momentum, delta = "positive", 1
    elif last <= base_3m * (1.0 - MOMENTUM_3M) and last <= base_1m:
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

    score += _relative_strength(snapshot, indicators, rationale)
    score += _oscillators(indicators, rationale)

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


def _relative_strength(snapshot: StockSnapshot, ind: Indicators, rationale: list[str]) -> int:
    """The relative-strength rule: excess over the benchmark, else the plain 1-year return."""
    one_year = next((r for r in ind.returns if r.period == "1Y"), None)
    if one_year is not None and one_year.excess is not None:
        excess = one_year.excess
        delta = 1 if excess >= EXCESS_STRONG else -1 if excess <= -EXCESS_STRONG else 0
        rationale.append(
            f"Relative strength: 1-year return {fmt_pct(one_year.stock, signed=True)} vs "
            f"{ind.benchmark_symbol} {fmt_pct(one_year.benchmark, signed=True)}, excess "
            f"{fmt_pct(excess, signed=True)}: {delta:+d}."
        )
        return delta
    value = snapshot.one_year_return
    if value is None:
        rationale.append("1-year return: n/a (the history is shorter than a year): +0.")
        return 0
    delta = 1 if value >= ONE_YEAR_STRONG else -1 if value <= -ONE_YEAR_STRONG else 0
    rationale.append(f"1-year return {fmt_pct(value, signed=True)} (no benchmark): {delta:+d}.")
    return delta


def _oscillators(ind: Indicators, rationale: list[str]) -> int:
    """The RSI and MACD rules."""
    total = 0
    rsi = ind.rsi_14
    if rsi is None:
        rationale.append("RSI(14): n/a (the history is too short): +0.")
    else:
        delta = -1 if rsi >= RSI_OVERBOUGHT else 1 if rsi <= RSI_OVERSOLD else 0
        words = "overbought" if delta < 0 else "oversold" if delta > 0 else "neutral"
        rationale.append(f"RSI(14): {fmt_ratio(rsi)}, {words}: {delta:+d}.")
        total += delta
    line, hist = ind.macd_line, ind.macd_histogram
    if line is None or hist is None:
        rationale.append("MACD: n/a (the history is too short): +0.")
    else:
        delta = 1 if hist > 0 and line > 0 else -1 if hist < 0 and line < 0 else 0
        words = "bullish" if delta > 0 else "bearish" if delta < 0 else "mixed"
        rationale.append(
            f"MACD: line {fmt_ratio(line)}, histogram {fmt_ratio(hist)}, {words}: {delta:+d}."
        )
        total += delta
    return total


def analyze_fundamental(
    snapshot: StockSnapshot, peers: PeerComparison | None = None
) -> FundamentalAnalysis:
    """Valuation, profitability and income (rules: :data:`FUNDAMENTAL_RULES`).

    - Valuation on the trailing P/E, else the forward P/E: < 15 undervalued
      (+1), 15-30 fair (0), > 30 expensive (-1), none: unknown (0).
    - Profitability on the net margin: >= 20 % strong (+1), 8-20 % average
      (0), < 8 % weak (-1), none: unknown (0).
    - Income on the dividend yield: >= 3 % high (+1), 1-3 % moderate,
      below 1 % low, none or zero: none (all 0).
    - Earnings outlook: forward P/E >= 10 % below trailing (+1), >= 10 %
      above (-1).
    - Growth: 3-year revenue growth >= 10 % a year (+1), < 0 (-1); free
      cash flow < 0 (-1); P/E percentile among peers <= 25 (+1), >= 75 (-1).
    - Score: 3 plus the above, clamped to 1..5.
    """
    if peers is None:
        peers = compare_with_peers(snapshot)[0]
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

    if s.pe_ratio is not None and s.forward_pe is not None and s.pe_ratio > 0 < s.forward_pe:
        # Compared as multiples of the trailing P/E (not as a ratio minus one), so a
        # forward P/E of exactly 18 against 20 is "10 % below" in floating point too.
        if s.forward_pe <= s.pe_ratio * (1.0 - EARNINGS_GROWTH):
            words, delta = "earnings expected to grow", 1
        elif s.forward_pe >= s.pe_ratio * (1.0 + EARNINGS_GROWTH):
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

    score += _growth_and_cash(s, rationale)
    score += _peer_valuation(peers, rationale)

    final = _clamp_score(score)
    rationale.append(f"Fundamental score: {final}/5.")
    return FundamentalAnalysis(
        valuation=valuation,
        profitability=profitability,
        income=income,
        score=final,
        rationale=tuple(rationale),
    )


def _growth_and_cash(s: StockSnapshot, rationale: list[str]) -> int:
    """The growth and free-cash-flow rules."""
    growth = s.revenue_growth_3y
    if growth is None:
        delta = 0
        rationale.append("Growth: 3-year revenue growth n/a: +0.")
    else:
        delta = 1 if growth >= REVENUE_GROWTH_STRONG else -1 if growth < 0 else 0
        rationale.append(
            f"Growth: 3-year revenue growth {fmt_pct(growth, signed=True)} a year: {delta:+d}."
        )
    fcf_delta = -1 if s.free_cash_flow is not None and s.free_cash_flow < 0 else 0
    rationale.append(
        f"Free cash flow: {fmt_large_money(s.free_cash_flow, s.currency)}: {fcf_delta:+d}."
    )
    return delta + fcf_delta


def _peer_valuation(peers: PeerComparison | None, rationale: list[str]) -> int:
    """The peer-valuation rule (P/E percentile among sector peers)."""
    rank = next((r for r in peers.ranks if r.metric == "P/E"), None) if peers else None
    if rank is None or rank.percentile is None:
        rationale.append("Peer valuation: n/a (no peers or no positive P/E): +0.")
        return 0
    pct = rank.percentile
    delta = 1 if pct <= PEER_CHEAP else -1 if pct >= PEER_DEAR else 0
    rationale.append(
        f"Peer valuation: P/E at the {pct:.0f}th percentile of {rank.peers_with_data} "
        f"sector peers: {delta:+d}."
    )
    return delta


def assess_risk(
    snapshot: StockSnapshot, indicators: Indicators | None = None
) -> tuple[RiskLevel, tuple[str, ...]]:
    """Risk level and the factors behind it (rules: :data:`RISK_RULES`).

    Points: volatility >= 40 % (+2) or >= 25 % (+1); beta >= 1.3 (+1, the
    computed 1-year beta, else the provider's); drawdown from the 52-week
    high >= 25 % (+2) or >= 10 % (+1); maximum 1-year drawdown >= 30 % (+1);
    P/E > 40 (+1); negative EPS (+1); debt-to-equity >= 2 (+1).
    0-1 LOW, 2-3 MEDIUM, 4+ HIGH.
    """
    if indicators is None:
        indicators = compute_indicators(snapshot)[0]
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
    beta, basis = (
        (indicators.beta_1y, f"1 year of daily returns vs {indicators.benchmark_symbol}")
        if indicators.beta_1y is not None
        else (s.beta, "provider")
    )
    if beta is not None and beta >= RISK_BETA:
        points += 1
        factors.append(f"Beta {fmt_ratio(beta)} ({basis}): moves more than the market (+1).")
    # As with the earnings outlook, thresholds are applied as multiples of the high so
    # that a price exactly 10 % below it counts in floating point.
    drawdown = 1.0 - s.current_price / s.week52_high if s.week52_high > 0 else 0.0
    if s.current_price <= s.week52_high * (1.0 - RISK_DRAWDOWN_DEEP):
        points += 2
        factors.append(f"Deep drawdown: {fmt_pct(drawdown)} below the 52-week high (+2).")
    elif s.current_price <= s.week52_high * (1.0 - RISK_DRAWDOWN):
        points += 1
        factors.append(f"Drawdown: {fmt_pct(drawdown)} below the 52-week high (+1).")
    worst = indicators.max_drawdown_1y
    if worst is not None and worst >= RISK_MAX_DRAWDOWN:
        points += 1
        factors.append(
            f"Maximum 1-year drawdown {fmt_pct(worst)} ({indicators.drawdown_peak_day} to "
            f"{indicators.drawdown_trough_day}) (+1)."
        )
    if s.pe_ratio is not None and s.pe_ratio > RISK_PE:
        points += 1
        factors.append(f"Rich valuation: P/E {fmt_ratio(s.pe_ratio)} (+1).")
    if s.eps is not None and s.eps < 0:
        points += 1
        factors.append(f"Negative earnings: EPS {fmt_money(s.eps, s.currency)} (+1).")
    if s.debt_to_equity is not None and s.debt_to_equity >= RISK_LEVERAGE:
        points += 1
        factors.append(f"High leverage: debt-to-equity {fmt_ratio(s.debt_to_equity)} (+1).")
    level: RiskLevel = (
        "LOW" if points <= RISK_LOW_MAX else "MEDIUM" if points <= RISK_MEDIUM_MAX else "HIGH"
    )
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


def analyze(
    snapshot: StockSnapshot, *, risk_free_rate: float = DEFAULT_RISK_FREE_RATE
) -> StockAnalysis:
    """The full verdict for one snapshot; pure and deterministic.

    ``risk_free_rate`` (annual fraction) is the Sharpe ratio's; the report
    states it.
    """
    indicators, sources = compute_indicators(snapshot, risk_free_rate=risk_free_rate)
    peers, peer_sources = compare_with_peers(snapshot)
    technical = analyze_technical(snapshot, indicators)
    fundamental = analyze_fundamental(snapshot, peers)
    risk, factors = assess_risk(snapshot, indicators)
    return StockAnalysis(
        symbol=snapshot.symbol,
        technical=technical,
        fundamental=fundamental,
        risk_level=risk,
        risk_factors=factors,
        outlook=outlook_for(technical.score, fundamental.score, risk),
        indicators=indicators,
        peer_comparison=peers,
        sources={**sources, **peer_sources},
    )
