"""The request's time budget at its edges: the watchdog, bounded maps, cancellation, and a
deadline that counts from the request's arrival."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from stock_agent.deadline import (
    WATCHDOG,
    RequestControl,
    Watchdog,
    control_for_turn,
    current_deadline,
    deadline_passed,
    iterate_in,
    map_bounded,
    request_control,
    turn_context,
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
    with request_control(RequestControl(deadline=started + 0.1)):
        results = dict(map_bounded(work, ["fast", "slow"], max_workers=2, stage="x", grace_s=0.2))
    assert results["fast"] == "FAST"
    slow = results["slow"]
    assert isinstance(slow, AgentError) and slow.code == "deadline_exceeded"
    assert time.monotonic() - started < 1.0


def test_a_cancelled_request_runs_no_more_items() -> None:
    calls: list[str] = []
    control = RequestControl.starting_now(60)
    control.cancel("gone")
    with request_control(control):
        results = dict(map_bounded(calls.append, ["A", "B"], max_workers=2, stage="narrative"))
    assert calls == []
    assert {r.code for r in results.values() if isinstance(r, AgentError)} == {
        "client_disconnected"
    }


def test_the_request_deadline_counts_from_arrival() -> None:
    """A turn under the server's control keeps its deadline (the queue's wait is spent);
    without one, the turn gets a fresh budget."""
    arrived = RequestControl(deadline=time.monotonic() + 1.0)
    with request_control(arrived):
        assert control_for_turn(240) is arrived
    fresh = control_for_turn(240)
    assert fresh is not arrived and fresh.deadline > time.monotonic() + 239


def test_the_deadline_is_read_from_the_current_request_only() -> None:
    assert current_deadline() is None and not deadline_passed()  # outside a request: no limit
    with request_control(RequestControl(deadline=time.monotonic() + 60)):
        assert not deadline_passed()
    with request_control(RequestControl(deadline=time.monotonic() - 0.001)):
        assert deadline_passed()
    assert current_deadline() is None  # the block's control does not outlive it


def test_a_turn_sees_its_control_in_every_step_and_leaves_none_behind() -> None:
    control = RequestControl(deadline=time.monotonic() + 30)

    def steps() -> Iterator[float | None]:
        yield current_deadline()
        yield current_deadline()

    turn = turn_context(control)
    assert turn.run(current_deadline) == control.deadline
    seen: list[float | None] = []
    for step in iterate_in(turn, steps()):
        seen.append(step)
        assert current_deadline() is None  # the consumer's own context is untouched
    assert seen == [control.deadline, control.deadline]
    # a step run from another thread still sees the control
    other: list[float | None] = []
    items = iterate_in(turn_context(control), steps())
    worker = threading.Thread(target=lambda: other.append(next(items)))
    worker.start()
    worker.join()
    assert other == [control.deadline]
