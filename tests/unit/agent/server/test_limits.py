"""Admission: how many requests run and wait, at the edges of each bound."""

from __future__ import annotations

import asyncio

import pytest
from stock_agent.errors import AgentError
from stock_agent.server.limits import Admission, AdmissionLimits


def test_admission_limits_at_their_edges() -> None:
    AdmissionLimits(max_running=1, max_queued=0)
    with pytest.raises(ValueError, match="max_running"):
        AdmissionLimits(max_running=0)
    with pytest.raises(ValueError, match="max_queued"):
        AdmissionLimits(max_queued=-1)


def test_past_running_and_queued_the_next_request_is_refused_at_once() -> None:
    async def scenario() -> tuple[str, int]:
        admission = Admission(AdmissionLimits(max_running=1, max_queued=1, queue_wait_s=5))
        release = asyncio.Event()

        async def hold() -> None:
            async with admission.turn():
                await release.wait()

        first = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        second = asyncio.create_task(hold())  # waits: the queue has room for one
        await asyncio.sleep(0.01)
        assert (admission.running, admission.waiting) == (1, 1)
        try:
            async with admission.turn():
                return "admitted", 0
        except AgentError as err:
            code, retry = err.code, err.retry_after or 0
        finally:
            release.set()
            await asyncio.gather(first, second)
        assert admission.in_flight == 0
        return code, retry

    assert asyncio.run(scenario()) == ("server_busy", 5)


def test_a_queued_request_gives_up_after_the_queue_wait() -> None:
    async def scenario() -> str:
        admission = Admission(AdmissionLimits(max_running=1, max_queued=4, queue_wait_s=0.1))
        async with admission.turn():
            try:
                async with admission.turn():
                    return "admitted"
            except AgentError as err:
                return err.code

    assert asyncio.run(scenario()) == "server_busy"
