"""The number check: model-written text may quote only figures it was given.

Every numeric token of the text must be one of the allowed figures, after
:func:`stock_agent.formatting.normalize_number_token` (signs kept: a loss
written as a gain is caught); the text must be non-empty and at most
:data:`MAX_NARRATIVE_CHARS`. The allowed figures are a record's own
(:func:`stock_agent.formatting.allowed_numbers`) plus every figure in the
input the model saw, so a model that copies from its input is never rejected
for it. The agent's narratives, comparisons and answers, the evaluation
harness, the dataset builder and the reward all use this one check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import formatting
from ..records import StockAnalysis, StockSnapshot

MAX_NARRATIVE_CHARS = 4000


def _normalized(token: str) -> str:
    """The canonical token (signs kept: a loss written as a gain is caught)."""
    try:
        return formatting.normalize_number_token(token)
    except ValueError:
        return token


def allowed_figures(
    *, snapshot: StockSnapshot, analysis: StockAnalysis, payload: dict[str, Any] | None = None
) -> frozenset[str]:
    """The normalised figures a text about one ticker may contain.

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


def public_reason(rejection: str | None) -> str:
    """The rejection as shown to users: never repeats the invented figures themselves."""
    if rejection and rejection.startswith(_INVENTED):
        count = rejection.count(",") + 1
        return f"it quoted {count} figure{'s' if count > 1 else ''} not in the data"
    return rejection or "rejected"
