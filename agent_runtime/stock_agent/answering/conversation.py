"""A turn's answer: the model writes it from the plan's figures, or the records do.

The plan (:mod:`stock_agent.understanding.plan`) says what is asked; the
deterministic answer (:mod:`stock_agent.answering.answers`) answers it from
the records alone. With a model configured, the model gets the same facts,
the plan and that answer, and writes the reply in its own words through
:func:`~stock_agent.answering.checked_text.ask_checked_text` (the answer
profile's attempts, the number check, the deterministic answer as fallback).
"""

from __future__ import annotations

import logging
from typing import Any

from .. import formatting
from ..memory.session import SessionRecord
from ..models.types import CallProfile, ModelClient
from ..prompts import answer_turns, narrative_payload
from ..understanding.plan import RequestPlan
from .answers import deterministic_answer
from .checked_text import CheckedText, TextRequest, ask_checked_text
from .number_check import allowed_figures

logger = logging.getLogger(__name__)


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
    profile: CallProfile,
    use_model: bool,
) -> CheckedText:
    """The answer: the model's checked text (the profile's attempts), else the deterministic one.

    The deterministic answer passes the same number check by construction
    (every figure is a formatted record value; a test checks it).
    """
    facts = answer_facts(records, track_record_detail=asks_track_record_detail(plan, records))
    fallback = deterministic_answer(plan, records)
    request = TextRequest(
        subject="the answer",
        turns=tuple(answer_turns(prompt, facts, plan=plan.to_json(), from_records=fallback)),
        allowed=frozenset(allowed_answer_figures(records, facts)),
        fallback=fallback,
    )
    return ask_checked_text(model, profile, request, use_model=use_model)
