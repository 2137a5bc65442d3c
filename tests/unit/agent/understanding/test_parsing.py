"""Request parsing: the table of prompts the public sample got wrong, and the rules.

The sample took the first 2–5 letter word of the upper-cased prompt, so
"Can you analyze MSFT" became CAN and "Analyze SIM_STOCK Stock" became STOCK
(defect 3). Each row below is a prompt and the tickers the parser must find.
"""

from __future__ import annotations

import pytest
from stock_agent.errors import AgentError
from stock_agent.understanding.parsing import (
    STOPWORDS,
    canonical_ticker,
    no_ticker_error,
    parse_request,
)

KNOWN = frozenset({"SIM_STOCK", "AAPL", "MSFT", "TSLA", "BRK.B", "NVDA", "AMZN", "GOOGL"})


@pytest.mark.parametrize(
    ("prompt", "tickers"),
    [
        ("Analyze SIM_STOCK for investment purposes", ("SIM_STOCK",)),
        ("Can you analyze msft?", ("MSFT",)),
        ("Can you analyze MSFT", ("MSFT",)),
        ("Compare AAPL and BRK.B", ("AAPL", "BRK.B")),
        ("brk-b", ("BRK.B",)),
        ("How does BRK-B look?", ("BRK.B",)),
        ("Analyze SIM_STOCK Stock", ("SIM_STOCK",)),
        ("analyze aapl and tsla", ("AAPL", "TSLA")),
        ("$AAPL", ("AAPL",)),
        ("what about $aapl, please", ("AAPL",)),
        ("AAPL, aapl, MSFT and $AAPL again", ("AAPL", "MSFT")),
        ("sim_stock please", ("SIM_STOCK",)),
        ("Analyze BRK.B.", ("BRK.B",)),
        ("What is the P/E of NVDA today?", ("NVDA",)),
        # Upper-case 2–5 letter words are tickers even when the provider does not know them:
        # the provider then answers unknown_ticker instead of the parser guessing.
        ("Analyze XYZQ", ("XYZQ",)),
        # Ordinary lower-case words are never tickers, known symbols are.
        ("is it a good time for amzn and googl", ("AMZN", "GOOGL")),
        ("long-term view on e-mail and sim_stock", ("SIM_STOCK",)),
        ("bf.b or brk.b?", ("BF.B", "BRK.B")),
    ],
)
def test_parse_table(prompt: str, tickers: tuple[str, ...]) -> None:
    assert parse_request(prompt, known_symbols=KNOWN).tickers == tickers


@pytest.mark.parametrize(
    "prompt",
    ["CAN you analyze STOCK", "PLEASE ANALYZE THE STOCK", "I want a REPORT on it", "Q3 H100 mp3"],
)
def test_request_words_are_not_tickers(prompt: str) -> None:
    parsed = parse_request(prompt, known_symbols=KNOWN)
    assert parsed.tickers == ()
    assert not parsed.company_hints


def test_dollar_prefix_overrides_stopwords() -> None:
    """$A is Agilent even though A is an English word."""
    assert parse_request("analyze $A and $IT", known_symbols=KNOWN).tickers == ("A", "IT")


def test_words_that_may_name_a_company_are_hints() -> None:
    """No ticker, but words that may name a company: the graph asks the model once."""
    parsed = parse_request("analyze apple", known_symbols=KNOWN)
    assert parsed.tickers == ()
    assert parsed.company_hints == ("apple",)
    assert parsed.company_hints
    assert parse_request("How is Apple doing?", known_symbols=KNOWN).company_hints
    # Chit-chat without an analysis word or a capitalised name does not reach the model.
    assert not parse_request("hello there", known_symbols=KNOWN).company_hints


def test_five_tickers_allowed_six_rejected() -> None:
    five = parse_request("AAPL MSFT TSLA NVDA AMZN", known_symbols=KNOWN)
    assert len(five.tickers) == 5
    with pytest.raises(AgentError) as info:
        parse_request("AAPL MSFT TSLA NVDA AMZN GOOGL", known_symbols=KNOWN)
    assert info.value.code == "too_many_tickers"
    assert info.value.http_status == 422
    assert "6" in info.value.message and "GOOGL" in info.value.message
    # Duplicates do not count twice.
    assert len(parse_request("AAPL aapl $AAPL MSFT TSLA NVDA AMZN").tickers) == 5


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("brk-b", "BRK.B"),
        ("BRK.B", "BRK.B"),
        ("$msft", "MSFT"),
        ("sim_stock", "SIM_STOCK"),
        ("rds-a", "RDS.A"),
        ("7203", None),
        ("", None),
        ("A" * 16, None),
        ("AA..B", None),
    ],
)
def test_canonical_ticker(raw: str, canonical: str | None) -> None:
    assert canonical_ticker(raw) == canonical


def test_no_ticker_error_explains_how_to_ask() -> None:
    err = no_ticker_error(prompt_hints=("apple",), model_asked=False)
    assert err.code == "no_ticker" and err.http_status == 422
    assert "apple" in err.message and "no model is configured" in err.message
    assert "SIM_STOCK" in no_ticker_error().message


def test_stopwords_are_canonical_upper_case() -> None:
    """Stopwords are compared with canonical tickers, so they must be written that way."""
    assert all(word == word.upper() for word in STOPWORDS)


def test_a_dollar_suggestion_only_for_known_symbols_written_in_capitals() -> None:
    known = frozenset({"T", "KO"})
    assert parse_request("Analyze T", known_symbols=known).dollar_hints == ("T",)
    assert parse_request("analyze t please", known_symbols=known).dollar_hints == ()
    assert parse_request("Is it a buy", known_symbols=known).dollar_hints == ()
    assert "'Analyze $T'" in no_ticker_error(dollar_hints=("T",)).message
    four = no_ticker_error(dollar_hints=("T", "A", "V", "F")).message
    assert "'Analyze $T and $A and $V'" in four and "$F" not in four  # three at most
    assert "'T', 'A', 'V' is read" in four and "'F'" not in four


def test_an_upper_case_word_with_a_separator_is_a_ticker_of_any_length() -> None:
    assert parse_request("Analyze XYZ.B", known_symbols=()).tickers == ("XYZ.B",)
    assert parse_request("Analyze SIM_FOOBAR", known_symbols=()).tickers == ("SIM_FOOBAR",)
    assert parse_request("Analyze FOOBAR", known_symbols=()).tickers == ()  # six letters


def test_a_lower_case_word_with_an_underscore_is_written_like_a_ticker() -> None:
    assert parse_request("analyze foo_bar", known_symbols=()).tickers == ("FOO_BAR",)
    assert parse_request("analyze foo", known_symbols=()).tickers == ()


@pytest.mark.parametrize(
    ("prompt", "tickers"),
    [
        ("Analyze NVIDIA", ()),  # six letters, unknown: a word, not a ticker
        ("Analyze GOOGL", ("GOOGL",)),  # five letters: a ticker
        ("Analyze QQ", ("QQ",)),  # two letters: a ticker
        ("Analyze Q", ()),  # one letter without $: not
        ("Analyze $Q", ("Q",)),
        ("Analyze NVIDIA and AMD", ("AMD",)),
    ],
)
def test_upper_case_words_are_tickers_from_two_to_five_letters(
    prompt: str, tickers: tuple[str, ...]
) -> None:
    assert parse_request(prompt).tickers == tickers


def test_nvidia_is_a_company_hint_not_a_ticker() -> None:
    parsed = parse_request("Analyze NVIDIA")
    assert parsed.tickers == () and parsed.company_hints == ("NVIDIA",)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("A" * 10 + ".B", "AAAAAAAAAA.B"),  # 12 characters
        ("A" * 10 + "." + "B" * 4, "AAAAAAAAAA.BBBB"),  # 15: the longest accepted
        ("A" * 10 + "." + "B" * 5, None),  # 16
        ("bf.b", "BF.B"),
    ],
)
def test_symbol_length_limit(raw: str, canonical: str | None) -> None:
    assert canonical_ticker(raw) == canonical


@pytest.mark.parametrize(
    ("word", "tickers"),
    [("abcde.b", ("ABCDE.B",)), ("abcdef.b", ()), ("brk.bb", ())],
)
def test_lower_case_share_class_edges(word: str, tickers: tuple[str, ...]) -> None:
    assert parse_request(f"look at {word}").tickers == tickers


@pytest.mark.parametrize(
    ("prompt", "hints"),
    [("analyze hp", ("hp",)), ("analyze x", ()), ("analyze apple", ("apple",))],
)
def test_company_hints_need_two_letters(prompt: str, hints: tuple[str, ...]) -> None:
    parsed = parse_request(prompt)
    assert parsed.tickers == () and parsed.company_hints == hints


def test_no_ticker_error_says_whether_a_model_was_asked() -> None:
    unasked = no_ticker_error(prompt_hints=("apple",))
    assert "no model is configured to look up its ticker" in unasked.message
    asked = no_ticker_error(prompt_hints=("apple",), model_asked=True)
    assert "the model could not map the company name" in asked.message
    assert no_ticker_error().message.startswith("no stock ticker found in the request; name one")


# --------------------------------------------------------------------------- figure words


@pytest.mark.parametrize(
    ("prompt", "tickers"),
    [
        ("and its FCF margin?", ()),
        ("RSI and SMA 50?", ()),
        ("what's the EPS of AAPL", ("AAPL",)),
        # written with a $, the same word is a ticker, even one the provider knows
        ("Analyze $FCF", ("FCF",)),
        ("what about $RSI?", ("RSI",)),
        ("$rsi vs AAPL", ("RSI", "AAPL")),
    ],
)
def test_a_word_that_names_a_figure_is_no_ticker_without_a_dollar(
    prompt: str, tickers: tuple[str, ...]
) -> None:
    known = {"AAPL", "RSI", "FCF", "SMA"}  # real listings that collide with figure words
    parsed = parse_request(prompt, known_symbols=known, figure_words={"FCF", "RSI", "SMA", "EPS"})
    assert parsed.tickers == tickers
    assert not {"FCF", "RSI", "SMA"} & set(parsed.company_hints)
    # without the figure words the same prompts read the abbreviations as tickers
    if "$" not in prompt and tickers == ():
        assert parse_request(prompt, known_symbols=known).tickers


@pytest.mark.parametrize(
    ("prompt", "tickers"),
    [
        ("so sánh cổ phiếu apple với microsoft", ()),  # the "v" of "với" is not Visa
        ("Analiza la acción de V", ("V",)),  # an "ó" next to "acci" does not make a word
        ("NVDAの株を分析してください", ("NVDA",)),  # other scripts still end a word
        ("café KO", ("KO",)),
        ("BRK.Bé", ("BRK",)),  # a suffix glued to an accented letter is left off
    ],
)
def test_a_word_is_never_cut_out_of_a_latin_word(prompt: str, tickers: tuple[str, ...]) -> None:
    parsed = parse_request(prompt, known_symbols={"V", "KO", "NVDA", "BRK.B"})
    assert parsed.tickers == tickers
