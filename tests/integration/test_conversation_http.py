"""Multi-turn conversations over HTTP against the real local server (`stock-agent serve`).

Offline model, simulated data, in-memory sessions; the caller's identity
arrives in the same two headers AgentCore passes to the container.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import RunningServer, start_agent_server
from tests.support.http_invoke import SESSION_HEADER, USER_ID
from tests.support.http_invoke import bearer as _jwt
from tests.support.http_invoke import invoke as _post

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("conversation")
    with start_agent_server(reports_dir=root / "reports") as running:
        yield running


def test_a_conversation_analyze_follow_up_question_and_why(server: RunningServer) -> None:
    alice = {USER_ID: "alice"}
    session = {"session_id": "conv-1"}
    status, first = _post(server, {"prompt": "Analyze AAPL", **session}, alice)
    assert status == 200 and first["intent"] == "analyze" and first["session_id"] == "conv-1"
    beta = first["results"][0]["key_figures"]["Beta"]

    status, compared = _post(server, {"prompt": "and MSFT?", **session}, alice)
    assert status == 200 and compared["intent"] == "compare"
    assert compared["tickers"] == ["AAPL", "MSFT"]
    assert compared["comparison"]["symbols"] == ["AAPL", "MSFT"]
    key = compared["comparison"]["report"]["key"]
    assert "_Comparison_" in key and (server.reports_dir / key).is_file()

    status, answer = _post(server, {"prompt": "what is the beta of AAPL?", **session}, alice)
    assert status == 200 and answer["intent"] == "question"
    assert f"Beta: {beta}" in answer["answer"] and answer["results"] == []

    status, why = _post(server, {"prompt": "why is the technical score low?", **session}, alice)
    assert status == 200
    for line in first["results"][0]["analysis"]["technical"]["rationale"]:
        assert line in why["answer"]


def test_streamed_follow_up_emits_every_nodes_stage_events(server: RunningServer) -> None:
    headers = {"Authorization": _jwt("carol")}
    _post(server, {"prompt": "Analyze KO", "session_id": "conv-2"}, headers)
    status, events = _post(
        server, {"prompt": "compare it with PG", "session_id": "conv-2", "stream": True}, headers
    )
    assert status == 200
    stages = [
        (e["stage"], e.get("symbol"), e["status"]) for e in events if e.get("event") == "stage"
    ]
    assert stages[0][0] == "understand_request"
    assert ("data_gathering", "KO", "reused") in stages and (
        "data_gathering",
        "PG",
        "done",
    ) in stages
    assert [s[0] for s in stages[-3:]] == ["comparison_report", "remember", "respond"]
    assert events[-1]["event"] == "result" and events[-1]["tickers"] == ["KO", "PG"]


def test_no_context_is_422_with_a_hint(server: RunningServer) -> None:
    status, body = _post(server, {"prompt": "what is its beta?", "session_id": "empty-1"})
    assert status == 422 and body["error"]["code"] == "no_context"
    assert "Analyze AAPL" in body["error"]["message"]
    status, body = _post(
        server, {"prompt": "why is the risk high?", "session_id": "empty-1", "stream": True}
    )
    assert status == 422 and body["error"]["code"] == "no_context"


def test_actors_are_isolated_even_with_the_same_session_id(server: RunningServer) -> None:
    shared = {"session_id": "same-session-id"}
    status, _ = _post(server, {"prompt": "Analyze NVDA", **shared}, {"Authorization": _jwt("dave")})
    assert status == 200
    intruders: list[dict[str, str]] = [
        {"Authorization": _jwt("eve")},
        {USER_ID: "dave"},  # the user id header is not the token's subject
        {},  # no identity: the session id alone, a different boundary
    ]
    for headers in intruders:
        status, body = _post(server, {"prompt": "what is its beta?", **shared}, headers)
        assert status == 422 and body["error"]["code"] == "no_context", headers
    # a payload field cannot claim an identity
    status, body = _post(
        server, {"prompt": "what is its beta?", **shared, "actor": "jwt:dave", "user_id": "dave"}
    )
    assert status == 422 and body["error"]["code"] == "no_context"
    status, body = _post(
        server, {"prompt": "what is its beta?", **shared}, {"Authorization": _jwt("dave")}
    )
    assert status == 200 and body["tickers"] == ["NVDA"]


def test_the_runtime_session_header_keys_the_session_when_the_payload_has_none(
    server: RunningServer,
) -> None:
    runtime = {SESSION_HEADER: "runtime-session-0123456789abcdef0123456789", USER_ID: "frank"}
    status, first = _post(server, {"prompt": "Analyze JPM"}, runtime)
    assert status == 200 and first["session_id"] == runtime[SESSION_HEADER]
    status, answer = _post(server, {"prompt": "what is its P/E?"}, runtime)
    assert status == 200 and answer["tickers"] == ["JPM"]


def test_an_invalid_session_id_is_400(server: RunningServer) -> None:
    for bad in ("", "a" * 257, "has space", 42):
        status, body = _post(server, {"prompt": "Analyze AAPL", "session_id": bad})
        assert status == 400 and body["error"]["code"] == "invalid_payload", bad


def test_company_names_work_over_http_without_a_model(server: RunningServer) -> None:
    status, body = _post(server, {"prompt": "How does Apple compare with Microsoft?"})
    assert status == 200 and body["intent"] == "compare" and body["tickers"] == ["AAPL", "MSFT"]
    assert Path(server.reports_dir / body["comparison"]["report"]["key"]).is_file()
