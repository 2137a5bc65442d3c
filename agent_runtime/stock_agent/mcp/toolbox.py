"""The five MCP tools: the agent's stages over typed arguments, answered from the records.

Each tool checks its arguments (:mod:`stock_agent.mcp.arguments`), calls the
same functions the graph's nodes call (:mod:`stock_agent.tools`, the
narrative writer, the comparison report) and answers with a
:class:`ToolOutput`: the records as JSON (``structured``, the shapes of
:mod:`stock_agent.mcp.schemas`, the same keys as the HTTP response's
``results[]``) and a short text built by the response's own section writers
(:mod:`stock_agent.contract`), so every figure reads as it does in the HTTP
answer and in the PDF.

A failure is an :class:`~stock_agent.errors.AgentError` with the code and
message the HTTP contract gives for the same fault ("SYM: unknown ticker
...", "at most 5 tickers per request; found 6: ...", a provider outage that
says to try again); the server turns it into a tool error.

No tool needs the model: the narratives are the deterministic ones unless the
server was started with a model configured, exactly as in the agent.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

from .. import deadline, formatting, tools
from ..answering.narrative import write_narrative
from ..context import Dependencies, RunContext
from ..contract import (
    DATA_SECTION_GROUPS,
    ReportJson,
    TickerResult,
    analysis_json,
    data_gathering_section,
    data_json,
    narrative_json,
    performance_analysis_section,
    report_generation_section,
    report_json,
)
from ..deadline import map_bounded
from ..errors import AgentError, internal_error
from ..memory.session import SessionRecord
from ..nodes import MAX_WORKERS, all_failed_error
from ..records import Narrative, ReportRef, StockAnalysis, StockSnapshot, to_jsonable
from ..reports.comparison import generate_comparison_report
from ..settings import AgentSettings
from ..state import TickerFailure
from .arguments import (
    checked_arguments,
    figure_argument,
    flag_argument,
    symbol_argument,
    symbols_argument,
)
from .figures import find_figure

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ToolOutput:
    """A tool's answer: the records as JSON and the short text a person (or model) reads."""

    structured: dict[str, Any]
    text: str


@dataclass(frozen=True)
class ToolSpec:
    """What ``tools/list`` says about a tool, and the method that runs it."""

    name: str
    title: str
    description: str
    read_only: bool
    run: Callable[[Toolbox, Mapping[str, Any]], ToolOutput]


class Toolbox:
    """The tools over one set of clients (provider, report store, model), built once."""

    def __init__(self, settings: AgentSettings, deps: Dependencies) -> None:
        self.settings = settings
        self.deps = deps
        # How the narratives ask the model (when one is configured), as in the agent.
        self.profiles = RunContext.build(settings, deps).profiles

    @classmethod
    def from_settings(cls, settings: AgentSettings, **clients: Any) -> Toolbox:
        """The clients ``settings`` name; any of them (``provider=``, ``store=``, ...) may be
        given instead."""
        return cls(settings, Dependencies.from_settings(settings, **clients))

    # -- the stages, per ticker --------------------------------------------

    @contextlib.contextmanager
    def one_ticker(self, symbol: str, stage: str) -> Iterator[None]:
        """A failure inside is the HTTP contract's error for a request of this ticker alone
        (``"ZZZZ: unknown ticker 'ZZZZ' ..."``)."""
        try:
            yield
        except AgentError as err:
            raise all_failed_error({symbol: _failure(stage, err)}) from err

    def snapshot(self, symbol: str) -> StockSnapshot:
        return tools.gather_stock_data(
            symbol, provider=self.deps.provider, as_of=self.deps.clock().date()
        )

    def analysis(self, snapshot: StockSnapshot, *, track_record: bool = True) -> StockAnalysis:
        """The analysis as the agent's analysis stage computes it; ``track_record=False``
        leaves out the track record (the provider's longer history) where nothing shows it."""
        return tools.analyze_stock_performance(
            snapshot,
            risk_free_rate=self.settings.risk_free_rate,
            provider=self.deps.provider if track_record else None,
        )

    def narrative(self, snapshot: StockSnapshot, analysis: StockAnalysis) -> Narrative:
        return write_narrative(
            snapshot=snapshot,
            analysis=analysis,
            model=self.deps.model,
            profile=self.profiles.narrative,
            use_model=self.deps.model_configured,
        ).narrative

    def record(self, snapshot: StockSnapshot, *, request_id: str) -> SessionRecord:
        """The rest of the pipeline for one snapshot: analysis, narrative, stored PDF."""
        analysis = self.analysis(snapshot)
        narrative = self.narrative(snapshot, analysis)
        generated_at = self.deps.clock()
        report = tools.generate_stock_report(
            snapshot=snapshot,
            analysis=analysis,
            narrative=narrative,
            store=self.deps.store,
            generated_at=generated_at,
            request_id=request_id,
        )
        return SessionRecord(snapshot, analysis, narrative, report, generated_at)

    def per_ticker(
        self, fn: Callable[[str], T], symbols: Sequence[str], *, stage: str
    ) -> dict[str, T]:
        """``fn`` over ``symbols`` side by side (as the graph's stages run); when any fails,
        the error the HTTP contract gives when every ticker fails (the most telling one)."""
        done: dict[str, T] = {}
        failures: dict[str, TickerFailure] = {}
        for symbol, outcome in map_bounded(fn, symbols, max_workers=MAX_WORKERS, stage=stage):
            if isinstance(outcome, AgentError):
                failures[symbol] = _failure(stage, outcome)
            else:
                done[symbol] = outcome
        if failures:
            raise all_failed_error(failures)
        return done

    def report_json(self, ref: ReportRef) -> ReportJson:
        """``ref`` as the contract shows it, with a presigned link where the store signs."""
        store: Any = self.deps.store
        return report_json(ref, link=store)

    # -- the tools -------------------------------------------------------------

    def gather_stock_data(self, arguments: Mapping[str, Any]) -> ToolOutput:
        args = checked_arguments(
            arguments, tool="gather_stock_data", required=("symbol",), optional=("include_history",)
        )
        symbol = symbol_argument(args["symbol"])
        include_history = flag_argument(args.get("include_history", False), name="include_history")
        with self.one_ticker(symbol, "data_gathering"):
            snapshot = self.snapshot(symbol)
            # The data section's figures are formatted from both records; no track record.
            analysis = self.analysis(snapshot, track_record=False)
        data = data_json(snapshot)
        if not include_history:
            data.pop("history")
        groups = formatting.figure_groups(snapshot, analysis)[:DATA_SECTION_GROUPS]
        return ToolOutput(
            structured={
                "symbol": symbol,
                "data": data,
                "figures": formatting.provenance_rows(groups),
            },
            text=data_gathering_section(snapshot, analysis),
        )

    def analyze_stock_performance(self, arguments: Mapping[str, Any]) -> ToolOutput:
        args = checked_arguments(arguments, tool="analyze_stock_performance", required=("symbol",))
        symbol = symbol_argument(args["symbol"])
        with self.one_ticker(symbol, "performance_analysis"):
            snapshot = self.snapshot(symbol)
            analysis = self.analysis(snapshot)
            narrative = self.narrative(snapshot, analysis)
        return ToolOutput(
            structured={
                "symbol": symbol,
                "analysis": analysis_json(analysis),
                "track_record": to_jsonable(analysis.track_record),
                "figures": formatting.figure_provenance(snapshot, analysis),
                "narrative": narrative_json(narrative),
            },
            text=performance_analysis_section(snapshot, analysis, narrative),
        )

    def generate_stock_report(self, arguments: Mapping[str, Any]) -> ToolOutput:
        args = checked_arguments(arguments, tool="generate_stock_report", required=("symbol",))
        symbol = symbol_argument(args["symbol"])
        with self.one_ticker(symbol, "report_generation"):
            snapshot = self.snapshot(symbol)
            record = self.record(snapshot, request_id=_request_id())
        ticker = TickerResult(
            symbol=symbol,
            snapshot=record.snapshot,
            analysis=record.analysis,
            narrative=record.narrative,
            report=record.report,
            generated_at=record.generated_at,
        )
        return ToolOutput(
            structured={
                "symbol": symbol,
                "as_of": record.snapshot.as_of.isoformat(),
                "generated_at": record.generated_at.astimezone(UTC).isoformat(),
                "narrative_source": record.narrative.source,
                "report": self.report_json(record.report),
            },
            text=report_generation_section(ticker),
        )

    def compare_stocks(self, arguments: Mapping[str, Any]) -> ToolOutput:
        args = checked_arguments(arguments, tool="compare_stocks", required=("symbols",))
        symbols = symbols_argument(args["symbols"])
        request_id = _request_id()
        # Every ticker's data first: an unknown one stops the call before any PDF is written.
        snapshots = self.per_ticker(self.snapshot, symbols, stage="data_gathering")
        records = self.per_ticker(
            lambda s: self.record(snapshots[s], request_id=request_id),
            symbols,
            stage="report_generation",
        )
        outcome_ = generate_comparison_report(
            records,
            store=self.deps.store,
            model=self.deps.model,
            profile=self.profiles.comparison,
            use_model=self.deps.model_configured,
            generated_at=self.deps.clock(),
            request_id=request_id,
        )
        report = outcome_.report
        if report is None:  # the tools always ask for the PDF (render_pdf's default)
            raise internal_error()
        structured = {
            **outcome_.as_json(),
            "report": self.report_json(report),
            "reports": {s: self.report_json(r.report) for s, r in records.items()},
        }
        lines = [
            f"COMPARISON of {', '.join(symbols)} ({outcome_.narrative.source}):",
            outcome_.narrative.text,
            "",
            f"Comparison PDF: {report.uri} ({formatting.fmt_int(report.bytes)} "
            f"bytes, SHA-256 {report.sha256})",
            *(f"{s} PDF: {r.report.uri}" for s, r in records.items()),
        ]
        return ToolOutput(structured=structured, text="\n".join(lines))

    def get_figure(self, arguments: Mapping[str, Any]) -> ToolOutput:
        args = checked_arguments(arguments, tool="get_figure", required=("symbol", "figure"))
        symbol = symbol_argument(args["symbol"])
        asked = figure_argument(args["figure"])
        with self.one_ticker(symbol, "data_gathering"):
            snapshot = self.snapshot(symbol)
            analysis = self.analysis(snapshot)
        row = find_figure(asked, formatting.figure_provenance(snapshot, analysis), symbol=symbol)
        provenance = f"source: {row['source']}; as of {row['as_of']}" if row["source"] else ""
        missing = f"; n/a because {row['missing']}" if "missing" in row else ""
        text = f"{symbol} ({snapshot.company_name}) {row['label']}: {row['value']}"
        return ToolOutput(
            structured={
                "symbol": symbol,
                "company_name": snapshot.company_name,
                "asked": asked,
                "figure": row,
            },
            text=f"{text} ({provenance}{missing})" if provenance else text,
        )

    # -- dispatch ----------------------------------------------------------------

    def call(self, name: str, arguments: Mapping[str, Any] | None) -> ToolOutput:
        """Run tool ``name``; :class:`AgentError` for the caller's mistakes and known faults.

        Raises :class:`KeyError` for a tool that does not exist (a protocol
        error, not a tool error: the server reports it as such).
        """
        spec = SPECS_BY_NAME[name]
        # The call's deadline (the request's, under a server that set one), as a turn has.
        control = deadline.control_for_turn(self.settings.request_deadline_seconds)
        with deadline.request_control(control):
            return spec.run(self, arguments or {})


def _request_id() -> str:
    return str(uuid.uuid4())


def _failure(stage: str, err: AgentError) -> TickerFailure:
    return TickerFailure(stage=stage, code=err.code, message=err.message)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="gather_stock_data",
        title="Gather stock data",
        description=(
            "Market data for one stock: price, market cap, 52-week range, returns, "
            "volatility, volume, valuation and financial metrics, three-year growth, free "
            "cash flow, debt, sector peers and the benchmark, each with its source and as-of "
            "date (data.sources), plus the formatted figures of the data section. "
            "include_history adds the daily series."
        ),
        read_only=True,
        run=Toolbox.gather_stock_data,
    ),
    ToolSpec(
        name="analyze_stock_performance",
        title="Analyze stock performance",
        description=(
            "Technical, fundamental and risk analysis of one stock: trend, momentum, RSI(14), "
            "MACD, Bollinger bands, one-year drawdown, Sharpe ratio, beta and correlation "
            "against the benchmark, returns against the benchmark, peer percentiles, "
            "valuation and profitability verdicts with 1-5 scores and their reasons, and an "
            "analyst narrative that quotes only these figures. Every figure comes with its "
            "source and as-of date. Not investment advice."
        ),
        read_only=True,
        run=Toolbox.analyze_stock_performance,
    ),
    ToolSpec(
        name="generate_stock_report",
        title="Generate the PDF stock report",
        description=(
            "Analyse one stock and store its PDF report (figures, charts, analysis, "
            "narrative) under a new dated key; returns the key, the size in bytes, the "
            "SHA-256 of the stored bytes and, where the reports are stored in S3, a "
            "time-limited HTTPS link (report.url)."
        ),
        read_only=False,
        run=Toolbox.generate_stock_report,
    ),
    ToolSpec(
        name="compare_stocks",
        title="Compare stocks",
        description=(
            "Compare 2 to 5 stocks side by side: the key figures in one table, who leads on "
            "returns, scores, margins, valuation, volatility and risk, and a narrative. "
            "Stores each stock's PDF report and a comparison PDF; returns where they are."
        ),
        read_only=False,
        run=Toolbox.compare_stocks,
    ),
    ToolSpec(
        name="get_figure",
        title="Get one figure",
        description=(
            "One figure of one stock, formatted as the report prints it, with its source and "
            "as-of date: e.g. 'P/E Ratio', 'Dividend Yield', 'RSI (14)', 'Max Drawdown (1Y)', "
            "'Sharpe Ratio (1Y)', 'Free Cash Flow', 'Debt-to-Equity', or a common name such as "
            "'pe ratio' or 'market cap'. An unknown figure's error lists every label."
        ),
        read_only=True,
        run=Toolbox.get_figure,
    ),
)
SPECS_BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in SPECS}
