"""The time budget's machinery at its edges: what is left, work in progress, progress events,
one watchdog thread that sleeps while it waits, sockets shut at their time and not after,
and bounded maps that never run more threads than allowed nor start abandoned work.

Real sockets (socket pairs, a loopback HTTP server) and real threads throughout.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from stock_agent.deadline import (
    DEADLINE_MARGIN_S,
    RequestControl,
    Watchdog,
    connection_socket,
    emit_progress,
    map_bounded,
    request_control,
    shutdown_socket,
    socket_deadline,
    timed_connection,
)
from stock_agent.errors import AgentError

from tests.support.paths import REPO_ROOT


def test_what_is_left_counts_down_from_the_budget() -> None:
    control = RequestControl.starting_now(30.0)
    assert 29.0 < control.remaining() <= 30.0
    assert RequestControl(deadline=time.monotonic() - 2.0).remaining() < -1.5


def test_work_in_progress_is_counted_until_it_ends() -> None:
    control = RequestControl.starting_now(30.0)
    assert not control.busy
    with control.working():
        assert control.busy
        with control.working():
            assert control.busy
        assert control.busy
    assert not control.busy


def test_progress_reaches_the_requests_stream_and_a_failing_stream_is_ignored() -> None:
    seen: list[dict[str, str]] = []
    emit_progress({"stage": "outside"})  # no request: nowhere to go, no error
    with request_control(RequestControl(deadline=time.monotonic() + 30, progress=seen.append)):
        emit_progress({"stage": "data_gathering"})
    assert seen == [{"stage": "data_gathering"}]

    def broken(event: dict[str, str]) -> None:
        raise BrokenPipeError("stream closed")

    with request_control(RequestControl(deadline=time.monotonic() + 30, progress=broken)):
        emit_progress({"stage": "narrative"})  # does not raise


# --- the watchdog ------------------------------------------------------------------------------


def _watchdog_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "watchdog" and t.is_alive())


def test_one_watchdog_runs_every_alarm_on_one_thread() -> None:
    watchdog = Watchdog()
    before = _watchdog_threads()
    done = [threading.Event() for _ in range(3)]
    for index, event in enumerate(done):
        watchdog.schedule(time.monotonic() + 0.05 * (index + 1), event.set)
    assert all(event.wait(2.0) for event in done)
    assert _watchdog_threads() == before + 1


def test_an_alarm_never_fires_early_and_waiting_costs_no_cpu() -> None:
    watchdog = Watchdog()
    fired_at: list[float] = []
    scheduled = time.monotonic()
    cpu = time.process_time()
    alarm = watchdog.schedule(scheduled + 0.6, lambda: fired_at.append(time.monotonic()))
    deadline = time.monotonic() + 3.0
    while not alarm.fired and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fired_at and fired_at[0] - scheduled >= 0.6
    assert time.process_time() - cpu < 0.2  # the thread sleeps until the alarm is due


# --- sockets -----------------------------------------------------------------------------------


def _blocked_read(sock: socket.socket) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(sock.recv(10)), daemon=True)
    reader.start()
    return reader, got


def test_shutting_a_socket_wakes_its_reader_and_no_socket_is_nothing_to_do() -> None:
    shutdown_socket(None)
    left, right = socket.socketpair()
    with left, right:
        reader, got = _blocked_read(left)
        time.sleep(0.05)
        shutdown_socket(left)
        reader.join(2.0)
        assert got == [b""]


def test_a_socket_is_shut_at_its_deadline_and_left_alone_after_the_block() -> None:
    left, right = socket.socketpair()
    with left, right:
        reader, got = _blocked_read(left)
        with socket_deadline(time.monotonic() + 0.1, lambda: left) as alarm:
            reader.join(2.0)
        assert alarm.fired and got == [b""]
    left, right = socket.socketpair()
    with left, right:
        with socket_deadline(time.monotonic() + 0.1, lambda: left) as alarm:
            pass  # the exchange ended in time
        time.sleep(0.3)
        right.sendall(b"still open")
        assert left.recv(10) == b"still open" and not alarm.fired


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.slow  # serves HTTP on loopback
def test_a_timed_connection_keeps_its_socket_after_a_closing_response(loopback_url: str) -> None:
    conn = timed_connection(loopback_url, timeout=5.0)
    conn.request("GET", "/")
    response = conn.getresponse()
    sock = connection_socket(conn)
    assert isinstance(sock, socket.socket)
    assert response.read() == b"ok" and conn.sock is None  # http.client let go of it
    assert connection_socket(conn) is sock  # the watchdog can still shut it
    conn.close()


# --- bounded maps ------------------------------------------------------------------------------


def test_one_worker_runs_one_item_at_a_time() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def work(item: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return item

    assert [item for item, _ in map_bounded(work, ["A", "B", "C"], max_workers=1, stage="x")] == [
        "A",
        "B",
        "C",
    ]
    assert most == 1
    assert list(map_bounded(work, [], max_workers=1, stage="x")) == []


def test_without_grace_waiting_stops_at_the_deadline_and_abandoned_items_never_start() -> None:
    started: list[str] = []

    def slow(item: str) -> str:
        started.append(item)
        time.sleep(1.5)
        return item

    began = time.monotonic()
    with request_control(RequestControl(deadline=began + 0.2)):
        results = list(map_bounded(slow, ["A", "B", "C"], max_workers=1, stage="data_gathering"))
    assert time.monotonic() - began < 0.9  # no grace by default
    assert [item for item, _ in results] == ["A", "B", "C"]
    for _, result in results:
        assert isinstance(result, AgentError) and result.code == "deadline_exceeded"
    assert str(results[0][1]) == "A: the data gathering stage ran out of time"
    time.sleep(1.8)  # A's thread finishes; B and C were never started
    assert started == ["A"]


def test_an_item_done_within_the_grace_is_kept() -> None:
    def work(item: str) -> str:
        time.sleep(0.3)
        return item.lower()

    with request_control(RequestControl(deadline=time.monotonic() + 0.1)):
        assert list(map_bounded(work, ["A"], max_workers=1, stage="narrative", grace_s=1.0)) == [
            ("A", "a")
        ]


def test_a_caller_that_stops_reading_starts_no_more_work() -> None:
    started: list[str] = []

    def work(item: str) -> str:
        started.append(item)
        time.sleep(0.2)
        return item

    results = map_bounded(work, ["A", "B", "C", "D"], max_workers=1, stage="x")
    assert next(results) == ("A", "A")
    results.close()  # e.g. the stream's reader went away
    time.sleep(0.7)
    assert started[:1] == ["A"] and "C" not in started and "D" not in started


def test_a_response_comes_back_by_the_deadline_plus_the_stated_margin() -> None:
    decisions = (REPO_ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    assert f"a response comes back by the deadline plus {DEADLINE_MARGIN_S:g} s" in decisions
