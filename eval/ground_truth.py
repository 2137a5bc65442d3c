"""Ground truth: every figure a response reports, against the data provider's own value.

The other graders check that a response agrees with itself (text, record,
PDF); an agent whose records are invented from end to end (a planted
market-data cache) passes them all. This one asks the data where the answer
came from. The simulated provider is deterministic, so for a result whose
record says ``data_source: simulated`` the evaluator builds the snapshot of
that symbol on that day itself (a :class:`SimulatedProvider` here, not the
agent's), analyses it with the agent's analysis (track record included) and
formats it with the agent's formatter, and every reported key figure, the company name and each
comparison-table cell must read the same. The Sharpe ratio's risk-free rate is
a setting of the agent, not data: it is taken from the record.

Any other provider (Yahoo Finance) has no ground truth the evaluator could
compute; its results are marked "not checked" with the provider's name, and
the results file says so instead of counting them as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from stock_agent import formatting
from stock_agent.market_data import SimulatedProvider, UnknownTickerError
from stock_agent.tools import analyze_stock_performance

CHECKED_PROVIDER = SimulatedProvider.name


@dataclass(frozen=True)
class Truth:
    """The provider's figures for one reported result, or why there are none."""

    figures: Mapping[str, str] | None  # label -> formatted value, as the agent formats it
    company_name: str | None = None
    unchecked: str = ""  # why the figures could not be computed ("" when they were)


def truth_for(result: Mapping[str, Any]) -> Truth:
    """The provider's own figures for the symbol and day a result reports."""
    data = result.get("data")
    if not isinstance(data, Mapping):
        return Truth(None, unchecked="the result has no record")
    source = data.get("data_source")
    if source != CHECKED_PROVIDER:
        return Truth(None, unchecked=f"provider {str(source)[:40]!r}: ground truth not checked")
    symbol, day = result.get("symbol"), data.get("as_of")
    try:
        as_of = date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        as_of = None
    if not isinstance(symbol, str) or as_of is None:
        return Truth({}, unchecked="")  # a simulated record without symbol or day: all wrong
    analysis = result.get("analysis")
    indicators = analysis.get("indicators") if isinstance(analysis, Mapping) else None
    rate = indicators.get("risk_free_rate") if isinstance(indicators, Mapping) else None
    provider = SimulatedProvider()
    try:
        snapshot = provider.snapshot(symbol, as_of=as_of)
    except UnknownTickerError:
        return Truth({})  # the provider has no such ticker: nothing reported can be true
    provider_analysis = analyze_stock_performance(  # the track record too, from the provider
        snapshot,
        risk_free_rate=float(rate) if isinstance(rate, (int, float)) else 0.0,
        provider=provider,
    )
    figures = dict(formatting.key_figures(snapshot, provider_analysis))
    return Truth(figures, company_name=snapshot.company_name)


def differences(result: Mapping[str, Any], truth: Truth) -> list[str]:
    """How ``result`` differs from the provider's figures (empty when every figure agrees)."""
    if truth.figures is None:
        return []
    data = result.get("data")
    name = data.get("company_name") if isinstance(data, Mapping) else None
    problems = []
    if truth.company_name is not None and name != truth.company_name:
        problems.append(f"company {str(name)[:60]!r}, provider {truth.company_name!r}")
    reported = result.get("key_figures")
    if not isinstance(reported, Mapping) or not reported:
        return [*problems, "no key figures to check"]
    for label, value in reported.items():
        expected = truth.figures.get(str(label))
        if expected != value:
            problems.append(f"{str(label)[:40]} {str(value)[:40]!r}, provider {expected!r}")
    missing = [label for label in truth.figures if label not in reported]
    if missing:
        problems.append(f"not reported: {missing[:5]}")
    return problems


def table_differences(table: Mapping[str, Any], truths: Mapping[str, Truth]) -> list[str]:
    """Comparison-table cells that differ from the provider's figure of that ticker."""
    problems = []
    for label, cells in table.items():
        if not isinstance(cells, Mapping):
            problems.append(f"comparison row {str(label)[:40]!r} is not per ticker")
            continue
        for symbol, value in cells.items():
            truth = truths.get(str(symbol))
            if truth is None or truth.figures is None or str(label) not in truth.figures:
                continue  # a row the key figures do not have (risk level, outlook)
            if truth.figures[str(label)] != value:
                problems.append(
                    f"comparison {symbol} {str(label)[:40]} {str(value)[:40]!r}, "
                    f"provider {truth.figures[str(label)]!r}"
                )
    return problems
