"""Limits of the parser, the payload validation and the narrative's number check, at the edge.

Each limit is tested at its value and one step across it, so a changed
comparison or constant fails here.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from stock_agent.analysis import analyze
from stock_agent.answering.narrative import MAX_NARRATIVE_CHARS, check_narrative
from stock_agent.contract import MAX_PAYLOAD_BYTES, parse_body, validate_payload
from stock_agent.errors import AgentError
from stock_agent.formatting import _roundings, allowed_numbers, normalize_number_token
from stock_agent.market_data import SimulatedProvider
from stock_agent.settings import MAX_PROMPT_CHARS
from stock_agent.understanding.parsing import canonical_ticker, no_ticker_error, parse_request

# --- Parser: the ticker-length rule ---------------------------------------------


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


# --- Payload validation ---------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    head = b'{"prompt": "Analyze KO", "pad": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_payload_size_limit() -> None:
    assert MAX_PAYLOAD_BYTES == 64 * 1024
    at_limit = _body_of_size(MAX_PAYLOAD_BYTES)
    assert len(at_limit) == MAX_PAYLOAD_BYTES
    assert parse_body(at_limit)["prompt"] == "Analyze KO"
    with pytest.raises(AgentError) as info:
        parse_body(_body_of_size(MAX_PAYLOAD_BYTES + 1))
    assert info.value.code == "payload_too_large"
    assert f"{MAX_PAYLOAD_BYTES + 1} bytes; the limit is {MAX_PAYLOAD_BYTES}" in info.value.message


@pytest.mark.parametrize(("length", "ok"), [(1, True), (256, True), (257, False), (0, False)])
def test_session_id_length_edges(length: int, ok: bool) -> None:
    payload = {"prompt": "Analyze KO", "session_id": "s" * length}
    if ok:
        assert validate_payload(payload).session_id == "s" * length
    else:
        with pytest.raises(AgentError, match="session_id"):
            validate_payload(payload)


def test_prompt_length_edges() -> None:
    assert validate_payload({"prompt": "K" * MAX_PROMPT_CHARS}).prompt == "K" * MAX_PROMPT_CHARS
    with pytest.raises(AgentError) as info:
        validate_payload({"prompt": "K" * (MAX_PROMPT_CHARS + 1)})
    assert info.value.code == "prompt_too_long"
    # Surrounding whitespace does not count.
    assert validate_payload({"prompt": " " + "K" * MAX_PROMPT_CHARS + " "}).prompt


def test_ignored_keys_are_cut_to_forty_characters_and_ten_keys() -> None:
    payload = {"prompt": "Analyze KO", "k" * 41: 1, **{f"x{i:02d}": i for i in range(12)}}
    ignored = validate_payload(payload).ignored_keys
    assert len(ignored) == 10
    assert "k" * 40 in ignored and "k" * 41 not in ignored
    assert ignored == tuple(sorted(ignored))


@pytest.mark.parametrize(
    ("char", "ok"),
    [("\t", True), ("\n", True), ("\x00", False), ("\x1f", False), ("\x7f", False), (" ", True)],
)
def test_control_character_edges(char: str, ok: bool) -> None:
    payload = {"prompt": f"Analyze{char}KO"}
    if ok:
        validate_payload(payload)
    else:
        with pytest.raises(AgentError, match=f"U\\+{ord(char):04X}"):
            validate_payload(payload)


def test_json_constants_are_refused() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(AgentError, match="not valid JSON"):
            parse_body(json.dumps({"prompt": "x"}).replace('"x"', constant).encode())


# --- Narrative: length limit and the number check's rounding tolerance -------------


def test_narrative_length_limit() -> None:
    assert check_narrative("a" * MAX_NARRATIVE_CHARS, allowed=()) is None
    reason = check_narrative("a" * (MAX_NARRATIVE_CHARS + 1), allowed=())
    assert reason == f"the narrative has {MAX_NARRATIVE_CHARS + 1} characters; the limit is 4000"
    assert check_narrative(" \n ", allowed=()) == "the narrative is empty"


@pytest.mark.parametrize(
    ("displayed", "allowed", "refused"),
    [
        # 12.35 stands for [12.345, 12.355): 12.3 and 12.4 are honest, 12.2 and 12.5 are not.
        (
            "12.35",
            {"12.35", "12.3", "12.4", "12"},
            {"12.2", "12.5", "13", "11", "10", "12.345", "12.355"},
        ),
        ("10.00", {"10"}, {"9", "11"}),  # 10 itself may be written as a whole number
        ("1.235", {"1.235", "1.24", "1.23", "1.2"}, {"1.3", "1", "1.236"}),
        # 9.96 stands for [9.955, 9.965): one decimal gives 10.0 only (never 9.9), and
        # whole numbers below 10 are not offered on their own.
        ("9.96", {"9.96", "10.0"}, {"9.9", "9"}),
        ("10.40", {"10.4", "10"}, {"11", "9"}),
        ("9.50", {"9.5"}, {"10", "9"}),
        ("0.46", {"0.46", "0.5"}, {"0", "1", "0.4"}),
        # 12.34 stands for [12.335, 12.345): never 12.4 (the next display value's rounding).
        ("12.34", {"12.34", "12.3", "12"}, {"12.4", "12.2"}),
    ],
)
def test_rounding_tolerance_edges(displayed: str, allowed: set[str], refused: set[str]) -> None:
    found = _roundings(displayed)
    for token in allowed:
        assert normalize_number_token(token) in found or token.rstrip("0").rstrip(".") in found, (
            token,
            found,
        )
    assert not (refused & found), refused & found


def test_number_check_uses_the_record() -> None:
    snap = SimulatedProvider().snapshot("KO", as_of=date(2025, 9, 5))
    allowed = allowed_numbers(snap, analyze(snap))
    price = f"{snap.current_price:.2f}"
    assert check_narrative(f"KO closed at ${price}.", allowed=allowed) is None
    invented = f"{snap.current_price + 0.07:.2f}"
    assert check_narrative(f"KO closed at ${invented}.", allowed=allowed) is not None


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
