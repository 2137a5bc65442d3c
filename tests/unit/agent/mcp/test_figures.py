"""``get_figure``'s vocabulary: the record's labels and the conversation's phrases, whole only."""

from __future__ import annotations

from datetime import date

import pytest
from stock_agent.analysis import analyze
from stock_agent.errors import AgentError
from stock_agent.formatting import FigureRow, figure_provenance
from stock_agent.market_data import get_provider
from stock_agent.mcp.figures import figure_key, figure_named, find_figure

DAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def rows() -> list[FigureRow]:
    snapshot = get_provider("simulated").snapshot("AAPL", as_of=DAY)
    return figure_provenance(snapshot, analyze(snapshot))


def test_the_vocabulary_is_the_conversations(rows: list[FigureRow]) -> None:
    """The phrases are the conversation's: an alias works here as it does in a question."""
    from stock_agent.understanding.vocabulary import ALIASES

    labels = [(row["group"], row["label"]) for row in rows]
    assert "drawdown" in ALIASES["Max Drawdown (1Y)"]
    assert figure_named("drawdown", labels) == "Max Drawdown (1Y)"
    assert figure_named("macd", labels) is None  # three figures: not one row
    assert figure_named("correlation", labels) == next(
        label for _, label in labels if label.startswith("Correlation vs ")
    )


def test_every_label_of_the_record_finds_its_own_row(rows: list[FigureRow]) -> None:
    for row in rows:
        assert find_figure(row["label"], rows, symbol="AAPL") == row
        assert find_figure(row["label"].upper(), rows, symbol="AAPL") == row


@pytest.mark.parametrize(
    ("asked", "label"),
    [("52 week high", "52-Week High"), ("rsi14", "RSI (14)"), ("RSI(14)", "RSI (14)"),
     ("beta vs sim_index (1y)", "Beta vs SIM_INDEX (1Y)"), ("p/e ratio?", "P/E Ratio"),
     ("debt to equity", "Debt-to-Equity")],
)  # fmt: skip
def test_case_spacing_and_punctuation_do_not_matter(
    rows: list[FigureRow], asked: str, label: str
) -> None:
    assert find_figure(asked, rows, symbol="AAPL")["label"] == label


@pytest.mark.parametrize(
    ("asked", "label"),
    [("pe ratio", "P/E Ratio"), ("P/E", "P/E Ratio"), ("price to earnings", "P/E Ratio"),
     ("forward pe", "Forward P/E"), ("dividend", "Dividend Yield"), ("market cap", "Market Cap"),
     ("volatility", "Volatility (Annualized)"), ("earnings per share", "EPS (TTM)"),
     ("sales", "Revenue (TTM)")],
)  # fmt: skip
def test_the_conversations_phrases_name_their_figure(
    rows: list[FigureRow], asked: str, label: str
) -> None:
    assert find_figure(asked, rows, symbol="AAPL")["label"] == label


@pytest.mark.parametrize("asked", ["what is the pe ratio", "shoe size", "beta vs SPY (1Y)", "??"])
def test_anything_else_is_unknown_and_the_error_lists_the_labels(
    rows: list[FigureRow], asked: str
) -> None:
    """A phrase inside a longer question is not enough: the tool takes a figure's name."""
    with pytest.raises(AgentError) as caught:
        find_figure(asked, rows, symbol="AAPL")
    assert caught.value.code == "unknown_figure"
    assert caught.value.message.startswith(f"AAPL has no figure {asked!r}")
    for row in rows:
        assert row["label"] in caught.value.message


def test_the_key_folds_case_space_and_punctuation() -> None:
    assert figure_key(" 52-Week  High? ") == figure_key("52 week high") == "52weekhigh"
