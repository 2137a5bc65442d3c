"""The three agents' tools as LangChain tools, for the ReAct baseline only.

:func:`build_tools` wraps the agent's plain tool functions
(:mod:`stock_agent.tools`, which the graph's nodes call directly) as LangChain
``StructuredTool``s so the model-driven loop of :mod:`bench.react_baseline` can
bind them. Those tools take only symbols and keep the records in a per-request
:class:`ToolSession`, so no tool ever re-parses another tool's text and a model
never re-types a figure.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from stock_agent import formatting
from stock_agent.answering.number_check import allowed_figures, check_narrative
from stock_agent.errors import AgentError
from stock_agent.market_data import MarketDataProvider
from stock_agent.prompts import narrative_payload
from stock_agent.records import Narrative, ReportRef, StockAnalysis, StockSnapshot, to_jsonable
from stock_agent.reports import storage
from stock_agent.tools import analyze_stock_performance, gather_stock_data, generate_stock_report


@dataclass
class ToolSession:
    """Records produced by the tools of one request, keyed by symbol."""

    provider: MarketDataProvider
    store: storage.ReportStore
    request_id: str
    as_of: date = field(default_factory=lambda: datetime.now(UTC).date())
    snapshots: dict[str, StockSnapshot] = field(default_factory=dict)
    analyses: dict[str, StockAnalysis] = field(default_factory=dict)
    reports: dict[str, ReportRef] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _error_result(err: AgentError) -> dict[str, Any]:
    return {"error": {"code": err.code, "message": err.message}}


def build_tools(session: ToolSession) -> list[BaseTool]:
    """The three tools bound to ``session``: symbol in, JSON-ready dict out.

    Tool results carry the formatted key figures (the only text a model
    should quote) plus the record as data. Errors are returned as
    ``{"error": {...}}`` results, not raised, so a tool-calling model can
    react to an unknown ticker.
    """

    def gather(symbol: str) -> dict[str, Any]:
        """Gather market data (price history, valuation, fundamentals) for one stock ticker."""
        try:
            snapshot = gather_stock_data(symbol, provider=session.provider, as_of=session.as_of)
        except AgentError as err:
            return _error_result(err)
        with session._lock:
            session.snapshots[snapshot.symbol] = snapshot
        data = to_jsonable(snapshot)
        data.pop("prices", None)
        if data.get("benchmark"):  # the benchmark's daily series is as long as the ticker's
            data["benchmark"].pop("prices", None)
        return {"symbol": snapshot.symbol, "data": data}

    def analyze(symbol: str) -> dict[str, Any]:
        """Analyze the performance of a ticker whose data was gathered: trend, scores, risk."""
        snapshot = session.snapshots.get(symbol.strip().upper())
        if snapshot is None:
            return {"error": {"code": "no_data", "message": f"gather_stock_data({symbol}) first"}}
        result = analyze_stock_performance(snapshot, provider=session.provider)
        with session._lock:
            session.analyses[snapshot.symbol] = result
        return {
            "symbol": snapshot.symbol,
            "analysis": to_jsonable(result),
            "key_figures": dict(formatting.key_figures(snapshot, result)),
        }

    def report(symbol: str, narrative: str) -> dict[str, Any]:
        """Generate and store the PDF report of an analysed ticker with your narrative."""
        key = symbol.strip().upper()
        snapshot, result = session.snapshots.get(key), session.analyses.get(key)
        if snapshot is None or result is None:
            return {
                "error": {
                    "code": "no_analysis",
                    "message": f"gather_stock_data and analyze_stock_performance({symbol}) first",
                }
            }
        # The same number check as the graph's narrative stage: no invented figures.
        payload = narrative_payload(
            snapshot=snapshot,
            analysis=result,
            key_figures=formatting.key_figures(snapshot, result),
        )
        allowed = allowed_figures(snapshot=snapshot, analysis=result, payload=payload)
        rejection = check_narrative(narrative, allowed=allowed)
        if rejection is not None:
            return {"error": {"code": "narrative_rejected", "message": rejection}}
        try:
            ref = generate_stock_report(
                snapshot=snapshot,
                analysis=result,
                narrative=Narrative(text=narrative.strip(), source="model"),
                store=session.store,
                generated_at=datetime.now(UTC),
                request_id=session.request_id,
            )
        except AgentError as err:
            return _error_result(err)
        with session._lock:
            session.reports[key] = ref
        return {"symbol": key, "report": to_jsonable(ref)}

    return [
        StructuredTool.from_function(gather, name="gather_stock_data"),
        StructuredTool.from_function(analyze, name="analyze_stock_performance"),
        StructuredTool.from_function(report, name="generate_stock_report"),
    ]
