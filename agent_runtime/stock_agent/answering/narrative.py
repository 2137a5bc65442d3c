"""The analyst narrative: written by the model, checked against the record.

The model sees only the formatted figures of one ticker's record
(:func:`stock_agent.prompts.narrative_payload`) and is asked through
:func:`~stock_agent.answering.checked_text.ask_checked_text` with the
narrative's call profile: whatever it writes passes the number check or is
asked for again with the reason (two calls per ticker at most), else the
deterministic narrative built from the same record is used. So no figure in a
report is not in the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from .. import formatting
from ..models.types import CallProfile, ModelClient
from ..prompts import narrative_payload, narrative_turns
from ..records import Narrative, StockAnalysis, StockSnapshot
from .checked_text import TextAttempt, TextRequest, ask_checked_text
from .number_check import allowed_figures


@dataclass(frozen=True)
class NarrativeTrace:
    """What the narrative was written from and every answer the model gave.

    ``payload`` is the JSON the model saw; ``allowed`` the normalised figures
    the number check accepted. Both are computed once here and reused by the
    run record, the dataset builder and the reward.
    """

    payload: dict[str, Any]
    allowed: frozenset[str]
    attempts: tuple[TextAttempt, ...] = ()


@dataclass(frozen=True)
class NarrativeOutcome:
    """A narrative plus why the model was not used, when it could not be reached."""

    narrative: Narrative
    # Set when the model could not be reached (the response's "degraded" reason).
    unavailable_reason: str | None = None
    trace: NarrativeTrace | None = None
    # Set when the model was starting after scale-to-zero: seconds until it should answer.
    model_starting_eta_s: float | None = None


_TREND_PHRASES = {
    "uptrend": "in an uptrend",
    "downtrend": "in a downtrend",
    "sideways": "moving sideways",
}
_SCORE_NOTE = re.compile(r"\s*\([+-]?\d+\)\.?$")


def deterministic_narrative(
    *, snapshot: StockSnapshot, analysis: StockAnalysis, key_figures: list[tuple[str, str]]
) -> str:
    """A plain narrative assembled from the record alone (no model).

    Every figure is one of ``key_figures`` (already formatted), so it passes
    the number check by construction (a test checks it).
    """
    fig = dict(key_figures)

    def f(label: str) -> str:
        return fig.get(label, formatting.NA)

    tech, fund = analysis.technical, analysis.fundamental
    trend = _TREND_PHRASES.get(tech.trend, tech.trend)
    valuation = (
        "cannot be judged from the available data"
        if fund.valuation == "unknown"
        else f"looks {fund.valuation}"
    )
    factors = [
        _SCORE_NOTE.sub("", factor).rstrip(".")
        for factor in analysis.risk_factors
        if not factor.lower().startswith("risk points")
    ]
    paragraphs = [
        f"{snapshot.company_name} ({snapshot.symbol}) closed at {f('Current Price')}, within a "
        f"52-week range of {f('52-Week Low')} to {f('52-Week High')}. The stock is {trend} "
        f"with {tech.momentum} momentum: {f('1-Month Return')} over one month, "
        f"{f('3-Month Return')} over three months and {f('YTD Return')} year to date. "
        f"Annualized volatility of {f('Volatility (Annualized)')} is {tech.volatility_level}.",
        f"At a P/E of {f('P/E Ratio')} (forward {f('Forward P/E')}) the valuation {valuation}. "
        f"Profitability is {fund.profitability}, with a profit margin of {f('Profit Margin')}, "
        f"and income is {fund.income}, with a dividend yield of {f('Dividend Yield')}.",
        f"Technical score {formatting.fmt_score(tech.score)}, fundamental score "
        f"{formatting.fmt_score(fund.score)}, risk level {analysis.risk_level}"
        + (" (" + "; ".join(factors) + ")" if factors else "")
        + f". Overall outlook: {analysis.outlook}.",
        "This narrative was assembled from the structured data without a language model; "
        "it is not investment advice.",
    ]
    return "\n\n".join(paragraphs)


def write_narrative(
    *,
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    model: ModelClient,
    profile: CallProfile,
    use_model: bool = True,
) -> NarrativeOutcome:
    """The narrative of one ticker: the model's checked text, else the deterministic one.

    ``use_model=False`` skips the model (offline, or it already failed for
    another ticker of this request) without counting as a rejection.
    """
    rows = formatting.key_figures(snapshot, analysis)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    fallback = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    checked = ask_checked_text(
        model,
        profile,
        TextRequest(
            subject=f"the narrative of {snapshot.symbol}",
            turns=tuple(narrative_turns(payload)),
            allowed=allowed,
            fallback=fallback,
        ),
        use_model=use_model,
    )
    # The record keeps the text and its cost; the attempts go into the trace.
    kept = {f.name: getattr(checked, f.name) for f in fields(Narrative)}
    return NarrativeOutcome(
        narrative=Narrative(**kept),
        unavailable_reason=checked.unavailable_reason,
        trace=NarrativeTrace(payload=payload, allowed=allowed, attempts=checked.attempts),
        model_starting_eta_s=checked.model_starting_eta_s,
    )
