"""In-memory sessions are bounded: by count (least recently used out) and by idle time.

The bounds are pinned at their edges with a clock the test moves, on the real
graph: a session dropped is one a follow-up no longer finds (``no_context``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from stock_agent.errors import AgentError
from stock_agent.memory.bounded_saver import BoundedInMemorySaver
from stock_agent.memory.checkpoints import GuardedSaver, build_checkpointer
from stock_agent.settings import AgentSettings, ConfigError

from tests.support.agents import offline_agent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _agent(tmp_path: Path, saver: BoundedInMemorySaver):  # type: ignore[no-untyped-def]
    return offline_agent(tmp_path, checkpointer=GuardedSaver(saver))


def _follows_up(agent, session_id: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        agent.invoke("what is its beta?", request_id=f"q-{session_id}", session_id=session_id)
    except AgentError as err:
        assert err.code == "no_context"
        return False
    return True


def test_at_most_max_sessions_the_least_recently_used_goes(tmp_path: Path) -> None:
    saver = BoundedInMemorySaver(max_sessions=3, idle_s=3600, clock=Clock())
    agent = _agent(tmp_path, saver)
    for n in range(3):
        agent.invoke("Analyze AAPL", request_id=f"r{n}", session_id=f"s{n}")
    assert saver.session_count == 3  # at the bound: all kept
    agent.invoke("Analyze KO", request_id="r0b", session_id="s0")  # s0 used again
    agent.invoke("Analyze KO", request_id="r3", session_id="s3")  # one over: s1 goes
    assert saver.session_count == 3
    assert all(_follows_up(agent, s) for s in ("s0", "s2", "s3"))
    assert not _follows_up(agent, "s1")


def test_a_session_idle_past_the_limit_goes_at_the_limit_it_stays(tmp_path: Path) -> None:
    clock = Clock()
    saver = BoundedInMemorySaver(max_sessions=100, idle_s=600, clock=clock)
    agent = _agent(tmp_path, saver)
    agent.invoke("Analyze AAPL", request_id="a", session_id="idle")
    agent.invoke("Analyze AAPL", request_id="b", session_id="busy")
    clock.now += 600  # exactly the limit: kept
    agent.invoke("Analyze KO", request_id="c", session_id="busy")
    assert saver.session_count == 2 and _follows_up(agent, "idle")
    clock.now += 601  # idle's last write was 1201 s ago, busy's 601 s ago: both past
    agent.invoke("Analyze KO", request_id="d", session_id="other")
    assert saver.session_count == 1
    assert not _follows_up(agent, "idle") and not _follows_up(agent, "busy")


def test_300_one_turn_sessions_stay_within_the_bound() -> None:
    saver = BoundedInMemorySaver(max_sessions=50, idle_s=3600, clock=Clock())
    for n in range(300):
        config: RunnableConfig = {"configurable": {"thread_id": f"t{n}", "checkpoint_ns": ""}}
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"session": {"turns": [{"prompt": "x" * 1000}]}}
        saver.put(config, checkpoint, {"source": "loop", "step": 0, "parents": {}}, {})
    assert saver.session_count == 50
    assert sorted(saver.storage) == sorted(f"t{n}" for n in range(250, 300))
    assert {key[0] for key in saver.blobs} <= set(saver.storage)  # their data went too


def test_the_settings_name_and_bound_the_limits() -> None:
    saver = build_checkpointer(AgentSettings()).inner
    assert isinstance(saver, BoundedInMemorySaver)
    assert (saver.max_sessions, saver.idle_s) == (500, 3600.0)
    env = {"MEMORY_MAX_SESSIONS": "7", "MEMORY_SESSION_IDLE_SECONDS": "60"}
    built = build_checkpointer(AgentSettings.from_env(env)).inner
    assert isinstance(built, BoundedInMemorySaver) and (built.max_sessions, built.idle_s) == (7, 60)
    for env in ({"MEMORY_MAX_SESSIONS": "1"}, {"MEMORY_MAX_SESSIONS": "100000"},
                {"MEMORY_SESSION_IDLE_SECONDS": "1"},
                {"MEMORY_SESSION_IDLE_SECONDS": "604800"}):  # fmt: skip
        AgentSettings.from_env(env)  # the edges are allowed
    for name, value in (("MEMORY_MAX_SESSIONS", "0"), ("MEMORY_MAX_SESSIONS", "100001"),
                        ("MEMORY_SESSION_IDLE_SECONDS", "0.5"),
                        ("MEMORY_SESSION_IDLE_SECONDS", "604801")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"{name}=.* is invalid"):
            AgentSettings.from_env({name: value})
    for max_sessions, idle_s in ((0, 1.0), (1, 0.0), (1, -1.0)):
        with pytest.raises(ValueError, match="max_sessions >= 1 and idle_s > 0"):
            BoundedInMemorySaver(max_sessions=max_sessions, idle_s=idle_s)
    for max_sessions, idle_s in ((1, 0.5), (1, 1.0), (2, 0.001)):  # the edges are allowed
        BoundedInMemorySaver(max_sessions=max_sessions, idle_s=idle_s)
