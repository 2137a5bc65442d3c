"""The analyst narrative: written by the model, checked against the record.

The model sees only the formatted figures of one ticker's record
(:func:`stock_agent.prompts.narrative_payload`). Whatever it writes is
checked before it reaches a report: every numeric token must be one of the
figures it was given (after :func:`stock_agent.formatting.normalize_number_token`),
the text must be non-empty and at most :data:`MAX_NARRATIVE_CHARS`. A rejected
answer is regenerated once with the reason; a second rejection, or a model
that cannot be reached, gives the deterministic narrative built from the
same record. So: at most two model calls per ticker, and no figure in a
report that is not in the record.

gpt-oss returns its chain of thought in ``reasoning_content``; it never goes
into the report (only its length is logged).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import formatting
from ..models.types import ModelClient, ModelError
from ..prompts import narrative_messages, narrative_payload
from ..records import Narrative, StockAnalysis, StockSnapshot

logger = logging.getLogger(__name__)

MAX_NARRATIVE_CHARS = 4000
MAX_MODEL_CALLS_PER_TICKER = 2


@dataclass(frozen=True)
class NarrativeAttempt:
    """One model answer and the number check's verdict on it (kept for run records)."""

    attempt: int
    messages: tuple[dict[str, Any], ...]
    answer: str
    passed: bool
    reason: str | None
    finish_reason: str | None
    reasoning_chars: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    served_model: str | None = None


@dataclass(frozen=True)
class NarrativeTrace:
    """What the narrative was written from and every answer the model gave.

    ``payload`` is the JSON the model saw; ``allowed`` the normalised figures
    the number check accepted. Both are computed once here and reused by the
    run record, the dataset builder and the reward.
    """

    payload: dict[str, Any]
    allowed: frozenset[str]
    attempts: tuple[NarrativeAttempt, ...] = ()


@dataclass(frozen=True)
class NarrativeOutcome:
    """A narrative plus why the model was not used, when it could not be reached."""

    narrative: Narrative
    # Set when the model could not be reached (the response's "degraded" reason).
    unavailable_reason: str | None = None
    trace: NarrativeTrace | None = None


def _normalized(token: str) -> str:
    """The canonical token (signs kept: a loss written as a gain is caught)."""
    try:
        return formatting.normalize_number_token(token)
    except ValueError:
        return token


def allowed_figures(
    *, snapshot: StockSnapshot, analysis: StockAnalysis, payload: dict[str, Any] | None = None
) -> frozenset[str]:
    """The normalised figures a narrative may contain.

    The record's own figures (:func:`stock_agent.formatting.allowed_numbers`)
    plus every figure in the text the model was given (labels such as
    "52-Week High", the as-of date, rationale sentences): a model that copies
    from its input is never rejected for it.
    """
    allowed = set(formatting.allowed_numbers(snapshot, analysis))
    if payload is not None:
        allowed |= payload_figures(payload)
    return frozenset(allowed)


def payload_figures(payload: Any) -> frozenset[str]:
    """The normalised figures of every string in the model's input (labels, dates, rationale)."""
    return frozenset(_normalized(t) for t in formatting.extract_number_tokens(_flatten(payload)))


def _flatten(value: Any) -> str:
    """All strings of a JSON-like value, one per line (numbers inside stay as written)."""
    if isinstance(value, dict):
        return "\n".join(f"{k}\n{_flatten(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "\n".join(_flatten(v) for v in value)
    return str(value)


_INVENTED = "it contains figures that are not in the data:"


def invented_figures(text: str, *, allowed: Iterable[str]) -> list[str]:
    """The numeric tokens of ``text`` that are not among ``allowed`` (in order, repeats kept)."""
    allowed_set = frozenset(allowed)
    return [
        tok
        for tok in formatting.extract_number_tokens(text)
        if tok not in allowed_set and _normalized(tok) not in allowed_set
    ]


def check_narrative(text: str, *, allowed: Iterable[str]) -> str | None:
    """Why ``text`` cannot go into a report, or ``None`` when it can."""
    if not text.strip():
        return "the narrative is empty"
    if len(text) > MAX_NARRATIVE_CHARS:
        return f"the narrative has {len(text)} characters; the limit is {MAX_NARRATIVE_CHARS}"
    invented = invented_figures(text, allowed=allowed)
    if invented:
        unique = list(dict.fromkeys(invented))
        return f"{_INVENTED} " + ", ".join(unique[:10])
    return None


def _public_reason(rejection: str | None) -> str:
    """The rejection as shown to users: never repeats the invented figures themselves."""
    if rejection and rejection.startswith(_INVENTED):
        count = rejection.count(",") + 1
        return f"it quoted {count} figure{'s' if count > 1 else ''} not in the data"
    return rejection or "rejected"


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
    :func:`check_narrative` by construction (a test checks it).
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
    max_tokens: int,
    deadline: float | None = None,
    use_model: bool = True,
    reasoning_effort: str | None = None,
) -> NarrativeOutcome:
    """The narrative of one ticker: model first (≤ 2 calls), deterministic fallback.

    ``use_model=False`` skips the model (offline, or it already failed for
    another ticker of this request) without counting as a rejection.
    """
    rows = formatting.key_figures(snapshot, analysis)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    attempts: list[NarrativeAttempt] = []

    def trace() -> NarrativeTrace:
        return NarrativeTrace(payload=payload, allowed=allowed, attempts=tuple(attempts))

    def fallback(
        *, calls: int, tokens: tuple[int, int], warnings: tuple[str, ...], reason: str | None
    ) -> NarrativeOutcome:
        text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
        narrative = Narrative(
            text=text,
            source="deterministic",
            model_calls=calls,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            warnings=warnings,
        )
        return NarrativeOutcome(narrative=narrative, unavailable_reason=reason, trace=trace())

    if not use_model:
        return fallback(calls=0, tokens=(0, 0), warnings=(), reason=None)

    calls = prompt_tokens = completion_tokens = 0
    rejection: str | None = None
    previous: str | None = None
    while calls < MAX_MODEL_CALLS_PER_TICKER:
        if deadline is not None and time.monotonic() >= deadline:
            reason = f"{snapshot.symbol}: request deadline reached before the narrative"
            return fallback(
                calls=calls,
                tokens=(prompt_tokens, completion_tokens),
                warnings=(reason,),
                reason=reason,
            )
        messages = narrative_messages(payload, rejection=rejection, previous=previous)
        asked = time.perf_counter()
        try:
            result = model.chat(
                messages,
                max_tokens=max_tokens,
                deadline=deadline,
                reasoning_effort=reasoning_effort,
            )
        except ModelError as err:
            # The caller reads the kind of failure; URLs and endpoint names stay in the log.
            reason = f"model unavailable for {snapshot.symbol} ({err.code}): {err.public_message}"
            logger.warning(
                "narrative model call failed; using the deterministic narrative",
                extra={
                    "symbol": snapshot.symbol,
                    "code": err.code,
                    "attempt": calls + 1,
                    "detail": err.message,
                },
            )
            return fallback(
                calls=calls + 1,
                tokens=(prompt_tokens, completion_tokens),
                warnings=(reason,),
                reason=reason,
            )
        calls += 1
        prompt_tokens += result.usage.prompt_tokens
        completion_tokens += result.usage.completion_tokens
        logger.info(
            "narrative model answer",
            extra={
                "symbol": snapshot.symbol,
                "attempt": calls,
                "content_chars": len(result.content),
                "reasoning_chars": len(result.reasoning or ""),
                "finish_reason": result.finish_reason,
            },
        )
        text = result.content.strip()
        if result.finish_reason == "length":
            # gpt-oss spends max_tokens on reasoning first; what is left may stop mid-sentence.
            rejection = "the answer was cut off at the token limit (finish_reason=length)"
        else:
            rejection = check_narrative(text, allowed=allowed)
        attempts.append(
            NarrativeAttempt(
                attempt=calls,
                messages=tuple(messages),
                answer=text,
                passed=rejection is None,
                reason=rejection,
                finish_reason=result.finish_reason,
                reasoning_chars=len(result.reasoning or ""),
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                latency_ms=round((time.perf_counter() - asked) * 1000, 1),
                served_model=result.model,
            )
        )
        if rejection is None:
            return NarrativeOutcome(
                narrative=Narrative(
                    text=text,
                    source="model",
                    model_calls=calls,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    warnings=tuple(result.warnings),
                ),
                trace=trace(),
            )
        logger.warning(
            "narrative rejected",
            extra={"symbol": snapshot.symbol, "attempt": calls, "why": rejection},
        )
        previous = text[:MAX_NARRATIVE_CHARS]
    warning = (
        f"{snapshot.symbol}: the model's narrative was rejected twice "
        f"({_public_reason(rejection)}); "
        "the deterministic narrative is used"
    )
    return fallback(
        calls=calls, tokens=(prompt_tokens, completion_tokens), warnings=(warning,), reason=None
    )
