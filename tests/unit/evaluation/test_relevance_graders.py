"""The relevance graders pass a right answer and fail planted wrong ones.

The session's records are real (the agent in-process compares TSLA and KO,
offline model, simulated data); the answers are written here from those
records, right and then wrong in one way each, so every grader is shown to
fail an answer that talks around the question, not only to pass a good one.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from eval.cases import Expectation, Winner
from eval.graders.relevance import (
    RELEVANCE_CRITERIA,
    aspect_standing,
    factor_name,
    grade_advice,
    grade_declined,
    grade_figures,
    grade_relevance,
    grade_remembers,
    grade_why,
    grade_winner,
    moving_factors,
    quotes,
)
from eval.targets import Observation

Observe = Callable[[str], Observation]


@pytest.fixture(scope="module")
def session(observe_prompt: Observe) -> dict[str, dict[str, Any]]:
    """TSLA and KO as a comparison turn returned them: the records every grader reads."""
    obs = observe_prompt("Compare TSLA and KO")
    assert obs.response is not None
    return {r["symbol"]: r for r in obs.response["results"]}


def answered(text: str | None) -> Observation:
    """A question turn whose answer is ``text`` (no results of its own)."""
    response = {"intent": "question", "results": [], "answer": text}
    return Observation(200, True, (), response, None, "", 1.0)


def fig(result: dict[str, Any], label: str) -> str:
    return str(result["key_figures"][label])


def as_of(result: dict[str, Any]) -> str:
    return str(result["data"]["as_of"])


# ---------------------------------------------------------------- figures


def test_figures_pass_the_recorded_values_with_ticker_and_date(session: dict) -> None:
    tsla, ko = session["TSLA"], session["KO"]
    expect = Expectation(figures=(("TSLA", "Beta"), ("KO", "Beta")))
    good = f"TSLA beta {fig(tsla, 'Beta')}, KO beta {fig(ko, 'Beta')} (data as of {as_of(tsla)})."
    history = list(session.values())
    assert grade_figures(expect, answered(good), history=history).outcome == "pass"
    # one value missing, the values swapped, no ticker, no date, no answer at all
    for wrong in (
        f"TSLA beta {fig(tsla, 'Beta')} (as of {as_of(tsla)}); KO is less volatile.",
        f"TSLA beta {fig(ko, 'Beta')}, KO beta {fig(ko, 'Beta')} (as of {as_of(tsla)}).",
        f"Beta {fig(tsla, 'Beta')} and KO {fig(ko, 'Beta')} as of {as_of(tsla)}.",
        f"TSLA beta {fig(tsla, 'Beta')}, KO beta {fig(ko, 'Beta')}.",
        None,
    ):
        grade = grade_figures(expect, answered(wrong), history=history)
        assert grade.outcome == "fail", wrong
    assert grade_figures(Expectation(), answered(good), history=history).outcome == "n/a"


def test_figures_read_benchmark_labels_and_na_values(session: dict) -> None:
    ko = session["KO"]
    bench = ko["analysis"]["indicators"]["benchmark_symbol"]
    label = f"Correlation vs {bench} (1Y)"
    expect = Expectation(figures=(("KO", "Correlation vs {benchmark} (1Y)"),))
    good = f"KO: correlation {fig(ko, label)} as of {as_of(ko)}."
    assert grade_figures(expect, answered(good), history=[ko]).outcome == "pass"
    blank = copy.deepcopy(ko)
    blank["key_figures"]["P/E Ratio"] = "n/a"
    na = Expectation(figures=(("KO", "P/E Ratio"),))
    said = f"KO: P/E n/a (no positive earnings) as of {as_of(ko)}."
    assert grade_figures(na, answered(said), history=[blank]).outcome == "pass"
    invented = f"KO: P/E 21.40 as of {as_of(ko)}."
    assert grade_figures(na, answered(invented), history=[blank]).outcome == "fail"
    unknown = Expectation(figures=(("KO", "Moon Phase"),))
    assert "no figure" in grade_figures(unknown, answered(good), history=[ko]).detail
    absent = Expectation(figures=(("NVDA", "Beta"),))
    assert "no record of NVDA" in grade_figures(absent, answered(good), history=[ko]).detail


def test_quotes_reads_numbers_at_any_spelling_and_lists_by_item() -> None:
    assert quotes("the yield is 2.3%", "2.30%")
    assert not quotes("the yield is 2.4%", "2.30%")
    assert quotes("peers: WMT and PG", "PG, WMT")
    assert not quotes("peers: WMT", "PG, WMT")
    assert quotes("N/A here", "n/a") and not quotes("none", "n/a")


# ---------------------------------------------------------------- winner


def _beta_winner(session: dict) -> tuple[str, str]:
    betas = {s: float(fig(r, "Beta")) for s, r in session.items()}
    high = max(betas, key=lambda s: betas[s])
    return high, next(s for s in betas if s != high)


def test_winner_named_first_with_values_passes_and_each_departure_fails(session: dict) -> None:
    high, low = _beta_winner(session)
    h, lo = fig(session[high], "Beta"), fig(session[low], "Beta")
    expect = Expectation(winner=Winner("Beta", "highest", ("TSLA", "KO")))
    history = list(session.values())

    def grade(text: str) -> str:
        return grade_winner(expect, answered(text), history=history).outcome

    assert grade(f"{high} has the higher beta: {h} against {low} {lo}.") == "pass"
    assert grade(f"{low} has the higher beta: {lo} against {high} {h}.") == "fail"
    assert grade(f"{high}: beta {h}. {low}: beta {lo}.") == "fail"  # no comparison made
    assert grade(f"{high} has the higher beta ({h}).") == "fail"  # the other value missing
    assert grade(f"{high} has the higher beta: {h} vs {lo}; not quite a tie.") == "fail"
    lowest = Expectation(winner=Winner("Beta", "lowest", ("TSLA", "KO")))
    text = f"{low} has the lower beta: {lo} against {high} {h}."
    assert grade_winner(lowest, answered(text), history=history).outcome == "pass"
    assert grade_winner(Expectation(), answered(text), history=history).outcome == "n/a"


def test_a_tie_at_the_displayed_values_must_be_called_a_tie(session: dict) -> None:
    tied = copy.deepcopy(session)
    tied["KO"]["key_figures"]["Dividend Yield"] = "0.00%"
    tied["TSLA"]["key_figures"]["Dividend Yield"] = "0.00%"
    expect = Expectation(winner=Winner("Dividend Yield", "highest", ("TSLA", "KO")))
    history = list(tied.values())
    said = "It is a tie: TSLA and KO both yield 0.00%."
    assert grade_winner(expect, answered(said), history=history).outcome == "pass"
    picked = "TSLA has the higher yield: 0.00% against KO 0.00%."
    grade = grade_winner(expect, answered(picked), history=history)
    assert grade.outcome == "fail" and "tie" in grade.detail


def test_winner_on_verdicts_ranks_risk_and_overall(session: dict) -> None:
    standing = {s: aspect_standing(r, "Risk Level") for s, r in session.items()}
    assert {s: st[1] for s, st in standing.items() if st} == {
        s: r["analysis"]["risk_level"] for s, r in session.items()
    }
    overall = aspect_standing(session["KO"], "Overall")
    analysis = session["KO"]["analysis"]
    assert overall is not None and overall[0][1] == (
        analysis["technical"]["score"] + analysis["fundamental"]["score"]
    )
    blank = copy.deepcopy(session["KO"])
    blank["key_figures"]["P/E Ratio"] = "n/a"
    assert aspect_standing(blank, "P/E Ratio") is None
    big = copy.deepcopy(session["KO"])
    big["key_figures"]["Market Cap"] = "$1.50T"
    assert aspect_standing(big, "Market Cap") == (1.5e12, "$1.50T")


# ---------------------------------------------------------------- why


def _why_answer(result: dict[str, Any], verdict: str) -> str:
    analysis = result["analysis"]
    lines = (
        analysis["technical"]["rationale"] if verdict == "technical" else analysis["risk_factors"]
    )
    score = (
        f"Technical score {analysis['technical']['score']}/5."
        if verdict == "technical"
        else f"Risk level {analysis['risk_level']}."
    )
    return "\n".join([score, *(f"- {line}" for line in lines)])


def test_why_passes_every_moving_factor_with_its_points(session: dict) -> None:
    tsla = session["TSLA"]
    expect = Expectation(why=(("TSLA", "technical"),))
    good = _why_answer(tsla, "technical")
    assert grade_why(expect, answered(good), history=[tsla]).outcome == "pass"
    moving = moving_factors(tsla["analysis"]["technical"]["rationale"])
    assert moving, "the simulated TSLA technical score moves on at least one factor"
    name, points = moving[0]
    dropped = "\n".join(
        line for line in good.splitlines() if not line.lower().startswith(f"- {name}")
    )
    assert grade_why(expect, answered(dropped), history=[tsla]).outcome == "fail"
    flipped = good.replace(f": {points}.", f": {'-' if points[0] == '+' else '+'}{points[1:]}.")
    assert grade_why(expect, answered(flipped), history=[tsla]).outcome == "fail"
    no_score = good.replace(f"{tsla['analysis']['technical']['score']}/5", "")
    assert grade_why(expect, answered(no_score), history=[tsla]).outcome == "fail"
    summary = f"TSLA looks {tsla['analysis']['technical']['trend']}; the score reflects that."
    assert grade_why(expect, answered(summary), history=[tsla]).outcome == "fail"


def test_why_risk_and_outlook_read_their_own_facts(session: dict) -> None:
    tsla = session["TSLA"]
    risk = Expectation(why=(("TSLA", "risk"),))
    assert grade_why(risk, answered(_why_answer(tsla, "risk")), history=[tsla]).outcome == "pass"
    analysis = tsla["analysis"]
    outlook = Expectation(why=(("TSLA", "outlook"),))
    text = (
        f"Outlook {analysis['outlook']}: technical {analysis['technical']['score']}/5, "
        f"fundamental {analysis['fundamental']['score']}/5, risk {analysis['risk_level']}."
    )
    assert grade_why(outlook, answered(text), history=[tsla]).outcome == "pass"
    no_risk = text.replace(analysis["risk_level"], "")
    assert grade_why(outlook, answered(no_risk), history=[tsla]).outcome == "fail"


def test_factor_names_and_points_come_from_the_rationale_lines() -> None:
    lines = [
        "Technical score starts at 3.",
        "Trend: uptrend (price $1.00, 50-day SMA $0.90, 200-day SMA $0.80): +1.",
        "RSI(14): 75.00, overbought: -1.",
        "Momentum: neutral (1-month +1.00%, 3-month +2.00%): +0.",
        "Beta 1.52 (1 year of daily returns vs SIM_INDEX): moves more than the market (+1).",
        "High volatility: 45.00% annualized (+2).",
        "Risk points: 3, level MEDIUM.",
        "Technical score: 4/5.",
    ]
    assert moving_factors(lines) == [
        ("trend", "+1"),
        ("rsi", "-1"),
        ("beta", "+1"),
        ("high volatility", "+2"),
    ]
    assert factor_name("1-year return +25.00% (no benchmark): +1.") == "1-year return"


# ---------------------------------------------------------------- advice


def _advice(result: dict[str, Any]) -> str:
    a = result["analysis"]
    return (
        f"{result['symbol']}: outlook {a['outlook']} (technical {a['technical']['score']}/5, "
        f"fundamental {a['fundamental']['score']}/5, risk {a['risk_level']}). "
        "This is not investment advice and not a recommendation to buy or sell."
    )


def test_advice_needs_outlook_factors_disclaimer_and_no_call(session: dict) -> None:
    ko = session["KO"]
    expect = Expectation(advice=("KO",))
    good = _advice(ko)
    assert grade_advice(expect, answered(good), history=[ko]).outcome == "pass"
    for wrong in (
        good.replace("This is not investment advice and not", "It is not"),
        good + " You should buy it now.",
        good + " It's a strong buy.",
        good + " I'd sell.",
        good.replace(f"risk {ko['analysis']['risk_level']}", "risk unknown"),
        good.replace("KO:", "It:"),
    ):
        assert grade_advice(expect, answered(wrong), history=[ko]).outcome == "fail", wrong


# ---------------------------------------------------------------- declined


def test_a_forecast_is_declined_briefly_with_what_is_available() -> None:
    expect = Expectation(declined=True)
    good = (
        "I can't forecast prices or give a price target; the report offers the 52-week "
        "range, past returns and the outlook instead."
    )
    assert grade_declined(expect, answered(good)).outcome == "pass"
    for wrong in (
        "It should reach $300 by next year.",  # a forecast, no decline
        "I can't forecast prices.",  # nothing offered instead
        "I can't forecast. Prices move. The report has returns. Ask me anything.",
        None,  # refused without an answer
    ):
        assert grade_declined(expect, answered(wrong)).outcome == "fail", wrong
    assert grade_declined(Expectation(), answered(good)).outcome == "n/a"


def test_grade_relevance_runs_every_grader_in_order(session: dict) -> None:
    grades = grade_relevance(Expectation(), answered("x"), history=list(session.values()))
    assert [g.outcome for g in grades] == ["n/a"] * len(RELEVANCE_CRITERIA)
    assert dataclasses.is_dataclass(grades[0])


def personal_turn(answer: str, user: dict[str, Any]) -> Observation:
    response = {"intent": "personal", "results": [], "answer": answer, "user": user}
    return Observation(200, True, (), response, None, "", 1.0)


def test_grade_remembers_passes_the_users_memory_said_and_fails_each_way_of_missing_it() -> None:
    held = {"identified": True, "watchlist": ["NVDA", "AMD"], "preferences": {"x": "y"}}
    expect = Expectation(watchlist=("NVDA", "AMD"), preferences=(("x", "y"),))
    good = personal_turn("Your watchlist: NVDA, AMD.", held)
    assert grade_remembers(expect, good).outcome == "pass"
    failing = [
        personal_turn("Your watchlist: NVDA, AMD.", {**held, "watchlist": ["NVDA"]}),
        personal_turn("Your watchlist: NVDA.", held),  # the answer leaves AMD out
        personal_turn("Your watchlist: NVDA, AMDX.", held),  # a longer symbol is not AMD
        personal_turn("Your watchlist: NVDA, AMD.", {**held, "preferences": {}}),
        personal_turn("Your watchlist: NVDA, AMD.", {"identified": True}),
    ]
    for obs in failing:
        assert grade_remembers(expect, obs).outcome == "fail", obs.response
    assert grade_remembers(Expectation(), good).outcome == "n/a"


def test_grade_remembers_wants_the_answer_to_say_why_without_an_identity() -> None:
    expect = Expectation(identified=False)
    said = personal_turn("this request carries no identity, so nothing was kept", {
        "identified": False})  # fmt: skip
    silent = personal_turn("Your watchlist is empty.", {"identified": False})
    claimed = personal_turn("no identity", {"identified": True})
    assert grade_remembers(expect, said).outcome == "pass"
    assert grade_remembers(expect, silent).outcome == "fail"
    assert grade_remembers(expect, claimed).outcome == "fail"
    empty = Expectation(watchlist=())
    forgotten = personal_turn("Forgotten.", {"identified": True, "watchlist": []})
    assert grade_remembers(empty, forgotten).outcome == "fail"
