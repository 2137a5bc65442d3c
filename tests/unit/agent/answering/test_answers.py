"""Answers from the records answer the plan: figures, winners and ties, why, advice, declines.

Records are real (simulated provider, real analysis); a few are changed in one
field with ``dataclasses.replace`` to reach an edge (a tie, an n/a figure).
Every answer is held to the same number check as a model's.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from stock_agent import formatting
from stock_agent.answering.answers import (
    NOT_ADVICE,
    _explained_verdicts,
    _number,
    aspect_name,
    comparison_line,
    deterministic_answer,
    moving_factors,
    standing,
)
from stock_agent.answering.conversation import allowed_answer_figures, answer_facts
from stock_agent.answering.number_check import check_narrative
from stock_agent.memory.session import SessionRecord
from stock_agent.records import FigureSource
from stock_agent.understanding.plan import RequestPlan

from tests.support.records import session_record

AAPL, MSFT, KO, INTC = (session_record(s) for s in ("AAPL", "MSFT", "KO", "INTC"))


def ask(symbols: tuple[str, ...], **fields: object) -> RequestPlan:
    return RequestPlan(fields.pop("intent", "question"), subjects=symbols, reused=symbols, **fields)  # type: ignore[arg-type]


def records_of(*records: SessionRecord) -> dict[str, SessionRecord]:
    return {r.snapshot.symbol: r for r in records}


def checked(plan: RequestPlan, records: dict[str, SessionRecord]) -> str:
    """The answer, after asserting it passes the number check every answer must pass."""
    text = deterministic_answer(plan, records)
    allowed = allowed_answer_figures(records, answer_facts(records))
    assert check_narrative(text, allowed=allowed) is None, text
    return text


def value(record: SessionRecord, label: str) -> str:
    return dict(formatting.key_figures(record.snapshot, record.analysis))[label]


def test_figures_name_the_ticker_the_date_and_every_asked_value() -> None:
    plan = ask(("AAPL", "KO"), aspects=("RSI (14)", "Correlation vs {benchmark} (1Y)", "risk"))
    text = checked(plan, records_of(AAPL, KO))
    for record in (AAPL, KO):
        bench = record.analysis.indicators.benchmark_symbol  # type: ignore[union-attr]
        assert f"- RSI (14): {value(record, 'RSI (14)')}" in text
        assert f"- Correlation vs {bench} (1Y): " in text
        assert f"data as of {record.snapshot.as_of.isoformat()}" in text
        assert f"Risk level {record.analysis.risk_level}." in text  # the verdict asked too


def test_a_figure_that_is_na_says_so_with_the_reason() -> None:
    missing = FigureSource("computed", INTC.snapshot.as_of, missing="earnings are negative")
    sources = {**INTC.snapshot.sources, "pe_ratio": missing}
    intc = dataclasses.replace(
        INTC, snapshot=dataclasses.replace(INTC.snapshot, pe_ratio=None, sources=sources)
    )
    text = checked(ask(("INTC",), aspects=("P/E Ratio",)), records_of(intc))
    assert "- P/E Ratio: n/a (earnings are negative)" in text


def _with(record: SessionRecord, **snapshot: object) -> SessionRecord:
    return dataclasses.replace(record, snapshot=dataclasses.replace(record.snapshot, **snapshot))


@pytest.mark.parametrize(
    ("betas", "operator", "lead", "word"),
    [
        ((1.25, 0.90), "highest", "AAPL", "higher"),
        ((1.25, 0.90), "lowest", "MSFT", "lower"),
        ((0.80, 1.10), "highest", "MSFT", "higher"),
    ],
)
def test_a_comparison_leads_with_the_winner_and_gives_each_value(
    betas: tuple[float, float], operator: str, lead: str, word: str
) -> None:
    records = records_of(_with(AAPL, beta=betas[0]), _with(MSFT, beta=betas[1]))
    plan = ask(("AAPL", "MSFT"), aspects=("Beta",), operator=operator)
    text = checked(plan, records)
    assert text.startswith(f"{lead} has the {word} Beta: ")
    assert f"AAPL {betas[0]:.2f}" in text and f"MSFT {betas[1]:.2f}" in text
    assert "tie" not in text


def test_equal_displayed_values_are_a_tie_even_when_the_raw_values_differ() -> None:
    records = records_of(_with(AAPL, beta=1.2049), _with(MSFT, beta=1.2001))
    text = checked(ask(("AAPL", "MSFT"), aspects=("Beta",), operator="highest"), records)
    assert text.startswith("AAPL and MSFT are tied on Beta: AAPL 1.20, MSFT 1.20")
    apart = records_of(_with(AAPL, beta=1.2051), _with(MSFT, beta=1.2049))
    text = checked(ask(("AAPL", "MSFT"), aspects=("Beta",), operator="highest"), apart)
    assert text.startswith("AAPL has the higher Beta")  # 1.21 against 1.20


def test_three_tickers_get_a_superlative_and_na_values_sit_out() -> None:
    records = records_of(
        _with(AAPL, pe_ratio=30.0), _with(MSFT, pe_ratio=None), _with(KO, pe_ratio=20.0)
    )
    plan = ask(("AAPL", "MSFT", "KO"), aspects=("P/E Ratio",), operator="lowest")
    text = checked(plan, records)
    assert text.startswith("KO has the lowest P/E Ratio: AAPL 30.00, MSFT n/a, KO 20.00")
    none = records_of(_with(AAPL, pe_ratio=None), _with(MSFT, pe_ratio=None))
    text = checked(ask(("AAPL", "MSFT"), aspects=("P/E Ratio",), operator="lowest"), none)
    assert "cannot be ranked" in text


def test_verdicts_rank_by_level_and_the_outlook_by_its_scores() -> None:
    low = dataclasses.replace(AAPL, analysis=dataclasses.replace(AAPL.analysis, risk_level="LOW"))
    high = dataclasses.replace(MSFT, analysis=dataclasses.replace(MSFT.analysis, risk_level="HIGH"))
    riskier = comparison_line(
        ask(("AAPL", "MSFT"), aspects=("risk",), operator="highest"), "risk", records_of(low, high)
    )
    assert riskier.startswith("MSFT has the higher risk level: AAPL LOW, MSFT HIGH")
    assert standing(AAPL, "AAPL", "outlook").key == (
        {"negative": 0, "neutral": 1, "positive": 2}[AAPL.analysis.outlook],
        AAPL.analysis.technical.score + AAPL.analysis.fundamental.score,
    )
    assert standing(AAPL, "AAPL", "technical").shown.endswith("/5")
    better = comparison_line(
        ask(("AAPL", "MSFT"), aspects=("outlook",), operator="highest"),
        "outlook",
        records_of(AAPL, MSFT),
    )
    assert re.match(r"(AAPL|MSFT) has the better outlook|AAPL and MSFT are tied", better)
    assert aspect_name("fundamental", records_of(AAPL)) == "fundamental score"


@pytest.mark.parametrize("verdict", ["technical", "fundamental", "risk"])
def test_why_gives_every_factor_with_its_points(verdict: str) -> None:
    text = checked(ask(("AAPL",), aspects=(verdict,), why=True), records_of(AAPL))
    lines = {
        "technical": AAPL.analysis.technical.rationale,
        "fundamental": AAPL.analysis.fundamental.rationale,
        "risk": AAPL.analysis.risk_factors,
    }[verdict]
    assert all(f"- {line}" in text for line in lines)


def test_why_of_the_outlook_gives_both_scores_and_the_risk() -> None:
    a = KO.analysis
    text = checked(ask(("KO",), aspects=("outlook",), why=True), records_of(KO))
    assert f"Overall outlook: {a.outlook}." in text
    assert f"Technical score {a.technical.score}/5" in text
    assert f"Fundamental score {a.fundamental.score}/5" in text
    assert f"Risk level {a.risk_level}." in text


def test_why_about_a_figure_explains_the_verdicts_that_use_it() -> None:
    text = checked(ask(("AAPL",), aspects=("Volatility (Annualized)",), why=True), records_of(AAPL))
    assert "Technical score" in text  # its volatility rule
    assert any(line in text for line in AAPL.analysis.technical.rationale)
    plain = checked(ask(("AAPL",), why=True), records_of(AAPL))
    assert "Overall outlook" in plain  # a bare "why?" explains the outlook


def test_advice_gives_the_outlook_and_factors_never_a_call() -> None:
    text = checked(ask(("AAPL", "KO"), intent="advice"), records_of(AAPL, KO))
    assert text.startswith("I can't tell you whether to buy, hold or sell")
    assert text.endswith(NOT_ADVICE)
    for record in (AAPL, KO):
        a = record.analysis
        assert f"{record.snapshot.symbol}: outlook {a.outlook} (technical score " in text
        assert all(f"- {line}" in text for line in moving_factors(record))
    assert not re.search(r"\b(you should (buy|sell)|strong buy|it's a (buy|sell))\b", text, re.I)


def test_moving_factors_leave_out_the_zero_points() -> None:
    factors = moving_factors(AAPL)
    assert factors and all(not line.rstrip(".").endswith(("+0", "(+0)")) for line in factors)
    assert all(re.search(r"[+-][1-9]", line) for line in factors)


def test_a_forecast_is_declined_in_one_sentence() -> None:
    text = checked(ask(("AAPL", "MSFT"), intent="declined"), records_of(AAPL, MSFT))
    assert text.startswith("I can't forecast prices or give price targets")
    assert "AAPL's and MSFT's 52-week range" in text
    assert len(re.findall(r"[.!?](\s|$)", text)) == 1
    assert "a stock's" in deterministic_answer(RequestPlan("declined"), {})


def test_a_question_the_rules_could_not_read_gets_what_is_known() -> None:
    text = checked(ask(("AAPL",)), records_of(AAPL))
    assert f"current price {value(AAPL, 'Current Price')}" in text
    assert f"outlook {AAPL.analysis.outlook}" in text


def _analysis(record: SessionRecord, **fields: object) -> SessionRecord:
    return dataclasses.replace(record, analysis=dataclasses.replace(record.analysis, **fields))


@pytest.mark.parametrize(
    ("aspect", "low", "high"),
    [
        ("risk", {"risk_level": "MEDIUM"}, {"risk_level": "HIGH"}),
        ("risk", {"risk_level": "LOW"}, {"risk_level": "MEDIUM"}),
        ("outlook", {"outlook": "negative"}, {"outlook": "neutral"}),
        ("outlook", {"outlook": "neutral"}, {"outlook": "positive"}),
    ],
)
def test_each_step_of_a_verdict_ranks_above_the_one_below(
    aspect: str, low: dict[str, str], high: dict[str, str]
) -> None:
    records = records_of(_analysis(AAPL, **low), _analysis(MSFT, **high))
    line = comparison_line(
        ask(("AAPL", "MSFT"), aspects=(aspect,), operator="highest"), aspect, records
    )
    assert line.startswith("MSFT has the ")


def test_the_outlook_ranks_by_the_scores_when_the_outlooks_agree_and_lowest_is_weakest() -> None:
    tech = dataclasses.replace(AAPL.analysis.technical, score=2)
    weaker = _analysis(AAPL, outlook="neutral", technical=tech)
    stronger = _analysis(MSFT, outlook="neutral", technical=dataclasses.replace(tech, score=4))
    third = _analysis(KO, outlook="positive")
    plan = ask(("AAPL", "MSFT"), aspects=("outlook",), operator="highest")
    assert comparison_line(plan, "outlook", records_of(weaker, stronger)).startswith(
        "MSFT has the better outlook"
    )
    low = ask(("AAPL", "MSFT"), aspects=("outlook",), operator="lowest")
    assert comparison_line(low, "outlook", records_of(weaker, stronger)).startswith(
        "AAPL has the weaker outlook"
    )
    three = ask(("AAPL", "MSFT", "KO"), aspects=("outlook",), operator="lowest")
    assert comparison_line(three, "outlook", records_of(weaker, stronger, third)).startswith(
        "AAPL has the weakest outlook"
    )


def test_scores_rank_by_their_own_verdict() -> None:
    tech = dataclasses.replace(AAPL.analysis.technical, score=1)
    fund = dataclasses.replace(AAPL.analysis.fundamental, score=5)
    record = _analysis(AAPL, technical=tech, fundamental=fund)
    assert standing(record, "AAPL", "technical").key == (1,)
    assert standing(record, "AAPL", "fundamental").key == (5,)


def test_amounts_rank_by_their_magnitude_letter() -> None:
    assert _number("$1.50T") == 1.5e12
    assert _number("$812.40B") == pytest.approx(812.4e9)
    assert _number("12.35M") == pytest.approx(12.35e6)
    assert _number("-$3.00K") == -3000.0
    assert _number("1.20") == 1.2
    assert _number("n/a") is None and _number("PG, WMT") is None


def test_an_aspect_is_named_as_its_record_labels_it() -> None:
    bench = AAPL.analysis.indicators.benchmark_symbol  # type: ignore[union-attr]
    name = aspect_name("Correlation vs {benchmark} (1Y)", records_of(AAPL))
    assert name == f"Correlation vs {bench} (1Y)"
    assert aspect_name("Moon Phase", records_of(AAPL)) == "Moon Phase"
    assert aspect_name("risk", records_of(AAPL)) == "risk level"


def test_a_why_about_a_figure_explains_only_the_verdicts_whose_rules_use_it() -> None:
    plan = ask(("AAPL",), aspects=("P/E Ratio",), why=True)
    assert "P/E" not in " ".join(AAPL.analysis.technical.rationale)
    expected = ["fundamental"] + (
        ["risk"] if any("p/e" in f.lower() for f in AAPL.analysis.risk_factors) else []
    )
    assert _explained_verdicts(plan, AAPL) == expected


def test_a_verdict_without_why_is_its_head_line_only() -> None:
    text = checked(ask(("AAPL",), aspects=("technical",)), records_of(AAPL))
    assert f"Technical score {AAPL.analysis.technical.score}/5: " in text
    assert not any(line in text for line in AAPL.analysis.technical.rationale)
    risk = checked(ask(("AAPL",), aspects=("risk",)), records_of(AAPL))
    assert all(f"- {line}" in risk for line in AAPL.analysis.risk_factors)
