"""The LangGraph state of one request: typed records keyed by ticker, plus bookkeeping.

Each stage adds its records (the dataclasses of :mod:`stock_agent.records`)
under the ticker's symbol; no stage stores or re-reads another stage's
text. Warnings, degraded reasons, stage timings and model-call counts have
reducers so a stage returns only what it adds.

With a checkpointer the state outlives the request: only ``session`` is
meant to carry over. Each turn starts by overwriting every per-turn key
(:func:`turn_input`, using LangGraph's ``Overwrite`` so reducers do not add
the new turn to the old one), and ``respond`` empties the per-ticker records
so a stored checkpoint holds the session and the last response only.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, Any, TypedDict

from .answering.narrative import NarrativeTrace
from .memory.session import SessionMemory
from .records import Narrative, ReportRef, StockAnalysis, StockSnapshot


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Reducer: later keys win (per-stage timings, per-ticker failures)."""
    return {**left, **right}


class TickerFailure(TypedDict):
    """Why one ticker dropped out of the request (the others go on)."""

    stage: str
    code: str
    message: str


class AgentState(TypedDict, total=False):
    """Everything the graph knows about one request."""

    # The request
    request_id: str
    session_id: str | None
    prompt: str
    # The caller's opaque actor key (memory.checkpoints.actor_key); None: no identity
    actor: str | None
    # The user's long-term memory this turn: {"identified", "profile" (UserProfile JSON)
    # when read, "unread" (why not) when the store failed}
    user: dict[str, Any]
    # understand_request (and fill_plan)
    # analyze | compare | question: the conditional edges route on it, the response reports it
    intent: str
    tickers: list[str]
    plan: dict[str, Any] | None  # the turn's RequestPlan (understanding.plan), as JSON
    # per-ticker records, keyed by symbol
    snapshots: dict[str, StockSnapshot]
    analyses: dict[str, StockAnalysis]
    narratives: dict[str, Narrative]
    narrative_traces: dict[str, NarrativeTrace]  # what each narrative was written from
    reports: dict[str, ReportRef]
    generated_at: dict[str, datetime]
    failures: Annotated[dict[str, TickerFailure], merge_dicts]
    # bookkeeping
    warnings: Annotated[list[str], operator.add]
    degraded_reasons: Annotated[list[str], operator.add]
    # Each text written without a model that was starting after scale-to-zero: seconds
    # until it should answer (the response's model_status says the longest).
    model_starting_eta_s: Annotated[list[float], operator.add]
    timings_ms: Annotated[dict[str, float], merge_dicts]
    model_calls: Annotated[int, operator.add]
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    # compare / question
    comparison: dict[str, Any] | None
    answer: str | None
    # why the turn goes straight to the response: {"code", "message"} of the contract
    error: dict[str, Any] | None
    # what the conversation remembers (JSON data; kept by the checkpointer between turns)
    session: SessionMemory
    # respond
    response: dict[str, Any]


# Keys whose reducers would add a new turn to the previous one: each turn overwrites them.
_REDUCED_DEFAULTS: dict[str, Any] = {
    "failures": {},
    "warnings": [],
    "degraded_reasons": [],
    "model_starting_eta_s": [],
    "timings_ms": {},
    "model_calls": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
}


def turn_input(
    *,
    request_id: str,
    session_id: str | None,
    prompt: str,
    warnings: list[str],
    actor: str | None = None,
) -> dict[str, Any]:
    """The graph input of one turn: every per-turn key fresh, ``session`` untouched."""
    overwrite = "__overwrite__"  # langgraph.channels.binop's sentinel, JSON-safe
    fresh: dict[str, Any] = {k: {overwrite: v} for k, v in _REDUCED_DEFAULTS.items()}
    fresh["warnings"] = {overwrite: list(warnings)}
    return {
        **fresh,
        "request_id": request_id,
        "session_id": session_id,
        "prompt": prompt,
        "actor": actor,
        "user": {"identified": actor is not None},
        "intent": "analyze",
        "tickers": [],
        "plan": None,
        "snapshots": {},
        "analyses": {},
        "narratives": {},
        "reports": {},
        "generated_at": {},
        "comparison": None,
        "answer": None,
        "error": None,
        "response": {},
    }
