"""Payload validation and body parsing: every rule of the contract, with the code it gives.

Each limit is tested at its value and one step across it, so a changed comparison or
constant fails here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from stock_agent.contract import (
    MAX_PAYLOAD_BYTES,
    InvocationRequest,
    apply_request_options,
    parse_body,
    render_text,
    request_from_body,
    starting_model_status,
    validate_payload,
)
from stock_agent.errors import ERROR_STATUS, AgentError
from stock_agent.settings import MAX_PROMPT_CHARS


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"prompt": "Analyze AAPL"}, InvocationRequest(prompt="Analyze AAPL")),
        (
            {"prompt": "  Analyze AAPL\n", "session_id": "s-1:a.b_c", "stream": True},
            InvocationRequest(prompt="Analyze AAPL", session_id="s-1:a.b_c", stream=True),
        ),
        (
            {"prompt": "Analyze\tAAPL", "extra": 1, "another": None},
            InvocationRequest(prompt="Analyze\tAAPL", ignored_keys=("another", "extra")),
        ),
    ],
)
def test_valid_payloads(payload: dict[str, Any], expected: InvocationRequest) -> None:
    assert validate_payload(payload) == expected


@pytest.mark.parametrize(
    ("payload", "code", "names"),
    [
        (["Analyze AAPL"], "invalid_payload", "JSON object"),
        (None, "invalid_payload", "JSON object"),
        ({}, "invalid_payload", "prompt"),
        ({"prompt": 42}, "invalid_payload", "prompt"),
        ({"prompt": ["x"]}, "invalid_payload", "prompt"),
        ({"prompt": ""}, "invalid_prompt", "prompt"),
        ({"prompt": " \n\t "}, "invalid_prompt", "prompt"),
        ({"prompt": "Analyze AAPL\x00"}, "invalid_prompt", "U+0000"),
        ({"prompt": "\x1b[31mAnalyze"}, "invalid_prompt", "U+001B"),
        ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, "prompt_too_long", "prompt"),
        ({"prompt": "AAPL", "session_id": ""}, "invalid_payload", "session_id"),
        ({"prompt": "AAPL", "session_id": "a b"}, "invalid_payload", "session_id"),
        ({"prompt": "AAPL", "session_id": "s" * 257}, "invalid_payload", "session_id"),
        ({"prompt": "AAPL", "session_id": None}, "invalid_payload", "session_id"),
        ({"prompt": "AAPL", "session_id": "../etc"}, "invalid_payload", "session_id"),
        ({"prompt": "AAPL", "stream": "true"}, "invalid_payload", "stream"),
        ({"prompt": "AAPL", "stream": 1}, "invalid_payload", "stream"),
    ],
)
def test_invalid_payloads(payload: Any, code: str, names: str) -> None:
    with pytest.raises(AgentError) as info:
        validate_payload(payload)
    assert info.value.code == code
    assert names in info.value.message
    assert info.value.http_status == ERROR_STATUS[code]


def test_prompt_at_the_limit_is_accepted() -> None:
    assert len(validate_payload({"prompt": "A" * MAX_PROMPT_CHARS}).prompt) == MAX_PROMPT_CHARS


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "invalid_payload"),
        (b"   ", "invalid_payload"),
        (b"not json", "invalid_payload"),
        (b'{"prompt": "x"', "invalid_payload"),
        (b'{"prompt": "x", "stream": NaN}', "invalid_payload"),
        (b'{"prompt": Infinity}', "invalid_payload"),
        (b'{"prompt": "\xff"}', "invalid_payload"),
        (b"[" * 5000 + b"]" * 5000, "invalid_payload"),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), "payload_too_large"),
    ],
)
def test_bad_bodies(body: bytes, code: str) -> None:
    with pytest.raises(AgentError) as info:
        parse_body(body)
    assert info.value.code == code


def test_body_round_trip() -> None:
    body = json.dumps({"prompt": "Analyze 株 SIM_STOCK", "stream": False}).encode()
    assert request_from_body(body).prompt == "Analyze 株 SIM_STOCK"


def test_render_text_titles_subsections_and_warnings() -> None:
    sections = {
        "data_gathering": "D",
        "performance_analysis": "P",
        "report_generation": "R",
    }
    one = render_text([("AAPL", sections)], [])
    assert one.index("STOCK DATA GATHERING REPORT") < one.index("STOCK PERFORMANCE ANALYSIS")
    assert one.index("STOCK PERFORMANCE ANALYSIS") < one.index("STOCK REPORT GENERATION")
    assert "---" not in one and "WARNINGS" not in one
    two = render_text([("AAPL", sections), ("MSFT", sections)], ["MSFT: something"])
    assert two.count("--- AAPL ---") == 3 and two.count("--- MSFT ---") == 3
    assert two.rstrip().endswith("- MSFT: something")


def test_include_history_is_a_boolean_that_defaults_to_false() -> None:
    assert validate_payload({"prompt": "Analyze KO"}).include_history is False
    request = validate_payload({"prompt": "Analyze KO", "include_history": True})
    assert request.include_history is True and request.ignored_keys == ()
    with pytest.raises(AgentError, match="'include_history' must be true or false, not str"):
        validate_payload({"prompt": "Analyze KO", "include_history": "true"})
    response = {"results": [{"data": {"history": [1], "as_of": "2025-09-05"}}]}
    assert apply_request_options(response, request)["results"][0]["data"]["history"] == [1]
    trimmed = apply_request_options(response, validate_payload({"prompt": "Analyze KO"}))
    assert trimmed["results"][0]["data"] == {"as_of": "2025-09-05"}


def test_invisible_characters_are_named_and_visible_unicode_is_not_refused() -> None:
    with pytest.raises(AgentError) as info:
        validate_payload({"prompt": "Analyze AA\u200bPL and K\u200bO"})
    assert info.value.code == "invalid_prompt"
    assert info.value.message.count("U+200B ZERO WIDTH SPACE") == 1  # named once
    assert validate_payload({"prompt": "Analyze KO 株 ✓ é"}).prompt == "Analyze KO 株 ✓ é"


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


@pytest.mark.parametrize(
    ("eta_s", "retry_after_s", "minutes"),
    [(0.2, 1, "about 1 minute "), (89.0, 89, "about 1 minute "), (90.0, 90, "about 2 minutes"),
     (660.4, 661, "about 11 minutes")],
)  # fmt: skip
def test_a_starting_model_says_when_to_ask_again(
    eta_s: float, retry_after_s: int, minutes: str
) -> None:
    now = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    status = starting_model_status(eta_s, now=now)
    assert status is not None and status["status"] == "starting"
    assert status["retry_after_s"] == retry_after_s  # whole seconds, never 0
    assert datetime.fromisoformat(status["retry_at"]) == now + timedelta(seconds=retry_after_s)
    assert minutes in status["message"] and "UTC" in status["message"]
    assert starting_model_status(None, now=now) is None
