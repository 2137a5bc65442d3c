"""The request's time budget at its edges: the watchdog, bounded maps, cancellation, and a
deadline that counts from the request's arrival."""

from __future__ import annotations

import threading
import time

from stock_agent.deadline import (
    WATCHDOG,
    RequestControl,
    Watchdog,
    map_bounded,
    request_control,
    request_deadline,
)
from stock_agent.errors import AgentError


def test_the_watchdog_fires_at_its_time_and_not_when_cancelled() -> None:
    fired = threading.Event()
    skipped = threading.Event()
    cancelled = WATCHDOG.schedule(time.monotonic() + 0.05, skipped.set)
    Watchdog.cancel(cancelled)
    alarm = WATCHDOG.schedule(time.monotonic() + 0.1, fired.set)
    assert fired.wait(2.0) and alarm.fired
    assert not skipped.is_set() and not cancelled.fired


def test_map_bounded_stops_waiting_at_its_time_but_keeps_the_fast_results() -> None:
    def work(item: str) -> str:
        time.sleep(5.0 if item == "slow" else 0.0)
        return item.upper()

    started = time.monotonic()
    results = dict(
        map_bounded(work, ["fast", "slow"], max_workers=2, until=started + 0.3, stage="x")
    )
    assert results["fast"] == "FAST"
    slow = results["slow"]
    assert isinstance(slow, AgentError) and slow.code == "deadline_exceeded"
    assert time.monotonic() - started < 1.0


def test_a_cancelled_request_runs_no_more_items() -> None:
    calls: list[str] = []
    control = RequestControl.starting_now(60)
    control.cancel("gone")
    with request_control(control):
        results = dict(
            map_bounded(calls.append, ["A", "B"], max_workers=2, until=None, stage="narrative")
        )
    assert calls == []
    assert {r.code for r in results.values() if isinstance(r, AgentError)} == {
        "client_disconnected"
    }


def test_the_request_deadline_counts_from_arrival() -> None:
    control = RequestControl(deadline=time.monotonic() + 1.0)
    with request_control(control):
        assert request_deadline(240) == control.deadline
    assert request_deadline(240) > time.monotonic() + 239
