"""Records for tests, built once here: crafted snapshots, simulated records, session records.

The simulated provider is deterministic per ticker and date, so a record built
here is the same in every test and every process.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from stock_agent import formatting
from stock_agent.analysis import analyze
from stock_agent.market_data import build_snapshot, get_provider
from stock_agent.memory.session import SessionRecord
from stock_agent.records import Narrative, PricePoint, ReportRef, StockAnalysis, StockSnapshot
from stock_agent.tools import analyze_stock_performance

CRAFTED_AS_OF = date(2025, 9, 5)
SESSION_AS_OF = date(2026, 11, 30)


def crafted_snapshot(closes: list[float], **metrics: object) -> StockSnapshot:
    """A snapshot of the made-up ``EDGE`` whose daily closes (one per weekday, ending on
    :data:`CRAFTED_AS_OF`) and metrics are exactly the ones given: rules are tested on it
    one input at a time."""
    days: list[date] = []
    day = CRAFTED_AS_OF
    while len(days) < len(closes):
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    prices = [PricePoint(d, c, 1000) for d, c in zip(reversed(days), closes, strict=True)]
    return build_snapshot(
        symbol="EDGE",
        company_name="Edge Co",
        sector="Testing",
        industry="Edges",
        currency="USD",
        data_source="simulated",
        prices=prices,
        market_cap=1e9,
        **metrics,  # type: ignore[arg-type]
    )


def simulated_record(
    symbol: str, *, as_of: date, track_record: bool = False
) -> tuple[StockSnapshot, StockAnalysis]:
    """The simulated provider's snapshot of ``symbol`` on ``as_of`` and its analysis;
    ``track_record=True``: with the track record, as the agent's analysis stage computes it."""
    provider = get_provider("simulated")
    snapshot = provider.snapshot(symbol, as_of=as_of)
    if track_record:
        return snapshot, analyze_stock_performance(snapshot, provider=provider)
    return snapshot, analyze(snapshot)


def copied_figures_text(snapshot: StockSnapshot, analysis: StockAnalysis) -> str:
    """A narrative that quotes key figures exactly as formatted (the number check passes it)."""
    fig = dict(formatting.key_figures(snapshot, analysis))
    return (
        f"{snapshot.company_name} trades at {fig['Current Price']} with a P/E of "
        f"{fig['P/E Ratio']}. Year to date the shares returned {fig['YTD Return']}, and the "
        f"52-week high is {fig['52-Week High']}. Risk is {analysis.risk_level.lower()}."
    )


def session_record(symbol: str) -> SessionRecord:
    """What a session remembers of one analysed ticker (simulated, deterministic narrative)."""
    snapshot, analysis = simulated_record(symbol, as_of=SESSION_AS_OF)
    return SessionRecord(
        snapshot=snapshot,
        analysis=analysis,
        narrative=Narrative(text=f"{symbol} narrative", source="deterministic"),
        report=ReportRef(uri=f"file:///r/{symbol}.pdf", key=f"k/{symbol}.pdf", bytes=1, sha256="0"),
        generated_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
    )
