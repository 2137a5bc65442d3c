"""The records as JSON (the response and the checkpointed state read them this way), and what
a narrative written without a model counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from stock_agent.records import Headline, Narrative, ReportRef, to_jsonable


def test_a_narrative_without_a_model_counts_no_calls_and_no_tokens() -> None:
    narrative = Narrative(text="Written by the rules.", source="deterministic")
    assert (narrative.model_calls, narrative.prompt_tokens, narrative.completion_tokens) == (
        0,
        0,
        0,
    )
    assert narrative.warnings == ()


def test_records_become_plain_json() -> None:
    value = {
        "report": ReportRef(uri="file:///r.pdf", key="2026/11/30/r.pdf", bytes=3, sha256="ab"),
        "when": datetime(2026, 11, 30, 14, 21, 10, tzinfo=UTC),
        "day": date(2026, 11, 30),
        "news": (Headline("Title", "Wire", "https://example.com", "2026-11-29"),),
        7: [1.5, None, "x"],
    }
    assert to_jsonable(value) == {
        "report": {"uri": "file:///r.pdf", "key": "2026/11/30/r.pdf", "bytes": 3, "sha256": "ab"},
        "when": "2026-11-30T14:21:10+00:00",
        "day": "2026-11-30",
        "news": [
            {
                "title": "Title",
                "publisher": "Wire",
                "url": "https://example.com",
                "published": "2026-11-29",
            }
        ],
        "7": [1.5, None, "x"],
    }


def test_a_record_class_is_left_as_it_is() -> None:
    """Only record instances are converted; the class itself is not a record."""
    assert to_jsonable(ReportRef) is ReportRef
