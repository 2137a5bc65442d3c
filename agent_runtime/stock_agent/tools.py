"""The three agents' tools: pure functions over the typed records, and LangChain tools.

``gather_stock_data`` (Data Gathering Agent), ``analyze_stock_performance``
(Stock Performance Analyzer Agent) and ``generate_stock_report`` (Stock
Report Generation Agent) are plain functions that take and return records;
the graph calls them directly. :func:`build_tools` wraps the same functions
as LangChain ``StructuredTool``s so a ReAct-style agent (the benchmark's
baseline) can bind them: those tools take only symbols and keep the records
in a per-request :class:`ToolSession`, so no tool ever re-parses another
tool's text and a model never re-types a figure.

Errors of the domain modules become :class:`~stock_agent.errors.AgentError`
with the contract's codes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from . import analysis as analysis_mod
from . import formatting, render_pool, storage
from .analysis import track_record
from .errors import AgentError
from .market_data import MarketDataError, MarketDataProvider, UnknownTickerError
from .narrative import allowed_figures, check_narrative
from .prompts import narrative_payload
from .records import Narrative, ReportRef, StockAnalysis, StockSnapshot, to_jsonable

logger = logging.getLogger(__name__)


def gather_stock_data(symbol: str, *, provider: MarketDataProvider, as_of: date) -> StockSnapshot:
    """Data Gathering Agent: the provider's snapshot of ``symbol`` as of ``as_of``.

    Raises ``unknown_ticker`` (422) or ``market_data_unavailable`` (503).
    """
    try:
        return provider.snapshot(symbol, as_of=as_of)
    except UnknownTickerError as err:
        raise AgentError("unknown_ticker", str(err)) from err
    except MarketDataError as err:
        retry = " (temporary; try again)" if err.retryable else ""
        raise AgentError(
            "market_data_unavailable", f"market data for {symbol} unavailable: {err}{retry}"
        ) from err


def analyze_stock_performance(
    snapshot: StockSnapshot,
    *,
    risk_free_rate: float = analysis_mod.DEFAULT_RISK_FREE_RATE,
    provider: MarketDataProvider | None = None,
) -> StockAnalysis:
    """Stock Performance Analyzer Agent: technical, fundamental and risk verdicts.

    ``risk_free_rate`` (annual fraction) is the Sharpe ratio's. With a
    ``provider`` the analysis also carries the ticker's track record (its
    technical score recomputed at past month ends); a record that cannot be
    computed says why and never fails the analysis.
    """
    result = analysis_mod.analyze(snapshot, risk_free_rate=risk_free_rate)
    if provider is None:
        return result
    try:
        record = analysis_mod.track_record_for(provider, snapshot.symbol, as_of=snapshot.as_of)
    except Exception:  # a fault in an optional section degrades that section only
        logger.exception("%s: the track record failed", snapshot.symbol)
        record = track_record.unavailable(
            snapshot.symbol,
            data_source=snapshot.data_source,
            as_of=snapshot.as_of,
            reason="the track record could not be computed (internal error, logged)",
        )
    return dataclasses.replace(result, track_record=record)


def generate_stock_report(
    *,
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    store: storage.ReportStore,
    generated_at: datetime,
    request_id: str,
) -> ReportRef:
    """Stock Report Generation Agent: render the PDF and store it under a fresh key.

    The key is ``YYYY/MM/DD/{SYMBOL}_Stock_Report_{YYYYmmdd_HHMMSS}_{suffix}.pdf``
    (UTC) with a random suffix, so a retry never overwrites another report.
    Raises ``report_upload_failed`` (502, S3) or ``report_write_failed`` (500,
    local folder) when the store fails.
    """
    # In a worker process when the server runs a render pool, else here.
    data = render_pool.render_report(
        snapshot=snapshot,
        analysis=analysis,
        narrative=narrative,
        generated_at=generated_at,
        request_id=request_id,
    )
    key = storage.build_report_key(
        symbol=snapshot.symbol,
        generated_at=generated_at,
        unique_suffix=storage.new_unique_suffix(),
    )
    metadata = {
        "symbol": snapshot.symbol,
        "request-id": request_id,
        "narrative-source": narrative.source,
        "as-of": snapshot.as_of.isoformat(),
    }
    try:
        return store.put(key=key, data=data, metadata=metadata)
    except storage.StorageError as err:
        code = err.code if err.code == "report_write_failed" else "report_upload_failed"
        raise AgentError(
            code, f"the report for {snapshot.symbol} could not be stored: {err.message}"
        ) from err


# ---------------------------------------------------------------------------
# LangChain tools for a model-driven (ReAct) agent
# ---------------------------------------------------------------------------


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
