"""The report's charts: the indicator panel and relative performance, as drawn shapes."""

from __future__ import annotations

from datetime import date

import pytest
from reportlab.graphics.shapes import Line, PolyLine, Rect, String
from stock_agent.market_data import SimulatedProvider
from stock_agent.reports.charts import (
    GREEN,
    MAX_BARS,
    MAX_CHART_POINTS,
    RED,
    indicator_panel,
    relative_chart,
)

from tests.support.records import simulated_record

PROVIDER = SimulatedProvider()
RECORD_DAY = date(2025, 9, 4)


def test_indicator_panel_draws_rsi_with_its_lines_and_the_macd_histogram() -> None:
    snap, _ = simulated_record("TSLA", as_of=RECORD_DAY)
    panel = indicator_panel(snap.prices, width=480)
    strings = [s.text for s in panel.contents if isinstance(s, String)]
    assert {"30", "70", "RSI (14)", "MACD histogram (12, 26, 9)"} <= set(strings)
    dashed = [line for line in panel.contents if isinstance(line, Line) and line.strokeDashArray]
    assert len(dashed) == 2  # the 30 and 70 lines, inside the RSI pane
    bottom_of_rsi = min(line.y1 for line in dashed)
    [rsi_line] = [p for p in panel.contents if isinstance(p, PolyLine)]
    ys = rsi_line.points[1::2]
    top = max(line.y1 for line in dashed)
    scale = (top - bottom_of_rsi) / 40  # 30 -> 70 spans 40 RSI points
    assert all(bottom_of_rsi - 30 * scale - 1e-6 <= y <= top + 30 * scale + 1e-6 for y in ys)
    assert len(ys) <= MAX_CHART_POINTS
    bars = [r for r in panel.contents if isinstance(r, Rect) and r.fillColor is not None]
    assert 0 < len(bars) <= MAX_BARS
    assert {bar.fillColor for bar in bars} <= {GREEN, RED}
    short = indicator_panel(snap.prices[:10], width=480)
    assert [s.text for s in short.contents if isinstance(s, String)] == ["Not enough price history"]


def test_relative_chart_rebases_both_lines_to_100() -> None:
    snap, _ = simulated_record("AAPL", as_of=RECORD_DAY)
    assert snap.benchmark is not None
    chart = relative_chart(
        snap.prices, snap.benchmark.prices, symbol="AAPL", benchmark_symbol="SIM_INDEX", width=480
    )
    lines = [p for p in chart.contents if isinstance(p, PolyLine)]
    assert len(lines) == 2
    assert lines[0].points[1] == pytest.approx(lines[1].points[1])  # both start at 100
    assert {"AAPL", "SIM_INDEX"} <= {s.text for s in chart.contents if isinstance(s, String)}
    empty = relative_chart(snap.prices, (), symbol="A", benchmark_symbol="B", width=480)
    assert [s.text for s in empty.contents if isinstance(s, String)] == ["No benchmark history"]
