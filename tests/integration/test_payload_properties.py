"""Property-based bad input at ``/invocations`` of the real agent server.

Hypothesis generates payloads (arbitrary JSON that is not an object, objects
with wrong types, random bytes, prompts that cannot name a ticker, prompts that
mix real tickers into random text) and sends each to the session's real
server (``stock-agent serve`` on loopback, offline model). Properties: every
rejection is a structured 4xx with no stack trace and no report file; every
success analyses exactly the tickers the deterministic parser finds in the
prompt and writes exactly one report per ticker; ``/ping`` stays healthy.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stock_agent.context import Dependencies
from stock_agent.errors import AgentError
from stock_agent.market_data import known_symbols
from stock_agent.nodes import classify
from stock_agent.settings import MAX_PROMPT_CHARS, AgentSettings
from stock_agent.understanding.parsing import parse_request

pytestmark = pytest.mark.slow

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=200),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=10), children, max_size=5),
    ),
    max_leaves=25,
)
non_objects = st.one_of(json_scalars, st.lists(json_values, max_size=6))
non_strings = json_values.filter(lambda v: not isinstance(v, str))

# Text with no ASCII letter can never form a ticker (the parser's words start
# with [A-Za-z]): digits, punctuation, whitespace, symbols, non-Latin scripts.
_NO_ASCII_LETTERS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)
tickerless_prompts = st.text(alphabet=_NO_ASCII_LETTERS, min_size=0, max_size=300)
long_tickerless_prompts = st.integers(min_value=MAX_PROMPT_CHARS + 1, max_value=20_000).map(
    lambda n: "7" * n
)
# The agent's own reading of a prompt: the request plan of a fresh session, offline.
OFFLINE = Dependencies.from_settings(AgentSettings())

filler_words = st.lists(
    st.sampled_from(
        ["please", "and", "the", "analyze", "compare", "stock", "??", "—", "株", "vs", "it"]
    ),
    max_size=6,
)


def _is_bad_char(ch: str) -> bool:
    """Control characters (but newline and tab) and invisible format characters."""
    return ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf")


def _check_health(server: Any) -> None:
    ping = server.ping()
    assert ping.status == 200 and ping.json()["status"] == "Healthy", ping.body


def _assert_rejected(
    server: Any,
    structured_error: Callable[..., dict[str, Any]],
    body: bytes,
    codes: tuple[str, ...],
) -> dict[str, Any]:
    before = server.report_files()
    reply = server.invoke(body)
    error = structured_error(reply, codes)
    assert 400 <= reply.status < 500
    assert server.report_files() == before
    _check_health(server)
    return error


@PROPERTY_SETTINGS
@given(payload=non_objects)
def test_json_that_is_not_an_object_is_invalid_payload(
    agent_server: Any, structured_error: Callable[..., dict[str, Any]], payload: Any
) -> None:
    _assert_rejected(
        agent_server, structured_error, json.dumps(payload).encode(), ("invalid_payload",)
    )


@PROPERTY_SETTINGS
@given(
    prompt=non_strings,
    extra=st.dictionaries(st.sampled_from(["session_id", "stream"]), json_values),
)
def test_non_string_prompt_is_rejected(
    agent_server: Any,
    structured_error: Callable[..., dict[str, Any]],
    prompt: Any,
    extra: dict[str, Any],
) -> None:
    body = json.dumps({**extra, "prompt": prompt}).encode()
    _assert_rejected(agent_server, structured_error, body, ("invalid_payload", "invalid_prompt"))


@PROPERTY_SETTINGS
@given(
    session_id=non_strings,
    stream=st.one_of(st.booleans(), non_strings.filter(lambda v: not isinstance(v, bool))),
)
def test_wrong_types_in_optional_fields_are_rejected(
    agent_server: Any,
    structured_error: Callable[..., dict[str, Any]],
    session_id: Any,
    stream: Any,
) -> None:
    """A well-formed prompt does not excuse a mistyped ``session_id`` or ``stream``."""
    if session_id is None:
        session_id = 0  # null could fairly mean "absent"; keep the field wrong on purpose
    body = json.dumps({"prompt": "Analyze SIM_STOCK", "session_id": session_id, "stream": stream})
    _assert_rejected(agent_server, structured_error, body.encode(), ("invalid_payload",))


@PROPERTY_SETTINGS
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_bytes_are_rejected(
    agent_server: Any, structured_error: Callable[..., dict[str, Any]], data: bytes
) -> None:
    """Random bytes: whatever they parse as, they never make a valid request."""
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError):
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("prompt"), str):
        return  # astronomically unlikely; such bytes are a real request, not bad input
    _assert_rejected(agent_server, structured_error, data, ("invalid_payload", "invalid_prompt"))


@PROPERTY_SETTINGS
@given(prompt=st.one_of(tickerless_prompts, long_tickerless_prompts))
def test_prompt_that_cannot_name_a_ticker_is_rejected(
    agent_server: Any, structured_error: Callable[..., dict[str, Any]], prompt: str
) -> None:
    """No ASCII letter, so no ticker: blank/control → invalid_prompt, long → 413, else no_ticker."""
    expected: set[str] = set()
    if any(_is_bad_char(ch) for ch in prompt.strip()) or not prompt.strip():
        expected.add("invalid_prompt")
    if len(prompt.strip()) > MAX_PROMPT_CHARS:
        expected.add("prompt_too_long")
    if not expected:
        expected.add("no_ticker")
    body = json.dumps({"prompt": prompt}).encode()
    _assert_rejected(agent_server, structured_error, body, tuple(sorted(expected)))


@PROPERTY_SETTINGS
@given(
    tickers=st.lists(st.sampled_from(sorted(known_symbols())), min_size=0, max_size=7),
    words=filler_words,
    noise=st.text(alphabet=_NO_ASCII_LETTERS, max_size=40),
)
def test_success_only_for_the_parsers_tickers(
    agent_server: Any,
    structured_error: Callable[..., dict[str, Any]],
    tickers: list[str],
    words: list[str],
    noise: str,
) -> None:
    """A 200 is honest only when it analyses exactly what the parser reads in the prompt;
    otherwise the error is the one validation or the parser gives for that prompt."""
    prompt = " ".join([*words[:3], *tickers, *words[3:], noise])
    stripped = prompt.strip()
    expected_tickers: list[str] = []
    expected_code: str | None = None
    if not stripped or any(_is_bad_char(ch) for ch in stripped):
        expected_code = "invalid_prompt"  # validation comes before parsing
    else:
        try:
            expected_tickers = list(parse_request(stripped, known_symbols=known_symbols()).tickers)
        except AgentError as err:
            expected_code = err.code
        if expected_code is None and not expected_tickers:
            expected_code = "no_ticker"
        if expected_code is None:
            # A fresh session: "and AAPL" adds to an earlier turn that does not exist.
            try:
                expected_tickers = list(classify(stripped, OFFLINE, None).subjects)
            except AgentError as err:
                expected_code = err.code
    before = agent_server.report_files()
    reply = agent_server.invoke(json.dumps({"prompt": prompt}).encode())
    if expected_code is None:
        assert reply.status == 200, (prompt, reply.body[:300])
        response = reply.json()
        assert response["tickers"] == expected_tickers, (prompt, response["tickers"])
        assert [r["symbol"] for r in response["results"]] == expected_tickers
        new = agent_server.report_files() - before
        # One PDF per ticker, each with its run record under the same key.
        pdfs = {p for p in new if p.suffix == ".pdf" and "_Stock_Report_" in p.name}
        assert len(pdfs) == len(expected_tickers)
        assert {p for p in new if p.suffix == ".json"} == {p.with_suffix(".json") for p in pdfs}
    else:
        structured_error(reply, (expected_code,))
        assert 400 <= reply.status < 500
        assert agent_server.report_files() == before
    _check_health(agent_server)
