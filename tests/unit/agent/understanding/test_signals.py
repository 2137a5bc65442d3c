"""What the words of a prompt signal: aspects, a comparison and its direction, a period, cues.

Read as the graph reads them (:mod:`tests.support.plans`: a complete report's
vocabulary); the plan's rules that weigh them are tested in ``test_plan.py``.
"""

from __future__ import annotations

import pytest
from stock_agent.understanding.signals import read_signals

from tests.support.plans import VOCABULARY, plan_of


@pytest.mark.parametrize(
    ("prompt", "aspects", "operator", "why"),
    [
        ("which has the higher beta?", ("Beta",), "highest", False),
        ("which is cheaper?", ("P/E Ratio",), "lowest", False),
        ("which is riskier, and why?", ("risk",), "highest", True),
        ("which is safer?", ("risk",), "lowest", False),
        ("which one looks better?", ("outlook",), "highest", False),
        ("which performed better over the past year?", ("1-Year Return",), "highest", False),
        ("which went up more in the last month", ("1-Month Return",), "highest", False),
        ("which did better YTD?", ("YTD Return",), "highest", False),
        ("did they beat the market this year?", ("Excess YTD Return",), None, False),
        ("how do their P/Es rank among peers?", ("P/E Ratio", "Sector Peers", "P/E Percentile"),
         None, False),
        ("what are their betas?", ("Beta",), None, False),
        # a period named for a figure without one changes nothing; "done" alone is no figure
        ("what was their volatility this year?", ("Volatility (Annualized)",), None, False),
        ("how have they done?", (), None, False),
        ("what did the benchmark return this year?", ("Benchmark YTD Return",), None, False),
        ("how did the index do over one year?", ("Benchmark 1-Year Return",), None, False),
        ("what's the YTD return and the benchmark?", ("YTD Return", "Benchmark"), None, False),
        ("how does its profit margin rank among peers?",
         ("Profit Margin", "Sector Peers", "Profit Margin Percentile"), None, False),
        # the score is a figure of the report too: a why about it explains its verdict
        ("what's dragging the fundamental score down?", ("Fundamental Score",), None, True),
    ],
)  # fmt: skip
def test_aspects_operator_and_why_of_a_question(
    prompt: str, aspects: tuple[str, ...], operator: str | None, why: bool
) -> None:
    plan = plan_of(prompt, session=("AAPL", "MSFT"))
    assert (plan.aspects, plan.operator, plan.why) == (aspects, operator, why)


def test_an_operator_needs_two_tickers_and_a_time_frame_is_kept() -> None:
    one = plan_of("which is the higher return over 3 months?", session=("AAPL",))
    assert one.operator is None and one.time_frame == "3M"
    assert one.aspects == ("3-Month Return",)


def test_signals_read_the_cues() -> None:
    cues = read_signals("and why is it riskier than the market?", VOCABULARY)
    assert (cues.adds_on, cues.only_after, cues.refers, cues.why) == (True, True, True, True)
    assert cues.operator == "highest" and "risk" in cues.aspects
    plain = read_signals("Analyze AAPL", VOCABULARY)
    assert not plain.asks and plain.requests_analysis and plain.analysis_words
    assert not plain.question_shaped and read_signals("AAPL?", VOCABULARY).question_shaped


# --------------------------------------------------------------------------- the plan itself


def test_a_1_month_return_among_peers_is_not_the_1_year_percentile() -> None:
    cues = read_signals("how does its 1-month return rank among peers?", VOCABULARY)
    assert cues.aspects == ("1-Month Return", "Sector Peers")


def test_cheaper_means_the_p_e_when_only_verdicts_are_named() -> None:
    cues = read_signals("which is cheaper and less risky?", VOCABULARY)
    assert cues.operator == "lowest" and set(cues.aspects) == {"risk", "P/E Ratio"}
    named = read_signals("which is cheaper on EPS?", VOCABULARY)
    assert named.aspects == ("EPS (TTM)",)  # a figure named: no P/E added


def test_at_most_64_aspects_are_read() -> None:
    from stock_agent.understanding.signals import MAX_ASPECTS
    from stock_agent.understanding.vocabulary import build_vocabulary

    labels = [f"Figure {chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(MAX_ASPECTS + 6)]
    vocabulary = build_vocabulary([("Many", labels)])
    prompt = " and ".join(label.lower() for label in labels) + "?"
    assert read_signals(prompt, vocabulary).aspects == tuple(labels[:MAX_ASPECTS])
