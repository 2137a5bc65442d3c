"""One-year figures need a year of history: a recent listing reads n/a, not a made-up number.

A "1-Year Return" measured from the first of three closes, and a Sharpe
ratio annualised from two daily returns (-155.63 on the day it was found),
are different numbers under the same labels. The rule and its edges are
pinned on the provider's own derivation; the recent listing comes from the
yfinance stand-in of :mod:`tests.support.fake_yfinance` (no network).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from stock_agent import formatting
from stock_agent.analysis import analyze
from stock_agent.market_data import SimulatedProvider, build_snapshot, one_year_before, provider
from stock_agent.records import PricePoint, StockSnapshot

from tests.support.fake_yfinance import AS_OF, INFO, World, history_frame, make_provider

ONE_YEAR_LABELS = ("1-Year Return", "Sharpe Ratio (1Y)", "Excess 1-Year Return")
# The first close may be this many days after the date a year earlier (a weekend, a holiday).
YEAR_START_SLACK_DAYS = 7


def test_the_slack_is_a_week() -> None:
    assert getattr(provider, "YEAR_START_SLACK_DAYS", None) == YEAR_START_SLACK_DAYS


def _prices(first: date, last: date) -> list[PricePoint]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [
        PricePoint(day=d, close=100.0 + (i % 7) - (i % 3), volume=1000)
        for i, d in enumerate(days)
        if d.weekday() < 5 or d in (first, last)
    ]


def _snapshot(first: date, last: date = AS_OF) -> StockSnapshot:
    return build_snapshot(
        symbol="NEW",
        company_name="New Listing",
        sector="Technology",
        industry="Software",
        currency="USD",
        data_source="yfinance",
        prices=_prices(first, last),
        market_cap=1e9,
    )


@pytest.mark.parametrize(
    ("days_after_a_year_earlier", "covered"),
    [
        (-3, True),  # a close before the date a year earlier
        (0, True),
        (YEAR_START_SLACK_DAYS, True),  # that date was a weekend or a holiday
        (YEAR_START_SLACK_DAYS + 1, False),
        (200, False),
    ],
)
def test_the_one_year_rule_at_its_edges(days_after_a_year_earlier: int, covered: bool) -> None:
    first = one_year_before(AS_OF) + timedelta(days=days_after_a_year_earlier)
    snap = _snapshot(first)
    analysis = analyze(snap)
    assert (snap.one_year_return is not None) is covered
    assert (analysis.indicators.sharpe_1y is not None) is covered  # type: ignore[union-attr]
    one_year = next(r for r in analysis.indicators.returns if r.period == "1Y")  # type: ignore[union-attr]
    assert (one_year.stock is not None) is covered
    if covered:
        base = next(p for p in reversed(snap.prices) if p.day <= max(first, one_year_before(AS_OF)))
        assert snap.one_year_return == pytest.approx(snap.current_price / base.close - 1)
    else:
        assert snap.sources["one_year_return"].missing == (
            f"the history starts {first}, less than a year before {AS_OF}"
        )
        assert analysis.sources["sharpe_1y"].missing == "the history is shorter than a year"


def test_a_listing_three_sessions_old_reads_n_a_for_every_one_year_figure(tmp_path: Path) -> None:
    world = World()
    world.histories["NEWCO"] = history_frame(AS_OF, start_price=20.0, drift=0.05, sessions=3)
    world.infos["NEWCO"] = dict(INFO, longName="NewCo")
    snap = make_provider(world, tmp_path)[0].snapshot("NEWCO", as_of=AS_OF)
    assert len(snap.prices) == 3
    analysis = analyze(snap)
    figures = dict(formatting.key_figures(snap, analysis))
    for label in ONE_YEAR_LABELS:
        assert figures[label] == formatting.NA, (label, figures[label])
    # What the history does cover is still reported.
    assert figures["Current Price"] != formatting.NA and figures["YTD Return"] != formatting.NA
    assert any("1-year return" in line and "n/a" in line for line in analysis.technical.rationale)


def test_the_simulated_universe_keeps_its_one_year_figures() -> None:
    snap = SimulatedProvider().snapshot("SIM_STOCK", as_of=AS_OF)
    figures = dict(formatting.key_figures(snap, analyze(snap)))
    assert all(figures[label] != formatting.NA for label in ONE_YEAR_LABELS)
