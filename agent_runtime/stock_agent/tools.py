"""The three agents' tools: plain functions over the typed records, called by the nodes.

``gather_stock_data`` (Data Gathering Agent), ``analyze_stock_performance``
(Stock Performance Analyzer Agent) and ``generate_stock_report`` (Stock
Report Generation Agent) take and return records; the graph's nodes call them
directly, in a fixed order (docs/decisions.md). The benchmark's ReAct baseline
wraps the same functions as LangChain tools (``bench/react_tools.py``) to
measure the model-driven alternative.

Errors of the domain modules become :class:`~stock_agent.errors.AgentError`
with the contract's codes. Each call is a tool span
(:func:`stock_agent.observability.tracing.tool_span`) with its arguments and
a short summary of its result, which AgentCore's tool evaluators read.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime

from . import analysis as analysis_mod
from .analysis import track_record
from .errors import AgentError
from .market_data import MarketDataError, MarketDataProvider, UnknownTickerError
from .observability.tracing import tool_span
from .records import Narrative, ReportRef, StockAnalysis, StockSnapshot
from .reports import render_pool, storage

logger = logging.getLogger(__name__)


def gather_stock_data(symbol: str, *, provider: MarketDataProvider, as_of: date) -> StockSnapshot:
    """Data Gathering Agent: the provider's snapshot of ``symbol`` as of ``as_of``.

    Raises ``unknown_ticker`` (422) or ``market_data_unavailable`` (503).
    """
    arguments = {"symbol": symbol, "as_of": as_of.isoformat()}
    with tool_span("gather_stock_data", arguments=arguments) as result:
        try:
            snapshot = provider.snapshot(symbol, as_of=as_of)
        except UnknownTickerError as err:
            raise AgentError("unknown_ticker", str(err)) from err
        except MarketDataError as err:
            retry = " (temporary; try again)" if err.retryable else ""
            raise AgentError(
                "market_data_unavailable", f"market data for {symbol} unavailable: {err}{retry}"
            ) from err
        result(
            {
                "symbol": snapshot.symbol,
                "company": snapshot.company_name,
                "as_of": snapshot.as_of.isoformat(),
                "data_source": snapshot.data_source,
                "daily_prices": len(snapshot.prices),
            }
        )
        return snapshot


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
    arguments = {"symbol": snapshot.symbol, "risk_free_rate": risk_free_rate}
    with tool_span("analyze_stock_performance", arguments=arguments) as result:
        analysis = _analysis(snapshot, risk_free_rate=risk_free_rate, provider=provider)
        result(
            {
                "technical_score": analysis.technical.score,
                "fundamental_score": analysis.fundamental.score,
                "risk_level": analysis.risk_level,
                "outlook": analysis.outlook,
            }
        )
        return analysis


def _analysis(
    snapshot: StockSnapshot, *, risk_free_rate: float, provider: MarketDataProvider | None
) -> StockAnalysis:
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
    arguments = {"symbol": snapshot.symbol, "request_id": request_id}
    with tool_span("generate_stock_report", arguments=arguments) as result:
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
            ref = store.put(key=key, data=data, metadata=metadata)
        except storage.StorageError as err:
            code = err.code if err.code == "report_write_failed" else "report_upload_failed"
            raise AgentError(
                code, f"the report for {snapshot.symbol} could not be stored: {err.message}"
            ) from err
        result({"uri": ref.uri, "key": ref.key, "bytes": ref.bytes})
        return ref
