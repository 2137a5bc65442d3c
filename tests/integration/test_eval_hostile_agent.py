"""``eval --url`` against a broken or hostile agent: failed cases in RESULTS.md, never a crash.

The agent is the byte-level hostile peer of :mod:`tests.support.hostile_http`
on loopback. Whatever it sends (no ``key_figures``, a bad status line, a body
cut short, JSON nested 100,000 deep, a body that trickles), the evaluation
writes its table with the cases failed and the reason, and exits 1.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from eval.cli import main as eval_main
from tests.support.hostile_http import (
    Behaviour,
    HostileServer,
    http_response,
    send_and_close,
    trickle,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("restore_agent_log_levels")]

# An answer in the response's shape, without the key figures the graders and faults read.
WITHOUT_KEY_FIGURES = {
    "tickers": ["AAPL"],
    "intent": "analyze",
    "results": [{"symbol": "AAPL", "data": {"data_source": "simulated"}, "narrative": 5}],
    "failed": "none",
    "comparison": {"table": [1, 2]},
    "metrics": {"model_calls": 0},
}


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [
        (send_and_close(http_response(200, WITHOUT_KEY_FIGURES)), "could not be graded"),
        (send_and_close(b"HTTP/1.1 abc\r\n\r\n"), "malformed HTTP status line"),
        (
            send_and_close(http_response(200, '{"results": [', content_length=1000)),
            "cut short",
        ),
        (send_and_close(http_response(200, "[" * 100_000)), "unreadable answer"),
        (
            send_and_close(
                http_response(
                    200, "data: " + "[" * 100_000 + "\n\n", content_type="text/event-stream"
                )
            ),
            "unreadable answer",
        ),
        (trickle(http_response(200, json.dumps(WITHOUT_KEY_FIGURES)), every_s=0.05), "limit"),
    ],
    ids=["no-key-figures", "bad-status-line", "short-body", "deep-json", "deep-sse", "trickle"],
)
def test_a_hostile_agent_gives_failed_cases_and_a_table(
    tmp_path: Path, behaviour: Behaviour, why: str
) -> None:
    output = tmp_path / "RESULTS.md"
    out = io.StringIO()
    started = time.monotonic()
    with HostileServer.start(behaviour) as server:
        code = eval_main(
            ["--url", server.url, "--category", "unknown_ticker", "--timeout", "1",
             "--output", str(output)],
            out=out,
        )  # fmt: skip
    assert code == 1, out.getvalue()
    text = output.read_text()
    assert "gate: **FAIL**" in text
    assert why in text, text
    # Every case ran and was graded; the planted-fault table is there, uncaught.
    assert "7 run (7 turns)" in text and "| refusal_correctness |" in text
    assert "## Sensitivity: planted faults" in text and "| **NO** |" in text
    assert time.monotonic() - started < 60
