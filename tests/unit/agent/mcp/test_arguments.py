"""A tool's arguments are refused by the HTTP contract's rules, with its codes and words.

Every limit is pinned at its edge: the ticker count (5 accepted, 6 refused; 2
accepted, 1 refused, duplicates counted once), the ticker's length (15
characters, 16 refused) and the figure name's length (80, 81 refused).
"""

from __future__ import annotations

from typing import Any

import pytest
from stock_agent.contract import validate_payload
from stock_agent.errors import AgentError
from stock_agent.mcp.arguments import (
    MAX_FIGURE_CHARS,
    MIN_COMPARE_SYMBOLS,
    checked_arguments,
    figure_argument,
    flag_argument,
    symbol_argument,
    symbols_argument,
)
from stock_agent.settings import MAX_TICKERS_PER_REQUEST
from stock_agent.understanding.parsing import MAX_SYMBOL_CHARS, parse_request


def refused(fn: Any, *args: Any, **kwargs: Any) -> AgentError:
    with pytest.raises(AgentError) as caught:
        fn(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("written", "symbol"),
    [("AAPL", "AAPL"), ("msft", "MSFT"), ("$nvda", "NVDA"), ("brk-b", "BRK.B"),
     (" BRK.B ", "BRK.B"), ("sim_stock", "SIM_STOCK")],
)  # fmt: skip
def test_a_symbol_is_read_as_the_parser_reads_a_ticker(written: str, symbol: str) -> None:
    assert symbol_argument(written) == symbol


def test_a_symbol_is_at_most_the_parsers_length() -> None:
    longest = "ABCDEFGHIJ.KLMN"  # the parser's parts are at most 10 characters
    assert len(longest) == MAX_SYMBOL_CHARS
    assert symbol_argument(longest) == longest
    err = refused(symbol_argument, longest + "O")
    assert err.code == "no_ticker"
    assert f"at most {MAX_SYMBOL_CHARS} characters" in err.message


@pytest.mark.parametrize("text", ["not a ticker", "AAPL!", "1234", "A..B"])
def test_text_that_cannot_be_a_ticker_is_no_ticker(text: str) -> None:
    err = refused(symbol_argument, text)
    assert err.code == "no_ticker"
    assert repr(text) in err.message


@pytest.mark.parametrize(
    ("bad", "code"),
    [("", "invalid_prompt"), ("   ", "invalid_prompt"), (42, "invalid_payload"),
     (None, "invalid_payload"), (["AAPL"], "invalid_payload"), ("AA\x00PL", "invalid_prompt"),
     ("AA\u200bPL", "invalid_prompt"), ("\u202eLPAA", "invalid_prompt"), ("x" * 5000,
     "prompt_too_long")],
)  # fmt: skip
def test_bad_text_gets_the_prompts_code(bad: Any, code: str) -> None:
    assert refused(symbol_argument, bad).code == code


@pytest.mark.parametrize("hidden", ["AA\u200bPL", "AA\x07PL", "", "\ufeffAAPL", "x" * 4097, 7])
def test_bad_text_gets_the_prompts_message_with_the_arguments_name(hidden: Any) -> None:
    """The same check as the prompt's: same code, same words, the field's own name."""
    as_prompt = refused(validate_payload, {"prompt": hidden})
    as_symbol = refused(symbol_argument, hidden)
    assert as_symbol.code == as_prompt.code
    assert as_symbol.message == as_prompt.message.replace("'prompt'", "'symbol'")
    assert "'symbol'" in as_symbol.message


def test_symbols_take_two_to_five_distinct_tickers() -> None:
    five = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]
    assert len(five) == MAX_TICKERS_PER_REQUEST
    assert symbols_argument(five) == tuple(five)
    assert symbols_argument(["aapl", "MSFT"]) == ("AAPL", "MSFT")
    assert MIN_COMPARE_SYMBOLS == 2


def test_six_symbols_are_too_many_with_the_parsers_words() -> None:
    six = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "META"]
    err = refused(symbols_argument, six)
    from_prompt = refused(parse_request, "Compare " + " ".join(six))
    assert (err.code, err.message) == (from_prompt.code, from_prompt.message)
    assert err.code == "too_many_tickers"


def test_duplicates_count_once() -> None:
    """Six entries naming five tickers are five; two naming one ticker are one."""
    assert len(symbols_argument(["AAPL", "aapl", "MSFT", "NVDA", "TSLA", "AMZN"])) == 5
    err = refused(symbols_argument, ["AAPL", "$aapl"])
    assert err.code == "invalid_payload"
    assert "found 1: AAPL" in err.message


@pytest.mark.parametrize("value", [[], ["AAPL"], "AAPL, MSFT", None, {"a": "AAPL"}])
def test_fewer_than_two_or_not_a_list_is_invalid(value: Any) -> None:
    assert refused(symbols_argument, value).code == "invalid_payload"


def test_one_bad_entry_names_its_place() -> None:
    err = refused(symbols_argument, ["AAPL", "MS\u200bFT"])
    assert err.code == "invalid_prompt"
    assert "'symbols[1]'" in err.message


def test_arguments_must_be_an_object_with_exactly_the_tools_names() -> None:
    assert checked_arguments(None, tool="t", required=(), optional=("x",)) == {}
    assert checked_arguments({"symbol": "A"}, tool="t", required=("symbol",)) == {"symbol": "A"}
    not_object = refused(checked_arguments, ["AAPL"], tool="t", required=("symbol",))
    assert not_object.code == "invalid_payload" and "not list" in not_object.message
    missing = refused(checked_arguments, {}, tool="t", required=("symbol",))
    assert missing.code == "invalid_payload" and "'symbol'" in missing.message
    extra = refused(
        checked_arguments, {"symbol": "A", "tickr": "B"}, tool="t", required=("symbol",)
    )
    assert extra.code == "invalid_payload"
    assert "'tickr'" in extra.message and "'symbol'" in extra.message


def test_a_flag_is_a_boolean_only() -> None:
    assert flag_argument(True, name="f") is True
    assert flag_argument(False, name="f") is False
    for bad in ("true", 1, None):
        assert refused(flag_argument, bad, name="f").code == "invalid_payload"


def test_a_figure_name_is_at_most_its_limit() -> None:
    assert figure_argument("x" * MAX_FIGURE_CHARS) == "x" * MAX_FIGURE_CHARS
    assert refused(figure_argument, "x" * (MAX_FIGURE_CHARS + 1)).code == "prompt_too_long"
    assert refused(figure_argument, "P/E\u200b").code == "invalid_prompt"
