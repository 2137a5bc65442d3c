"""The number check at its edges: copied figures pass, invented ones are named (at most ten,
never to users), the length limit, and the figures of the model's own input."""

from __future__ import annotations

from datetime import date

import pytest
from stock_agent.analysis import analyze
from stock_agent.answering.number_check import (
    MAX_NARRATIVE_CHARS,
    allowed_figures,
    check_narrative,
    public_reason,
)
from stock_agent.formatting import allowed_numbers
from stock_agent.market_data.simulated import SimulatedProvider
from stock_agent.records import StockAnalysis, StockSnapshot

from tests.support.records import copied_figures_text, simulated_record

AS_OF = date(2026, 11, 20)


def _records(symbol: str) -> tuple[StockSnapshot, StockAnalysis]:
    return simulated_record(symbol, as_of=AS_OF)


def test_check_accepts_copied_figures_and_rejects_invented_ones() -> None:
    snapshot, analysis = _records("SIM_STOCK")
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis)
    assert check_narrative(copied_figures_text(snapshot, analysis), allowed=allowed) is None
    reason = check_narrative("The price target is $987.65 by 2031.", allowed=allowed)
    assert reason is not None and "$987.65" in reason and "2031" in reason
    assert check_narrative("   ", allowed=allowed) == "the narrative is empty"
    too_long = check_narrative("word " * (MAX_NARRATIVE_CHARS // 4), allowed=allowed)
    assert too_long is not None and "limit" in too_long


def test_at_most_ten_invented_figures_are_listed() -> None:
    text = " ".join(f"{n}.5 units." for n in range(101, 113))  # twelve invented figures
    reason = check_narrative(text, allowed=())
    assert reason is not None
    listed = reason.split("not in the data: ")[1].split(", ")
    assert listed == [f"{n}.5" for n in range(101, 111)]


@pytest.mark.parametrize(
    ("rejection", "public"),
    [
        ("it contains figures that are not in the data: 1.5", "it quoted 1 figure not in the data"),
        ("it contains figures that are not in the data: 1.5, 2.5",
         "it quoted 2 figures not in the data"),
        ("the narrative is empty", "the narrative is empty"),
        (None, "rejected"),
        ("", "rejected"),
    ],
)  # fmt: skip
def test_public_reason_counts_without_repeating_figures(rejection: str | None, public: str) -> None:
    assert public_reason(rejection) == public


def test_figures_the_model_was_given_are_allowed() -> None:
    snapshot, analysis = _records("KO")
    without = allowed_figures(snapshot=snapshot, analysis=analysis)
    assert "123.45" not in without
    given = allowed_figures(
        snapshot=snapshot, analysis=analysis, payload={"note": ["a figure of 123.45"]}
    )
    assert "123.45" in given and without <= given


def test_narrative_length_limit() -> None:
    assert check_narrative("a" * MAX_NARRATIVE_CHARS, allowed=()) is None
    reason = check_narrative("a" * (MAX_NARRATIVE_CHARS + 1), allowed=())
    assert reason == f"the narrative has {MAX_NARRATIVE_CHARS + 1} characters; the limit is 4000"
    assert check_narrative(" \n ", allowed=()) == "the narrative is empty"


def test_number_check_uses_the_record() -> None:
    snap = SimulatedProvider().snapshot("KO", as_of=date(2025, 9, 5))
    allowed = allowed_numbers(snap, analyze(snap))
    price = f"{snap.current_price:.2f}"
    assert check_narrative(f"KO closed at ${price}.", allowed=allowed) is None
    invented = f"{snap.current_price + 0.07:.2f}"
    assert check_narrative(f"KO closed at ${invented}.", allowed=allowed) is not None
