"""The comparison report: two to five analysed tickers side by side, in one PDF.

Everything in it comes from the tickers' records: the table prints the same
formatted key figures as each ticker's own report
(:func:`stock_agent.formatting.key_figures`), the leaders are decided on the
records' raw values by the rules in :data:`LEAD_RULES`, the chart rebases
each ticker's closes to 100 on the first day they all share, and the
narrative (the model's, number-checked, or a deterministic one) quotes only
figures of the table.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, Table, TableStyle
from typing_extensions import TypedDict  # pydantic reads it on 3.11

from .. import formatting
from ..answering.checked_text import CheckedText, TextRequest, ask_checked_text
from ..answering.number_check import allowed_figures
from ..errors import AgentError
from ..models.types import CallProfile, ModelClient
from ..prompts import comparison_turns, narrative_payload
from ..records import ReportRef, StockAnalysis, StockSnapshot
from . import storage
from .pdf import DISCLAIMER, _bullets, _cell, _narrative_paragraphs, _p, _register_fonts

if TYPE_CHECKING:
    from ..memory.session import SessionRecord

logger = logging.getLogger(__name__)

# The rows of the side-by-side table, in order (labels of formatting.key_figures).
TABLE_FIGURES = (
    "Current Price",
    "Market Cap",
    "YTD Return",
    "1-Year Return",
    "1-Month Return",
    "3-Month Return",
    "Volatility (Annualized)",
    "P/E Ratio",
    "Dividend Yield",
    "Profit Margin",
    "Beta",
    "Technical Score",
    "Fundamental Score",
)
_RISK_ORDER = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}


@dataclass(frozen=True)
class LeadRule:
    """Who leads on one measure: the highest or the lowest raw value wins (ties share)."""

    measure: str  # a table label, or "Risk Level"
    best: str  # "highest" | "lowest"
    value: Callable[[StockSnapshot, StockAnalysis], float | None]


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


LEAD_RULES: tuple[LeadRule, ...] = (
    LeadRule("1-Year Return", "highest", lambda s, a: s.one_year_return),
    LeadRule("YTD Return", "highest", lambda s, a: s.ytd_return),
    LeadRule("3-Month Return", "highest", lambda s, a: a.technical.return_3m),
    LeadRule("Technical Score", "highest", lambda s, a: a.technical.score),
    LeadRule("Fundamental Score", "highest", lambda s, a: a.fundamental.score),
    LeadRule("Profit Margin", "highest", lambda s, a: s.profit_margin),
    LeadRule("Dividend Yield", "highest", lambda s, a: s.dividend_yield),
    # A lower P/E is cheaper; a loss-maker's P/E (none or negative) does not compete.
    LeadRule("P/E Ratio", "lowest", lambda s, a: _positive(s.pe_ratio)),
    LeadRule("Volatility (Annualized)", "lowest", lambda s, a: s.annualized_volatility),
    LeadRule("Beta", "lowest", lambda s, a: s.beta),
    LeadRule("Risk Level", "lowest", lambda s, a: _RISK_ORDER[a.risk_level]),
)


def comparison_table(records: Mapping[str, SessionRecord]) -> dict[str, dict[str, str]]:
    """``{label: {symbol: formatted value}}`` for :data:`TABLE_FIGURES`, plus verdict rows."""
    figures = {s: dict(formatting.key_figures(r.snapshot, r.analysis)) for s, r in records.items()}
    table = {label: {s: figures[s][label] for s in records} for label in TABLE_FIGURES}
    table["Risk Level"] = {s: r.analysis.risk_level for s, r in records.items()}
    table["Outlook"] = {s: r.analysis.outlook for s, r in records.items()}
    return table


class Leader(TypedDict):
    """Who leads on one measure, by which rule, and the leaders' formatted value."""

    measure: str
    rule: str  # "highest" | "lowest"
    leaders: list[str]
    value: str


def leaders(records: Mapping[str, SessionRecord]) -> list[Leader]:
    """Per rule: the symbols with the best raw value (all of them on a tie), and that value.

    A measure where fewer than two tickers have a value names no leader.
    """
    table = comparison_table(records)
    out: list[Leader] = []
    for rule in LEAD_RULES:
        values = {
            s: v
            for s, r in records.items()
            if (v := rule.value(r.snapshot, r.analysis)) is not None
        }
        if len(values) < 2:
            continue
        best = max(values.values()) if rule.best == "highest" else min(values.values())
        symbols = [s for s, v in values.items() if v == best]
        if len(symbols) == len(values):
            continue  # everyone ties: nobody leads
        out.append(
            Leader(
                measure=rule.measure,
                rule=rule.best,
                leaders=symbols,
                value=table[rule.measure][symbols[0]],
            )
        )
    return out


def rebased_series(records: Mapping[str, SessionRecord]) -> dict[str, list[tuple[int, float]]]:
    """Each ticker's closes on the days all share, as ``(ordinal day, close / first × 100)``."""
    by_day = {s: {p.day: p.close for p in r.snapshot.prices} for s, r in records.items()}
    common = sorted(set.intersection(*(set(d) for d in by_day.values()))) if by_day else []
    out: dict[str, list[tuple[int, float]]] = {}
    for symbol, closes in by_day.items():
        if not common or closes[common[0]] <= 0:
            out[symbol] = []
            continue
        base = closes[common[0]]
        out[symbol] = [(day.toordinal(), closes[day] / base * 100.0) for day in common]
    return out


_PALETTE = ("#1F3A5F", "#E07A1F", "#2E8B57", "#8E44AD", "#C0392B")
MAX_CHART_POINTS = 80


def rebased_chart(
    series: Mapping[str, Sequence[tuple[int, float]]], *, width: float, height: float = 70 * mm
) -> Drawing:
    """Every ticker's rebased close (100 = the first shared day) on one axis."""
    drawing = Drawing(width, height)
    values = [v for points in series.values() for _, v in points]
    days = [d for points in series.values() for d, _ in points]
    if len(set(days)) < 2:
        drawing.add(String(width / 2, height / 2, "Not enough shared price history",
                           textAnchor="middle"))  # fmt: skip
        return drawing
    left, bottom = 36.0, 22.0
    plot_w, plot_h = width - 50, height - 44
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 5.0
    y_min, y_max = low - pad, high + pad
    first, last = min(days), max(days)

    def x_at(day: float) -> float:
        return left + (day - first) / ((last - first) or 1) * plot_w

    def y_at(value: float) -> float:
        return bottom + (value - y_min) / ((y_max - y_min) or 1) * plot_h

    axis = {"strokeColor": colors.black, "strokeWidth": 0.5}
    drawing.add(Line(left, bottom, left, bottom + plot_h, **axis))
    drawing.add(Line(left, bottom, left + plot_w, bottom, **axis))
    drawing.add(Line(left, y_at(100), left + plot_w, y_at(100), strokeColor=colors.grey,
                     strokeWidth=0.3, strokeDashArray=[2, 2]))  # fmt: skip
    for value in (y_min, 100.0, y_max):
        drawing.add(String(left - 4, y_at(value) - 2.5, f"{value:.0f}", fontSize=7,
                           textAnchor="end"))  # fmt: skip
    legend_x = left + 4
    for index, (symbol, points) in enumerate(series.items()):
        colour = colors.HexColor(_PALETTE[index % len(_PALETTE)])
        step = max(1, len(points) // MAX_CHART_POINTS)
        kept = list(points[::step])
        if points and kept[-1] != points[-1]:
            kept.append(points[-1])
        flat: list[float] = []
        for day, value in kept:
            flat += [x_at(day), y_at(value)]
        if len(flat) >= 4:
            drawing.add(PolyLine(flat, strokeColor=colour, strokeWidth=1.2))
        drawing.add(Rect(legend_x, height - 12, 7, 7, fillColor=colour, strokeColor=None))
        drawing.add(String(legend_x + 10, height - 10, symbol, fontSize=7))
        legend_x += 18 + 5 * len(symbol)
    return drawing


# ---------------------------------------------------------------------------
# narrative (written through stock_agent.answering.checked_text)
# ---------------------------------------------------------------------------


def deterministic_comparison(records: Mapping[str, SessionRecord], leads: Sequence[Leader]) -> str:
    """A plain comparison from the table and the leaders (no model); figures are the table's."""
    symbols = list(records)
    table = comparison_table(records)
    as_of = sorted({r.snapshot.as_of.isoformat() for r in records.values()})
    intro = (
        f"{', '.join(symbols[:-1])} and {symbols[-1]} compared on data as of "
        f"{', '.join(as_of)}. "
        + " ".join(
            f"{s} ({records[s].snapshot.company_name}) closed at {table['Current Price'][s]}, "
            f"with a 1-year return of {table['1-Year Return'][s]} and risk level "
            f"{table['Risk Level'][s]}."
            for s in symbols
        )
    )
    lead_lines = [
        f"{' and '.join(lead['leaders'])} {'lead' if len(lead['leaders']) > 1 else 'leads'} "
        f"on {lead['measure']} ({lead['rule']}: {lead['value']})."
        for lead in leads
    ]
    outro = (
        "This comparison was assembled from the structured records without a language model; "
        "it is not investment advice."
    )
    return "\n\n".join([intro, " ".join(lead_lines) or "No ticker leads on any measure.", outro])


def _facts(records: Mapping[str, SessionRecord], leads: Sequence[Leader]) -> dict[str, Any]:
    return {"table": comparison_table(records), "leaders": list(leads)}


def _allowed(records: Mapping[str, SessionRecord], facts: dict[str, Any]) -> set[str]:
    allowed: set[str] = set()
    for r in records.values():
        payload = narrative_payload(
            snapshot=r.snapshot,
            analysis=r.analysis,
            key_figures=formatting.key_figures(r.snapshot, r.analysis),
        )
        allowed |= allowed_figures(snapshot=r.snapshot, analysis=r.analysis, payload={
            "record": payload, "comparison": facts})  # fmt: skip
    return allowed


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


def render_comparison(
    records: Mapping[str, SessionRecord],
    *,
    narrative: str,
    narrative_source: str,
    generated_at: datetime,
    request_id: str,
) -> bytes:
    """The comparison PDF, as bytes (deterministic for equal inputs)."""
    _register_fonts()
    when = generated_at.astimezone(UTC)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    symbols = list(records)
    table = comparison_table(records)
    leads = leaders(records)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{' vs '.join(symbols)} Comparison",
        author="stock-agent",
        subject=f"Comparison of {', '.join(symbols)}",
        creator="stock-agent (reportlab)",
        keywords=[*symbols, "comparison"],
        invariant=1,
    )
    width = doc.width
    label_w = 42 * mm
    col_w = (width - label_w) / len(symbols)
    header = ["", *symbols]
    rows = [
        [_cell(label, "CellBold", width=label_w),
         *(_cell(values[s], "Cell", width=col_w) for s in symbols)]
        for label, values in table.items()
    ]  # fmt: skip
    grid = Table([header, *rows], colWidths=[label_w, *([col_w] * len(symbols))], hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (0, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F4F7")]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#C8CDD5")),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    sources = sorted({r.snapshot.data_source for r in records.values()})
    as_of = sorted({r.snapshot.as_of.isoformat() for r in records.values()})
    story: list[Any] = [
        _p(f"{' vs '.join(symbols)} Comparison", "Title"),
        _p(" | ".join(f"{s}: {r.snapshot.company_name}" for s, r in records.items()), "Subtitle"),
        Spacer(1, 3 * mm),
        _p(
            f"Generated {stamp} | Data source: {', '.join(sources)}, as of {', '.join(as_of)} | "
            f"Request ID: {request_id}",
            "Meta",
        ),
        _p("Key Metrics and Scores", "H2"),
        grid,
        _p("Price Performance (rebased to 100)", "H2"),
        rebased_chart(rebased_series(records), width=width),
        _p("Who Leads on What", "H2"),
        *_bullets(
            [
                f"{lead['measure']}: {', '.join(lead['leaders'])} ({lead['rule']}, {lead['value']})"
                for lead in leads
            ]
            or ["No ticker leads on any measure."]
        ),
        _p("Comparison Narrative", "H2"),
        _p(narrative_source, "Small"),
        *_narrative_paragraphs(narrative),
        _p("Per-Ticker Reports", "H2"),
        *_bullets([f"{s}: {r.report.key}" for s, r in records.items()]),
        KeepTogether([_p("Disclaimer", "H2"), _p(DISCLAIMER)]),
    ]

    def first_page(canvas: Any, _doc: Any) -> None:
        canvas.setDateFormatter(lambda *_: when.strftime("D:%Y%m%d%H%M%S+00'00'"))

    doc.build(story, onFirstPage=first_page)
    return buffer.getvalue()


@dataclass(frozen=True)
class ComparisonOutcome:
    """The stored comparison; ``narrative`` is its checked text and what writing it cost."""

    symbols: tuple[str, ...]
    table: dict[str, dict[str, str]]
    leaders: list[Leader]
    narrative: CheckedText
    report: ReportRef | None  # None: the user asked for comparisons without their PDF

    def as_json(self) -> dict[str, Any]:
        return {
            "symbols": list(self.symbols),
            "table": self.table,
            "leaders": self.leaders,
            "narrative": self.narrative.text,
            "narrative_source": self.narrative.source,
            "report": None
            if self.report is None
            else {
                "uri": self.report.uri,
                "key": self.report.key,
                "bytes": self.report.bytes,
                "sha256": self.report.sha256,
            },
        }


def generate_comparison_report(
    records: Mapping[str, SessionRecord],
    *,
    store: storage.ReportStore,
    model: ModelClient,
    profile: CallProfile,
    use_model: bool,
    generated_at: datetime,
    request_id: str,
    render_pdf: bool = True,
) -> ComparisonOutcome:
    """Render and store the comparison of ``records`` (2 or more) under a fresh dated key.

    The narrative is the model's checked text (``profile``), else the deterministic one.
    ``render_pdf=False`` (the user's preference): the same table, leaders and narrative,
    no PDF.
    """
    leads = leaders(records)
    facts = _facts(records, leads)
    checked = ask_checked_text(
        model,
        profile,
        TextRequest(
            subject="the comparison narrative",
            turns=tuple(comparison_turns(facts)),
            allowed=frozenset(_allowed(records, facts)),
            fallback=deterministic_comparison(records, leads),
        ),
        use_model=use_model,
    )
    if not render_pdf:
        return ComparisonOutcome(
            symbols=tuple(records),
            table=comparison_table(records),
            leaders=leads,
            narrative=checked,
            report=None,
        )
    source_line = (
        "Source: written by the language model from the table above (number-checked)."
        if checked.source == "model"
        else "Source: deterministic summary of the table above (no language model)."
    )
    data = render_comparison(
        records,
        narrative=checked.text,
        narrative_source=source_line,
        generated_at=generated_at,
        request_id=request_id,
    )
    key = storage.build_comparison_key(
        symbols=list(records), generated_at=generated_at, unique_suffix=secrets.token_hex(4)
    )
    metadata = {
        "symbols": "-".join(records),
        "request-id": request_id,
        "narrative-source": checked.source,
    }
    try:
        ref = store.put(key=key, data=data, metadata=metadata)
    except storage.StorageError as err:
        code = err.code if err.code == "report_write_failed" else "report_upload_failed"
        raise AgentError(code, f"the comparison report could not be stored: {err.message}") from err
    return ComparisonOutcome(
        symbols=tuple(records),
        table=comparison_table(records),
        leaders=leads,
        narrative=checked,
        report=ref,
    )
