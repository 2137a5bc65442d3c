"""The AgentCore HTTP contract, served for real on loopback.

``agent_server`` (tests/integration/conftest.py) is the container's app
(``create_app``) under uvicorn in a thread; the last test starts the real
``stock-agent serve`` subprocess. Offline model, simulated data, reports in a
temporary folder; requests go over a real socket with urllib.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

pytestmark = pytest.mark.slow

TRACE_MARKERS = ("Traceback", 'File "', "site-packages")


def test_ping_is_healthy(agent_server: Any) -> None:
    reply = agent_server.ping()
    assert reply.status == 200
    assert reply.json()["status"] == "Healthy"


def test_invocation_success_shape(agent_server: Any) -> None:
    reply = agent_server.invoke(
        {"prompt": "Analyze SIM_STOCK for investment purposes", "session_id": "s" * 40}
    )
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert {"request_id", "tickers", "degraded", "warnings", "results", "text"} <= set(body)
    assert body["tickers"] == ["SIM_STOCK"]
    assert body["degraded"] is False
    assert body["session_id"] == "s" * 40
    [result] = body["results"]
    assert {"symbol", "data", "analysis", "report", "sections"} <= set(result)
    assert {"uri", "bytes", "sha256"} <= set(result["report"])
    assert set(result["sections"]) == {
        "data_gathering",
        "performance_analysis",
        "report_generation",
    }
    for name, title in (
        ("data_gathering", "STOCK DATA GATHERING REPORT"),
        ("performance_analysis", "STOCK PERFORMANCE ANALYSIS"),
        ("report_generation", "STOCK REPORT GENERATION"),
    ):
        assert title in body["text"]
        assert result["sections"][name] in body["text"]
    path = Path(unquote(urlparse(result["report"]["uri"]).path))
    assert path.is_relative_to(agent_server.reports_dir)
    assert path.stat().st_size == result["report"]["bytes"]


def test_unknown_payload_keys_are_ignored_with_a_warning(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "Analyze KO", "colour": "blue"})
    assert reply.status == 200
    assert any("colour" in w for w in reply.json()["warnings"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"this is not json", 400, "invalid_payload"),
        (json.dumps({"prompt": ""}).encode(), 400, "invalid_prompt"),
        (json.dumps({"prompt": "Compare AAPL MSFT TSLA NVDA AMZN GOOGL"}).encode(), 422,
         "too_many_tickers"),
        (json.dumps({"prompt": "CAN you analyze STOCK"}).encode(), 422, "no_ticker"),
        (json.dumps({"prompt": "Analyze ZZZZ"}).encode(), 422, "unknown_ticker"),
    ],
)  # fmt: skip
def test_error_shapes(agent_server: Any, body: bytes, status: int, code: str) -> None:
    reply = agent_server.invoke(body)
    text = reply.body.decode()
    assert reply.status == status, text
    assert reply.json() == {"error": {"code": code, "message": reply.json()["error"]["message"]}}
    assert reply.json()["error"]["message"]
    assert not any(marker in text for marker in TRACE_MARKERS)


def _sse_events(body: bytes) -> list[dict[str, Any]]:
    events = []
    for block in body.decode().split("\n\n"):
        if block.startswith("data: "):
            events.append(json.loads(block.removeprefix("data: ")))
    return events


def test_streaming_emits_stage_events_then_the_result(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "Compare KO and PG", "stream": True})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(reply.body)
    stage_events = [(e["stage"], e.get("symbol")) for e in events if e.get("event") == "stage"]
    assert stage_events == [
        ("understand_request", None),
        ("data_gathering", "KO"),
        ("data_gathering", "PG"),
        ("performance_analysis", "KO"),
        ("performance_analysis", "PG"),
        ("narrative", "KO"),
        ("narrative", "PG"),
        ("report_generation", "KO"),
        ("report_generation", "PG"),
        ("comparison_report", None),
        ("remember", None),
        ("respond", None),
    ]
    final = events[-1]
    assert final["event"] == "result"
    assert final["tickers"] == ["KO", "PG"]
    assert [r["symbol"] for r in final["results"]] == ["KO", "PG"]


def test_streaming_request_with_a_bad_prompt_is_a_plain_error(agent_server: Any) -> None:
    reply = agent_server.invoke({"prompt": "CAN you analyze STOCK", "stream": True})
    assert reply.status == 422
    assert reply.json()["error"]["code"] == "no_ticker"


def test_ping_stays_fast_while_an_invocation_runs(agent_server: Any) -> None:
    """The handler runs in the app's thread pool, so /ping answers during work."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        outcome["reply"] = agent_server.invoke({"prompt": "Compare AAPL MSFT NVDA JPM XOM"})

    worker = threading.Thread(target=work)
    worker.start()
    latencies = []
    while worker.is_alive():
        began = time.monotonic()
        ping = agent_server.ping()
        latencies.append(time.monotonic() - began)
        assert ping.status == 200
        time.sleep(0.02)
    worker.join()
    assert outcome["reply"].status == 200
    assert len(latencies) >= 2
    assert max(latencies) < 1.0, latencies


def test_stock_agent_serve_answers_the_contract_and_logs_json_lines(
    agent_server_factory: Any,
) -> None:
    """``stock-agent serve`` as a subprocess: /ping, /invocations, and JSON log lines
    that carry the request id (the AgentCore request header) and the session id."""
    with agent_server_factory() as server:
        assert server.ping().json()["status"] == "Healthy"
        reply = server.invoke({"prompt": "Analyze PG", "session_id": "log-session-1"})
        assert reply.status == 200, reply.body[:300]
        request_id = reply.json()["request_id"]
        error = server.invoke(b"not json")
        assert error.status == 400 and error.json()["error"]["code"] == "invalid_payload"
        time.sleep(0.2)  # let the server flush its last lines
        log = server.log_text()
    mine = [json.loads(line) for line in log.splitlines() if request_id in line]
    assert mine, "no log line carries the request id"
    assert all(e["request_id"] == request_id for e in mine)
    assert any(e.get("session_id") == "log-session-1" for e in mine)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in mine)
    assert "Traceback" not in log
