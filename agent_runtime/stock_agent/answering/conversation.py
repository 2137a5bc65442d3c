"""A turn's answer: the model writes it from the plan's figures, or the records do.

The plan (:mod:`stock_agent.understanding.plan`) says what is asked; the
deterministic answer (:mod:`stock_agent.answering.answers`) answers it from
the records alone. With a model configured, the model gets the same facts,
the plan and that answer, and writes the reply in its own words, once; the
number check then holds its text to the records, and a rejected or failed
call falls back to the deterministic answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from .. import formatting
from ..memory.session import SessionRecord
from ..models.types import ModelClient, ModelError
from ..prompts import answer_messages, narrative_payload
from ..understanding.plan import RequestPlan
from .answers import deterministic_answer
from .narrative import allowed_figures, check_narrative

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerOutcome:
    """A follow-up's answer and what producing it cost."""

    text: str
    source: Literal["model", "deterministic"]
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: tuple[str, ...] = ()
    unavailable_reason: str | None = None


def answer_facts(
    records: dict[str, SessionRecord], *, track_record_detail: bool = False
) -> list[dict[str, Any]]:
    """What the model may use: the same formatted facts as the narrative prompt (with the
    track record's detail when the question is about it)."""
    return [
        narrative_payload(
            snapshot=r.snapshot,
            analysis=r.analysis,
            key_figures=formatting.key_figures(r.snapshot, r.analysis),
            track_record_detail=track_record_detail,
        )
        for r in records.values()
    ]


def asks_track_record_detail(plan: RequestPlan, records: dict[str, SessionRecord]) -> bool:
    """The plan names a track-record row beyond its summary (a bucket, a recent signal)."""
    asked = set(plan.figures)
    return any(asked & formatting.track_record_detail_labels(r.analysis) for r in records.values())


def allowed_answer_figures(
    records: dict[str, SessionRecord], facts: list[dict[str, Any]]
) -> set[str]:
    allowed: set[str] = set()
    for record, payload in zip(records.values(), facts, strict=True):
        allowed |= allowed_figures(
            snapshot=record.snapshot, analysis=record.analysis, payload=payload
        )
    return allowed


def write_answer(
    *,
    prompt: str,
    plan: RequestPlan,
    records: dict[str, SessionRecord],
    model: ModelClient,
    use_model: bool,
    max_tokens: int,
    deadline: float | None,
    reasoning_effort: str | None = None,
) -> AnswerOutcome:
    """The answer: one model call at most, number-checked, else the deterministic answer.

    The deterministic answer passes the same number check by construction
    (every figure is a formatted record value; a test checks it).
    """
    facts = answer_facts(records, track_record_detail=asks_track_record_detail(plan, records))
    allowed = allowed_answer_figures(records, facts)
    fallback = deterministic_answer(plan, records)
    if not use_model:
        return AnswerOutcome(text=fallback, source="deterministic")
    try:
        result = model.chat(
            answer_messages(prompt, facts, plan=plan.to_json(), from_records=fallback),
            max_tokens=max_tokens,
            deadline=deadline,
            reasoning_effort=reasoning_effort,
        )
    except ModelError as err:
        reason = f"model unavailable for the answer ({err.code}): {err.message}"
        return AnswerOutcome(
            text=fallback, source="deterministic", model_calls=1, warnings=(reason,),
            unavailable_reason=reason,
        )  # fmt: skip
    tokens = (result.usage.prompt_tokens, result.usage.completion_tokens)
    text = result.content.strip()
    rejection = check_narrative(text, allowed=allowed)
    if rejection is not None:
        logger.warning("answer rejected", extra={"why": rejection})
        return AnswerOutcome(
            text=fallback,
            source="deterministic",
            model_calls=1,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            warnings=(
                "the model's answer was rejected (it quoted figures not in the records); "
                "the answer is built from the records",
            ),
        )
    return AnswerOutcome(
        text=text,
        source="model",
        model_calls=1,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
    )
