"""Run records: one JSON document per report, stored next to the PDF under the same key.

A run record keeps what a later training or evaluation step needs and the
report does not: the request, the structured record the narrative was
written from (the exact JSON the model saw and the figures the number check
allowed), the prompt messages, every model answer with the number check's
verdict and reason, the final narrative, the model and adapter, and timings.

It never holds a secret or who asked: no API key, no credentials in a URL,
no session id; the caller is an unsalted SHA-256 prefix of the session id
(``actor``), enough to group one caller's runs, not to name them.

Writing one is best effort: the PDF is already stored when the record is
written, so a failure is logged and the report stands. ``RUN_RECORDS=false``
turns them off. :func:`parse_run_record` is the reader (datasets, eval): it
validates the shape and raises :class:`RunRecordError` naming what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .. import bounded_json
from ..answering.narrative import NarrativeTrace
from ..prompts import narrative_messages
from ..records import Narrative, ReportRef, StockAnalysis, StockSnapshot, to_jsonable
from ..reports import storage
from ..settings import AgentSettings

logger = logging.getLogger(__name__)

SCHEMA = "stock-agent/run-record/v1"
MAX_RECORD_BYTES = 2_000_000
_ACTOR_CHARS = 16


class RunRecordError(ValueError):
    """A run record cannot be used; the message names the field and what was expected."""


def hash_actor(session_id: str | None) -> str | None:
    """A short SHA-256 prefix of the caller's session id (``None`` without one)."""
    if not session_id:
        return None
    digest = hashlib.sha256(f"stock-agent-actor:{session_id}".encode()).hexdigest()
    return digest[:_ACTOR_CHARS]


def _endpoint_without_secrets(url: str | None) -> str | None:
    """Scheme, host and path of a model URL: user:password and query never leave."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def model_description(ctx: AgentSettings) -> dict[str, Any]:
    """Which model served the run: provider, where, the base name and the adapter."""
    where: str | None
    if ctx.model_provider == "sagemaker":
        where = f"{ctx.sagemaker_endpoint_name}/{ctx.sagemaker_inference_component}"
    elif ctx.model_provider == "openai":
        where = _endpoint_without_secrets(ctx.openai_base_url)
    else:
        where = None
    return {
        "provider": ctx.model_provider,
        "endpoint": where,
        "base_model": ctx.openai_model,
        "adapter": ctx.model_adapter,
        "requested_model": ctx.served_model if ctx.model_provider != "offline" else None,
    }


def _snapshot_summary(snapshot: StockSnapshot) -> dict[str, Any]:
    """The snapshot without its price history (the figures derived from it stay)."""
    data: dict[str, Any] = to_jsonable(snapshot)
    data.pop("prices", None)
    data["price_points"] = len(snapshot.prices)
    return data


def build_run_record(
    *,
    request_id: str,
    prompt: str,
    intent: str | None,
    tickers: list[str],
    session_id: str | None,
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    trace: NarrativeTrace | None,
    report: ReportRef,
    ctx: AgentSettings,
    timings_ms: Mapping[str, float],
    created_at: datetime,
) -> dict[str, Any]:
    """The JSON-ready run record of one ticker of one request."""
    attempts = trace.attempts if trace is not None else ()
    if attempts:
        first_messages = list(attempts[0].messages)
    elif trace is not None:  # no model answer: the prompt it would have had (GRPO prompts)
        first_messages = narrative_messages(trace.payload)
    else:
        first_messages = []
    return {
        "schema": SCHEMA,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "request": {
            "request_id": request_id,
            "prompt": prompt,
            "intent": intent,
            "tickers": list(tickers),
            "actor": hash_actor(session_id),
        },
        "symbol": snapshot.symbol,
        "report": {"key": report.key, "bytes": report.bytes, "sha256": report.sha256},
        "record": {
            "snapshot": _snapshot_summary(snapshot),
            "analysis": to_jsonable(analysis),
            "narrative_input": trace.payload if trace is not None else None,
            "allowed_figures": sorted(trace.allowed) if trace is not None else [],
        },
        "prompt_messages": first_messages,
        "answers": [
            {
                "attempt": a.attempt,
                # A retry's messages extend the first ones with the rejection.
                "extra_messages": list(a.messages[len(first_messages) :]),
                "content": a.answer,
                "passed": a.passed,
                "reason": a.reason,
                "finish_reason": a.finish_reason,
                "reasoning_chars": a.reasoning_chars,
                "prompt_tokens": a.prompt_tokens,
                "completion_tokens": a.completion_tokens,
                "latency_ms": a.latency_ms,
                "served_model": a.served_model,
            }
            for a in attempts
        ],
        "narrative": {
            "text": narrative.text,
            "source": narrative.source,
            "model_calls": narrative.model_calls,
            "prompt_tokens": narrative.prompt_tokens,
            "completion_tokens": narrative.completion_tokens,
        },
        "model": model_description(ctx),
        "timings_ms": dict(timings_ms),
    }


def encode(record: Mapping[str, Any]) -> bytes:
    """Stable, compact UTF-8 JSON (sorted keys: the same run gives the same bytes)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def store_run_record(
    *,
    ctx: AgentSettings,
    store: storage.ReportStore,
    state: Mapping[str, Any],
    symbol: str,
    report: ReportRef,
    extra_timings_ms: Mapping[str, float] | None = None,
) -> str | None:
    """Write the run record of ``symbol`` next to its report; its key, or ``None``.

    Off when ``ctx.run_records`` is false. Any failure is logged and swallowed:
    the report is already stored and must reach the caller.
    """
    if not ctx.run_records:
        return None
    try:
        key = storage.run_record_key(report.key)
        record = build_run_record(
            request_id=state["request_id"],
            prompt=state["prompt"],
            intent=state.get("intent"),
            tickers=list(state.get("tickers", [])),
            session_id=state.get("session_id"),
            snapshot=state["snapshots"][symbol],
            analysis=state["analyses"][symbol],
            narrative=state["narratives"][symbol],
            trace=state.get("narrative_traces", {}).get(symbol),
            report=report,
            ctx=ctx,
            timings_ms={**state.get("timings_ms", {}), **(extra_timings_ms or {})},
            created_at=datetime.now(UTC),
        )
        data = encode(record)
        if len(data) > MAX_RECORD_BYTES:
            raise RunRecordError(f"run record has {len(data)} bytes; limit {MAX_RECORD_BYTES}")
        store.put(key=key, data=data, metadata={"symbol": symbol, "kind": "run-record"})
    except Exception as exc:  # the report stands whatever happens here
        logger.warning(
            "run record not stored",
            extra={"symbol": symbol, "report_key": report.key, "why": f"{type(exc).__name__}"},
            exc_info=not isinstance(exc, (storage.StorageError, RunRecordError)),
        )
        return None
    return key


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


def parse_run_record(data: bytes | str) -> dict[str, Any]:
    """A validated run record; :class:`RunRecordError` says what is missing or wrong.

    Checks what consumers rely on: the schema, a symbol, the narrative input
    and allowed figures, the prompt messages, each answer's content and
    verdict, and the final narrative.
    """
    try:
        record = bounded_json.loads(data)
    except bounded_json.JsonTooDeep as exc:
        raise RunRecordError(f"too deep: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunRecordError(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RunRecordError("expected a JSON object")
    if record.get("schema") != SCHEMA:
        raise RunRecordError(f"schema {record.get('schema')!r}: expected {SCHEMA!r}")
    symbol = record.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise RunRecordError("symbol: expected a non-empty string")
    inner = record.get("record")
    if not isinstance(inner, dict) or not isinstance(inner.get("narrative_input"), dict):
        raise RunRecordError("record.narrative_input: expected an object")
    allowed = inner.get("allowed_figures")
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise RunRecordError("record.allowed_figures: expected a list of strings")
    messages = record.get("prompt_messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in messages
    ):
        raise RunRecordError("prompt_messages: expected a list of {role, content} objects")
    answers = record.get("answers")
    if not isinstance(answers, list):
        raise RunRecordError("answers: expected a list")
    for i, answer in enumerate(answers):
        if not (
            isinstance(answer, dict)
            and isinstance(answer.get("content"), str)
            and isinstance(answer.get("passed"), bool)
            and isinstance(answer.get("attempt"), int)
        ):
            raise RunRecordError(f"answers[{i}]: expected content (str), passed, attempt")
    if answers and not messages:
        raise RunRecordError("prompt_messages: empty although the model answered")
    narrative = record.get("narrative")
    if not isinstance(narrative, dict) or not isinstance(narrative.get("text"), str):
        raise RunRecordError("narrative.text: expected a string")
    return record
