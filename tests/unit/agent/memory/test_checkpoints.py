"""Sessions: whose they are, where they live, and what a failing store does to a turn.

The AgentCore Memory path runs the real ``AgentCoreMemorySaver`` on a real
boto3 ``bedrock-agentcore`` client; its HTTP requests are answered by
``tests/support/fake_agentcore_memory.py``, a fake speaking AgentCore's
REST-JSON wire format, after botocore validated and serialized every call
against its service model (AgentCore Memory itself cannot run here).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_checkpoint_aws import AgentCoreMemorySaver
from langgraph_checkpoint_aws.checkpoint.agentcore.helpers import BedrockAgentCoreClientWithRetry
from stock_agent.errors import AgentError
from stock_agent.memory.checkpoints import (
    GuardedSaver,
    build_checkpointer,
    resolve_actor,
    sqlite_saver,
    thread_config,
)
from stock_agent.settings import AgentSettings, ConfigError

from tests.support.agents import offline_agent
from tests.support.fake_agentcore_memory import MEMORY_ID, REGION, AgentCoreMemoryWire


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("headers", "actor"),
    [
        ({"Authorization": f"Bearer {_jwt({'sub': 'alice'})}"}, "jwt:alice"),
        (
            {
                "authorization": f"Bearer {_jwt({'sub': 'alice'})}",
                "X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "bob",
            },
            "jwt:alice",  # the verified token wins over the user id
        ),
        ({"X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "bob"}, "user:bob"),
        (
            {
                "Authorization": "Bearer not-a-jwt",
                "x-amzn-bedrock-agentcore-runtime-user-id": "bob",
            },
            "user:bob",
        ),
        ({"Authorization": f"Bearer {_jwt({'scope': 'x'})}"}, None),  # no sub
        ({"Authorization": f"Basic {_jwt({'sub': 'alice'})}"}, None),
        ({"X-Amzn-Bedrock-AgentCore-Runtime-User-Id": "x" * 257}, "user:" + "x" * 257),
        ({}, None),
    ],
)
def test_the_actor_comes_from_the_callers_identity_headers(
    headers: dict[str, str], actor: str | None
) -> None:
    assert resolve_actor(headers) == actor


@pytest.mark.parametrize("session_id", ["s", "a" * 256, "weird.id:with-all_chars"])
@pytest.mark.parametrize("actor", [None, "jwt:" + "ü" * 200, "user:bob"])
def test_thread_keys_fit_agentcore_memory_patterns(session_id: str, actor: str | None) -> None:
    shape = botocore.session.get_session().get_service_model("bedrock-agentcore")
    members = shape.operation_model("CreateEvent").input_shape.members
    keys = thread_config(session_id=session_id, actor=actor)["configurable"]
    for name, value in (("actorId", keys["actor_id"]), ("sessionId", keys["thread_id"])):
        meta = members[name].metadata
        assert re.fullmatch(meta["pattern"], value) and len(value) <= meta["max"], (name, value)


def test_one_actor_cannot_read_another_actors_session_with_the_same_id(tmp_path: Path) -> None:
    agent = offline_agent(tmp_path)
    agent.invoke("Analyze AAPL", request_id="a1", session_id="shared", actor="jwt:alice")
    for other in ("jwt:mallory", "user:alice", None):
        with pytest.raises(AgentError) as info:
            agent.invoke("what is its beta?", request_id="m1", session_id="shared", actor=other)
        assert info.value.code == "no_context", other
    answer = agent.invoke(
        "what is its beta?", request_id="a2", session_id="shared", actor="jwt:alice"
    )
    assert answer["tickers"] == ["AAPL"]


class _Broken(InMemorySaver):
    def __init__(self, *, read: bool = False, write: bool = False) -> None:
        super().__init__()
        self.read, self.write = read, write

    def get_tuple(self, config: Any) -> Any:
        if self.read:
            raise ConnectionError("memory unreachable")
        return super().get_tuple(config)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        if self.write:
            raise TimeoutError("memory write timed out")
        return super().put(*args, **kwargs)


def test_an_unreachable_store_answers_as_fresh_degraded_and_saves_nothing(tmp_path: Path) -> None:
    broken = _Broken(read=True)
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(broken))
    response = agent.invoke("Analyze AAPL", request_id="r1", session_id="s1")
    assert response["degraded"] is True and response["session_saved"] is False
    assert any("NOT saved" in w and "ConnectionError" in w for w in response["warnings"])
    assert response["results"][0]["symbol"] == "AAPL"
    broken.read = False
    assert broken.get_tuple(thread_config(session_id="s1", actor=None)) is None  # nothing written


def test_a_failed_write_loses_only_that_turn_and_says_so(tmp_path: Path) -> None:
    broken = _Broken()
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(broken))
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s1")
    broken.write = True
    lost = agent.invoke("and MSFT?", request_id="r2", session_id="s1")
    assert lost["degraded"] is True and lost["session_saved"] is False
    assert any("NOT saved" in w and "TimeoutError" in w for w in lost["warnings"])
    broken.write = False
    answer = agent.invoke("what is its beta?", request_id="r3", session_id="s1")
    assert answer["tickers"] == ["AAPL"]  # the MSFT turn was not saved


def test_streamed_turns_are_saved_and_degrade_the_same_way(tmp_path: Path) -> None:
    broken = _Broken()
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(broken))
    list(agent.stream("Analyze KO", request_id="r1", session_id="st"))
    broken.read = True
    events = list(agent.stream("Analyze PG", request_id="r2", session_id="st"))
    assert events[-1]["event"] == "result" and events[-1]["degraded"] is True


def test_local_stores_keep_only_the_latest_checkpoint(tmp_path: Path) -> None:
    saver = GuardedSaver(InMemorySaver())
    agent = offline_agent(tmp_path, checkpointer=saver)
    for i in range(3):
        agent.invoke("Analyze AAPL", request_id=f"r{i}", session_id="s")
    config = thread_config(session_id="s", actor=None)
    assert len(list(saver.inner.list(config))) == 1
    session = saver.get_tuple(config).checkpoint["channel_values"]["session"]  # type: ignore[union-attr]
    assert [t["request_id"] for t in session["turns"]] == ["r0", "r1", "r2"]


def test_sqlite_sessions_survive_a_new_process(tmp_path: Path) -> None:
    db = tmp_path / "chat" / "sessions.sqlite"
    first = offline_agent(tmp_path, checkpointer=GuardedSaver(sqlite_saver(db)))
    first.invoke("Analyze MSFT", request_id="r1", session_id="chat-1")
    second = offline_agent(tmp_path, checkpointer=GuardedSaver(sqlite_saver(db)))
    answer = second.invoke("what is its P/E?", request_id="r2", session_id="chat-1")
    assert answer["tickers"] == ["MSFT"] and "P/E Ratio" in answer["answer"]


def test_settings_choose_the_store_and_refuse_agentcore_without_a_memory() -> None:
    assert isinstance(build_checkpointer(AgentSettings()).inner, InMemorySaver)
    with pytest.raises(ConfigError, match="AGENTCORE_MEMORY_ID"):
        AgentSettings(memory_backend="agentcore")
    with pytest.raises(ConfigError, match="SESSION_MAX_TURNS"):
        AgentSettings(session_max_turns=0)
    with pytest.raises(ConfigError, match="SESSION_MAX_RECORDS"):
        AgentSettings(session_max_records=51)
    AgentSettings(session_max_turns=100, session_max_records=50)  # the upper edges are allowed


# ---------------------------------------------------------------------------
# AgentCore Memory (the saver on a real boto3 client; the service answered by the wire fake)
# ---------------------------------------------------------------------------


def _agentcore(wire: AgentCoreMemoryWire) -> GuardedSaver:
    saver = AgentCoreMemorySaver(MEMORY_ID, region_name=REGION, max_retries=0)
    saver.checkpoint_event_client.client = BedrockAgentCoreClientWithRetry(
        wire.client(), max_retries=0
    )
    return GuardedSaver(saver)


def test_agentcore_memory_carries_a_conversation_per_actor(tmp_path: Path) -> None:
    wire = AgentCoreMemoryWire()
    agent = offline_agent(tmp_path, checkpointer=_agentcore(wire))
    agent.invoke("Analyze AAPL", request_id="r1", session_id="sess-1", actor="jwt:alice")
    follow = agent.invoke("and MSFT?", request_id="r2", session_id="sess-1", actor="jwt:alice")
    assert follow["tickers"] == ["AAPL", "MSFT"] and follow["session_saved"] is True
    answer = agent.invoke(
        "what is its beta?", request_id="r3", session_id="sess-1", actor="jwt:alice"
    )
    assert answer["tickers"] == ["AAPL", "MSFT"]
    # the saver used exactly the two actions the IAM statement grants
    assert {op for op, _ in wire.calls} == {"CreateEvent", "ListEvents"}
    alice = thread_config(session_id="sess-1", actor="jwt:alice")["configurable"]
    assert set(wire.events) == {(alice["actor_id"], alice["thread_id"])}
    # another actor with the same session id reads an empty session
    with pytest.raises(AgentError) as info:
        agent.invoke("what is its beta?", request_id="m", session_id="sess-1", actor="jwt:eve")
    assert info.value.code == "no_context"


def test_agentcore_memory_throttled_answers_fresh_with_a_warning(tmp_path: Path) -> None:
    wire = AgentCoreMemoryWire()
    agent = offline_agent(tmp_path, checkpointer=_agentcore(wire))
    agent.invoke("Analyze AAPL", request_id="r1", session_id="sess-2", actor="user:bob")
    wire.fail["ListEvents"] = ("ThrottlingException", 429)
    stored = wire.blob_bytes()
    response = agent.invoke("Analyze KO", request_id="r2", session_id="sess-2", actor="user:bob")
    assert response["degraded"] is True and response["session_saved"] is False
    assert any("ThrottlingException" in w and "NOT saved" in w for w in response["warnings"])
    assert wire.blob_bytes() == stored  # nothing overwrote the session it could not read
    wire.fail.clear()
    answer = agent.invoke(
        "what is its beta?", request_id="r3", session_id="sess-2", actor="user:bob"
    )
    assert answer["tickers"] == ["AAPL"]


def test_agentcore_memory_write_throttled_is_degraded_not_5xx(tmp_path: Path) -> None:
    wire = AgentCoreMemoryWire(fail={"CreateEvent": ("ThrottlingException", 429)})
    agent = offline_agent(tmp_path, checkpointer=_agentcore(wire))
    response = agent.invoke("Analyze AAPL", request_id="r1", session_id="sess-3", actor=None)
    assert response["degraded"] is True and response["session_saved"] is False
    assert any("could not be written" in w for w in response["warnings"])


def test_concurrent_turns_of_one_session_are_both_kept(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    agent = offline_agent(tmp_path)
    prompts = ["Analyze AAPL", "Analyze KO", "Analyze MSFT", "Analyze PG"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda p: agent.invoke(p, request_id=p, session_id="busy", actor="user:u"), prompts
            )
        )
    saved = agent.checkpointer.get_tuple(thread_config(session_id="busy", actor="user:u"))
    assert saved is not None
    session = saved.checkpoint["channel_values"]["session"]
    assert sorted(t["request_id"] for t in session["turns"]) == sorted(prompts)
    assert sorted(session["records"]) == ["AAPL", "KO", "MSFT", "PG"]


def test_deployed_settings_build_the_agentcore_saver_with_short_timeouts() -> None:
    ctx = AgentSettings(
        memory_backend="agentcore",
        agentcore_memory_id=MEMORY_ID,
        aws_region=REGION,
    )
    saver = build_checkpointer(ctx)
    assert isinstance(saver.inner, AgentCoreMemorySaver) and saver.inner.memory_id == MEMORY_ID
    config = saver.inner.checkpoint_event_client.client._client.meta.config
    assert config.read_timeout == 10 and config.connect_timeout == 3
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    # and the saver's own retry loop stops after two tries too (a slow store degrades fast)
    assert saver.inner.checkpoint_event_client.client._max_retries == 2
