"""A follow-up while the session memory cannot be read: retryable 503, not "the session is empty".

A follow-up ("what is its beta?") needs the session; when the store does not
answer, telling the caller the session holds nothing (422 ``no_context``, not
retryable) is wrong: the session may hold the answer. The store is a real
``InMemorySaver`` whose reads fail on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from stock_agent.errors import ERROR_STATUS, AgentError
from stock_agent.memory.checkpoints import GuardedSaver

from tests.support.agents import offline_agent


class FlakyStore(InMemorySaver):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def get_tuple(self, config: Any) -> Any:
        if self.down:
            raise ConnectionError("memory unreachable")
        return super().get_tuple(config)


@pytest.mark.parametrize("prompt", ["what is its beta?", "Why is the risk high?", "and its P/E?"])
def test_a_follow_up_during_an_outage_is_memory_unavailable_and_retryable(
    tmp_path: Path, prompt: str
) -> None:
    store = FlakyStore()
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(store))
    agent.invoke("Analyze AAPL", request_id="r1", session_id="s")
    store.down = True
    for call in (
        lambda: agent.invoke(prompt, request_id="r2", session_id="s"),
        lambda: list(agent.stream(prompt, request_id="r3", session_id="s")),
        lambda: agent.preflight(prompt, session_id="s"),
    ):
        with pytest.raises(AgentError) as info:
            call()
        error = info.value
        assert error.code == "memory_unavailable"
        assert error.http_status == ERROR_STATUS["memory_unavailable"] == 503
        assert error.retry_after is not None and error.retry_after > 0
        assert "ConnectionError" in error.message and "try again" in error.message
        assert error.headers() == {"Retry-After": str(error.retry_after)}
    store.down = False  # the store is back: the same follow-up is answered from the session
    answer = agent.invoke(prompt, request_id="r4", session_id="s")
    assert answer["tickers"] == ["AAPL"] and answer["session_saved"] is True


def test_a_follow_up_in_a_session_that_is_really_empty_is_still_no_context(
    tmp_path: Path,
) -> None:
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(FlakyStore()))
    with pytest.raises(AgentError) as info:
        agent.invoke("what is its beta?", request_id="r1", session_id="new")
    assert info.value.code == "no_context" and info.value.http_status == 422


def test_a_new_analysis_during_an_outage_is_answered_degraded(tmp_path: Path) -> None:
    store = FlakyStore()
    store.down = True
    agent = offline_agent(tmp_path, checkpointer=GuardedSaver(store))
    response = agent.invoke("Analyze KO", request_id="r1", session_id="s")
    assert response["tickers"] == ["KO"] and response["degraded"] is True
    assert response["session_saved"] is False
