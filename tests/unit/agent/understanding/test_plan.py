"""One request plan per turn: the rules at their edges, the plan's validation, the model's plan.

The rules read a real vocabulary (a complete report's figure labels) and the
simulated provider's names, as the graph does (:func:`stock_agent.nodes.plan_turn`).
"""

from __future__ import annotations

from typing import Any

import pytest
from stock_agent.errors import AgentError
from stock_agent.understanding.plan import (
    MODEL_INTENTS,
    NO_FORECAST_NOTE,
    PlanError,
    RequestPlan,
    plan_from_json,
    plan_schema,
)

from tests.support.plans import VOCABULARY, plan_of


def brief(plan: RequestPlan) -> str:
    return f"{plan.intent}:{','.join(plan.subjects)}:{plan.route()}"


@pytest.mark.parametrize(
    ("prompt", "session", "expected"),
    [
        ("Analyze AAPL", (), "analyze:AAPL:analyze"),
        ("Compare AAPL and MSFT", (), "compare:AAPL,MSFT:compare"),
        ("AAPL vs MSFT", (), "compare:AAPL,MSFT:compare"),
        # several tickers without a comparison cue: one report each
        ("Analyze AAPL and MSFT", (), "analyze:AAPL,MSFT:analyze"),
        ("How does Apple compare with Microsoft?", (), "compare:AAPL,MSFT:compare"),
        ("So sánh Apple và Microsoft", (), "compare:AAPL,MSFT:compare"),
        # follow-ups that add tickers compare them with the last turn's
        ("and MSFT?", ("AAPL",), "compare:AAPL,MSFT:compare"),
        ("compare it with NVDA", ("AAPL",), "compare:AAPL,NVDA:compare"),
        ("what about NVDA", ("AAPL", "MSFT"), "compare:AAPL,MSFT,NVDA:compare"),
        # questions about the session's tickers are answered from its records
        ("what is its beta?", ("AAPL",), "question:AAPL:question"),
        ("FCF margin please", ("AAPL",), "question:AAPL:question"),
        ("What is the P/E of MSFT?", ("AAPL", "MSFT"), "question:MSFT:question"),
        ("which has the higher beta?", ("AAPL", "MSFT"), "question:AAPL,MSFT:question"),
        # a question about a ticker the session lacks analyses it first
        ("What is the P/E of NVDA?", ("AAPL",), "question:NVDA:analyze"),
        ("is Nvidia oversold?", (), "question:NVDA:analyze"),
        ("netflix or disney: which has the higher P/E?", (), "question:NFLX,DIS:compare"),
        ("is it riskier than NVDA?", ("AAPL",), "question:AAPL,NVDA:compare"),
        # a compare word over one ticker the session lacks: a question, analysed first
        ("compare the P/E of NVDA", ("AAPL",), "question:NVDA:analyze"),
        # an add-on naming the ticker the session already holds: that ticker again
        ("and AAPL?", ("AAPL",), "analyze:AAPL:analyze"),
        # "it" next to one new ticker is a comparison with the last turn's, cue or not
        ("how does it look next to NVDA?", ("AAPL",), "compare:AAPL,NVDA:compare"),
        ("compare the valuation of AAPL and MSFT", (), "compare:AAPL,MSFT:compare"),
        # advice and forecasts
        ("should I buy it?", ("AAPL",), "advice:AAPL:question"),
        ("what's your price target?", ("AAPL",), "declined:AAPL:question"),
        ("can it hit $300 by summer?", ("AAPL",), "declined:AAPL:question"),
        ("where do you see it in five years?", ("AAPL",), "declined:AAPL:question"),
        ("how has it done over the last 3 months?", ("AAPL",), "question:AAPL:question"),
        # several names and tickers keep the order they are written in
        ("how do apple, nvidia and amd compare", (), "compare:AAPL,NVDA,AMD:compare"),
        ("TTM revenue?", ("KO",), "question:KO:question"),
        ("will TSLA go up tomorrow?", (), "declined:TSLA:question"),
        # follow-ups without context, and nothing about stocks
        ("what is its beta?", (), "no_context::refused"),
        ("why is the risk high?", (), "no_context::refused"),
        ("and MSFT?", (), "no_context::refused"),
        ("compare it with NVDA", (), "analyze:NVDA:analyze"),  # analysed, with a note
        ("Write me a poem", (), "out_of_scope::refused"),
        ("Apple pie recipe", (), "out_of_scope::refused"),
        # a capitalised word may name a company: "no_ticker" (the same code as out of scope)
        ("Book a flight to Lisbon for tomorrow", (), "no_ticker::refused"),
        ("analyze foobarco", (), "no_ticker::refused"),
        ("what is Foobarco's beta?", (), "no_ticker::refused"),
    ],
)
def test_the_rules_plan(prompt: str, session: tuple[str, ...], expected: str) -> None:
    assert brief(plan_of(prompt, session=session)) == expected


def test_a_follow_up_adds_to_the_last_tickers_and_reuses_their_records() -> None:
    plan = plan_of("and MSFT?", session=("AAPL", "KO"), last=("AAPL",))
    assert (plan.subjects, plan.reused) == (("AAPL", "MSFT"), ("AAPL",))


def test_five_tickers_is_the_most_a_question_may_name() -> None:
    five = ("AAPL", "MSFT", "NVDA", "AMZN", "TSLA")
    plan = plan_of("which of them is the riskiest?", session=five)
    assert plan.subjects == five and plan.route() == "question"


@pytest.mark.parametrize(
    "prompt",
    ["and its FCF margin?", "RSI?", "what's the EPS", "YTD?", "SMA 50?", "MACD histogram?"],
)
def test_a_figure_word_is_an_aspect_not_a_ticker(prompt: str) -> None:
    plan = plan_of(prompt, session=("AAPL",), known=frozenset({"AAPL", "RSI", "FCF", "SMA"}))
    assert plan.subjects == ("AAPL",) and plan.intent == "question" and plan.figures


@pytest.mark.parametrize(
    ("prompt", "ticker"), [("Analyze $FCF", "FCF"), ("what about $RSI?", "RSI")]
)
def test_a_figure_word_written_with_a_dollar_is_a_ticker(prompt: str, ticker: str) -> None:
    plan = plan_of(prompt, known=frozenset({"RSI", "FCF"}))
    assert plan.subjects == (ticker,) and plan.intent == "analyze"


def test_comparing_a_ticker_with_itself_is_an_analysis_without_a_note() -> None:
    plan = plan_of("compare it with AAPL", session=("AAPL",))
    assert brief(plan) == "analyze:AAPL:analyze" and plan.note == ""
    alone = plan_of("compare it with AAPL")
    assert alone.note.startswith("nothing earlier in this session to compare AAPL with")
    assert "'Compare AAPL and MSFT'" in alone.note
    twice = plan_of("Compare AAPL and AAPL")
    assert brief(twice) == "analyze:AAPL:analyze"
    assert twice.note.startswith("AAPL is named twice") and "'Compare AAPL and MSFT'" in twice.note
    assert "'Compare MSFT and AAPL'" in plan_of("compare MSFT and msft").note
    rivals = plan_of("Compare AAPL with its rivals")  # a question about AAPL, and the hint
    assert brief(rivals) == "question:AAPL:analyze" and rivals.aspects == ("Sector Peers",)
    assert rivals.note.startswith("nothing earlier in this session to compare AAPL with")
    assert plan_of("Compare AAPL with its rivals", session=("KO",)).note == ""


def test_a_decline_names_what_the_session_already_holds() -> None:
    assert plan_of("what's your price target?", session=("AAPL",)).reused == ("AAPL",)
    fresh = plan_of("will TSLA go up tomorrow?", session=("AAPL",))
    assert (fresh.subjects, fresh.reused) == (("TSLA",), ())


def test_an_analysis_request_with_a_price_target_is_analysed_without_one() -> None:
    plan = plan_of("Analyze MSFT and write that the price target is 999 dollars")
    assert brief(plan) == "analyze:MSFT:analyze" and plan.note == NO_FORECAST_NOTE


def test_a_follow_up_over_five_tickers_is_too_many() -> None:
    five = ("AAPL", "MSFT", "NVDA", "AMZN", "TSLA")
    for prompt in ("and KO?", "is it riskier than KO?"):
        with pytest.raises(AgentError) as info:
            plan_of(prompt, session=five)
        assert info.value.code == "too_many_tickers"


def test_the_rules_are_unsure_only_where_a_model_can_help() -> None:
    unsure = plan_of("analyze the iPhone maker", model=True)
    assert (unsure.intent, unsure.confident) == ("no_ticker", False)
    assert plan_of("analyze the iPhone maker").confident  # offline: no_ticker, final
    vague = plan_of("what do you make of it?", session=("AAPL",), model=True)
    assert (vague.intent, vague.confident, vague.subjects) == ("out_of_scope", False, ("AAPL",))
    assert plan_of("write me a poem", model=True).confident  # no word that may be a name
    foo = plan_of("what is Foobarco's beta?", model=True)
    assert (foo.intent, foo.confident) == ("no_context", False)


def test_needs_answer_after_analysis_at_its_edges() -> None:
    one = RequestPlan("question", subjects=("AAPL",), aspects=("risk",), operator="highest")
    assert not one.needs_answer_after_analysis  # a ranking of one ticker asks nothing more
    two = RequestPlan("question", subjects=("AAPL", "KO"), aspects=("risk",), operator="highest")
    assert two.needs_answer_after_analysis
    assert not plan_of("What's the outlook for $AAPL?").needs_answer_after_analysis
    assert plan_of("What's the beta of $AAPL?").needs_answer_after_analysis
    assert plan_of("why is $AAPL rated that way?").needs_answer_after_analysis
    assert plan_of("should I buy $AAPL?").needs_answer_after_analysis
    assert plan_of("which is better, AAPL or MSFT?").needs_answer_after_analysis
    assert not plan_of("Analyze AAPL").needs_answer_after_analysis


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"intent": "chat"}, "intent='chat'"),
        ({"intent": "analyze", "subjects": ("aapl",)}, "not canonical"),
        ({"intent": "analyze", "subjects": ("AAPL", "AAPL")}, "appears twice"),
        ({"intent": "compare", "subjects": ("A", "B", "C", "D", "E", "F")}, "at most 5"),
        ({"intent": "question", "subjects": ("AAPL",), "reused": ("MSFT",)}, "reused="),
        ({"intent": "question", "aspects": ("",)}, "non-empty"),
        ({"intent": "question", "operator": "biggest"}, "operator='biggest'"),
        ({"intent": "question", "time_frame": "5Y"}, "time_frame='5Y'"),
        ({"intent": "question", "source": "oracle"}, "source='oracle'"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    """(The aspects' limit at its edge is the next test.)"""
    with pytest.raises(PlanError, match=message):
        RequestPlan(**fields)


def test_a_plan_takes_64_aspects_and_not_65() -> None:
    names = tuple(f"Figure {i}" for i in range(65))
    assert len(RequestPlan("question", aspects=names[:64]).aspects) == 64
    with pytest.raises(PlanError, match="at most 64"):
        RequestPlan("question", aspects=names)


def test_a_ranking_of_one_ticker_has_no_operator() -> None:
    assert plan_of("which has the higher beta?", session=("AAPL",)).operator is None
    assert plan_of("which has the higher beta?", session=("AAPL", "KO")).operator == "highest"


def test_a_plan_round_trips_through_its_json() -> None:
    plan = plan_of("which is riskier, and why?", session=("AAPL", "MSFT"))
    assert RequestPlan.from_json(plan.to_json()) == plan
    assert plan.to_json()["subjects"] == ["AAPL", "MSFT"]


@pytest.mark.parametrize(
    ("plan", "route"),
    [
        (RequestPlan("no_ticker"), "refused"),
        (RequestPlan("declined"), "question"),
        (RequestPlan("question", subjects=("A",), reused=("A",)), "question"),
        (RequestPlan("advice", subjects=("A", "B"), reused=("A",)), "analyze"),
        (RequestPlan("question", subjects=("A", "B"), operator="highest"), "compare"),
        (RequestPlan("compare", subjects=("A", "B")), "compare"),
        (RequestPlan("compare", subjects=("A",)), "analyze"),
        (RequestPlan("analyze", subjects=("A", "B")), "analyze"),
    ],
)
def test_routes_of_a_plan(plan: RequestPlan, route: str) -> None:
    assert plan.route() == route


# --------------------------------------------------------------------------- the model's plan


def model_plan(raw: Any, **kwargs: Any) -> RequestPlan:
    return plan_from_json(
        raw,
        vocabulary=VOCABULARY,
        accept_ticker=kwargs.get("accept", lambda s: s in {"AAPL", "MSFT"}),
        remembered=kwargs.get("remembered", ("AAPL",)),
    )


GOOD = {
    "intent": "question",
    "subjects": ["aapl", "MSFT", "../../etc", "EVIL", "AAPL"],
    "aspects": ["Beta", "risk"],
    "operator": "highest",
    "time_frame": None,
    "why": True,
}


def test_the_models_plan_is_validated_and_its_tickers_checked() -> None:
    plan = model_plan(GOOD)
    assert plan.subjects == ("AAPL", "MSFT")  # canonical, known to the provider, once
    assert (plan.aspects, plan.operator, plan.why, plan.source) == (
        ("Beta", "risk"),
        "highest",
        True,
        "model",
    )
    assert plan.reused == ("AAPL",) and plan.route() == "compare"
    one = model_plan({**GOOD, "subjects": ["MSFT"]})
    assert one.operator is None  # a ranking needs two tickers
    nothing = model_plan({**GOOD, "subjects": ["EVIL"]})
    assert nothing.intent == "no_ticker" and nothing.subjects == ()
    away = model_plan({**GOOD, "intent": "out_of_scope", "subjects": []})
    assert away.refused and away.note
    junk = model_plan({**GOOD, "subjects": [42, None, "rm -rf /", "brk-b", "AAPL"]},
                      accept=lambda s: True)  # fmt: skip
    assert junk.subjects == ("BRK.B", "AAPL")  # only well-formed symbols, canonical
    assert model_plan({**GOOD, "subjects": ["MSFT"], "why": False}).why is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["not", "an", "object"], "JSON object"),
        (None, "JSON object"),
        ({**GOOD, "extra": 1}, "unknown keys"),
        ({**GOOD, "intent": "no_context"}, "intent='no_context'"),
        ({**GOOD, "subjects": "AAPL"}, "subjects="),
        ({**GOOD, "aspects": ["Moon Phase"]}, "not figures or verdicts"),
        ({**GOOD, "why": "yes"}, "why="),
        ({**GOOD, "operator": "up"}, "operator='up'"),
        ({**GOOD, "time_frame": "1D"}, "time_frame='1D'"),
    ],
)
def test_a_bad_model_plan_names_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        model_plan(raw)


def test_the_schema_lists_the_vocabulary_and_requires_every_field() -> None:
    schema = plan_schema(VOCABULARY.aspects)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["properties"]["aspects"]["items"]["enum"] == list(VOCABULARY.aspects)
    assert schema["properties"]["intent"]["enum"] == list(MODEL_INTENTS)
    assert None in schema["properties"]["operator"]["enum"]
    assert schema["properties"]["subjects"]["maxItems"] == 5
