"""The reward: crafted good, subtly wrong and plainly wrong narratives keep their order,
and every weight and threshold is pinned at and across its edge.

The record is real: the simulated provider's snapshot, the real analysis, the
narrative input and the allowed figures exactly as the agent computes them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from stock_agent import formatting
from stock_agent.analysis import analyze
from stock_agent.answering.narrative import deterministic_narrative
from stock_agent.answering.number_check import MAX_NARRATIVE_CHARS, allowed_figures
from stock_agent.customize.reward import (
    MAX_WORDS,
    MIN_FIGURES,
    MIN_WORDS,
    REJECTED_FACTOR,
    REQUIRED_POINTS,
    WEIGHTS,
    RewardInputError,
    format_issues,
    reward,
    score,
)
from stock_agent.market_data import get_provider
from stock_agent.prompts import narrative_payload

from tests.support.narratives import good_narrative

AS_OF = date(2025, 9, 4)
OPPOSITE_TREND = {"uptrend": "downtrend", "downtrend": "uptrend", "sideways": "uptrend"}


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    snapshot = get_provider("simulated").snapshot("SIM_STOCK", as_of=AS_OF)
    analysis = analyze(snapshot)
    rows = formatting.key_figures(snapshot, analysis)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    return {
        "narrative_input": payload,
        "allowed_figures": sorted(allowed),
        "deterministic": deterministic_narrative(
            snapshot=snapshot, analysis=analysis, key_figures=rows
        ),
    }


def subtly_wrong(payload: dict[str, Any]) -> str:
    """The good narrative with one price misquoted by a cent."""
    price = payload["key_figures"]["Current Price"]
    cents = round(float(price.lstrip("$").replace(",", "")) + 0.01, 2)
    return good_narrative(payload).replace(price, f"${cents:,.2f}", 1)


def plainly_wrong(payload: dict[str, Any]) -> str:
    """Invented targets, the wrong trend, advice and markdown."""
    trend = payload["technical"]["trend"]
    return (
        f"## Verdict\n\n- The stock is in a clear {OPPOSITE_TREND[trend]}.\n"
        "- We recommend you buy the shares now: our price target is $412.50 by 2031, "
        "a 73% gain.\n- **Strong buy** rating."
    )


def test_ordering_good_over_subtly_wrong_over_plainly_wrong(record: dict[str, Any]) -> None:
    payload = record["narrative_input"]
    good = score(good_narrative(payload), record)
    subtle = score(subtly_wrong(payload), record)
    plain = score(plainly_wrong(payload), record)
    assert good.total == pytest.approx(1.0), good
    assert good.total > subtle.total > plain.total >= 0.0
    assert subtle.invented and not good.invented
    assert (subtle.coverage, subtle.format) == (good.coverage, good.format) == (1.0, 1.0)
    assert set(plain.format_issues) == {"length", "advice", "markdown"}
    assert "trend" in plain.missing_points


def test_deterministic_narrative_is_fully_faithful(record: dict[str, Any]) -> None:
    parts = score(record["deterministic"], record)
    assert parts.faithfulness == 1.0 and parts.invented == ()
    assert parts.coverage == 1.0


def test_total_is_the_weighted_sum_and_weights_sum_to_one(record: dict[str, Any]) -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert all(w > 0 for w in WEIGHTS.values())
    for text in (subtly_wrong(record["narrative_input"]), plainly_wrong(record["narrative_input"])):
        p = score(text, record)
        expected = sum(WEIGHTS[name] * getattr(p, name) for name in WEIGHTS)
        assert p.total == pytest.approx(expected)
        assert 0.0 <= p.total <= 1.0


def test_each_weight_is_what_one_broken_part_costs(record: dict[str, Any]) -> None:
    good = good_narrative(record["narrative_input"])
    # One format rule broken (bold markdown): costs exactly a third of the format weight.
    bold = good.replace("Momentum is", "**Momentum** is", 1)
    assert score(bold, record).total == pytest.approx(1.0 - WEIGHTS["format"] / 3)
    # One point left out (no outlook sentence): a quarter of the coverage weight.
    no_outlook = good.split("\n\n")
    no_outlook[2] = no_outlook[2].replace(
        f"overall outlook {record['narrative_input']['outlook']}", "overall picture steady"
    )
    parts = score("\n\n".join(no_outlook), record)
    assert parts.missing_points == ("outlook",)
    assert parts.total == pytest.approx(1.0 - WEIGHTS["coverage"] / len(REQUIRED_POINTS))


def test_rejected_factor_scales_the_share_of_good_figures(record: dict[str, Any]) -> None:
    fig = record["narrative_input"]["key_figures"]
    quoted = f"{fig['Current Price']}, {fig['P/E Ratio']}, {fig['YTD Return']}"
    filler = " word" * MIN_WORDS
    mixed = score(f"Figures {quoted} and a target of $987,654.32.{filler}", record)
    assert mixed.invented == ("$987,654.32",)
    assert mixed.faithfulness == pytest.approx(0.75 * REJECTED_FACTOR)
    assert score(f"Figures {quoted}.{filler}", record).faithfulness == 1.0


def test_min_figures_at_and_below_the_edge(record: dict[str, Any]) -> None:
    fig = record["narrative_input"]["key_figures"]
    figures = [fig["Current Price"], fig["P/E Ratio"], fig["YTD Return"], fig["Beta"]]
    filler = " word" * MIN_WORDS
    for n in range(MIN_FIGURES + 2):
        text = f"Figures {', '.join(figures[:n])}.{filler}"
        assert score(text, record).faithfulness == pytest.approx(min(1.0, n / MIN_FIGURES))
    # Quoting nothing never beats quoting the record faithfully.
    assert (
        score(f"No figures.{filler}", record).total
        < score(f"Figures {', '.join(figures)}.{filler}", record).total
    )


def test_length_bounds_at_and_across_the_edges() -> None:
    def words(n: int) -> str:
        return " ".join(["word"] * n)

    assert "length" not in format_issues(words(MIN_WORDS))
    assert "length" in format_issues(words(MIN_WORDS - 1))
    assert "length" not in format_issues(words(MAX_WORDS))
    assert "length" in format_issues(words(MAX_WORDS + 1))


def test_too_long_or_empty_text_scores_zero_faithfulness(record: dict[str, Any]) -> None:
    fig = record["narrative_input"]["key_figures"]
    head = f"{fig['Current Price']} {fig['P/E Ratio']} {fig['YTD Return']} "
    at_limit = (head + "word " * (MAX_NARRATIVE_CHARS // 5))[:MAX_NARRATIVE_CHARS]
    assert len(at_limit) == MAX_NARRATIVE_CHARS
    assert score(at_limit, record).faithfulness == 1.0
    assert score(at_limit + "s", record).faithfulness == 0.0
    empty = score("   ", record)
    assert (empty.faithfulness, empty.coverage, empty.format, empty.total) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "phrase",
    [
        "We recommend the shares.",
        "You should consider it.",
        "Investors should wait.",
        "It is a strong buy.",
        "Sell the stock before earnings.",
        "Our price target is not given.",
        "A hold rating fits.",
    ],
)
def test_advice_phrasing_is_caught(phrase: str) -> None:
    assert "advice" in format_issues(phrase)


@pytest.mark.parametrize(
    "phrase",
    [
        "This is not investment advice.",
        "The sell-off in March reversed.",
        "Holders of the stock saw gains.",
        "Buyers returned after the dip.",
    ],
)
def test_market_language_is_not_advice(phrase: str) -> None:
    assert "advice" not in format_issues(phrase)


@pytest.mark.parametrize(
    "text",
    ["# Title\nbody", "- item one", "1. first", "a **bold** claim", "use `code`",
     "| a | b |", "see [link](http://x)"],
)  # fmt: skip
def test_markdown_is_caught(text: str) -> None:
    assert "markdown" in format_issues(text)


def test_plain_prose_with_hyphens_and_numbers_is_not_markdown() -> None:
    assert "markdown" not in format_issues("A 52-week high - then a dip.\n\n3.5% lower in May.")


def test_contradicting_labels_do_not_cover_their_point(record: dict[str, Any]) -> None:
    payload = record["narrative_input"]
    good = good_narrative(payload)
    trend = payload["technical"]["trend"]
    wrong_trend = good.replace(f"in an {trend}", f"in a {OPPOSITE_TREND[trend]}", 1)
    assert "trend" in score(wrong_trend, record).missing_points
    outlook = payload["outlook"]
    other = "negative" if outlook != "negative" else "positive"
    wrong_outlook = good.replace(f"outlook {outlook}", f"outlook {other}")
    assert score(wrong_outlook, record).missing_points == ("outlook",)
    level = payload["risk_level"].lower()
    other_level = "high" if level != "high" else "low"
    wrong_risk = good.replace(f"rated {level}", f"rated {other_level}")
    assert score(wrong_risk, record).missing_points == ("risk",)


def test_accepts_the_input_alone_and_refuses_what_it_cannot_score(
    record: dict[str, Any],
) -> None:
    text = good_narrative(record["narrative_input"])
    # Without the allowed list, figures copied from the input still count as allowed.
    assert reward(text, record["narrative_input"]) == pytest.approx(1.0)
    with pytest.raises(RewardInputError, match="narrative_input"):
        reward(text, {"symbol": "X"})
    with pytest.raises(RewardInputError, match="allowed_figures"):
        reward(text, {**record, "allowed_figures": "1.0"})
    with pytest.raises(RewardInputError, match="narrative"):
        reward(None, record)  # type: ignore[arg-type]
