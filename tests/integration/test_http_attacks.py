"""Attacks on the local server's front door, on loopback, against the real HTTP stack.

The app is :func:`stock_agent.server.entrypoint.create_app` under uvicorn with the
server configuration ``stock-agent serve`` uses
(:func:`stock_agent.server.http_guard.server_config`: h11 with a header time
limit), in a thread of this process. Raw sockets play the attacker where an
HTTP library would be too polite (chunked floods, ``Expect: 100-continue``,
trickled headers and bodies).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stock_agent.server.entrypoint import create_app
from stock_agent.server.http_guard import REQUEST_ID_HEADER, SESSION_ID_HEADER, GuardSettings
from stock_agent.settings import AgentSettings

from tests.integration.conftest import HttpReply, RunningServer
from tests.support.hardened_server import (
    FIVE,
    SlowProvider,
    post,
    raw_connection,
    read_until_closed,
    serve,
)

pytestmark = pytest.mark.slow


def pdfs(server: RunningServer) -> list[Path]:
    return [p for p in server.report_files() if p.suffix == ".pdf"]


# ------------------------------------------------------------ cancellation, bounds, ping


def test_streams_whose_callers_leave_after_the_first_event_write_nothing(tmp_path: Path) -> None:
    """Eight 5-ticker streams, each closed after its first event: no PDF is written."""
    provider = SlowProvider(delay_s=0.3)
    with serve(tmp_path, provider=provider, max_concurrent_requests=8) as server:
        for _ in range(8):
            sock = raw_connection(server)
            body = json.dumps({"prompt": FIVE, "stream": True}).encode()
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            first = b""
            while b"data:" not in first:
                first += sock.recv(4096)
            sock.close()
        time.sleep(4.0)  # far longer than the work left when the callers left
        assert pdfs(server) == []
        assert not [p for p in server.report_files() if p.name.endswith(".tmp")]
        # The work stopped between tickers: far fewer than 8 x 5 snapshots were fetched.
        assert provider.calls < 8 * 5
        assert server.ping().json()["status"] == "Healthy"


def test_past_the_bound_a_structured_503_with_retry_after_and_ping_is_busy(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]]
) -> None:
    """One request may run and none wait: the second gets 503 server_busy at once,
    and /ping says HealthyBusy while the first runs."""
    with serve(
        tmp_path, provider=SlowProvider(1.5), max_concurrent_requests=1, max_queued_requests=0
    ) as server:
        assert server.ping().json()["status"] == "Healthy"
        first: dict[str, HttpReply] = {}
        worker = threading.Thread(
            target=lambda: first.update(reply=post(server, {"prompt": "Analyze KO"}))
        )
        worker.start()
        time.sleep(0.5)
        assert server.ping().json()["status"] == "HealthyBusy"
        started = time.monotonic()
        busy = post(server, {"prompt": "Analyze MSFT"})
        assert time.monotonic() - started < 1.0
        error = structured_error(busy, ("server_busy",))
        assert busy.headers["retry-after"] == str(error["retry_after"])
        worker.join(timeout=30)
        assert first["reply"].status == 200
        assert server.ping().json()["status"] == "Healthy"


def test_a_queued_request_waits_for_its_turn_instead_of_failing(tmp_path: Path) -> None:
    """With one slot and room to wait, three requests at once all succeed, one at a time."""
    with serve(
        tmp_path, provider=SlowProvider(0.3), max_concurrent_requests=1, max_queued_requests=2
    ) as server:
        replies: list[HttpReply] = []
        threads = [
            threading.Thread(target=lambda: replies.append(post(server, {"prompt": "Analyze KO"})))
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(r.status for r in replies) == [200, 200, 200]


# ------------------------------------------------------------ what a browser can send


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_only_json_is_accepted(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]], content_type: str | None
) -> None:
    """A cross-site form or fetch without preflight cannot make the local server work."""
    with serve(tmp_path) as server:
        body = json.dumps({"prompt": "Analyze KO"}).encode()
        request = urllib.request.Request(server.url + "/invocations", data=body, method="POST")
        if content_type is not None:
            request.add_header("Content-Type", content_type)
        else:
            request.remove_header("Content-type")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                reply = HttpReply(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            reply = HttpReply(err.code, dict(err.headers.items()), err.read())
        structured_error(reply, ("unsupported_media_type",))
        assert server.report_files() == set()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.2", "10.0.0.1"])
def test_other_host_names_are_refused(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]], host: str
) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends ``Host: evil.example``."""
    with serve(tmp_path) as server:
        reply = post(server, {"prompt": "Analyze KO"}, headers={"Host": host})
        structured_error(reply, ("forbidden_host",))
        assert server.report_files() == set()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_local_names_are_accepted(tmp_path: Path, host: str) -> None:
    with serve(tmp_path) as server:
        port = server.url.rsplit(":", 1)[1]
        reply = post(server, {"prompt": "Analyze KO"}, headers={"Host": f"{host}:{port}"})
        assert reply.status == 200, reply.body[:300]


def test_container_mode_accepts_any_host_and_a_missing_content_type(tmp_path: Path) -> None:
    """Behind AgentCore (whose Host and Content-Type are not documented) both checks are off."""
    guard = GuardSettings.container(request_deadline_s=240)
    with serve(tmp_path, guard=guard) as server:
        reply = post(
            server,
            {"prompt": "Analyze KO"},
            headers={"Host": "abc.runtime.bedrock-agentcore.internal"},
        )
        assert reply.status == 200, reply.body[:300]


def test_the_container_entry_point_serves_in_container_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``python -m stock_agent.server.entrypoint`` (the image's CMD) turns browser checks off."""
    from stock_agent.server import entrypoint

    seen: dict[str, Any] = {}
    monkeypatch.setattr(entrypoint, "serve", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(
        entrypoint, "create_app", lambda **kw: seen.update(guard=kw["guard"]) or object()
    )
    monkeypatch.setattr(entrypoint, "configure_logging", lambda **kw: None)
    monkeypatch.setenv("MODEL_PROVIDER", "offline")
    assert entrypoint.main() == 0
    assert seen["guard"].allowed_hosts is None
    assert seen["guard"].require_json_content_type is False
    assert seen["host"] == "0.0.0.0"


# ------------------------------------------------------------ headers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (REQUEST_ID_HEADER, "r" * 12_000),
        (REQUEST_ID_HEADER, "<script>alert(1)</script>"),
        (SESSION_ID_HEADER, "../../etc/<script>"),
        (SESSION_ID_HEADER, "s" * 257),
        (SESSION_ID_HEADER, "a b"),
    ],
)
def test_id_headers_are_validated_and_never_echoed(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]], name: str, value: str
) -> None:
    """A 12,000-character request id or a path-like session id never reaches a response or PDF."""
    with serve(tmp_path) as server:
        reply = post(server, {"prompt": "Analyze KO"}, headers={name: value})
        error = structured_error(reply, ("invalid_header",))
        assert name in error["message"]
        assert value not in reply.body.decode()
        assert server.report_files() == set()


def test_id_headers_at_their_limit_are_accepted(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        reply = post(
            server,
            {"prompt": "Analyze KO"},
            headers={REQUEST_ID_HEADER: "r" * 256, SESSION_ID_HEADER: "s" * 256},
        )
        assert reply.status == 200
        assert reply.json()["request_id"] == "r" * 256


# ------------------------------------------------------------ leftovers


def test_stale_temp_files_are_removed_on_start_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """kill -9 mid-write leaves ``.*.pdf.*.tmp``; the next start removes those over a minute old."""
    day = tmp_path / "reports" / "2026" / "11" / "30"
    day.mkdir(parents=True)
    stale = day / ".KO_Stock_Report_20261130_101010_ab12cd34.pdf.x1y2z3.tmp"
    stale.write_bytes(b"%PDF-1.4 half")
    old = time.time() - 120
    os.utime(stale, (old, old))
    fresh = day / ".KO_Stock_Report_20261130_101011_ab12cd35.pdf.q1w2e3.tmp"
    fresh.write_bytes(b"")  # may belong to a write in progress: kept
    report = day / "KO_Stock_Report_20261130_101009_ab12cd33.pdf"
    report.write_bytes(b"%PDF-1.4 whole")
    os.utime(report, (old, old))
    with caplog.at_level(logging.WARNING, logger="stock_agent.reports.storage"):
        create_app(ctx=AgentSettings(reports_dir=str(tmp_path / "reports")))
    assert not stale.exists() and fresh.exists() and report.exists()
    assert any("removed 1 stale temporary report file" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------ connections


def test_a_chunked_flood_gets_413_and_the_connection_is_closed(tmp_path: Path) -> None:
    """An endless chunked body: a 413, then the connection is closed (not drained forever)."""
    with serve(tmp_path) as server:
        sock = raw_connection(server)
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        sent = 0
        sock.settimeout(5)
        with contextlib.suppress(OSError):
            while sent < 256 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        answer, closed = read_until_closed(sock, limit_s=5)
        sock.close()
        assert closed, "the server kept the connection open"
        assert sent < 64 * 1024 * 1024, f"the server accepted {sent} bytes"
        if answer:  # a reset can swallow it; when it arrives it is the 413
            assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


def test_expect_100_continue_with_a_huge_length_is_refused_before_continuing(
    tmp_path: Path,
) -> None:
    """A 100 GB ``Content-Length`` with ``Expect: 100-continue``: 413 without ``100 Continue``."""
    with serve(tmp_path) as server:
        sock = raw_connection(server)
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 107374182400\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        answer, closed = read_until_closed(sock, limit_s=5)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        assert b"100 Continue" not in answer
        assert closed


def test_expect_100_continue_within_the_limit_still_continues(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        body = json.dumps({"prompt": "Analyze KO"}).encode()
        sock = raw_connection(server)
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        answer, _ = read_until_closed(sock, limit_s=10)
        sock.close()
        assert b"HTTP/1.1 200" in answer


def test_slow_headers_are_cut_off(tmp_path: Path) -> None:
    """A header byte every 0.3 s (slowloris): the connection is closed at the header limit."""
    with serve(tmp_path, header_timeout_s=1.0) as server:
        sock = raw_connection(server)
        sock.sendall(b"POST /invocations HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        with contextlib.suppress(OSError):
            for byte in b"X-Slow: " + b"a" * 40:
                sock.sendall(bytes([byte]))
                sock.settimeout(0.3)
                try:
                    if sock.recv(1024) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
        elapsed = time.monotonic() - started
        sock.close()
        assert closed or elapsed < 5, "the server never closed the slow connection"
        assert elapsed < 3.0


def test_a_slow_body_gets_408_and_the_connection_is_closed(
    tmp_path: Path,
) -> None:
    """Ten bytes of a declared hundred, then silence: 408 at the body limit, then close."""
    guard = GuardSettings(body_timeout_s=1.0)
    with serve(tmp_path, guard=guard) as server:
        sock = raw_connection(server)
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prompt"'
        )
        started = time.monotonic()
        answer, closed = read_until_closed(sock, limit_s=5)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert b"request_timeout" in answer
        assert closed and time.monotonic() - started < 3.0


# ------------------------------------------------------------ tickers


def test_a_single_letter_ticker_gets_a_dollar_suggestion(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]]
) -> None:
    """T is AT&T in the universe and a stop word: the error says to write ``$T``."""
    with serve(tmp_path) as server:
        error = structured_error(post(server, {"prompt": "Analyze T"}), ("no_ticker",))
        assert "$T" in error["message"]
        reply = post(server, {"prompt": "Analyze $T"})
        assert reply.status == 200 and reply.json()["tickers"] == ["T"]


@pytest.mark.parametrize(
    ("prompt", "named"),
    [
        ("Analyze AA\u200bPL", "U+200B ZERO WIDTH SPACE"),
        ("Analyze A\u200dAPL", "U+200D ZERO WIDTH JOINER"),
        ("Analyze \ufeffAAPL", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("Analyze AAPL\u2060", "U+2060 WORD JOINER"),
        ("Analyze \u202eLPAA", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_invisible_characters_are_rejected_and_named(
    tmp_path: Path, structured_error: Callable[..., dict[str, Any]], prompt: str, named: str
) -> None:
    """``AA<ZWSP>PL`` must not be read as 'APL': the prompt is refused, naming the character."""
    with serve(tmp_path) as server:
        error = structured_error(post(server, {"prompt": prompt}), ("invalid_prompt",))
        assert named in error["message"]
        assert server.report_files() == set()


def test_a_websocket_from_another_host_is_refused(tmp_path: Path) -> None:
    """The app also serves ``/ws``; a rebinding page could open a WebSocket to it."""
    with serve(tmp_path) as server:
        sock = raw_connection(server)
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        answer, _ = read_until_closed(sock, limit_s=5)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 403"), answer[:100]
