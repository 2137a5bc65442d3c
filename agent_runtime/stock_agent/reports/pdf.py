"""Report Generation: a professional PDF from the snapshot, analysis and narrative.

Built with reportlab's platypus (layout) and ``reportlab.graphics`` (the price
chart); no matplotlib. Every figure comes from
:func:`stock_agent.formatting.key_figure_groups`, so the PDF's numbers are the
ones in the text sections.

Any text is safe here:

- ``&``, ``<`` and ``>`` are escaped in every paragraph (a company called
  "AT&T" broke the public sample's PDF);
- reportlab's standard fonts only cover Windows-1252. Characters outside it
  that Japanese fonts cover (kana, kanji, Greek, Cyrillic, arrows) are set in
  the built-in CID font ``HeiseiKakuGo-W5``, which needs no font file and
  stays extractable as text; anything else is folded to its closest
  Latin form (``é`` from ``é``) or shown as ``?``, never a crash.

The output is deterministic: the same inputs give the same bytes (the PDF's
creation date is ``generated_at``), so a report's SHA-256 identifies it.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..analysis import FUNDAMENTAL_RULES, OUTLOOK_RULES, RISK_RULES, TECHNICAL_RULES
from ..formatting import fmt_money, fmt_score, key_figure_groups
from ..records import Narrative, PricePoint, StockAnalysis, StockSnapshot

logger = logging.getLogger(__name__)

CJK_FONT = "HeiseiKakuGo-W5"
MAX_CHART_POINTS = 60
DISCLAIMER = (
    "This report is for informational purposes only and is not investment advice, an offer "
    "or a solicitation to buy or sell any security. Figures may be simulated (see the data "
    "source) or delayed, and past performance does not predict future results. Consult a "
    "licensed financial adviser before making investment decisions."
)

_NAVY = colors.HexColor("#1F3A5F")
_GREY = colors.HexColor("#F2F4F7")
_RULE = colors.HexColor("#C8CDD5")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# Symbols that read better as ASCII than in the Japanese font.
_FOLD = {"≥": ">=", "≤": "<=", "≠": "!=", "−": "-", "≈": "~", "\u00a0": " "}


@functools.cache
def _register_fonts() -> None:
    """Register the CID font once per process (cheap: no font file is embedded)."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    pdfmetrics.registerFontFamily(
        CJK_FONT, normal=CJK_FONT, bold=CJK_FONT, italic=CJK_FONT, boldItalic=CJK_FONT
    )


@functools.cache
def _script(ch: str) -> str:
    """Which font can draw ``ch``: ``latin``, ``cjk``, or ``fold`` (neither)."""
    try:
        ch.encode("cp1252")
        return "latin"
    except UnicodeEncodeError:
        pass
    if ch in _FOLD:
        return "fold"
    try:
        ch.encode("shift_jis")
        return "cjk"
    except UnicodeEncodeError:
        return "fold"


def _fold(ch: str) -> str:
    if ch in _FOLD:
        return _FOLD[ch]
    latin = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    try:
        latin.encode("cp1252")
    except UnicodeEncodeError:
        latin = ""
    return latin or "?"


def safe_markup(text: str, *, bold_markdown: bool = False) -> str:
    """Paragraph markup for arbitrary text: escaped, with font runs for non-Latin scripts.

    With ``bold_markdown``, ``**words**`` (as models write them) become bold.
    """
    text = _CONTROL.sub("", text)
    runs: list[tuple[str, str]] = []
    for ch in text:
        script = _script(ch)
        piece = _fold(ch) if script == "fold" else ch
        kind = "cjk" if script == "cjk" else "latin"
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + piece)
        else:
            runs.append((kind, piece))
    out = []
    for kind, chunk in runs:
        escaped = escape(chunk)
        out.append(f'<font name="{CJK_FONT}">{escaped}</font>' if kind == "cjk" else escaped)
    markup = "".join(out)
    if bold_markdown:
        markup = _BOLD.sub(r"<b>\1</b>", markup)
    return markup


# ---------------------------------------------------------------------------
# Styles and small builders
# ---------------------------------------------------------------------------


@functools.cache
def _styles() -> StyleSheet1:
    base = getSampleStyleSheet()
    sheet = StyleSheet1()
    body = ParagraphStyle("Body", parent=base["BodyText"], fontSize=9.5, leading=13)
    sheet.add(body)
    sheet.add(
        ParagraphStyle("Title", parent=base["Title"], fontSize=20, leading=24, textColor=_NAVY)
    )
    sheet.add(ParagraphStyle("Subtitle", parent=body, fontSize=12, alignment=TA_CENTER))
    sheet.add(
        ParagraphStyle("Meta", parent=body, fontSize=8, textColor=colors.grey, alignment=TA_CENTER)
    )
    sheet.add(
        ParagraphStyle(
            "H2",
            parent=base["Heading2"],
            fontSize=13,
            textColor=_NAVY,
            spaceBefore=10,
            spaceAfter=4,
        )
    )
    sheet.add(
        ParagraphStyle("H3", parent=base["Heading3"], fontSize=10.5, spaceBefore=6, spaceAfter=2)
    )
    sheet.add(ParagraphStyle("Bullet", parent=body, leftIndent=12, bulletIndent=2))
    sheet.add(ParagraphStyle("Cell", parent=body, fontSize=9, leading=11))
    sheet.add(
        ParagraphStyle("CellBold", parent=body, fontSize=9, leading=11, fontName="Helvetica-Bold")
    )
    sheet.add(ParagraphStyle("Small", parent=body, fontSize=8, leading=10, textColor=colors.grey))
    return sheet


def _p(text: str, style: str = "Body", *, bold_markdown: bool = False) -> Paragraph:
    return Paragraph(safe_markup(text, bold_markdown=bold_markdown), _styles()[style])


def _bullets(lines: Sequence[str]) -> list[Paragraph]:
    return [Paragraph(safe_markup(line), _styles()["Bullet"], bulletText="•") for line in lines]


def _cell(text: str, style: str, *, width: float) -> str | Paragraph:
    """A table cell: plain text when it is short Latin-1 text, else an escaped Paragraph.

    Plain strings are drawn verbatim (never parsed as markup, so ``&`` and
    ``<`` are safe) and cost a fraction of a Paragraph; anything that may
    need wrapping or the CJK font goes through :func:`safe_markup`.
    """
    fits = pdfmetrics.stringWidth(text, "Helvetica-Bold", 9) < width - 8
    if fits and all(_script(ch) == "latin" for ch in text) and not _CONTROL.search(text):
        return text
    return _p(text, style)


def _table(rows: Sequence[tuple[str, str]], *, widths: tuple[float, float]) -> Table:
    """A two-column label/value table, bold labels, zebra rows."""
    data = [
        [_cell(label, "CellBold", width=widths[0]), _cell(value, "Cell", width=widths[1])]
        for label, value in rows
    ]
    table = Table(data, colWidths=list(widths), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("FONTNAME", (1, 0), (1, -1), "Helvetica"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white, _GREY]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _side_by_side(left: Table, right: Table, *, width: float) -> Table:
    outer = Table([[left, right]], colWidths=[width / 2, width / 2], hAlign="LEFT")
    outer.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return outer


# ---------------------------------------------------------------------------
# Price chart
# ---------------------------------------------------------------------------


def _rolling_means(closes: Sequence[float], window: int) -> list[float | None]:
    """Simple moving average per session (None until ``window`` closes exist)."""
    out: list[float | None] = []
    total = 0.0
    for i, close in enumerate(closes):
        total += close
        if i >= window:
            total -= closes[i - window]
        out.append(total / window if i >= window - 1 else None)
    return out


def _sample_indices(count: int, limit: int) -> list[int]:
    """At most ``limit`` evenly spaced indices, always including the last session."""
    if count <= limit:
        return list(range(count))
    step = (count - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def _nice_step(span: float, *, max_ticks: int = 6) -> float:
    """A 1-2-5 tick step that puts at most ``max_ticks`` ticks over ``span``."""
    raw = span / max_ticks if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def price_chart(
    prices: Sequence[PricePoint], *, currency: str, width: float, height: float = 62 * mm
) -> Drawing:
    """Closing price with 50- and 200-day SMAs, downsampled to ``MAX_CHART_POINTS``.

    Drawn from plain shapes (polylines, tick lines, strings) rather than
    reportlab's ``LinePlot`` and ``Legend`` widgets: the widgets' attribute
    validation made the chart a third of a report's render time (the
    benchmark's row 2: 66 ms before, see ``bench/changes.md``), and a line
    chart with fixed axes needs none of their generality.
    """
    drawing = Drawing(width, height)
    closes = [p.close for p in prices]
    if len(closes) < 2:
        drawing.add(String(width / 2, height / 2, "Not enough price history", textAnchor="middle"))
        return drawing
    series: list[tuple[str, list[float | None], Any]] = [
        ("Close", list(closes), _NAVY),
        ("50-day SMA", _rolling_means(closes, 50), colors.HexColor("#E07A1F")),
        ("200-day SMA", _rolling_means(closes, 200), colors.HexColor("#2E8B57")),
    ]
    left, bottom = 42.0, 28.0
    plot_w, plot_h = width - 60, height - 48
    low, high = min(closes), max(closes)
    pad = (high - low) * 0.05 or high * 0.05
    y_min, y_max = low - pad, high + pad
    first, last = prices[0].day.toordinal(), prices[-1].day.toordinal()

    def x_at(ordinal: float) -> float:
        return left + (ordinal - first) / ((last - first) or 1) * plot_w

    def y_at(value: float) -> float:
        return bottom + (value - y_min) / ((y_max - y_min) or 1) * plot_h

    axis = {"strokeColor": colors.black, "strokeWidth": 0.5}
    drawing.add(Line(left, bottom, left, bottom + plot_h, **axis))
    drawing.add(Line(left, bottom, left + plot_w, bottom, **axis))
    step = _nice_step(y_max - y_min)
    tick = math.ceil(y_min / step) * step
    while tick <= y_max:
        y = y_at(tick)
        drawing.add(Line(left - 3, y, left, y, **axis))
        label = fmt_money(tick, currency).rsplit(".", 1)[0]
        drawing.add(String(left - 5, y - 2.5, label, fontSize=7, textAnchor="end"))
        tick += step
    month_starts = sorted(
        {
            date(p.day.year, p.day.month, 1).toordinal()
            for p in prices
            if date(p.day.year, p.day.month, 1).toordinal() >= first
        }
    )
    for ordinal in month_starts[::2] or [first, last]:
        x = x_at(ordinal)
        drawing.add(Line(x, bottom - 3, x, bottom, **axis))
        drawing.add(String(x, bottom - 11, _month_label(ordinal), fontSize=7, textAnchor="middle"))

    keep = _sample_indices(len(closes), MAX_CHART_POINTS)
    legend_x = left + 6
    for index, (name, values, colour) in enumerate(series):
        points: list[float] = []
        for i in keep:
            value = values[i]
            if value is not None:
                points += [x_at(prices[i].day.toordinal()), y_at(value)]
        if len(points) < 4:
            continue
        drawing.add(PolyLine(points, strokeColor=colour, strokeWidth=1.4 if index == 0 else 1.0))
        legend_y = height - 10
        drawing.add(Rect(legend_x, legend_y - 2, 7, 7, fillColor=colour, strokeColor=None))
        drawing.add(String(legend_x + 11, legend_y, name, fontSize=7))
        legend_x += 22 + 4 * len(name)
    return drawing


def _month_label(ordinal: float) -> str:
    return date.fromordinal(int(ordinal)).strftime("%b %Y")


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def _utc(generated_at: datetime) -> datetime:
    if not isinstance(generated_at, datetime):
        raise ValueError(f"generated_at must be a datetime, got {type(generated_at).__name__}")
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware (UTC), got a naive datetime")
    return generated_at.astimezone(UTC)


def _narrative_paragraphs(text: str) -> list[Paragraph]:
    """Model prose as paragraphs; markdown headings and bullets stay readable.

    The text is never interpreted as reportlab markup (it is escaped first).
    """
    out: list[Paragraph] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            out.append(_p(line.lstrip("#").strip(), "H3", bold_markdown=True))
        elif line[:2] in ("- ", "* ", "• "):
            out.append(
                Paragraph(
                    safe_markup(line[2:].strip(), bold_markdown=True),
                    _styles()["Bullet"],
                    bulletText="•",
                )
            )
        else:
            out.append(_p(line, bold_markdown=True))
    return out or [_p("(no narrative)")]


def _page_decorator(*, symbol: str, stamp: str, request_id: str) -> Callable[[Any, Any], None]:
    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.grey)
        footer = f"{symbol} stock report | generated {stamp} | request {request_id}"
        canvas.drawString(
            doc.leftMargin, 10 * mm, footer.encode("cp1252", "replace").decode("cp1252")
        )
        canvas.drawRightString(
            doc.pagesize[0] - doc.rightMargin, 10 * mm, f"Page {doc.page} | not investment advice"
        )
        canvas.restoreState()

    return decorate


def render_report(
    *,
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    generated_at: datetime,
    request_id: str,
) -> bytes:
    """The PDF report for one ticker, as bytes (deterministic for equal inputs).

    Raises :class:`ValueError` naming the argument when ``generated_at`` is
    naive or the analysis belongs to another symbol.
    """
    _register_fonts()
    when = _utc(generated_at)
    if analysis.symbol != snapshot.symbol:
        raise ValueError(
            f"analysis is for {analysis.symbol!r} but the snapshot is for {snapshot.symbol!r}"
        )
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    s, a, cur = snapshot, analysis, snapshot.currency
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{s.symbol} Stock Report",
        author="stock-agent",
        subject=f"Stock analysis of {s.symbol} as of {s.as_of.isoformat()}",
        creator="stock-agent (reportlab)",
        keywords=[s.symbol, "stock report", s.data_source],
        invariant=1,
    )
    width = doc.width
    story: list[Any] = [
        _p(f"{s.symbol} Stock Analysis Report", "Title"),
        _p(s.company_name, "Subtitle"),
        Spacer(1, 3 * mm),
        _p(
            f"Generated {stamp} | Data source: {s.data_source}, as of {s.as_of.isoformat()} | "
            f"Request ID: {request_id}",
            "Meta",
        ),
        Spacer(1, 4 * mm),
        _p("Executive Summary", "H2"),
        _table(
            [
                ("Company", s.company_name),
                ("Symbol", s.symbol),
                ("Sector / Industry", f"{s.sector} / {s.industry}"),
                ("Current Price", fmt_money(s.current_price, cur)),
                ("Technical Score", fmt_score(a.technical.score)),
                ("Fundamental Score", fmt_score(a.fundamental.score)),
                ("Risk Level", a.risk_level),
                ("Trend / Momentum", f"{a.technical.trend} / {a.technical.momentum}"),
                ("Outlook", a.outlook),
            ],
            widths=(45 * mm, width - 45 * mm),
        ),
        _p("Price History", "H2"),
        price_chart(s.prices, currency=cur, width=width),
        _p(
            f"Daily closes ({len(s.prices)} sessions, shown at up to {MAX_CHART_POINTS} points) "
            "with 50- and 200-day simple moving averages.",
            "Small",
        ),
    ]
    groups = key_figure_groups(s, a)
    column = width / 2 - 4
    col = (column * 0.58, column * 0.42)
    (market_title, market), (fin_title, financial), (_, figures) = groups
    story += [
        _p(f"{market_title} and {fin_title}", "H2"),
        _side_by_side(_table(market, widths=col), _table(financial, widths=col), width=width),
        _p("Technical Analysis", "H2"),
        _table(
            [*figures[:4], ("Technical Score", fmt_score(a.technical.score))],
            widths=(45 * mm, width - 45 * mm),
        ),
        Spacer(1, 2 * mm),
        *_bullets(a.technical.rationale),
        _p("Fundamental Analysis", "H2"),
        _table(
            [
                ("Valuation", a.fundamental.valuation),
                ("Profitability", a.fundamental.profitability),
                ("Income", a.fundamental.income),
                ("Fundamental Score", fmt_score(a.fundamental.score)),
            ],
            widths=(45 * mm, width - 45 * mm),
        ),
        Spacer(1, 2 * mm),
        *_bullets(a.fundamental.rationale),
        _p(f"Risk Assessment: {a.risk_level}", "H2"),
        *_bullets(a.risk_factors),
        _p("Analyst Narrative", "H2"),
        _p(_narrative_source(narrative), "Small"),
        *_narrative_paragraphs(narrative.text),
    ]
    if narrative.warnings:
        story += [_p("Narrative warnings", "H3"), *_bullets(narrative.warnings)]
    if s.headlines:
        story += [
            _p("Recent Headlines", "H2"),
            *_bullets([f"{h.title} ({h.publisher}, {h.published})" for h in s.headlines]),
        ]
    story += [
        _p("Methodology", "H2"),
        _p(
            f"Figures come from the {s.data_source} data provider as of {s.as_of.isoformat()}. "
            "Returns, yields, margins and volatility are fractions shown as percentages; YTD is "
            "measured from the last close of the previous year; volatility is the standard "
            "deviation of daily log returns, annualized with the square root of 252."
        ),
        _p("Technical score", "H3"),
        *_bullets(TECHNICAL_RULES),
        _p("Fundamental score", "H3"),
        *_bullets(FUNDAMENTAL_RULES),
        _p("Risk level", "H3"),
        *_bullets(RISK_RULES),
        _p("Outlook", "H3"),
        *_bullets(OUTLOOK_RULES),
        KeepTogether([_p("Disclaimer", "H2"), _p(DISCLAIMER)]),
    ]
    decorate = _page_decorator(symbol=s.symbol, stamp=stamp, request_id=request_id)

    def first_page(canvas: Any, doc_: Any) -> None:
        canvas.setDateFormatter(lambda *_: when.strftime("D:%Y%m%d%H%M%S+00'00'"))
        decorate(canvas, doc_)

    doc.build(story, onFirstPage=first_page, onLaterPages=decorate)
    data = buffer.getvalue()
    logger.info("rendered %s report: %d bytes", s.symbol, len(data))
    return data


def _narrative_source(narrative: Narrative) -> str:
    if narrative.source == "model":
        calls = narrative.model_calls
        return f"Source: written by the language model ({calls} call(s)) from the figures above."
    return "Source: deterministic summary generated from the figures above (no language model)."
