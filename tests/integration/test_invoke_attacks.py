"""``stock-agent invoke --url`` against a server that tries to fool it.

The console script runs in a subprocess; the server is
:class:`tests.support.hostile_http.HostileServer` on loopback, which trickles,
floods, truncates, hangs, sends garbage and escape sequences. Each cause must
give one clear message and a non-zero exit, in bounded time and memory, and
nothing the server sent may reach the terminal as an escape sequence.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.integration.conftest import STOCK_AGENT
from tests.support.hostile_http import (
    ANSI_ATTACK,
    Behaviour,
    HostileServer,
    endless,
    http_response,
    send_and_close,
    send_then_hang,
    trickle,
)

pytestmark = pytest.mark.slow

SLACK_S = 5.0  # interpreter start-up on a loaded 2-core machine


def invoke(behaviour: Behaviour, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    with HostileServer.start(behaviour) as server:
        started = time.monotonic()
        done = subprocess.run(
            [str(STOCK_AGENT), "invoke", "Analyze KO", "--url", server.url, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done, time.monotonic() - started


def sections(text: str) -> dict[str, object]:
    return {
        "results": [
            {
                "symbol": "KO",
                "sections": {
                    "data_gathering": text,
                    "performance_analysis": text,
                    "report_generation": text,
                },
            }
        ]
    }


def test_timeout_is_a_total_against_a_trickling_server() -> None:
    """One byte every 0.5 s of a valid answer; ``--timeout 3`` ends it at 3 s."""
    answer = http_response(200, sections("ok"))
    done, elapsed = invoke(trickle(answer, every_s=0.5), "--timeout", "3")
    assert done.returncode == 1
    assert "no complete answer within the 3 s limit" in done.stderr
    assert elapsed < 3 + SLACK_S


def test_a_500_that_hangs_says_how_far_it_got() -> None:
    head = b'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\n{"err'
    done, elapsed = invoke(send_then_hang(head), "--timeout", "2")
    assert done.returncode == 1
    assert "HTTP 500 arrived, then the body stalled after 5 bytes" in done.stderr
    assert elapsed < 2 + SLACK_S


def test_a_huge_declared_body_is_refused_unread() -> None:
    head = http_response(200, b"", content_length=400 * 1024 * 1024)
    done, _ = invoke(send_then_hang(head), "--timeout", "10")
    assert done.returncode == 1
    assert "over the 16777216-byte limit" in done.stderr


def test_an_endless_body_stops_at_the_size_cap() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    done, _ = invoke(endless(head, b"x" * 65536), "--max-bytes", "1000000", "--timeout", "20")
    assert done.returncode == 1
    assert "larger than the 1000000-byte limit" in done.stderr


def test_a_stream_cut_before_its_result_exits_non_zero_naming_what_is_missing() -> None:
    events = [
        {"event": "stage", "stage": "understand_request", "status": "done"},
        {"event": "stage", "stage": "data_gathering", "symbol": "KO", "status": "done"},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    done, _ = invoke(send_and_close(http_response(200, body, content_type="text/event-stream")))
    assert done.returncode == 1
    assert "the stream ended before its result event" in done.stdout
    assert "data_gathering KO" in done.stdout


def test_escape_sequences_never_reach_the_terminal() -> None:
    body = sections(f"KO is fine{ANSI_ATTACK}\u202egnp.exe")
    done, _ = invoke(send_and_close(http_response(200, body)))
    assert done.returncode == 0
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\u202e" not in done.stdout
    assert "\\x1b[2J" in done.stdout and "\\u202e" in done.stdout  # shown, not obeyed


def test_escape_sequences_in_an_error_message_are_neutralised_too() -> None:
    body = {"error": {"code": "x", "message": f"boom{ANSI_ATTACK}"}}
    done, _ = invoke(send_and_close(http_response(500, body)))
    assert done.returncode == 1
    assert "\x1b" not in done.stdout + done.stderr
    assert "error x: boom\\x1b" in done.stdout


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"\x00\x01\x02 garbage \xff\r\n\r\n", "the server did not answer with HTTP"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "the server sent a malformed HTTP status line"),
        (b"", "the server closed the connection without answering"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10,
            "the response body was cut short: 10 of 1000 bytes",
        ),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n", "malformed HTTP"),
    ],
    ids=["garbage", "bad-status-line", "closed", "short-body", "huge-header"],
)
def test_one_clear_message_per_cause(sent: bytes, message: str) -> None:
    done, _ = invoke(send_and_close(sent), "--timeout", "10")
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert "unexpected error" not in done.stderr
    assert done.stderr.count("\n") == 1  # one line
