"""Ground truth: the reported figures against the simulated provider's own, and the fault test.

The observations are real agent output (the app in-process, simulated data);
each test changes one thing the way a poisoned data source or a lucky day
would. The provider's values are never written here: :mod:`eval.ground_truth`
computes them from the provider, and so does each assertion that needs one.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from stock_agent import formatting
from stock_agent.market_data import SimulatedProvider
from stock_agent.tools import analyze_stock_performance

from eval.cases import Case, Turn, load_golden_set
from eval.graders.deterministic import GROUND_TRUTH, NUMERIC, TEXT_PDF, grade_ground_truth
from eval.ground_truth import truth_for
from eval.report import render
from eval.runner import RunResult, TurnOutcome, summarise
from eval.sensitivity import EXPECT, invent_number, run_sensitivity, swap_figure
from eval.targets import Observation
from eval.thresholds import load_thresholds

Observe = Callable[[str], Observation]


def _edit(obs: Observation, change: Callable[[dict[str, Any]], None]) -> Observation:
    obs = copy.deepcopy(obs)
    assert obs.response is not None
    change(obs.response)
    return obs


def _provider_figures(symbol: str, day: str) -> dict[str, str]:
    provider = SimulatedProvider()
    snapshot = provider.snapshot(symbol, as_of=date.fromisoformat(day))
    analysis = analyze_stock_performance(snapshot, provider=provider)
    return dict(formatting.key_figures(snapshot, analysis))


def test_real_output_agrees_with_the_provider(observe_prompt: Observe) -> None:
    obs = observe_prompt("Analyze AAPL")
    assert grade_ground_truth(obs).outcome == "pass"
    [result] = obs.response["results"]  # type: ignore[index]
    truth = truth_for(result)
    assert truth.figures == _provider_figures("AAPL", result["data"]["as_of"])
    assert (
        truth.company_name
        == SimulatedProvider()
        .snapshot("AAPL", as_of=date.fromisoformat(result["data"]["as_of"]))
        .company_name
    )


def test_a_consistent_record_that_is_not_the_data_fails(observe_prompt: Observe) -> None:
    """The planted-cache attack: name, price and text agree with each other, not with the data."""
    obs = observe_prompt("Analyze AAPL")

    def poison(response: dict[str, Any]) -> None:
        result = response["results"][0]
        result["data"]["company_name"] = "Poisoned Holdings"
        result["key_figures"]["Current Price"] = "$4,242.42"
        result["data"]["current_price"] = 4242.42

    grade = grade_ground_truth(_edit(obs, poison))
    assert grade.outcome == "fail"
    assert "company 'Poisoned Holdings'" in grade.detail
    assert "Current Price '$4,242.42', provider" in grade.detail


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["results"][0]["key_figures"].update({"P/E Ratio": "1.00"}),
        lambda r: r["results"][0]["key_figures"].pop("Market Cap"),
        lambda r: r["results"][0].pop("key_figures"),
        lambda r: r["results"][0]["data"].update(as_of="2024-01-02"),  # another day's data
        lambda r: r["results"][0]["data"].update(as_of="not a day"),
        lambda r: r["results"][0].update(symbol="NOPE"),  # no such simulated ticker
    ],
)
def test_each_departure_from_the_data_fails(
    observe_prompt: Observe, change: Callable[[dict[str, Any]], None]
) -> None:
    assert grade_ground_truth(_edit(observe_prompt("Analyze AAPL"), change)).outcome == "fail"


def test_a_comparison_table_cell_is_checked_too(observe_prompt: Observe) -> None:
    obs = observe_prompt("Compare AAPL and MSFT")
    assert grade_ground_truth(obs).outcome == "pass"

    def tamper(response: dict[str, Any]) -> None:
        response["comparison"]["table"]["Current Price"]["MSFT"] = "$1.23"

    grade = grade_ground_truth(_edit(obs, tamper))
    assert grade.outcome == "fail" and "comparison MSFT Current Price '$1.23'" in grade.detail


def test_another_provider_is_not_checked_and_the_results_say_so(observe_prompt: Observe) -> None:
    obs = _edit(
        observe_prompt("Analyze AAPL"),
        lambda r: r["results"][0]["data"].update(data_source="yfinance"),
    )
    grade = grade_ground_truth(obs)
    assert grade.outcome == "n/a"
    assert grade.detail == "AAPL: provider 'yfinance': ground truth not checked"
    case = Case(id="c1", category="single_ticker", turns=(Turn(expect=EXPECT, prompt="x"),))
    result = RunResult(
        golden=load_golden_set(),
        target="t",
        model="m",
        outcomes=[TurnOutcome(case, 0, "x", obs, (grade,))],
    )
    summarise(result, load_thresholds())
    [row] = [r for r in result.rows if r.criterion == GROUND_TRUTH]
    assert row.verdict == "NOT CHECKED"
    assert (
        row.note == "not checked on 1 turn(s): AAPL: provider 'yfinance': ground truth not checked"
    )
    text = render(result, commit="abc", elapsed_s=1.0)
    assert "> **Notice:** ground_truth was **not checked**" in text
    assert "| ground_truth | 0 / 0 | — | 100% | NOT CHECKED |" in text


# ---------------------------------------------------------------------------
# the planted faults do not depend on what the day's data happens to contain
# ---------------------------------------------------------------------------


def test_the_invented_number_is_never_one_the_record_holds(observe_prompt: Observe) -> None:
    """A record whose profit margin is 37.20 % still gets a number that is in no record."""
    obs = observe_prompt("Analyze AAPL")

    def margin_37_2(response: dict[str, Any]) -> None:
        result = response["results"][0]
        result["data"]["profit_margin"] = 0.372

    lucky = _edit(obs, margin_37_2)
    faulted = invent_number(lucky)
    text = faulted.response["results"][0]["narrative"]["text"]  # type: ignore[index]
    assert "37.2%" not in text and "37.3%" in text
    [row] = [r for r in run_sensitivity(lucky) if r.criterion == NUMERIC]
    assert row.caught, row


def test_the_swap_changes_something_when_the_price_is_at_its_52_week_high(
    observe_prompt: Observe,
) -> None:
    obs = observe_prompt("Analyze AAPL")

    def at_the_high(response: dict[str, Any]) -> None:
        result = response["results"][0]
        price = result["key_figures"]["Current Price"]
        result["key_figures"]["52-Week High"] = price
        result["data"]["week52_high"] = result["data"]["current_price"]
        section = result["sections"]["data_gathering"]
        high = obs.response["results"][0]["key_figures"]["52-Week High"]  # type: ignore[index]
        result["sections"]["data_gathering"] = section.replace(
            f"- 52-Week High: {high}", f"- 52-Week High: {price}"
        )

    on_the_high = _edit(obs, at_the_high)
    faulted = swap_figure(on_the_high)
    before = on_the_high.response["results"][0]["key_figures"]  # type: ignore[index]
    after = faulted.response["results"][0]["key_figures"]  # type: ignore[index]
    assert after["Current Price"] != before["Current Price"]
    assert after["52-Week Low"] == before["Current Price"]


def test_a_clean_turn_without_results_gives_uncaught_rows_not_a_crash() -> None:
    refused = Observation(
        status=503,
        streamed=False,
        events=(),
        response=None,
        error={"code": "server_busy", "message": "busy"},
        raw_text="{}",
        latency_ms=1.0,
    )
    rows = run_sensitivity(refused)
    assert rows and not any(row.caught for row in rows)
    assert all(row.faulted == "n/a" for row in rows if row.criterion in (TEXT_PDF, GROUND_TRUTH))
    assert "no place for this fault" in rows[0].detail
    result = RunResult(golden=load_golden_set(), target="t", model="m", sensitivity=rows)
    summarise(result, load_thresholds())
    assert not result.gate_passed
    assert dataclasses.replace(rows[0], faulted="fail").caught is False  # clean was not a pass
