"""Every identity AWS allows is an actor of its own; a longer or malformed one is refused.

An identity is never read as nobody (the anonymous space). The rule is pinned
at its edges (256, 257, 1,024 and 1,025 characters) for the runtime user id
header and the JWT ``sub`` claim, then over real HTTP: two callers with long
identities and a caller without one each see only their own session.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from stock_agent.errors import AgentError
from stock_agent.memory import checkpoints
from stock_agent.memory.checkpoints import USER_ID_HEADER, resolve_actor, thread_config

from tests.support.hardened_server import post, serve


def _jwt(sub: str) -> str:
    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'RS256'})}.{part({'sub': sub})}.c2lnbmF0dXJl"


@pytest.mark.parametrize("length", [1, 256, 257, 1024])
def test_every_length_aws_allows_is_an_actor_of_its_own(length: int) -> None:
    assert checkpoints.MAX_ACTOR_CHARS == 1024
    user_id = "u" * (length - 1) + "1"
    assert resolve_actor({USER_ID_HEADER: user_id}) == f"user:{user_id}"
    assert resolve_actor({"Authorization": _jwt(user_id)}) == f"jwt:{user_id}"
    other = "u" * (length - 1) + "2"
    ids = {
        thread_config(session_id="s", actor=actor)["configurable"]["actor_id"]
        for actor in (f"user:{user_id}", f"user:{other}", None)
    }
    assert len(ids) == 3  # two long identities and nobody: three actors
    assert all(len(i) <= 255 for i in ids)  # AgentCore Memory's actorId limit


def test_one_past_the_limit_is_refused_not_anonymous() -> None:
    too_long = "u" * 1025
    for headers in ({USER_ID_HEADER: too_long}, {"Authorization": _jwt(too_long)}):
        with pytest.raises(AgentError) as info:
            resolve_actor(headers)
        assert info.value.code == "invalid_header" and info.value.http_status == 400
        assert "1025 characters; the limit is 1024" in info.value.message


@pytest.mark.parametrize(
    ("user_id", "problem"),
    [
        ("", "it is empty"),
        (" alice", "surrounding whitespace"),
        ("alice ", "surrounding whitespace"),
        ("ali\tce", "no control characters"),
        ("ali\r\nce", "no control characters"),
        ("alicé", "visible ASCII"),
        ("\x7f", "visible ASCII"),
    ],
)
def test_a_malformed_user_id_is_refused(user_id: str, problem: str) -> None:
    assert problem in (checkpoints.user_id_problem(user_id) or "")
    with pytest.raises(AgentError) as info:
        resolve_actor({USER_ID_HEADER: user_id})
    assert info.value.code == "invalid_header"


@pytest.mark.parametrize("user_id", ["alice", "Alice Smith", "a:b/c@d.e", "!", "~" * 1024])
def test_ordinary_ids_are_accepted_as_they_are(user_id: str) -> None:
    assert checkpoints.user_id_problem(user_id) is None
    assert resolve_actor({USER_ID_HEADER: user_id}) == f"user:{user_id}"


def test_over_http_long_identities_and_nobody_each_see_only_their_own_session(
    tmp_path: Path,
) -> None:
    first, second = "a" * 300, "b" * 1024
    with serve(tmp_path) as server:
        opened = post(
            server,
            {"prompt": "Analyze AAPL", "session_id": "long-ids"},
            headers={USER_ID_HEADER: first},
        )
        assert opened.status == 200 and opened.json()["session_saved"] is True
        follow_up = {"prompt": "what is its beta?", "session_id": "long-ids"}
        for headers in ({USER_ID_HEADER: second}, {"Authorization": _jwt(second)}, {}):
            reply = post(server, follow_up, headers=headers)
            assert reply.status == 422 and reply.json()["error"]["code"] == "no_context", headers
        own = post(server, follow_up, headers={USER_ID_HEADER: first})
        assert own.status == 200 and own.json()["tickers"] == ["AAPL"]
        refused = post(server, follow_up, headers={USER_ID_HEADER: "c" * 1025})
        assert refused.status == 400 and refused.json()["error"]["code"] == "invalid_header"


@pytest.mark.parametrize("length", range(1, 13))
def test_a_jwt_sub_of_any_length_is_read_whatever_its_base64_padding(length: int) -> None:
    """Payload segments of every length modulo 4 (the padding the token leaves out)."""
    sub = "s" * length
    assert resolve_actor({"Authorization": _jwt(sub)}) == f"jwt:{sub}"


@pytest.mark.parametrize("claims_sub", ["", 42, None, ["alice"]])
def test_a_jwt_without_a_string_sub_falls_back_to_the_user_id(claims_sub: object) -> None:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    token = f"Bearer {part({'alg': 'RS256'})}.{part({'sub': claims_sub})}.c2ln"
    assert resolve_actor({"Authorization": token, USER_ID_HEADER: "bob"}) == "user:bob"
    assert resolve_actor({"Authorization": token}) is None
