"""Charts for the reports, drawn from plain ``reportlab.graphics`` shapes.

Polylines, rectangles, tick lines and strings rather than reportlab's
``LinePlot`` and ``Legend`` widgets: the widgets' attribute validation made the
chart a third of a report's render time, and line charts with fixed axes need
none of their generality. Every series is downsampled to at most
:data:`MAX_CHART_POINTS` points (bars to :data:`MAX_BARS`).

- :func:`price_chart`: closes with the 50- and 200-day SMAs;
- :func:`indicator_panel`: RSI(14) with its 30/70 lines, and the MACD histogram;
- :func:`relative_chart`: the stock and its benchmark rebased to 100;
- :func:`bucket_chart`: the track record's mean forward excess per score bucket,
  with its interval.

The series are recomputed from the closes with the same functions
(:mod:`stock_agent.analysis.indicators`) that produced the record's figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from reportlab import rl_config
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from ..analysis import indicators
from ..formatting import fmt_money
from ..records import BucketStats, PricePoint

MAX_CHART_POINTS = 60
MAX_BARS = 40
NAVY = colors.HexColor("#1F3A5F")
ORANGE = colors.HexColor("#E07A1F")
GREEN = colors.HexColor("#2E8B57")
RED = colors.HexColor("#C0392B")
GREY = colors.HexColor("#9AA3AF")
_AXIS = {"strokeColor": colors.black, "strokeWidth": 0.5}

# reportlab validates every attribute assigned to a shape against its type
# (``attrmap.validateSetattr``) while ``rl_config.shapeChecking`` is true: a
# development aid that was a tenth of a report's render time. The flag is read
# on each assignment, changes nothing drawn, and is only ever switched off
# (once, at import), so threads rendering at the same time see one value.
rl_config.shapeChecking = 0


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


def _y_ticks(
    drawing: Drawing,
    left: float,
    y_at: Callable[[float], float],
    y_min: float,
    y_max: float,
    *,
    label: Callable[[float], str],
) -> None:
    """Up to four labelled ticks on the y axis at a 1-2-5 step."""
    step = _nice_step(y_max - y_min, max_ticks=4)
    tick = math.ceil(y_min / step) * step
    while tick <= y_max:
        y = y_at(tick)
        drawing.add(Line(left - 3, y, left, y, **_AXIS))
        drawing.add(String(left - 5, y - 2.5, label(tick), fontSize=7, textAnchor="end"))
        tick += step


def price_chart(
    prices: Sequence[PricePoint], *, currency: str, width: float, height: float = 62 * mm
) -> Drawing:
    """Closing price with 50- and 200-day SMAs, downsampled to ``MAX_CHART_POINTS``."""
    drawing = Drawing(width, height)
    closes = [p.close for p in prices]
    if len(closes) < 2:
        drawing.add(String(width / 2, height / 2, "Not enough price history", textAnchor="middle"))
        return drawing
    series: list[tuple[str, list[float | None], Any]] = [
        ("Close", list(closes), NAVY),
        ("50-day SMA", _rolling_means(closes, 50), ORANGE),
        ("200-day SMA", _rolling_means(closes, 200), GREEN),
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


def _month_ticks(
    drawing: Drawing, prices: Sequence[PricePoint], x_at: Any, bottom: float, *, labels: bool
) -> None:
    first = prices[0].day.toordinal()
    starts = sorted(
        {
            date(p.day.year, p.day.month, 1).toordinal()
            for p in prices
            if date(p.day.year, p.day.month, 1).toordinal() >= first
        }
    )
    for ordinal in starts[::2]:
        x = x_at(ordinal)
        drawing.add(Line(x, bottom - 3, x, bottom, **_AXIS))
        if labels:
            drawing.add(
                String(x, bottom - 11, _month_label(ordinal), fontSize=7, textAnchor="middle")
            )


def indicator_panel(
    prices: Sequence[PricePoint], *, width: float, height: float = 44 * mm
) -> Drawing:
    """RSI(14) with dashed 30/70 lines above, the MACD(12, 26, 9) histogram below."""
    drawing = Drawing(width, height)
    closes = [p.close for p in prices]
    rsi = indicators.rsi_series(closes)
    hist = indicators.macd_series(closes).histogram
    if all(v is None for v in rsi) and all(v is None for v in hist):
        drawing.add(String(width / 2, height / 2, "Not enough price history", textAnchor="middle"))
        return drawing
    left, plot_w = 42.0, width - 60
    gap = 8.0
    pane_h = (height - 14 - gap) / 2
    first, last = prices[0].day.toordinal(), prices[-1].day.toordinal()

    def x_at(ordinal: float) -> float:
        return left + (ordinal - first) / ((last - first) or 1) * plot_w

    # RSI pane (top)
    rsi_bottom = 4 + pane_h + gap
    drawing.add(Rect(left, rsi_bottom, plot_w, pane_h, fillColor=None, **_AXIS))

    def rsi_y(value: float) -> float:
        return rsi_bottom + value / 100.0 * pane_h

    for level in (30, 70):
        y = rsi_y(level)
        drawing.add(Line(left, y, left + plot_w, y, strokeColor=RED, strokeWidth=0.5,
                         strokeDashArray=[2, 2]))  # fmt: skip
        drawing.add(String(left - 4, y - 2.5, str(level), fontSize=6.5, textAnchor="end"))
    keep = _sample_indices(len(closes), MAX_CHART_POINTS)
    points: list[float] = []
    for i in keep:
        value = rsi[i]
        if value is not None:
            points += [x_at(prices[i].day.toordinal()), rsi_y(value)]
    if len(points) >= 4:
        drawing.add(PolyLine(points, strokeColor=NAVY, strokeWidth=1.0))
    drawing.add(String(left + 4, rsi_bottom + pane_h - 8, "RSI (14)", fontSize=7))

    # MACD histogram pane (bottom)
    macd_bottom = 4.0
    drawing.add(Rect(left, macd_bottom, plot_w, pane_h, fillColor=None, **_AXIS))
    values = [(i, v) for i, v in enumerate(hist) if v is not None]
    if values:
        bars = _sample_indices(len(values), MAX_BARS)
        scale = max(abs(v) for _, v in values) or 1.0
        zero = macd_bottom + pane_h / 2
        drawing.add(Line(left, zero, left + plot_w, zero, strokeColor=GREY, strokeWidth=0.4))
        bar_w = max(plot_w / len(bars) * 0.7, 0.6)
        for k in bars:
            i, v = values[k]
            x = x_at(prices[i].day.toordinal())
            h = v / scale * (pane_h / 2 - 2)
            drawing.add(
                Rect(x - bar_w / 2, min(zero, zero + h), bar_w, abs(h),
                     fillColor=GREEN if v >= 0 else RED, strokeColor=None)
            )  # fmt: skip
    drawing.add(
        String(left + 4, macd_bottom + pane_h - 8, "MACD histogram (12, 26, 9)", fontSize=7)
    )
    return drawing


def relative_chart(
    prices: Sequence[PricePoint],
    benchmark: Sequence[PricePoint],
    *,
    symbol: str,
    benchmark_symbol: str,
    width: float,
    height: float = 40 * mm,
) -> Drawing:
    """The stock and its benchmark rebased to 100 on their first common day."""
    drawing = Drawing(width, height)
    bench = {p.day: p.close for p in benchmark}
    common = [p for p in prices if p.day in bench]
    if len(common) < 2:
        drawing.add(String(width / 2, height / 2, "No benchmark history", textAnchor="middle"))
        return drawing
    base_s, base_b = common[0].close, bench[common[0].day]
    stock = [100.0 * p.close / base_s for p in common]
    index = [100.0 * bench[p.day] / base_b for p in common]
    left, bottom = 42.0, 24.0
    plot_w, plot_h = width - 60, height - 40
    low, high = min(*stock, *index), max(*stock, *index)
    pad = (high - low) * 0.05 or 1.0
    y_min, y_max = low - pad, high + pad
    first, last = common[0].day.toordinal(), common[-1].day.toordinal()

    def x_at(ordinal: float) -> float:
        return left + (ordinal - first) / ((last - first) or 1) * plot_w

    def y_at(value: float) -> float:
        return bottom + (value - y_min) / ((y_max - y_min) or 1) * plot_h

    drawing.add(Line(left, bottom, left, bottom + plot_h, **_AXIS))
    drawing.add(Line(left, bottom, left + plot_w, bottom, **_AXIS))
    _y_ticks(drawing, left, y_at, y_min, y_max, label=lambda tick: f"{tick:.0f}")
    _month_ticks(drawing, common, x_at, bottom, labels=True)
    keep = _sample_indices(len(common), MAX_CHART_POINTS)
    legend_x = left + 6
    for name, values, colour in ((symbol, stock, NAVY), (benchmark_symbol, index, ORANGE)):
        points: list[float] = []
        for i in keep:
            points += [x_at(common[i].day.toordinal()), y_at(values[i])]
        drawing.add(PolyLine(points, strokeColor=colour, strokeWidth=1.2))
        drawing.add(Rect(legend_x, height - 12, 7, 7, fillColor=colour, strokeColor=None))
        drawing.add(String(legend_x + 11, height - 10, name, fontSize=7))
        legend_x += 26 + 4 * len(name)
    return drawing


def bucket_chart(
    buckets: Sequence[BucketStats], *, width: float, height: float = 42 * mm
) -> Drawing:
    """One bar per bucket: the mean forward excess, its interval as a whisker.

    A bucket with too few signals gets no bar and "n/a" under its label, so an
    empty slot is never read as zero.
    """
    drawing = Drawing(width, height)
    if not buckets:
        drawing.add(String(width / 2, height / 2, "No track record", textAnchor="middle"))
        return drawing
    left, bottom = 42.0, 20.0
    plot_w, plot_h = width - 60, height - 30
    values = [v for b in buckets for v in (b.mean, b.ci_low, b.ci_high) if v is not None] or [0.0]
    top = max(max(values), 0.0)
    floor = min(min(values), 0.0)
    pad = (top - floor) * 0.08 or 0.01
    y_min, y_max = floor - pad, top + pad

    def y_at(value: float) -> float:
        return bottom + (value - y_min) / ((y_max - y_min) or 1) * plot_h

    drawing.add(Line(left, bottom, left, bottom + plot_h, **_AXIS))
    zero = y_at(0.0)
    drawing.add(Line(left, zero, left + plot_w, zero, strokeColor=GREY, strokeWidth=0.5))
    _y_ticks(drawing, left, y_at, y_min, y_max, label=lambda tick: f"{tick * 100:+.0f}%")
    slot = plot_w / len(buckets)
    for index, bucket in enumerate(buckets):
        middle = left + slot * (index + 0.5)
        label = f"score {bucket.bucket}" if bucket.bucket.isdigit() else bucket.bucket
        drawing.add(String(middle, 10, label, fontSize=7, textAnchor="middle"))
        if bucket.mean is None:
            drawing.add(String(middle, 2, "n/a", fontSize=6.5, textAnchor="middle"))
            continue
        drawing.add(String(middle, 2, f"n={bucket.signals}", fontSize=6.5, textAnchor="middle"))
        bar = y_at(bucket.mean)
        colour = GREEN if bucket.mean >= 0 else RED
        drawing.add(Rect(middle - slot * 0.25, min(zero, bar), slot * 0.5, abs(bar - zero),
                         fillColor=colour, strokeColor=None))  # fmt: skip
        if bucket.ci_low is not None and bucket.ci_high is not None:
            low, high = y_at(bucket.ci_low), y_at(bucket.ci_high)
            drawing.add(Line(middle, low, middle, high, strokeColor=colors.black, strokeWidth=0.6))
            for y in (low, high):
                drawing.add(Line(middle - 3, y, middle + 3, y, strokeColor=colors.black,
                                 strokeWidth=0.6))  # fmt: skip
    return drawing
