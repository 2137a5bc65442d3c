"""The caller-facing error: a stable code, the HTTP status callers branch on, and
``Retry-After`` only when trying again can help."""

from __future__ import annotations

import pytest
from stock_agent.errors import ERROR_STATUS, INTERNAL_ERROR_MESSAGE, AgentError, internal_error

#: The status of every code, as docs/reliability.md and the HTTP tests read them: the
#: caller's mistakes are 4xx, a service that may answer later 503, the agent's faults 5xx.
CONTRACT = {
    "invalid_payload": 400,
    "invalid_prompt": 400,
    "invalid_header": 400,
    "forbidden_host": 403,
    "request_timeout": 408,
    "payload_too_large": 413,
    "prompt_too_long": 413,
    "unsupported_media_type": 415,
    "too_many_tickers": 422,
    "no_ticker": 422,
    "no_context": 422,
    "unknown_ticker": 422,
    "unknown_figure": 422,
    "watchlist_full": 422,
    "too_many_preferences": 422,
    "invalid_preference": 422,
    "client_disconnected": 499,
    "internal_error": 500,
    "report_write_failed": 500,
    "report_upload_failed": 502,
    "market_data_unavailable": 503,
    "memory_unavailable": 503,
    "server_busy": 503,
    "model_starting": 503,
    "deadline_exceeded": 504,
}


def test_every_code_has_the_status_of_the_contract() -> None:
    assert ERROR_STATUS == CONTRACT


@pytest.mark.parametrize("code", sorted(CONTRACT))
def test_an_error_takes_its_codes_status(code: str) -> None:
    err = AgentError(code, "what went wrong")
    assert err.http_status == CONTRACT[code]
    assert (err.code, err.message, str(err)) == (code, "what went wrong", "what went wrong")


def test_an_unregistered_code_is_a_server_error_and_a_status_given_wins() -> None:
    assert AgentError("not_a_code", "m").http_status == 500
    assert AgentError("no_ticker", "m", http_status=409).http_status == 409


def test_retry_after_is_said_only_when_known() -> None:
    busy = AgentError("server_busy", "try later", retry_after=0)
    assert busy.to_body() == {
        "error": {"code": "server_busy", "message": "try later", "retry_after": 0}
    }
    assert busy.headers() == {"Retry-After": "0"}
    plain = AgentError("no_ticker", "name a ticker")
    assert plain.to_body() == {"error": {"code": "no_ticker", "message": "name a ticker"}}
    assert plain.headers() == {}


def test_an_internal_error_says_nothing_internal() -> None:
    err = internal_error()
    assert (err.code, err.http_status, err.message) == (
        "internal_error",
        500,
        INTERNAL_ERROR_MESSAGE,
    )
    assert repr(err) == (
        f"AgentError(code='internal_error', message={INTERNAL_ERROR_MESSAGE!r}, http_status=500)"
    )
