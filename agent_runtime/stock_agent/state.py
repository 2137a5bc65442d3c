"""The LangGraph state of one request: typed records keyed by ticker, plus bookkeeping.

Each stage adds its records (the dataclasses of :mod:`stock_agent.records`)
under the ticker's symbol; no stage stores or re-reads another stage's
text. Warnings, degraded reasons, stage timings and model-call counts have
reducers so a stage returns only what it adds.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, Any, TypedDict

from .narrative import NarrativeTrace
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
    deadline: float  # time.monotonic() value; every stage and model call honours it
    # understand_request
    intent: str
    tickers: list[str]
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
    timings_ms: Annotated[dict[str, float], merge_dicts]
    model_calls: Annotated[int, operator.add]
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    # respond
    response: dict[str, Any]
