"""The request plan's memory intents: the user's own words, each with paraphrases.

Each group is one thing a user asks of the analyst's long-term memory, written
several ways; none of the rules is tuned to one wording. Ordinary requests
that share words with them ("why did INTC drop?", "How is TSLA doing?") stay
what they were.
"""

from __future__ import annotations

import pytest
from stock_agent.understanding.plan import PlanError, RequestPlan

from tests.support.plans import plan_of

WATCHLIST = ("NVDA", "AMD", "INTC")


@pytest.mark.parametrize(
    ("prompt", "subjects"),
    [
        ("add NVDA and AMD to my watchlist", ("NVDA", "AMD")),
        ("Please add nvidia to my watch list", ("NVDA",)),
        ("put TSLA on my list", ("TSLA",)),
        ("can you add Apple and Microsoft to my stocks?", ("AAPL", "MSFT")),
        ("start watching AMD", ("AMD",)),
        ("track INTC for me", ("INTC",)),
        ("keep an eye on Netflix", ("NFLX",)),
    ],
)
def test_adding_to_the_watchlist(prompt: str, subjects: tuple[str, ...]) -> None:
    plan = plan_of(prompt)
    assert (plan.intent, plan.memory, plan.subjects) == ("personal", "watch", subjects)
    assert plan.route() == "personal"


@pytest.mark.parametrize(
    ("prompt", "subjects"),
    [
        ("drop INTC", ("INTC",)),
        ("remove apple from my list", ("AAPL",)),
        ("take TSLA off my watchlist", ("TSLA",)),
        ("stop watching Intel", ("INTC",)),
        ("please delete NVDA and AMD from my watchlist", ("NVDA", "AMD")),
        ("unwatch MSFT", ("MSFT",)),
    ],
)
def test_dropping_from_the_watchlist(prompt: str, subjects: tuple[str, ...]) -> None:
    plan = plan_of(prompt)
    assert (plan.intent, plan.memory, plan.subjects) == ("personal", "unwatch", subjects)


@pytest.mark.parametrize(
    ("prompt", "action"),
    [
        ("what's on my watchlist?", "show_watchlist"),
        ("show me my watchlist", "show_watchlist"),
        ("which stocks am I watching?", "show_watchlist"),
        ("what is in my list", "show_watchlist"),
        ("what do you remember about me?", "show_profile"),
        ("what have you stored about me", "show_profile"),
        ("show my preferences", "show_profile"),
        ("forget my preferences", "forget_preferences"),
        ("reset my settings please", "forget_preferences"),
        ("clear all my preferences", "forget_preferences"),
        ("forget everything", "forget_everything"),
        ("forget everything about me", "forget_everything"),
        ("delete my data", "forget_everything"),
        ("wipe my profile", "forget_everything"),
    ],
)
def test_reading_and_forgetting_what_is_remembered(prompt: str, action: str) -> None:
    plan = plan_of(prompt, watchlist=WATCHLIST)
    assert (plan.intent, plan.memory, plan.subjects) == ("personal", action, ())


@pytest.mark.parametrize(
    ("prompt", "stated"),
    [
        ("keep answers brief", {"answer_length": "brief"}),
        ("please keep it short", {"answer_length": "brief"}),
        ("be concise from now on", {"answer_length": "brief"}),
        ("I want detailed answers again", {"answer_length": "detailed"}),
        ("I'm a conservative investor", {"risk_profile": "conservative"}),
        ("I am a cautious investor", {"risk_profile": "conservative"}),
        ("my risk tolerance is high", {"risk_profile": "aggressive"}),
        ("I'm a moderate long-term investor", {"risk_profile": "balanced"}),
        ("skip the PDFs for comparisons", {"comparison_pdfs": "off"}),
        ("no PDFs please", {"comparison_pdfs": "off"}),
        ("don't send me the comparison pdf", {"comparison_pdfs": "off"}),
        ("send the PDFs again", {"comparison_pdfs": "on"}),
        ("include my watchlist in the scheduled report", {"scheduled_watchlist": "on"}),
        ("opt me in to the scheduled watchlist run", {"scheduled_watchlist": "on"}),
        ("stop the scheduled reports", {"scheduled_watchlist": "off"}),
        ("keep answers brief and skip the PDFs", {"answer_length": "brief",
                                                   "comparison_pdfs": "off"}),
    ],
)  # fmt: skip
def test_stating_preferences(prompt: str, stated: dict[str, str]) -> None:
    plan = plan_of(prompt)
    assert (plan.intent, plan.memory) == ("personal", "prefer")
    assert dict(plan.preferences) == stated


@pytest.mark.parametrize(
    "prompt",
    ["how is my watchlist doing?", "How are my stocks doing", "review my watchlist",
     "how's my list looking?", "compare my stocks"],
)  # fmt: skip
def test_how_is_my_watchlist_doing_compares_the_watchlist(prompt: str) -> None:
    plan = plan_of(prompt, session=("NVDA",), watchlist=WATCHLIST)
    assert (plan.intent, plan.subjects, plan.mine) == ("compare", WATCHLIST, True)
    assert plan.reused == ("NVDA",) and plan.route() == "compare"
    # Without a known watchlist (no identity, or not read) it is a personal turn that says so.
    unknown = plan_of(prompt)
    assert (unknown.intent, unknown.memory) == ("personal", "review")


@pytest.mark.parametrize(
    ("prompt", "operator"),
    [
        ("which of my stocks is the most volatile?", "highest"),
        ("Which stock on my watchlist is the least volatile", "lowest"),
        ("what is the most volatile of my tickers?", "highest"),
    ],
)
def test_a_comparative_over_my_stocks_is_a_question_over_the_watchlist(
    prompt: str, operator: str
) -> None:
    plan = plan_of(prompt, watchlist=WATCHLIST)
    assert (plan.intent, plan.subjects, plan.operator, plan.mine) == (
        "question", WATCHLIST, operator, True)  # fmt: skip
    assert "Volatility (Annualized)" in plan.aspects


def test_a_long_watchlist_is_taken_up_to_one_requests_tickers_and_says_so() -> None:
    six = ("NVDA", "AMD", "INTC", "AAPL", "MSFT", "TSLA")
    plan = plan_of("how is my watchlist doing?", watchlist=six)
    assert plan.subjects == six[:5] and "has 6 tickers" in plan.note
    assert "has 5" not in plan_of("how is my watchlist doing?", watchlist=six[:5]).note
    assert plan_of("how is my watchlist doing?", watchlist=six[:5]).note == ""


@pytest.mark.parametrize(
    ("prompt", "intent"),
    [
        ("why did INTC drop?", "question"),
        ("How is TSLA doing?", "analyze"),
        ("Analyze AAPL and keep it short", "analyze"),
        ("I'm a conservative investor, should I buy NVDA?", "advice"),
        ("Compare NVDA and AMD", "compare"),
        ("what is the beta of AAPL?", "question"),
    ],
)
def test_ordinary_requests_that_share_words_stay_ordinary(prompt: str, intent: str) -> None:
    plan = plan_of(prompt, watchlist=WATCHLIST)
    assert plan.intent == intent and plan.memory is None and not plan.mine


def test_adding_a_name_that_is_no_ticker_is_refused_before_anything_is_stored() -> None:
    assert plan_of("add Foobarco to my watchlist").intent == "no_ticker"


def test_a_personal_plan_and_only_one_names_its_action() -> None:
    with pytest.raises(PlanError, match="memory action"):
        RequestPlan("personal")
    with pytest.raises(PlanError, match="memory action"):
        RequestPlan("analyze", subjects=("AAPL",), memory="watch")
    with pytest.raises(PlanError, match="memory="):
        RequestPlan("personal", memory="obey")  # type: ignore[arg-type]
    plan = RequestPlan("personal", memory="prefer", preferences=(("answer_length", "brief"),))
    assert RequestPlan.from_json(plan.to_json()) == plan


def test_my_shares_after_an_analysis_are_that_tickers_not_the_watchlist() -> None:
    plan = plan_of("should I sell my shares?", session=("NVDA",))
    assert (plan.intent, plan.subjects, plan.mine) == ("advice", ("NVDA",), False)
    # "my stocks" with no watchlist known follows the session too ...
    plan = plan_of("which of my stocks is riskier?", session=("NVDA", "AMD"))
    assert plan.subjects == ("NVDA", "AMD") and not plan.mine and plan.memory is None
    # ... and the watchlist when it is known.
    plan = plan_of("which of my stocks is riskier?", session=("NVDA", "AMD"), watchlist=WATCHLIST)
    assert plan.subjects == WATCHLIST and plan.mine
