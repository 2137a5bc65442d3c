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
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape

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
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags
from reportlab.platypus.paraparser import ParaParser

from ..analysis import (
    FUNDAMENTAL_RULES,
    OUTLOOK_RULES,
    RISK_RULES,
    TECHNICAL_RULES,
    TRACK_RECORD_METHOD,
)
from ..formatting import (
    TRACK_RECORD_GROUP,
    Figure,
    figure_groups,
    fmt_edge,
    fmt_money,
    fmt_pct,
    fmt_percentile,
    fmt_ratio,
    fmt_score,
    fmt_signal,
    track_record_figures,
    track_record_table,
)
from ..records import (
    Narrative,
    PeerComparison,
    StockAnalysis,
    StockSnapshot,
    TrackRecord,
)
from .charts import (
    MAX_CHART_POINTS,
    bucket_chart,
    indicator_panel,
    price_chart,
    relative_chart,
)

logger = logging.getLogger(__name__)

CJK_FONT = "HeiseiKakuGo-W5"
#: Marks a figure whose data is older than the report date (see "Sources and as-of").
STALE_MARK = "\u2020"
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


def _is_latin(text: str) -> bool:
    """Whether every character of ``text`` is drawn by the standard (Windows-1252) fonts."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


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
    if _is_latin(text):
        # One Latin run, the common case: no per-character pass needed.
        markup = escape(text)
        return _BOLD.sub(r"<b>\1</b>", markup) if bold_markdown else markup
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


@functools.lru_cache(maxsize=1024)
def _parsed(markup: str, style: str) -> tuple[ParagraphStyle, tuple[Any, ...], Any, str]:
    """reportlab's parse of ``markup`` in ``style``: what ``Paragraph`` would compute.

    Parsing is a fifth of a report's render time and most of a report's text
    (headings, methods, disclaimer) is the same in every report. The result
    is shared between threads, so it is only read: :func:`_paragraph` gives
    each Paragraph its own copies of the fragments.
    """
    text = cleanBlockQuotedText(markup)
    parser = ParaParser()
    parser.caseSensitive = 1
    parsed_style, frags, bullet_frags = parser.parse(text, _styles()[style])
    if frags is None:
        raise ValueError(f"xml parser error ({parser.errors[0]}) in paragraph {text[:30]!r}")
    textTransformFrags(frags, parsed_style)
    return parsed_style, tuple(frags), bullet_frags, text


def _own_copy(frag: Any, **changes: Any) -> Any:
    """A copy of a reportlab fragment with its own lists (nothing shared with the original)."""
    lists = {k: list(v) for k, v in frag.__dict__.items() if isinstance(v, list)}
    return frag.clone(**{**lists, **changes})


#: Line breaks of one-fragment paragraphs, by (markup, style, bullet, widths).
_LINE_BREAKS: dict[tuple[Any, ...], tuple[Any, list[float], float]] = {}
_LINE_BREAKS_MAX = 2048


class _CachedParagraph(Paragraph):
    """A Paragraph whose line breaking is reused across reports when it is plain words.

    Breaking lines measures every word (a fifth of a render), and the same
    static paragraphs are broken at the same widths in every report. Only the
    simple result is cached (one font run, no hyphenation or split long
    words); what ``breakLines`` leaves on the paragraph (the bullet-adjusted
    widths, the widest line) is restored with it, and every caller gets its
    own copy of the lines. Paragraphs that reportlab splits across pages are
    built without a key and break their lines afresh.
    """

    _break_key: tuple[str, str, str | None] | None = None

    def breakLines(self, width: Any) -> Any:
        key = self._break_key
        if key is None or not isinstance(width, list):
            return super().breakLines(width)
        full_key = (*key, tuple(width))
        hit = _LINE_BREAKS.get(full_key)
        if hit is not None:
            lines, widths_after, widest = hit
            width[:] = widths_after
            self._width_max = widest
            self._splitLongWordCount = self._hyphenations = 0
            self.height = 0
            return _own_lines(lines)
        lines = super().breakLines(width)
        cacheable = (
            lines.kind == 0
            and type(lines.lines) is list
            and not self._splitLongWordCount
            and not self._hyphenations
        )
        if cacheable:
            if len(_LINE_BREAKS) >= _LINE_BREAKS_MAX:
                _LINE_BREAKS.clear()
            _LINE_BREAKS[full_key] = (_own_lines(lines), list(width), self._width_max)
        return lines


def _own_lines(broken: Any) -> Any:
    return _own_copy(broken, lines=[(extra, list(words)) for extra, words in broken.lines])


def _paragraph(markup: str, style: str, *, bullet: str | None = None) -> Paragraph:
    """``Paragraph(markup, style, bulletText=bullet)`` from the cached parse."""
    parsed_style, frags, bullet_frags, text = _parsed(markup, style)
    bullet_text = bullet_frags or bullet or getattr(parsed_style, "bulletText", None)
    paragraph = _CachedParagraph(
        text, parsed_style, bulletText=bullet_text, frags=[_own_copy(f) for f in frags]
    )
    if not bullet_frags:
        paragraph._break_key = (markup, style, bullet_text)
    return paragraph


def _p(text: str, style: str = "Body", *, bold_markdown: bool = False) -> Paragraph:
    return _paragraph(safe_markup(text, bold_markdown=bold_markdown), style)


def _bullets(lines: Sequence[str]) -> list[Paragraph]:
    return [_paragraph(safe_markup(line), "Bullet", bullet="•") for line in lines]


def _cell(text: str, style: str, *, width: float) -> str | Paragraph:
    """A table cell: plain text when it is short Latin-1 text, else an escaped Paragraph.

    Plain strings are drawn verbatim (never parsed as markup, so ``&`` and
    ``<`` are safe) and cost a fraction of a Paragraph; anything that may
    need wrapping or the CJK font goes through :func:`safe_markup`.
    """
    fits = pdfmetrics.stringWidth(text, "Helvetica-Bold", 9) < width - 8
    if fits and _is_latin(text) and not _CONTROL.search(text):
        return text
    return _p(text, style)


def _wrapped(text: str, *, width: float, size: float = 8) -> str | Paragraph:
    """Latin text broken into lines that fit ``width`` (a plain, multi-line table cell).

    A plain cell costs a fraction of a Paragraph; the sources table has dozens.
    Text that needs the CJK font still goes through :func:`_p`.
    """
    if not _is_latin(text) or _CONTROL.search(text):
        return _p(text, "Cell")
    return _broken_lines(text, width, size)


@functools.lru_cache(maxsize=1024)
def _broken_lines(text: str, width: float, size: float) -> str:
    """:func:`_wrapped`'s line breaking, cached: the sources table repeats across reports."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and pdfmetrics.stringWidth(candidate, "Helvetica", size) > width - 8:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return "\n".join(lines)


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
                _paragraph(safe_markup(line[2:].strip(), bold_markdown=True), "Bullet", bullet="•")
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
        indicator_panel(s.prices, width=width),
        _p(
            "RSI(14) with Wilder smoothing and its 30/70 lines; MACD(12, 26, 9) histogram "
            "(MACD line minus its signal line).",
            "Small",
        ),
    ]
    if s.benchmark is not None:
        # Heading, chart and caption on one page: a heading must not end a page alone.
        story.append(
            KeepTogether(
                [
                    _p(f"Relative Performance vs {s.benchmark.symbol}", "H3"),
                    relative_chart(
                        s.prices,
                        s.benchmark.prices,
                        symbol=s.symbol,
                        benchmark_symbol=s.benchmark.symbol,
                        width=width,
                    ),
                    _p(
                        f"{s.symbol} and {s.benchmark.name} ({s.benchmark.symbol}) rebased to "
                        "100 on their first common session.",
                        "Small",
                    ),
                ]
            )
        )
    report_day = when.date()
    all_groups = figure_groups(s, a)
    groups = [(title, [_marked(f, report_day) for f in figures]) for title, figures in all_groups]
    column = width / 2 - 4
    col = (column * 0.58, column * 0.42)
    (market_title, market), (fin_title, financial), (_, figures), *evidence = groups
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
    ]
    for title, rows in evidence:
        if title == TRACK_RECORD_GROUP and a.track_record is not None:
            story += _track_record_section(a.track_record, width=width)
            continue
        story += [_p(title, "H2"), _table(rows, widths=(70 * mm, width - 70 * mm))]
        if title == "Peer Comparison" and a.peer_comparison is not None:
            story += _peer_section(s, a.peer_comparison, width=width)
    story += [
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
        *_sources_section(all_groups, report_day=report_day, width=width),
        _p("Methodology", "H2"),
        _p(
            f"Figures come from the {s.data_source} data provider as of {s.as_of.isoformat()}. "
            "Returns, yields, margins and volatility are fractions shown as percentages; YTD is "
            "measured from the last close of the previous year; volatility is the standard "
            "deviation of daily log returns, annualized with the square root of 252."
        ),
        _p("Indicators and risk measures", "H3"),
        *_bullets(_indicator_methods(a)),
        _p("Technical score", "H3"),
        *_bullets(TECHNICAL_RULES),
        _p("Fundamental score", "H3"),
        *_bullets(FUNDAMENTAL_RULES),
        _p("Risk level", "H3"),
        *_bullets(RISK_RULES),
        _p("Outlook", "H3"),
        *_bullets(OUTLOOK_RULES),
        *([_p("Track record", "H3"), *_bullets(TRACK_RECORD_METHOD)] if a.track_record else []),
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


def _marked(figure: Figure, report_day: date) -> tuple[str, str]:
    """``(label, value)`` with :data:`STALE_MARK` when the figure's data predates the report."""
    old = figure.source is not None and figure.source.as_of < report_day
    return figure.label, f"{figure.value} {STALE_MARK}" if old else figure.value


def _indicator_methods(analysis: StockAnalysis) -> list[str]:
    rate = analysis.indicators.risk_free_rate if analysis.indicators else 0.0
    return [
        "RSI(14): Wilder's smoothing; average gain and loss start as the mean of the first 14 "
        "daily changes, then avg = (13 x avg + change) / 14; RSI = 100 - 100 / (1 + gain/loss).",
        "MACD(12, 26, 9): EMA12 - EMA26 of the closes (EMAs seeded with the first close, "
        "alpha = 2 / (span + 1)); signal = EMA9 of the MACD line; histogram = MACD - signal.",
        "Bollinger(20, 2): 20-day mean +/- 2 population standard deviations; position = "
        "(close - lower) / (upper - lower), 0% at the lower band, 100% at the upper.",
        "Maximum drawdown (1Y): the largest fall from a running peak over the last year of "
        "closes, with the peak and trough dates.",
        f"Sharpe ratio (1Y): mean / standard deviation of daily simple returns in excess of "
        f"the risk-free rate ({fmt_pct(rate)} a year, divided by 252), times sqrt(252).",
        "Beta and correlation (1Y): covariance of the stock's and the benchmark's daily simple "
        "returns on common sessions over the benchmark's variance, and Pearson's correlation.",
        "Returns: close-to-close over 21 sessions (1M), 63 sessions (3M), since the last close "
        "of the previous year (YTD) and since the close one year earlier (1Y); the benchmark "
        "over the same dates; excess = stock - benchmark.",
        "Growth (3Y): compound annual growth of revenue and diluted EPS over three fiscal years "
        "(n/a unless both ends are positive); FCF = operating cash flow - capital expenditure; "
        "FCF margin = FCF / revenue; debt-to-equity = total debt / shareholders' equity.",
        "Peers: the percentile of the ticker among its sector peers (share of peers below it, "
        "ties counting half); P/E only where earnings are positive.",
    ]


def _peer_section(snapshot: StockSnapshot, peers: PeerComparison, *, width: float) -> list[Any]:
    """The peer table: the ticker, then each peer, on the four ranked figures."""
    header = ["Symbol", "P/E", "Profit Margin", "1-Year Return", "Volatility"]
    rows: list[list[Any]] = [header]
    own = (
        snapshot.symbol,
        snapshot.pe_ratio,
        snapshot.profit_margin,
        snapshot.one_year_return,
        snapshot.annualized_volatility,
    )
    others = [
        (p.symbol, p.pe_ratio, p.profit_margin, p.one_year_return, p.annualized_volatility)
        for p in peers.peers
    ]
    for symbol, pe, margin, one_year, vol in [own, *others]:
        rows.append(
            [symbol, fmt_ratio(pe), fmt_pct(margin), fmt_pct(one_year, signed=True), fmt_pct(vol)]
        )
    rows.append(["Percentile", *(fmt_percentile(r.percentile) for r in peers.ranks)])
    table = Table(rows, colWidths=[width / 5] * 5, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (-1, 1), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _GREY]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return [
        Spacer(1, 2 * mm),
        table,
        _p(
            f"{snapshot.symbol} (bold) against its {peers.sector} peers; the last row is its "
            "percentile among them (share of peers below it, ties counting half).",
            "Small",
        ),
    ]


def _track_record_section(record: TrackRecord, *, width: float) -> list[Any]:
    """The track record: the bucket table, the chart of 1-month excess, edges and reading."""
    story: list[Any] = [_p("Track Record of the Technical Score", "H2")]
    if not record.buckets:
        return [*story, _p(record.reading)]
    figures = {f.label: f.value for f in track_record_figures(record)}
    story.append(
        _p(
            f"{figures['Track Record Signals']}, each scored from the closes known that day; "
            f"statistics of the forward {figures['Track Record Measure']} ({record.interval}). "
            f"n/a: fewer than {record.min_signals} measured signals.",
            "Small",
        )
    )
    header, body, notes = track_record_table(record)
    rows: list[list[Any]] = [header, *body]
    widths = [24 * mm] + [(width - 24 * mm) / 8] * 8
    widths[5] = (width - 24 * mm) / 8 * 1.8
    spare = (width - sum(widths)) / 7
    widths = [w if i in (0, 5) else w + spare for i, w in enumerate(widths)]
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (0, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _GREY]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    technical_1m = [
        b for b in record.buckets if b.signal == "technical score" and b.horizon == "1M"
    ]
    excess = record.benchmark_symbol is not None
    story += [
        table,
        _p("* Price-only outlook: fundamental score held at 3, risk from prices only.", "Small"),
        *([_p("Buckets without figures", "H3"), *_bullets(notes)] if notes else []),
        KeepTogether(
            [
                bucket_chart(technical_1m, width=width),
                _p(
                    f"Mean forward 1-month {record.measure} by technical score; whiskers: the "
                    f"{record.interval.split(',')[1].strip()} interval.",
                    "Small",
                ),
            ]
        ),
        # Kept whole on one page: a page break inside a sentence puts the footer into it.
        KeepTogether(
            [
                *_bullets(
                    [f"Scores 4-5 vs 1-2 ({e.horizon}): {fmt_edge(e)}" for e in record.edges]
                ),
                _p(record.reading),
            ]
        ),
        KeepTogether(
            [
                _p("Recent signals", "H3"),
                *_bullets([fmt_signal(s, excess=excess) for s in reversed(record.recent)]),
                _p(record.not_point_in_time, "Small"),
            ]
        ),
    ]
    return story


def _sources_section(
    groups: list[tuple[str, list[Figure]]], *, report_day: date, width: float
) -> list[Any]:
    """Each source with its as-of date and the figures it gave; stale ones flagged."""
    by_source: dict[tuple[str, date], list[str]] = {}
    missing: list[str] = []
    for _, figures in groups:
        for f in figures:
            if f.source is None:
                continue
            by_source.setdefault((f.source.source, f.source.as_of), []).append(f.label)
            if f.source.missing:
                missing.append(f"{f.label}: n/a ({f.source.missing}).")
    half = (width - 24 * mm) / 2
    rows: list[list[Any]] = [["As of", "Source", "Figures"]]
    for (source, as_of), labels in sorted(by_source.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        stamp = as_of.isoformat() + (f" {STALE_MARK}" if as_of < report_day else "")
        rows.append(
            [
                stamp,
                _wrapped(source, width=half),
                _wrapped(", ".join(dict.fromkeys(labels)), width=half),
            ]
        )
    table = Table(rows, colWidths=[24 * mm, half, half])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story: list[Any] = [
        _p("Sources and As-of Dates", "H2"),
        _p(
            f"{STALE_MARK} marks a figure whose data is older than the report date "
            f"({report_day.isoformat()}).",
            "Small",
        ),
        table,
    ]
    if missing:
        story += [_p("Figures not available", "H3"), *_bullets(missing)]
    return story


def _narrative_source(narrative: Narrative) -> str:
    if narrative.source == "model":
        calls = narrative.model_calls
        return f"Source: written by the language model ({calls} call(s)) from the figures above."
    return "Source: deterministic summary generated from the figures above (no language model)."
