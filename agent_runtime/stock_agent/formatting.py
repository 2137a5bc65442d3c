"""Every figure becomes text here, once.

The text sections, the PDF tables and the narrative number check all call
these functions, so a figure cannot read differently in two places (the
public sample showed three P/E values in one response).

Conventions: ``None`` and non-finite values print as ``n/a``; fractions are
multiplied by 100 only in :func:`fmt_pct`; money uses the snapshot's
currency symbol.

The number check works on *canonical tokens*: :func:`normalize_number_token`
turns ``"$1,234.50"``, ``"1234.5"`` and ``"+1,234.5%"`` into ``"1234.5"``;
:func:`allowed_numbers` returns the canonical form (and the displayed form) of
every figure a narrative may quote. :data:`NUMBER_TOKEN_PATTERN` finds the
tokens in prose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NotRequired

# typing_extensions' TypedDict: pydantic derives the MCP tools' schemas from these shapes,
# and on Python 3.11 it reads only this one.
from typing_extensions import TypedDict

from .records import (
    BucketStats,
    EdgeTest,
    FigureSource,
    StockAnalysis,
    StockSnapshot,
    TrackRecord,
    TrackSignal,
)

NA = "n/a"

CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "HKD": "HK$",
}

_MAGNITUDES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))

# Words and abbreviations a writer uses for a magnitude, mapped to our letter.
_SUFFIXES = {
    "k": "K",
    "thousand": "K",
    "m": "M",
    "mn": "M",
    "mm": "M",
    "million": "M",
    "b": "B",
    "bn": "B",
    "billion": "B",
    "t": "T",
    "tn": "T",
    "trillion": "T",
}

#: A number as it appears in prose or in our formatted figures: optional sign,
#: optional currency symbol, digits with thousands separators and decimals,
#: an optional magnitude word or letter and an optional percent sign.
#: Digits glued to letters (``Q3``, ``S3``) or to a preceding number (the
#: ``-09`` of ``2025-09-04``) are not matched as signed numbers.
NUMBER_TOKEN_PATTERN = re.compile(
    r"(?<![\w.,])"
    r"(?:[+\-−](?=[$€£¥\d.]|[A-Z]{1,2}\$))?"
    r"(?:[A-Z]{1,2}\$|[$€£¥])?\s?"
    r"[+\-−]?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?:\s?(?:trillion|billion|million|thousand|tn|bn|mn|[KMBT])(?![A-Za-z]))?"
    r"%?"
)

_TOKEN_PARTS = re.compile(
    r"""^\s*
    (?P<sign>[+\-−]?)\s*
    (?:[A-Z]{0,3}[$€£¥])?\s*
    (?P<sign2>[+\-−]?)\s*
    (?P<number>\d[\d,]*(?:\.\d*)?|\.\d+)
    \s*(?P<word>[A-Za-z]+)?\s*
    %?\s*$""",
    re.VERBOSE,
)


def _finite(value: float | int | None) -> float | None:
    """``value`` as a float, or None when it is missing, boolean, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _currency_prefix(currency: str) -> str:
    code = (currency or "USD").upper()
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def _signed(text: str, negative: bool, *, plus: bool = False) -> str:
    """Prefix a sign, never printing ``-0.00``."""
    if negative and any(ch in "123456789" for ch in text):
        return "-" + text
    if plus and not negative:
        return "+" + text
    return text


def fmt_money(value: float | None, currency: str = "USD") -> str:
    """``1234.5`` -> ``"$1,234.50"``; negative -> ``"-$1.20"``; None -> ``"n/a"``."""
    value = _finite(value)
    if value is None:
        return NA
    return _signed(f"{_currency_prefix(currency)}{abs(value):,.2f}", value < 0)


def _compact(value: float) -> tuple[str, str] | None:
    """``(mantissa with 2 decimals, letter)`` for values of a million or more."""
    magnitude = abs(value)
    for index, (size, letter) in enumerate(_MAGNITUDES):
        if magnitude >= size * 0.999995:
            mantissa = f"{magnitude / size:,.2f}"
            if index > 0 and float(mantissa.replace(",", "")) >= 1000:
                bigger, big_letter = _MAGNITUDES[index - 1]
                return f"{magnitude / bigger:,.2f}", big_letter
            return mantissa, letter
    return None


def fmt_large_money(value: float | None, currency: str = "USD") -> str:
    """``2.35e12`` -> ``"$2.35T"``, ``8.124e11`` -> ``"$812.40B"``; below a million as money."""
    value = _finite(value)
    if value is None:
        return NA
    compact = _compact(value)
    if compact is None:
        return fmt_money(value, currency)
    mantissa, letter = compact
    return _signed(f"{_currency_prefix(currency)}{mantissa}{letter}", value < 0)


def fmt_pct(fraction: float | None, *, signed: bool = False) -> str:
    """``0.0123`` -> ``"1.23%"``; ``signed`` adds ``+`` to gains (``"+1.23%"``)."""
    fraction = _finite(fraction)
    if fraction is None:
        return NA
    text = f"{abs(fraction) * 100:,.2f}%"
    return _signed(text, fraction < 0, plus=signed and text != "0.00%")


def fmt_ratio(value: float | None) -> str:
    """A multiple such as P/E or beta with two decimals: ``"24.31"``."""
    value = _finite(value)
    if value is None:
        return NA
    return _signed(f"{abs(value):,.2f}", value < 0)


def fmt_int(value: int | None) -> str:
    """A count with thousands separators: ``"12,345,678"``."""
    number = _finite(value)
    if number is None:
        return NA
    return f"{round(number):,}"


def fmt_score(score: int) -> str:
    """A 1..5 score as shown everywhere: ``"3/5"``."""
    return f"{score}/5"


def fmt_date(day: date | None) -> str:
    """An ISO date, ``"2025-09-05"``; None -> ``"n/a"``."""
    return day.isoformat() if day is not None else NA


def fmt_percentile(value: float | None) -> str:
    """A 0..100 percentile rank as an ordinal: ``67.5`` -> ``"68th"``, ``1`` -> ``"1st"``."""
    value = _finite(value)
    if value is None:
        return NA
    whole = int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    suffix = "th" if 10 <= whole % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(whole % 10, "th")
    return f"{whole}{suffix}"


# ---------------------------------------------------------------------------
# Figure tables
# ---------------------------------------------------------------------------

FigureRows = list[tuple[str, str]]


@dataclass(frozen=True)
class Figure:
    """One displayed figure with its provenance (``source`` is None for verdict labels)."""

    label: str
    value: str
    source: FigureSource | None


FigureGroups = list[tuple[str, list[Figure]]]

_PERIOD_WORDS = {"1M": "1-Month", "3M": "3-Month", "YTD": "YTD", "1Y": "1-Year"}


def figure_groups(snapshot: StockSnapshot, analysis: StockAnalysis) -> FigureGroups:
    """Every figure of both records, grouped as the report shows them, each with its source.

    The first three groups (market data, financial metrics, analysis) are the
    original key figures; indicators, benchmark-relative returns, growth and
    peers follow. Figures the analysis did not compute (an older record) are
    left out rather than shown as n/a.
    """
    s, cur = snapshot, snapshot.currency
    tech, fund = analysis.technical, analysis.fundamental
    src = dict(s.sources)
    computed = FigureSource(f"computed: from {len(s.prices)} daily closes", s.as_of)
    verdict = FigureSource("computed: scoring rules (see Methodology)", s.as_of)

    def fig(label: str, value: str, name: str | None = None) -> Figure:
        return Figure(label, value, src.get(name, computed) if name else computed)

    market = [
        fig("Current Price", fmt_money(s.current_price, cur), "current_price"),
        fig("Market Cap", fmt_large_money(s.market_cap, cur), "market_cap"),
        fig("52-Week High", fmt_money(s.week52_high, cur), "week52_high"),
        fig("52-Week Low", fmt_money(s.week52_low, cur), "week52_low"),
        fig("YTD Return", fmt_pct(s.ytd_return, signed=True), "ytd_return"),
        fig("1-Year Return", fmt_pct(s.one_year_return, signed=True), "one_year_return"),
        fig("Volatility (Annualized)", fmt_pct(s.annualized_volatility), "annualized_volatility"),
        fig("Average Volume (3M)", fmt_int(s.average_volume), "average_volume"),
    ]
    financial = [
        fig("P/E Ratio", fmt_ratio(s.pe_ratio), "pe_ratio"),
        fig("Forward P/E", fmt_ratio(s.forward_pe), "forward_pe"),
        fig("Price-to-Book", fmt_ratio(s.price_to_book), "price_to_book"),
        fig("Dividend Yield", fmt_pct(s.dividend_yield), "dividend_yield"),
        fig("Revenue (TTM)", fmt_large_money(s.revenue_ttm, cur), "revenue_ttm"),
        fig("Profit Margin", fmt_pct(s.profit_margin), "profit_margin"),
        fig("Beta", fmt_ratio(s.beta), "beta"),
        fig("EPS (TTM)", fmt_money(s.eps, cur), "eps"),
    ]
    technical = [
        fig("50-Day SMA", fmt_money(tech.sma_50, cur)),
        fig("200-Day SMA", fmt_money(tech.sma_200, cur)),
        fig("1-Month Return", fmt_pct(tech.return_1m, signed=True)),
        fig("3-Month Return", fmt_pct(tech.return_3m, signed=True)),
        Figure("Technical Score", fmt_score(tech.score), verdict),
        Figure("Fundamental Score", fmt_score(fund.score), verdict),
    ]
    groups: FigureGroups = [
        ("Market Data", market),
        ("Financial Metrics", financial),
        ("Analysis", technical),
    ]
    groups += _evidence_groups(snapshot, analysis)
    return groups


def _evidence_groups(snapshot: StockSnapshot, analysis: StockAnalysis) -> FigureGroups:
    """Indicators, benchmark-relative returns, growth and peers (when computed)."""
    s, cur, ind = snapshot, snapshot.currency, analysis.indicators
    groups: FigureGroups = []
    src = {**s.sources, **analysis.sources}
    fallback = FigureSource("computed", s.as_of)

    def fig(label: str, value: str, name: str) -> Figure:
        return Figure(label, value, src.get(name, fallback))

    if ind is not None:
        bench = ind.benchmark_symbol or "benchmark"
        drawdown_dates = (
            f"{fmt_date(ind.drawdown_peak_day)} to {fmt_date(ind.drawdown_trough_day)}"
            if ind.drawdown_peak_day is not None
            else NA
        )
        groups.append(
            (
                "Indicators and Risk",
                [
                    fig("RSI (14)", fmt_ratio(ind.rsi_14), "rsi_14"),
                    fig("MACD Line", fmt_ratio(ind.macd_line), "macd"),
                    fig("MACD Signal", fmt_ratio(ind.macd_signal), "macd"),
                    fig("MACD Histogram", fmt_ratio(ind.macd_histogram), "macd"),
                    fig(
                        "Bollinger Upper", fmt_money(ind.bollinger_upper, cur), "bollinger_position"
                    ),
                    fig(
                        "Bollinger Lower", fmt_money(ind.bollinger_lower, cur), "bollinger_position"
                    ),
                    fig(
                        "Bollinger Position", fmt_pct(ind.bollinger_position), "bollinger_position"
                    ),
                    fig("Max Drawdown (1Y)", fmt_pct(ind.max_drawdown_1y), "max_drawdown_1y"),
                    fig("Drawdown Peak to Trough", drawdown_dates, "max_drawdown_1y"),
                    fig("Sharpe Ratio (1Y)", fmt_ratio(ind.sharpe_1y), "sharpe_1y"),
                    fig("Risk-Free Rate", fmt_pct(ind.risk_free_rate), "sharpe_1y"),
                    fig(f"Beta vs {bench} (1Y)", fmt_ratio(ind.beta_1y), "beta_1y"),
                    fig(
                        f"Correlation vs {bench} (1Y)",
                        fmt_ratio(ind.correlation_1y),
                        "correlation_1y",
                    ),
                ],
            )
        )
        relative = [Figure("Benchmark", bench, src.get("returns", fallback))]
        for r in ind.returns:
            words = _PERIOD_WORDS.get(r.period, r.period)
            relative += [
                fig(f"Benchmark {words} Return", fmt_pct(r.benchmark, signed=True), "returns"),
                fig(f"Excess {words} Return", fmt_pct(r.excess, signed=True), "returns"),
            ]
        groups.append(("Returns vs Benchmark", relative))
    groups.append(
        (
            "Growth and Cash Flow",
            [
                fig(
                    "Revenue Growth (3Y, a year)",
                    fmt_pct(s.revenue_growth_3y, signed=True),
                    "revenue_growth_3y",
                ),
                fig(
                    "EPS Growth (3Y, a year)",
                    fmt_pct(s.eps_growth_3y, signed=True),
                    "eps_growth_3y",
                ),
                fig("Free Cash Flow", fmt_large_money(s.free_cash_flow, cur), "free_cash_flow"),
                fig("FCF Margin", fmt_pct(s.fcf_margin), "fcf_margin"),
                fig("Debt-to-Equity", fmt_ratio(s.debt_to_equity), "debt_to_equity"),
            ],
        )
    )
    peers = analysis.peer_comparison
    if peers is not None:
        rows = [fig("Sector Peers", ", ".join(p.symbol for p in peers.peers), "peers")]
        rows += [
            fig(f"{rank.metric} Percentile", fmt_percentile(rank.percentile), "peers")
            for rank in peers.ranks
        ]
        groups.append(("Peer Comparison", rows))
    if analysis.track_record is not None:
        groups.append((TRACK_RECORD_GROUP, track_record_figures(analysis.track_record)))
    return groups


TRACK_RECORD_GROUP = "Track Record"
_HORIZON_WORDS = {"1M": "1-Month", "3M": "3-Month"}


def _bucket_label(bucket: BucketStats, *, excess: bool) -> str:
    what = "Excess" if excess else "Return"
    horizon = _HORIZON_WORDS[bucket.horizon]
    if bucket.signal == "technical score":
        return f"Score {bucket.bucket}/5 Forward {horizon} {what}"
    return f"{bucket.bucket.capitalize()} Price-Only Outlook Forward {horizon} {what}"


def fmt_bucket(bucket: BucketStats) -> str:
    """One bucket's summary in one line, or why it is n/a."""
    if bucket.mean is None:
        return bucket.missing or NA
    interval = (
        f"95% interval {fmt_pct(bucket.ci_low, signed=True)} to "
        f"{fmt_pct(bucket.ci_high, signed=True)}"
        if bucket.ci_low is not None and bucket.ci_high is not None
        else "interval n/a"
    )
    return (
        f"mean {fmt_pct(bucket.mean, signed=True)}, median {fmt_pct(bucket.median, signed=True)}, "
        f"hit rate {fmt_pct(bucket.hit_rate)}, {interval} ({fmt_int(bucket.signals)} signals)"
    )


def fmt_edge(edge: EdgeTest) -> str:
    """The high-minus-low difference with its interval and verdict, or why it is n/a."""
    if edge.difference is None:
        return edge.missing or NA
    return (
        f"{fmt_pct(edge.difference, signed=True)} (95% interval "
        f"{fmt_pct(edge.ci_low, signed=True)} to {fmt_pct(edge.ci_high, signed=True)}): "
        f"{edge.verdict}"
    )


def fmt_signal(signal: TrackSignal, *, excess: bool) -> str:
    """One month-end signal and what followed it (``pending`` while the window is open)."""

    def outcome(stock: float | None, over: float | None) -> str:
        value = over if excess else stock
        return "pending" if stock is None else fmt_pct(value, signed=True)

    what = "excess" if excess else "return"
    return (
        f"{fmt_date(signal.day)}: score {fmt_score(signal.technical_score)} ({signal.trend}, "
        f"{signal.momentum} momentum), price-only outlook {signal.outlook}; forward {what} "
        f"1-month {outcome(signal.return_1m, signal.excess_1m)}, "
        f"3-month {outcome(signal.return_3m, signal.excess_3m)}"
    )


def track_record_figures(record: TrackRecord) -> list[Figure]:
    """The track record as labelled figures with its provenance (text, PDF, answers)."""
    source = record.source
    period = (
        f"{fmt_int(record.signals)} month-end signals, {fmt_date(record.first_signal)} to "
        f"{fmt_date(record.last_signal)}"
        if record.signals
        else source.missing or NA
    )
    figures = [
        Figure("Track Record Signals", period, source),
        Figure("Track Record Measure", record.measure or NA, source),
    ]
    excess = record.benchmark_symbol is not None
    figures += [
        Figure(_bucket_label(b, excess=excess), fmt_bucket(b), source) for b in record.buckets
    ]
    figures += [
        Figure(f"Score 4-5 vs 1-2 Edge ({_HORIZON_WORDS[e.horizon]})", fmt_edge(e), source)
        for e in record.edges
    ]
    figures += [
        Figure(f"Recent Signal {rank}", fmt_signal(signal, excess=excess), source)
        for rank, signal in enumerate(reversed(record.recent), start=1)
    ]
    figures.append(Figure("Track Record Reading", record.reading, source))
    return figures


TRACK_TABLE_HEADER = ["Signal", "1M n", "1M mean", "1M median", "1M hits", "1M 95% interval",
                      "3M n", "3M mean", "3M hits"]  # fmt: skip


def _bucket_cells(stats: BucketStats, *, full: bool) -> list[str]:
    """One bucket's cells for one horizon: n, mean, (median,) hits, (interval); n/a below N."""
    count = fmt_int(stats.signals)
    if stats.mean is None:
        return [count, NA, *([""] * (3 if full else 1))]
    hits = fmt_pct(stats.hit_rate)
    if not full:
        return [count, fmt_pct(stats.mean, signed=True), hits]
    interval = (
        f"{fmt_pct(stats.ci_low, signed=True)} to {fmt_pct(stats.ci_high, signed=True)}"
        if stats.ci_low is not None and stats.ci_high is not None
        else NA
    )
    return [count, fmt_pct(stats.mean, signed=True), fmt_pct(stats.median, signed=True), hits,
            interval]  # fmt: skip


def track_record_table(record: TrackRecord) -> tuple[list[str], list[list[str]], list[str]]:
    """The bucket table (header, one row per score and price-only outlook) and the n/a notes.

    The PDF and ``stock-agent backtest`` print this table; its cells are the
    record's figures formatted here once.
    """
    by_key: dict[tuple[str, str, str], BucketStats] = {
        (b.signal, b.bucket, b.horizon): b for b in record.buckets
    }
    rows: list[list[str]] = []
    notes: list[str] = []
    kinds = [("technical score", str(n)) for n in range(5, 0, -1)]
    kinds += [("price-only outlook", name) for name in ("positive", "neutral", "negative")]
    for signal, bucket in kinds:
        one, three = by_key.get((signal, bucket, "1M")), by_key.get((signal, bucket, "3M"))
        if one is None or three is None:
            continue
        label = f"Score {bucket}/5" if signal == "technical score" else f"Outlook {bucket}*"
        rows.append([label, *_bucket_cells(one, full=True), *_bucket_cells(three, full=False)])
        notes += [f"{label}, {b.horizon}: {b.missing}" for b in (one, three) if b.missing]
    return list(TRACK_TABLE_HEADER), rows, notes


def track_record_bucket_labels(record: TrackRecord) -> frozenset[str]:
    """The labels of the per-bucket figures (the PDF shows them as table rows instead)."""
    excess = record.benchmark_symbol is not None
    return frozenset(_bucket_label(b, excess=excess) for b in record.buckets)


#: The track record's rows every model prompt carries; the others (each bucket, the recent
#: signals) only when a question asks about the track record, so a narrative prompt stays
#: short and its number check strict.
TRACK_RECORD_SUMMARY = (
    "Track Record Signals",
    "Score 4-5 vs 1-2 Edge (1-Month)",
    "Score 4-5 vs 1-2 Edge (3-Month)",
    "Track Record Reading",
)


def track_record_detail_labels(analysis: StockAnalysis) -> frozenset[str]:
    """The labels of the track record's rows beyond :data:`TRACK_RECORD_SUMMARY`."""
    if analysis.track_record is None:
        return frozenset()
    labels = {f.label for f in track_record_figures(analysis.track_record)}
    return frozenset(labels - set(TRACK_RECORD_SUMMARY))


def key_figure_groups(
    snapshot: StockSnapshot, analysis: StockAnalysis
) -> list[tuple[str, FigureRows]]:
    """:func:`figure_groups` as ``(label, formatted value)`` rows (market, financial,
    analysis, then indicators, returns vs benchmark, growth and peers)."""
    return [
        (title, [(f.label, f.value) for f in figures])
        for title, figures in figure_groups(snapshot, analysis)
    ]


def evidence_lines(snapshot: StockSnapshot, analysis: StockAnalysis) -> list[str]:
    """The figure groups after the first three as text lines (``TITLE:`` then ``- label: value``).

    The response's performance-analysis section prints them, so the text and
    the PDF show the same indicators, returns, growth and peer figures.
    """
    lines: list[str] = []
    for title, figures in key_figure_groups(snapshot, analysis)[3:]:
        lines.append(f"{title.upper()}:")
        lines.extend(f"- {label}: {value}" for label, value in figures)
    return lines


class FigureRow(TypedDict):
    """One displayed figure as JSON: its group, label, formatted value and provenance."""

    group: str
    label: str
    value: str
    source: str
    as_of: str  # ISO date the underlying data describes ("" for verdict labels)
    missing: NotRequired[str]  # why the value is n/a, when it is


def provenance_rows(groups: FigureGroups) -> list[FigureRow]:
    """``groups`` as :class:`FigureRow` dicts, in order."""
    rows: list[FigureRow] = []
    for title, figures in groups:
        for f in figures:
            row = FigureRow(
                group=title,
                label=f.label,
                value=f.value,
                source=f.source.source if f.source else "",
                as_of=f.source.as_of.isoformat() if f.source else "",
            )
            if f.source and f.source.missing:
                row["missing"] = f.source.missing
            rows.append(row)
    return rows


def figure_provenance(snapshot: StockSnapshot, analysis: StockAnalysis) -> list[FigureRow]:
    """Every figure with its source and as-of date, JSON-ready (the response's ``figures``)."""
    return provenance_rows(figure_groups(snapshot, analysis))


#: How a label names the benchmark when read as a *label key* ("Beta vs {benchmark} (1Y)").
BENCHMARK_PLACEHOLDER = "{benchmark}"


def label_key(label: str, benchmark: str | None) -> str:
    """``label`` with its benchmark written :data:`BENCHMARK_PLACEHOLDER`.

    "Beta vs SIM_INDEX (1Y)" and "Beta vs ^GSPC (1Y)" are the same figure of
    two records; the key is what a question or a case names it by.
    """
    if benchmark and f"vs {benchmark}" in label:
        return label.replace(f"vs {benchmark}", f"vs {BENCHMARK_PLACEHOLDER}")
    return label


def figures_by_key(snapshot: StockSnapshot, analysis: StockAnalysis) -> dict[str, Figure]:
    """Every figure of both records by its label key (see :func:`label_key`)."""
    ind = analysis.indicators
    bench = ind.benchmark_symbol if ind is not None else None
    return {
        label_key(f.label, bench): f
        for _, figures in figure_groups(snapshot, analysis)
        for f in figures
    }


def figure_label_groups(
    snapshot: StockSnapshot, analysis: StockAnalysis
) -> list[tuple[str, list[str]]]:
    """``[(group title, [label key, ...])]``: what a report of these records can be asked about."""
    ind = analysis.indicators
    bench = ind.benchmark_symbol if ind is not None else None
    return [
        (title, [label_key(f.label, bench) for f in figures])
        for title, figures in figure_groups(snapshot, analysis)
    ]


def key_figures(snapshot: StockSnapshot, analysis: StockAnalysis) -> FigureRows:
    """Ordered ``(label, formatted value)`` rows of every figure of both records.

    The text section and the PDF tables both print these rows;
    :func:`allowed_numbers` is built from :func:`narrative_figures`, the same
    rows without the track record's detail.
    """
    return [row for _, rows in key_figure_groups(snapshot, analysis) for row in rows]


def narrative_figures(snapshot: StockSnapshot, analysis: StockAnalysis) -> FigureRows:
    """:func:`key_figures` without the track record's detail rows (its summary stays)."""
    detail = track_record_detail_labels(analysis)
    return [row for row in key_figures(snapshot, analysis) if row[0] not in detail]


# ---------------------------------------------------------------------------
# Number check support
# ---------------------------------------------------------------------------


def _canonical_decimal(number: str) -> str:
    """``"0012.500"`` -> ``"12.5"``; ``"3."`` -> ``"3"``; ``".5"`` -> ``"0.5"``."""
    whole, _, frac = number.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def normalize_number_token(token: str) -> str:
    """The canonical form of a numeric token, so equal numbers compare equal.

    Strips currency symbols, ``%``, ``+``, thousands separators, leading
    zeros and trailing decimal zeros; keeps a minus sign (a narrative that
    flips a loss into a gain is caught); turns a magnitude word or letter
    into one upper-case letter (``"$2.35 trillion"`` -> ``"2.35T"``) and drops
    other trailing words (``"24.31x"`` -> ``"24.31"``).

    >>> normalize_number_token("$1,234.50") == normalize_number_token("1234.5") == "1234.5"
    True

    Raises :class:`ValueError` naming the token when it holds no number.
    """
    match = _TOKEN_PARTS.match(token.replace("\u00a0", " "))
    if match is None:
        raise ValueError(f"not a numeric token: {token!r}")
    canonical = _canonical_decimal(match["number"].replace(",", ""))
    word = (match["word"] or "").lower()
    suffix = _SUFFIXES.get(word, "")
    negative = "-" in (match["sign"] + match["sign2"]).replace("−", "-")
    if negative and canonical != "0":
        canonical = "-" + canonical
    return canonical + suffix


def extract_number_tokens(text: str) -> list[str]:
    """Every numeric token of ``text`` as written (see :data:`NUMBER_TOKEN_PATTERN`)."""
    return [m.group(0).strip() for m in NUMBER_TOKEN_PATTERN.finditer(text)]


def _roundings(displayed: str) -> set[str]:
    """A displayed decimal and every rounding of it to fewer decimals.

    A writer may say "$231.5" for "$231.47" or "24%" for "23.98%". The
    displayed "12.35" stands for any value in [12.345, 12.355), so both
    "12.3" and "12.4" are honest one-decimal roundings. Rounding to a whole
    number is allowed only from 10 upwards, so "0" or "1" cannot be
    justified by a tiny figure.
    """
    number = Decimal(displayed)
    found = {_canonical_decimal(displayed)}
    _, _, decimals = displayed.partition(".")
    half_ulp = Decimal(1).scaleb(-len(decimals)) / 2
    for keep in range(len(decimals) - 1, -1, -1):
        if keep == 0 and number < 10:
            break
        step = Decimal(1).scaleb(-keep)
        for edge in (number - half_ulp, number + half_ulp):
            rounded = edge.quantize(step, rounding=ROUND_HALF_UP)
            found.add(_canonical_decimal(format(rounded, "f")))
    return found


def _variants(formatted: str, *, negative: bool) -> set[str]:
    """Canonical tokens a writer may use for one formatted figure."""
    if formatted == NA or not any(ch.isdigit() for ch in formatted):
        return set()
    core = normalize_number_token(formatted)
    letter = core[-1] if core[-1].isalpha() else ""
    magnitude = core.lstrip("-").rstrip("KMBT") if letter else core.lstrip("-")
    found: set[str] = set()
    try:
        roundings = _roundings(magnitude)
    except InvalidOperation:  # pragma: no cover - normalize_number_token returns decimals
        return set()
    for rounded in roundings:
        for text in (rounded + letter, rounded) if letter else (rounded,):
            found.add(text)
            if negative:
                found.add("-" + text)
    return found


#: Numbers that are part of the vocabulary of a stock report rather than data:
#: scores 1..5, moving-average windows, the 52-week range, months and
#: sessions per year.
VOCABULARY_NUMBERS = frozenset(
    {"1", "2", "3", "4", "5", "12", "21", "50", "52", "63", "200", "252"}
)


def allowed_numbers(snapshot: StockSnapshot, analysis: StockAnalysis) -> frozenset[str]:
    """Every numeric token a narrative about these records may contain.

    Holds canonical tokens (compare ``normalize_number_token(token) in
    allowed``) and, for convenience, the displayed figures themselves:

    - each figure of :func:`narrative_figures` at its displayed precision and
      rounded half-up to fewer decimals (whole numbers only from 10 up); its
      magnitude without sign, and with a minus only when it is negative;
      large amounts with and without their magnitude letter (``2.35T``,
      ``2.35``);
    - the average volume also in millions (``12.35M``);
    - the data's dates: the as-of year, day and month, and the previous
      year (the YTD base);
    - :data:`VOCABULARY_NUMBERS`;
    - numbers printed in the analysis' rationale and risk factors (they
      quote thresholds such as "P/E above 30") and in the company name.
    """
    allowed: set[str] = set(VOCABULARY_NUMBERS)
    for _, formatted in narrative_figures(snapshot, analysis):
        if not any(ch.isdigit() for ch in formatted):  # n/a, symbols, peer lists
            continue
        allowed.add(formatted)
        for token in extract_number_tokens(formatted):  # "3/5" holds two tokens
            allowed |= _variants(token, negative=token.startswith("-"))
    volume = _compact(float(snapshot.average_volume))
    if volume is not None:
        allowed |= _variants(f"{volume[0]}{volume[1]}", negative=False)
    as_of = snapshot.as_of
    allowed |= {str(as_of.year), str(as_of.year - 1), str(as_of.month), str(as_of.day)}
    allowed.add(as_of.isoformat())
    prose: Iterable[str] = (
        *analysis.technical.rationale,
        *analysis.fundamental.rationale,
        *analysis.risk_factors,
        snapshot.company_name,
    )
    for text in prose:
        for token in extract_number_tokens(text):
            allowed.add(normalize_number_token(token))
    return frozenset(allowed)
