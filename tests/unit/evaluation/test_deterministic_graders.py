"""Each deterministic grader, on real agent output and at the edges of its rule.

The observations come from the real app in-process (offline model, simulated
data, real PDFs read back with pypdf); the edge cases change one thing in a
copy of them, so each test shows the grader passing the real output and
failing a specific, minimal departure from it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from stock_agent.formatting import key_figures

from eval.cases import Expectation
from eval.graders.deterministic import (
    ANSWER_FIGURE,
    Budgets,
    grade_answer_figure,
    grade_disclaimer,
    grade_intent,
    grade_latency,
    grade_model_calls,
    grade_numeric_faithfulness,
    grade_refusal,
    grade_text_pdf,
    grade_tickers,
    grade_trajectory,
    grade_turn,
    trajectory,
)
from eval.records import records_of
from eval.targets import Exchange, Observation, observe

FULL = (
    "understand_request",
    "data_gathering",
    "performance_analysis",
    "narrative",
    "report_generation",
    "remember",
    "respond",
)
Observe = Callable[[str], Observation]


def _copy(obs: Observation, **changes: Any) -> Observation:
    return dataclasses.replace(copy.deepcopy(obs), **changes)


def _with_response(obs: Observation, edit: Callable[[dict[str, Any]], None]) -> Observation:
    response = copy.deepcopy(obs.response)
    assert response is not None
    edit(response)
    return _copy(obs, response=response)


def _error_obs(
    status: int, code: str | None, message: str = "why", *, raw: str = ""
) -> Observation:
    return Observation(
        status=status,
        streamed=False,
        events=(),
        response=None,
        error={"code": code, "message": message},
        raw_text=raw or f'{{"error": {{"code": "{code}", "message": "{message}"}}}}',
        latency_ms=1.0,
    )


# ---------------------------------------------------------------- tickers, intent, route


def test_real_analysis_passes_every_applicable_grader(observe_prompt: Observe) -> None:
    obs = observe_prompt("Analyze SIM_STOCK")
    expect = Expectation(
        tickers=("SIM_STOCK",), intent="analyze", route=FULL, results=("SIM_STOCK",)
    )
    grades = {g.criterion: g for g in grade_turn(expect, obs)}
    assert {c: g.outcome for c, g in grades.items()} == {
        "ticker_accuracy": "pass",
        "intent_accuracy": "pass",
        "trajectory": "pass",
        "numeric_faithfulness": "pass",
        "ground_truth": "pass",
        "text_pdf_agreement": "pass",
        "disclaimer_present": "pass",
        "refusal_correctness": "pass",
        "answer_cites_figure": "n/a",
        "model_calls_per_ticker": "pass",
        "latency": "pass",
    }, {c: g.detail for c, g in grades.items()}


def test_ticker_grader_checks_order_results_and_failed(observe_prompt: Observe) -> None:
    obs = observe_prompt("Compare AAPL and ZZZZ")
    good = Expectation(tickers=("AAPL", "ZZZZ"), results=("AAPL",), failed=("ZZZZ",))
    assert grade_tickers(good, obs).outcome == "pass"
    assert grade_tickers(Expectation(tickers=("ZZZZ", "AAPL")), obs).outcome == "fail"
    assert grade_tickers(Expectation(results=("AAPL", "ZZZZ")), obs).outcome == "fail"
    assert grade_tickers(Expectation(failed=()), obs).outcome == "fail"
    assert grade_tickers(Expectation(), obs).outcome == "n/a"


def test_tickers_and_intent_read_from_the_stage_event_when_the_request_failed(
    observe_prompt: Observe,
) -> None:
    obs = observe_prompt("Analyze ZZZZ")
    assert obs.response is None and obs.error and obs.error["code"] == "unknown_ticker"
    assert grade_tickers(Expectation(tickers=("ZZZZ",)), obs).outcome == "pass"
    assert grade_intent(Expectation(intent="analyze"), obs).outcome == "pass"
    assert grade_intent(Expectation(intent="compare"), obs).outcome == "fail"
    route = Expectation(route=("understand_request", "data_gathering", "respond"))
    assert grade_trajectory(route, obs).outcome == "pass"


def test_trajectory_folds_per_ticker_events_and_catches_a_missing_or_extra_stage() -> None:
    events = [
        {"event": "stage", "stage": "understand_request"},
        {"event": "stage", "stage": "data_gathering", "symbol": "A"},
        {"event": "stage", "stage": "data_gathering", "symbol": "B"},
        {"event": "other"},
        {"event": "stage", "stage": "narrative", "symbol": "A"},
    ]
    assert trajectory(events) == ["understand_request", "data_gathering", "narrative"]
    obs = _error_obs(200, None)
    obs = dataclasses.replace(obs, events=tuple(events))
    expected = ("understand_request", "data_gathering", "narrative")
    assert grade_trajectory(Expectation(route=expected), obs).outcome == "pass"
    assert grade_trajectory(Expectation(route=expected[:2]), obs).outcome == "fail"
    assert grade_trajectory(Expectation(route=(*expected, "x")), obs).outcome == "fail"
    assert grade_trajectory(Expectation(), obs).outcome == "n/a"


# ---------------------------------------------------------------- figures


def test_numeric_faithfulness_accepts_display_roundings_and_rejects_an_invented_number(
    observe_prompt: Observe,
) -> None:
    obs = observe_prompt("Analyze AAPL")
    [result] = obs.response["results"]  # type: ignore[index]
    price = result["key_figures"]["Current Price"]  # e.g. "$232.83"
    value = Decimal(price.lstrip("$").replace(",", ""))
    whole = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)  # 233: an honest rounding
    wrong_whole = whole - 1  # 232: the truncation, not a rounding of the displayed figure

    def narrative(text: str) -> Observation:
        def edit(r: dict[str, Any]) -> None:
            r["results"][0]["narrative"]["text"] = text

        return _with_response(obs, edit)

    assert grade_numeric_faithfulness(narrative(f"It closed at {price}.")).outcome == "pass"
    assert grade_numeric_faithfulness(narrative(f"It closed near ${whole}.")).outcome == "pass"
    truncated = grade_numeric_faithfulness(narrative(f"It closed near ${wrong_whole}."))
    assert truncated.outcome == "fail" and str(wrong_whole) in truncated.detail
    invented = grade_numeric_faithfulness(narrative(f"It closed at {price}; target 37.2%."))
    assert invented.outcome == "fail" and "37.2%" in invented.detail
    assert grade_numeric_faithfulness(narrative("")).outcome == "fail"


def test_an_answer_is_checked_against_every_record_of_the_session(observe_prompt: Observe) -> None:
    first = observe_prompt("Analyze AAPL")
    history = first.response["results"]  # type: ignore[index]
    beta = history[0]["key_figures"]["Beta"]
    answer = _copy(
        _error_obs(200, None),
        error=None,
        response={"intent": "question", "answer": f"Its beta is {beta}.", "results": []},
    )
    assert grade_numeric_faithfulness(answer, history=history).outcome == "pass"
    assert grade_numeric_faithfulness(answer).outcome == "fail"  # no record: nothing traces
    figure = Expectation(answer_figure=("AAPL", "Beta"))
    assert grade_answer_figure(figure, answer, history=history).outcome == "pass"
    other = Expectation(answer_figure=("AAPL", "P/E Ratio"))
    graded = grade_answer_figure(other, answer, history=history)
    assert graded.outcome == "fail" and graded.criterion == ANSWER_FIGURE
    assert grade_answer_figure(figure, answer).outcome == "fail"  # no record of AAPL


def test_text_pdf_agreement_catches_a_figure_changed_in_the_text_or_missing_from_the_pdf(
    observe_prompt: Observe,
) -> None:
    obs = observe_prompt("Analyze MSFT")
    assert grade_text_pdf(obs).outcome == "pass"
    [result] = obs.response["results"]  # type: ignore[index]
    snapshot, analysis = records_of(result)
    assert dict(key_figures(snapshot, analysis)) == result["key_figures"]
    high = result["key_figures"]["52-Week High"]

    def swap_in_section(r: dict[str, Any]) -> None:
        section = r["results"][0]["sections"]["data_gathering"]
        price = r["results"][0]["key_figures"]["Current Price"]
        r["results"][0]["sections"]["data_gathering"] = section.replace(
            f"- Current Price: {price}", f"- Current Price: {high}"
        )

    graded = grade_text_pdf(_with_response(obs, swap_in_section))
    assert graded.outcome == "fail" and "Current Price" in graded.detail

    data, text = obs.reports["MSFT"]
    no_figure = _copy(obs, reports={"MSFT": (data, text.replace(high, "?"))})
    assert "52-Week High" in grade_text_pdf(no_figure).detail
    other_bytes = _copy(obs, reports={"MSFT": (data + b"\n", text)})
    assert "sha256" in grade_text_pdf(other_bytes).detail
    unread = _copy(obs, reports={}, report_errors={"MSFT": "OSError: gone"})
    assert "PDF not available (OSError: gone)" in grade_text_pdf(unread).detail


def test_disclaimer_must_be_in_every_pdf(observe_prompt: Observe) -> None:
    obs = observe_prompt("Compare KO and PG")
    assert grade_disclaimer(obs).outcome == "pass"
    data, text = obs.reports["PG"]
    clipped = text.replace("not investment advice, an offer", "an offer")
    graded = grade_disclaimer(_copy(obs, reports={**obs.reports, "PG": (data, clipped)}))
    assert graded.outcome == "fail" and "PG" in graded.detail and "KO" not in graded.detail
    assert grade_disclaimer(_error_obs(422, "no_ticker")).outcome == "n/a"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("status", "code", "expected", "outcome"),
    [
        (422, "no_ticker", ("no_ticker", "out_of_scope"), "pass"),
        (422, "made_up_code", ("made_up_code",), "fail"),  # unregistered: its status is 500
        (400, "no_ticker", ("no_ticker",), "fail"),  # wrong status for the code
        (400, "invalid_payload", ("invalid_payload",), "pass"),
        (413, "payload_too_large", ("invalid_payload",), "fail"),  # wrong code
    ],
)
def test_refusal_codes_and_statuses(
    status: int, code: str, expected: tuple[str, ...], outcome: str
) -> None:
    obs = _error_obs(status, code)
    assert grade_refusal(Expectation(error_codes=expected), obs).outcome == outcome


def test_refusal_expected_but_answered_and_answered_but_refused(observe_prompt: Observe) -> None:
    answered = observe_prompt("Analyze SIM_STOCK")
    assert grade_refusal(Expectation(error_codes=("no_ticker",)), answered).outcome == "fail"
    assert grade_refusal(Expectation(), answered).outcome == "pass"
    refused = _error_obs(422, "no_ticker")
    assert grade_refusal(Expectation(), refused).outcome == "fail"


def test_a_stack_trace_or_an_empty_message_fails_a_refusal() -> None:
    trace = _error_obs(500, "internal_error", raw='Traceback (most recent call last):\n  File "x"')
    assert (
        "stack trace" in grade_refusal(Expectation(error_codes=("internal_error",)), trace).detail
    )
    empty = _error_obs(422, "no_ticker", message="  ")
    assert grade_refusal(Expectation(error_codes=("no_ticker",)), empty).outcome == "fail"


def test_a_streamed_error_event_is_a_refusal_with_its_code(observe_prompt: Observe) -> None:
    obs = observe_prompt("Analyze ZZZZ and QQQX")
    assert obs.streamed and obs.status == 200
    assert grade_refusal(Expectation(error_codes=("unknown_ticker",)), obs).outcome == "pass"


# ---------------------------------------------------------------- budgets


def _metrics_obs(calls: int, *, tickers: int, answer: bool = False) -> Observation:
    response: dict[str, Any] = {
        "results": [{"symbol": f"T{i}"} for i in range(tickers)],
        "metrics": {"model_calls": calls},
    }
    if answer:
        response["answer"] = "text"
    return Observation(200, False, (), response, None, "{}", latency_ms=10.0)


@pytest.mark.parametrize(
    ("calls", "tickers", "answer", "outcome"),
    [
        (5, 2, False, "pass"),  # 2 per ticker + 1 lookup: exactly at the limit
        (6, 2, False, "fail"),
        (3, 1, False, "pass"),
        (4, 1, False, "fail"),
        (2, 0, True, "pass"),  # an answer: 1 call (+1 lookup)
        (3, 0, True, "fail"),
    ],
)
def test_model_call_budget_at_and_across_the_limit(
    calls: int, tickers: int, answer: bool, outcome: str
) -> None:
    obs = _metrics_obs(calls, tickers=tickers, answer=answer)
    assert grade_model_calls(obs, budgets=Budgets()).outcome == outcome


def test_model_calls_missing_from_metrics_fails() -> None:
    obs = Observation(200, False, (), {"results": []}, None, "{}", latency_ms=1.0)
    assert grade_model_calls(obs, budgets=Budgets()).outcome == "fail"


def test_latency_at_and_across_the_budget() -> None:
    budgets = Budgets(latency_ms=100.0)
    at = dataclasses.replace(_metrics_obs(0, tickers=0), latency_ms=100.0)
    over = dataclasses.replace(at, latency_ms=100.1)
    assert grade_latency(at, budgets=budgets).outcome == "pass"
    assert grade_latency(over, budgets=budgets).outcome == "fail"


# ---------------------------------------------------------------- observe()


def test_observe_reads_json_errors_sse_results_and_garbage() -> None:
    error = observe(
        Exchange(422, "application/json", b'{"error": {"code": "x", "message": "m"}}', 1)
    )
    assert error.error == {"code": "x", "message": "m"} and error.response is None
    sse = b'data: {"event": "stage", "stage": "a"}\n\ndata: {"event": "result", "tickers": []}\n\n'
    streamed = observe(Exchange(200, "text/event-stream", sse, 1))
    assert streamed.response == {"tickers": []} and [e["stage"] for e in streamed.events] == ["a"]
    wrapped = observe(Exchange(200, "application/json", b'"{\\"tickers\\": [\\"A\\"]}"', 1))
    assert wrapped.response == {"tickers": ["A"]}
    garbage = observe(Exchange(502, "text/html", b"<html>bad gateway</html>", 1))
    assert garbage.response is None and garbage.error and garbage.error["code"] is None
    assert not observe(Exchange(500, "application/json", b'{"tickers": []}', 1)).succeeded
