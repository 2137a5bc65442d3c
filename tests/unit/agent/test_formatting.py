"""Formatting: every figure's text form, the key-figure table and the number-check vocabulary."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.analysis import analyze
from stock_agent.formatting import (
    NA,
    _roundings,
    allowed_numbers,
    evidence_lines,
    extract_number_tokens,
    figure_provenance,
    fmt_date,
    fmt_int,
    fmt_large_money,
    fmt_money,
    fmt_pct,
    fmt_percentile,
    fmt_ratio,
    key_figure_groups,
    key_figures,
    normalize_number_token,
)
from stock_agent.market_data import SimulatedProvider, known_symbols
from stock_agent.records import StockAnalysis, StockSnapshot

PROVIDER = SimulatedProvider()


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (1234.56, "USD", "$1,234.56"),
        (1234.5, "USD", "$1,234.50"),
        (0.004, "USD", "$0.00"),
        (-0.004, "USD", "$0.00"),  # never "-$0.00"
        (-1.2, "USD", "-$1.20"),
        (2510, "JPY", "¥2,510.00"),
        (5, "EUR", "€5.00"),
        (5, "CHF", "CHF 5.00"),
        (None, "USD", NA),
        (math.nan, "USD", NA),
        (math.inf, "USD", NA),
    ],
)
def test_fmt_money(value: float | None, currency: str, expected: str) -> None:
    assert fmt_money(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.35e12, "$2.35T"),
        (8.124e11, "$812.40B"),
        (45.1e6, "$45.10M"),
        (999.999e9, "$1.00T"),  # rounding carries into the next unit
        (999_999.0, "$1.00M"),
        (12_345.0, "$12,345.00"),
        (-3.2e9, "-$3.20B"),
        (None, NA),
    ],
)
def test_fmt_large_money(value: float | None, expected: str) -> None:
    assert fmt_large_money(value) == expected


@pytest.mark.parametrize(
    ("fraction", "signed", "expected"),
    [
        (0.0123, False, "1.23%"),
        (0.0123, True, "+1.23%"),
        (-0.0123, True, "-1.23%"),
        (-0.0123, False, "-1.23%"),
        (0.0, True, "0.00%"),
        (-0.00001, True, "0.00%"),
        (0.0046, False, "0.46%"),  # a yield stored as a fraction is scaled exactly once
        (12.5, False, "1,250.00%"),
        (None, True, NA),
    ],
)
def test_fmt_pct(fraction: float | None, signed: bool, expected: str) -> None:
    assert fmt_pct(fraction, signed=signed) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(24.314, "24.31"), (1.165, "1.17"), (-3.0, "-3.00"), (None, NA)]
)
def test_fmt_ratio(value: float | None, expected: str) -> None:
    assert fmt_ratio(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(12_345_678, "12,345,678"), (0, "0"), (None, NA)])
def test_fmt_int(value: int | None, expected: str) -> None:
    assert fmt_int(value) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("$1,234.50", "1234.5"),
        ("1234.5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("+1.23%", "1.23"),
        ("1.23 %", "1.23"),
        ("-$1.20", "-1.2"),
        ("$-1.20", "-1.2"),
        ("−3.2%", "-3.2"),  # Unicode minus
        ("-0.00%", "0"),
        ("12.00", "12"),
        ("007", "7"),
        (".5", "0.5"),
        ("$2.35T", "2.35T"),
        ("$2.35 trillion", "2.35T"),
        ("812.4bn", "812.4B"),
        ("24.31x", "24.31"),
        ("US$5", "5"),
        ("¥2,510", "2510"),
    ],
)
def test_normalize_number_token(token: str, expected: str) -> None:
    assert normalize_number_token(token) == expected


@pytest.mark.parametrize("token", ["", "abc", "$", "%", "--"])
def test_normalize_rejects_non_numbers_by_name(token: str) -> None:
    with pytest.raises(ValueError, match="not a numeric token"):
        normalize_number_token(token)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e13, max_value=1e13, allow_nan=False))
def test_normalization_is_idempotent_and_format_independent(value: float) -> None:
    money = normalize_number_token(fmt_money(value))
    assert normalize_number_token(money) == money
    assert money == normalize_number_token(f"{value:.2f}")
    if abs(value) < 1e6:  # beyond that value / 100 * 100 loses the cents
        pct = normalize_number_token(fmt_pct(value / 100, signed=True))
        assert pct == normalize_number_token(f"{value:,.2f}")


def test_extract_number_tokens() -> None:
    text = (
        "On 2025-09-04 SIM_STOCK (Q3) traded at $1,234.56, up +1.23% YTD; market cap "
        "$2.35 trillion, P/E 24.31x, the 50-day SMA and 52-week high; fell -5.2% in 3 Months."
    )
    assert extract_number_tokens(text) == [
        "2025",
        "09",
        "04",
        "$1,234.56",
        "+1.23%",
        "$2.35 trillion",
        "24.31",
        "50",
        "52",
        "-5.2%",
        "3",
    ]


def _record(
    symbol: str = "SIM_STOCK", as_of: date = date(2025, 9, 4)
) -> tuple[StockSnapshot, StockAnalysis]:
    snap = PROVIDER.snapshot(symbol, as_of=as_of)
    return snap, analyze(snap)


def test_key_figures_cover_every_figure_in_order() -> None:
    snap, analysis = _record()
    rows = key_figures(snap, analysis)
    labels = [label for label, _ in rows]
    assert labels[:22] == [
        "Current Price",
        "Market Cap",
        "52-Week High",
        "52-Week Low",
        "YTD Return",
        "1-Year Return",
        "Volatility (Annualized)",
        "Average Volume (3M)",
        "P/E Ratio",
        "Forward P/E",
        "Price-to-Book",
        "Dividend Yield",
        "Revenue (TTM)",
        "Profit Margin",
        "Beta",
        "EPS (TTM)",
        "50-Day SMA",
        "200-Day SMA",
        "1-Month Return",
        "3-Month Return",
        "Technical Score",
        "Fundamental Score",
    ]
    # The evidence groups follow the original three, in this order.
    titles = [title for title, _ in key_figure_groups(snap, analysis)]
    assert titles == [
        "Market Data",
        "Financial Metrics",
        "Analysis",
        "Indicators and Risk",
        "Returns vs Benchmark",
        "Growth and Cash Flow",
    ]  # SIM_SECTOR has no other member: no peer group (its reason is in the sources)
    assert analysis.sources["peers"].missing == "no SIM_SECTOR peers known to simulated"
    aapl, aapl_analysis = _record("AAPL")
    assert key_figure_groups(aapl, aapl_analysis)[-1] == (
        "Peer Comparison",
        [
            ("Sector Peers", "AMD, CSCO, INTC, MSFT, NVDA, SIM_ESC"),
            *(
                (f"{rank.metric} Percentile", fmt_percentile(rank.percentile))
                for rank in aapl_analysis.peer_comparison.ranks  # type: ignore[union-attr]
            ),
        ],
    )
    assert labels[22:35] == [
        "RSI (14)",
        "MACD Line",
        "MACD Signal",
        "MACD Histogram",
        "Bollinger Upper",
        "Bollinger Lower",
        "Bollinger Position",
        "Max Drawdown (1Y)",
        "Drawdown Peak to Trough",
        "Sharpe Ratio (1Y)",
        "Risk-Free Rate",
        "Beta vs SIM_INDEX (1Y)",
        "Correlation vs SIM_INDEX (1Y)",
    ]
    values = dict(rows)
    assert values["Current Price"] == fmt_money(snap.current_price)
    assert values["YTD Return"] == fmt_pct(snap.ytd_return, signed=True)
    assert values["Dividend Yield"] == fmt_pct(snap.dividend_yield)
    assert values["Market Cap"] == fmt_large_money(snap.market_cap)
    assert values["Technical Score"] == f"{analysis.technical.score}/5"
    assert [r for _, group in key_figure_groups(snap, analysis) for r in group] == rows


def test_missing_metrics_print_na() -> None:
    snap, analysis = _record("BA")  # negative earnings and book value
    values = dict(key_figures(snap, analysis))
    assert values["P/E Ratio"] == NA and values["Price-to-Book"] == NA
    snap = dataclasses.replace(snap, beta=None, revenue_ttm=None)
    values = dict(key_figures(snap, analysis))
    assert values["Beta"] == NA and values["Revenue (TTM)"] == NA
    assert all(any(ch.isdigit() for ch in token) for token in allowed_numbers(snap, analysis))


@pytest.mark.parametrize("symbol", sorted(known_symbols()))
def test_every_figure_passes_the_number_check(symbol: str) -> None:
    """What the text section prints is always allowed in a narrative, in any usual spelling."""
    snap, analysis = _record(symbol)
    allowed = allowed_numbers(snap, analysis)
    for label, value in key_figures(snap, analysis):
        for token in extract_number_tokens(value):
            assert normalize_number_token(token) in allowed, (label, value, token)
    for line in (*analysis.technical.rationale, *analysis.fundamental.rationale):
        for token in extract_number_tokens(line):
            assert normalize_number_token(token) in allowed, line


def test_allowed_numbers_variants_and_what_stays_out() -> None:
    snap, analysis = _record()
    snap = dataclasses.replace(
        snap,
        current_price=1234.56,
        market_cap=2.35e12,
        ytd_return=0.0123,
        one_year_return=-0.0520,
        dividend_yield=None,
        average_volume=12_345_678,
        as_of=date(2025, 9, 4),
    )
    # A yield of 0.x6 % whose wrong rounding down (0.x) no other figure of the record allows,
    # so the last check below is about rounding and not about the record's other figures.
    others = allowed_numbers(snap, analysis)
    tenths = next(t for t in range(4, 9) if f"0.{t}" not in others)
    snap = dataclasses.replace(snap, dividend_yield=(tenths + 0.6) / 1000)
    allowed = allowed_numbers(snap, analysis)

    def ok(token: str) -> bool:
        return normalize_number_token(token) in allowed

    for token in ("$1,234.56", "1234.56", "1,234.56", "$1,234.6", "1235"):
        assert ok(token), token
    for token in ("1.23%", "+1.23%", "1.23", "1.2%"):
        assert ok(token), token
    for token in ("$2.35T", "2.35 trillion", "2.35", "2.4T"):
        assert ok(token), token
    for token in ("-5.20%", "5.2%", "5.20", "-5.2"):  # a loss may be written as a magnitude
        assert ok(token), token
    for token in ("12,345,678", "12.35M", "12.3 million", "12.4M"):
        assert ok(token), token
    for token in (f"0.{tenths}6%", f"0.{tenths + 1}%"):
        assert ok(token), token
    for token in ("2025", "2024", "50", "200", "52", "3", "5"):
        assert ok(token), token

    assert not ok("-1.23%")  # a gain written as a loss is caught
    assert not ok("99.99")  # an invented figure
    assert not ok("2.35B")  # the wrong unit
    assert not ok(f"0.{tenths}")  # 0.46% rounds to 0.5, not 0.4
    assert not ok("1234")  # truncation is not rounding


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0th"), (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (10, "10th"), (11, "11th"),
     (12, "12th"), (13, "13th"), (20, "20th"), (21, "21st"), (22, "22nd"), (23, "23rd"),
     (67.5, "68th"), (62.49, "62nd"), (100, "100th"), (None, "n/a"), (float("nan"), "n/a")],
)  # fmt: skip
def test_fmt_percentile(value: float | None, text: str) -> None:
    assert fmt_percentile(value) == text


def test_fmt_date() -> None:
    assert fmt_date(date(2025, 9, 5)) == "2025-09-05" and fmt_date(None) == NA


def test_figure_provenance_and_evidence_lines() -> None:
    snap, analysis = _record("BA")
    rows = figure_provenance(snap, analysis)
    assert [(r["label"], r["value"]) for r in rows] == key_figures(snap, analysis)
    by_label = {r["label"]: r for r in rows}
    leverage = by_label["Debt-to-Equity"]
    assert leverage["value"] == NA and leverage["missing"] == "shareholders' equity is not positive"
    assert leverage["as_of"] == "2024-12-31" and leverage["group"] == "Growth and Cash Flow"
    assert "missing" not in by_label["Current Price"]
    assert by_label["Current Price"]["as_of"] == snap.as_of.isoformat()
    assert by_label["Technical Score"]["source"] == "computed: scoring rules (see Methodology)"
    lines = evidence_lines(snap, analysis)
    assert lines[0] == "INDICATORS AND RISK:"
    assert f"- RSI (14): {by_label['RSI (14)']['value']}" in lines
    assert "GROWTH AND CASH FLOW:" in lines and "PEER COMPARISON:" in lines
    assert len(lines) == len(rows) - 22 + 4  # every figure after the first three groups, 4 titles


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (999_995, "$1.00M"),  # rounds to a million: shown as one
        (999_994.99, "$999,994.99"),
        (999_995_000, "$1.00B"),  # "1,000.00M" moves up a letter
        (999_994_999, "$999.99M"),
        (-999_995_000, "-$1.00B"),
        (999_995e9, "$1,000.00T"),  # no letter above T
    ],
)
def test_large_money_edges(value: float, text: str) -> None:
    assert fmt_large_money(value) == text


@pytest.mark.parametrize(
    ("fraction", "signed", "text"),
    [
        (0.5, False, "50.00%"),
        (0.99, False, "99.00%"),
        (-0.0001, False, "-0.01%"),
        (0.00004, True, "0.00%"),  # rounds to zero: no sign
        (-0.00004, False, "0.00%"),  # never "-0.00%"
        (0.0123, True, "+1.23%"),
        (0.0, True, "0.00%"),
    ],
)
def test_fmt_pct_signs(fraction: float, signed: bool, text: str) -> None:
    assert fmt_pct(fraction, signed=signed) == text


def test_allowed_numbers_hold_the_previous_year_not_the_next() -> None:
    snap, analysis = _record()  # as of 2025-09-04
    older = dataclasses.replace(analysis, indicators=None)  # no drawdown dates in the figures
    allowed = allowed_numbers(snap, older)
    assert {"2025", "2024", "9", "4"} <= allowed and "2026" not in allowed


def test_signs_and_rows_of_every_return_figure() -> None:
    snap, analysis = _record("AAPL")
    assert analysis.indicators is not None
    up = dataclasses.replace(snap, ytd_return=0.05, one_year_return=0.1, revenue_growth_3y=0.02,
                             eps_growth_3y=0.03)  # fmt: skip
    tech = dataclasses.replace(analysis.technical, return_1m=0.01, return_3m=0.02)
    ind = dataclasses.replace(
        analysis.indicators,
        returns=tuple(
            dataclasses.replace(r, benchmark=0.04, excess=0.01) for r in analysis.indicators.returns
        ),
    )
    values = dict(key_figures(up, dataclasses.replace(analysis, technical=tech, indicators=ind)))
    for label in ("YTD Return", "1-Year Return", "1-Month Return", "3-Month Return",
                  "Revenue Growth (3Y, a year)", "EPS Growth (3Y, a year)"):  # fmt: skip
        assert values[label].startswith("+"), label
    for period in ("1-Month", "3-Month", "YTD", "1-Year"):
        assert values[f"Benchmark {period} Return"] == "+4.00%"
        assert values[f"Excess {period} Return"] == "+1.00%"
    no_dates = dataclasses.replace(ind, drawdown_peak_day=None, drawdown_trough_day=None)
    values = dict(key_figures(up, dataclasses.replace(analysis, indicators=no_dates)))
    assert values["Drawdown Peak to Trough"] == NA
    assert dict(key_figures(snap, analysis))["Drawdown Peak to Trough"] == (
        f"{ind.drawdown_peak_day} to {ind.drawdown_trough_day}"
    )


def test_plain_formatters_leave_positive_values_unsigned() -> None:
    assert fmt_pct(0.5) == "50.00%" and fmt_ratio(0.5) == "0.50" and fmt_money(0.5) == "$0.50"
    assert fmt_ratio(-0.5) == "-0.50" and fmt_ratio(0.0) == "0.00"


def test_volume_variants_are_never_negative() -> None:
    snap, analysis = _record()
    snap = dataclasses.replace(snap, average_volume=12_345_678)
    allowed = allowed_numbers(snap, analysis)
    assert normalize_number_token("12.35M") in allowed
    assert normalize_number_token("-12.35M") not in allowed


@pytest.mark.parametrize(
    ("displayed", "allowed", "refused"),
    [
        # 12.35 stands for [12.345, 12.355): 12.3 and 12.4 are honest, 12.2 and 12.5 are not.
        (
            "12.35",
            {"12.35", "12.3", "12.4", "12"},
            {"12.2", "12.5", "13", "11", "10", "12.345", "12.355"},
        ),
        ("10.00", {"10"}, {"9", "11"}),  # 10 itself may be written as a whole number
        ("1.235", {"1.235", "1.24", "1.23", "1.2"}, {"1.3", "1", "1.236"}),
        # 9.96 stands for [9.955, 9.965): one decimal gives 10.0 only (never 9.9), and
        # whole numbers below 10 are not offered on their own.
        ("9.96", {"9.96", "10.0"}, {"9.9", "9"}),
        ("10.40", {"10.4", "10"}, {"11", "9"}),
        ("9.50", {"9.5"}, {"10", "9"}),
        ("0.46", {"0.46", "0.5"}, {"0", "1", "0.4"}),
        # 12.34 stands for [12.335, 12.345): never 12.4 (the next display value's rounding).
        ("12.34", {"12.34", "12.3", "12"}, {"12.4", "12.2"}),
    ],
)
def test_rounding_tolerance_edges(displayed: str, allowed: set[str], refused: set[str]) -> None:
    found = _roundings(displayed)
    for token in allowed:
        assert normalize_number_token(token) in found or token.rstrip("0").rstrip(".") in found, (
            token,
            found,
        )
    assert not (refused & found), refused & found
