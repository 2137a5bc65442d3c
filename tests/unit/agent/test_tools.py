"""The three agents' tools: the records they return, the contract errors they raise, and the
tool span each leaves for AgentCore's tool evaluators (arguments in, a summary out).

Real parts: the simulated provider, the real PDF renderer and the local report store; the
spans are OpenTelemetry's, recorded in memory, inside a real turn span with content capture
on, as a deployed turn records them.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.errors import AgentError
from stock_agent.market_data import MarketDataError, get_provider
from stock_agent.observability.tracing import turn_span
from stock_agent.records import Narrative, ReportRef
from stock_agent.reports import storage
from stock_agent.tools import analyze_stock_performance, gather_stock_data, generate_stock_report

AS_OF = date(2026, 11, 30)
T = TypeVar("T")


def _in_a_turn(call: Callable[[], T]) -> T:
    """``call`` inside a turn that records content, as the deployed agent runs tools."""
    turn = contextvars.copy_context()
    with turn_span(
        turn, prompt="Analyze AAPL", session_id=None, request_id="r1", provider=None,
        capture_content=True,
    ):  # fmt: skip
        return turn.run(call)


def _tool_span(spans: InMemorySpanExporter, name: str) -> dict[str, Any]:
    """The attributes of the last ``name`` tool span (the one that recorded content)."""
    found = [s for s in spans.get_finished_spans() if s.name == f"execute_tool {name}"]
    return dict(found[-1].attributes or {})


def _output(attributes: dict[str, Any]) -> dict[str, Any]:
    message = json.loads(attributes["traceloop.entity.output"])["output"]["kwargs"]
    assert message["status"] == "success"
    result: dict[str, Any] = json.loads(message["content"])
    return result


def test_gather_returns_the_snapshot_and_summarises_it_in_its_span(
    spans: InMemorySpanExporter,
) -> None:
    provider = get_provider("simulated")
    snapshot = _in_a_turn(lambda: gather_stock_data("AAPL", provider=provider, as_of=AS_OF))
    assert snapshot == provider.snapshot("AAPL", as_of=AS_OF)
    attributes = _tool_span(spans, "gather_stock_data")
    assert json.loads(attributes["traceloop.entity.input"]) == {
        "inputs": {"symbol": "AAPL", "as_of": "2026-11-30"}
    }
    assert _output(attributes) == {
        "symbol": "AAPL",
        "company": "Apple Inc.",
        "as_of": "2026-11-30",
        "data_source": "simulated",
        "daily_prices": len(snapshot.prices),
    }


def test_an_unknown_ticker_is_the_contracts_unknown_ticker() -> None:
    with pytest.raises(AgentError) as info:
        gather_stock_data("NOPE", provider=get_provider("simulated"), as_of=AS_OF)
    assert info.value.code == "unknown_ticker" and info.value.http_status == 422


class _FailingProvider:
    """A provider that fails as a real one does when its source is down (or not)."""

    name = "failing"

    def __init__(self, *, retryable: bool) -> None:
        self.retryable = retryable

    def snapshot(self, symbol: str, *, as_of: date) -> Any:
        raise MarketDataError(symbol, "the source did not answer", retryable=self.retryable)


@pytest.mark.parametrize(("retryable", "hint"), [(True, True), (False, False)])
def test_a_provider_failure_is_unavailable_and_says_when_trying_again_helps(
    retryable: bool, hint: bool
) -> None:
    with pytest.raises(AgentError) as info:
        gather_stock_data("AAPL", provider=_FailingProvider(retryable=retryable), as_of=AS_OF)  # type: ignore[arg-type]
    assert info.value.code == "market_data_unavailable" and info.value.http_status == 503
    assert info.value.message.startswith("market data for AAPL unavailable")
    assert ("(temporary; try again)" in info.value.message) is hint


def test_analyze_adds_the_track_record_only_with_a_provider(spans: InMemorySpanExporter) -> None:
    provider = get_provider("simulated")
    snapshot = provider.snapshot("AAPL", as_of=AS_OF)
    bare = analyze_stock_performance(snapshot)
    assert bare.track_record is None
    full = _in_a_turn(lambda: analyze_stock_performance(snapshot, provider=provider))
    assert full.track_record is not None and full.track_record.symbol == "AAPL"
    assert full.technical == bare.technical and full.risk_level == bare.risk_level
    assert _output(_tool_span(spans, "analyze_stock_performance")) == {
        "technical_score": full.technical.score,
        "fundamental_score": full.fundamental.score,
        "risk_level": full.risk_level,
        "outlook": full.outlook,
    }


def _report(store: Any, snapshot: Any, analysis: Any) -> ReportRef:
    return generate_stock_report(
        snapshot=snapshot,
        analysis=analysis,
        narrative=Narrative(text="A narrative.", source="deterministic"),
        store=store,
        generated_at=datetime(2026, 11, 30, 14, 21, 10, tzinfo=UTC),
        request_id="r1",
    )


def test_the_report_is_stored_under_a_fresh_dated_key(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    provider = get_provider("simulated")
    snapshot = provider.snapshot("AAPL", as_of=AS_OF)
    analysis = analyze_stock_performance(snapshot)
    store = storage.LocalReportStore(root=tmp_path)
    again = _report(store, snapshot, analysis)
    first = _in_a_turn(lambda: _report(store, snapshot, analysis))
    assert first.key.startswith("2026/11/30/AAPL_Stock_Report_20261130_142110_")
    assert again.key != first.key  # a retry never overwrites another report
    assert (tmp_path / first.key).read_bytes()[:5] == b"%PDF-"
    assert _output(_tool_span(spans, "generate_stock_report")) == {
        "uri": first.uri,
        "key": first.key,
        "bytes": first.bytes,
    }


class _BrokenStore:
    """A store failing with the code a real one uses."""

    def __init__(self, code: str) -> None:
        self.code = code

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef:
        raise storage.StorageError(self.code, "it broke")


@pytest.mark.parametrize(
    ("store_code", "code", "status"),
    [
        ("report_write_failed", "report_write_failed", 500),
        ("report_upload_failed", "report_upload_failed", 502),
        ("report_key_conflict", "report_upload_failed", 502),
    ],
)
def test_a_store_failure_is_the_contracts_error(store_code: str, code: str, status: int) -> None:
    provider = get_provider("simulated")
    snapshot = provider.snapshot("KO", as_of=AS_OF)
    with pytest.raises(AgentError) as info:
        _report(_BrokenStore(store_code), snapshot, analyze_stock_performance(snapshot))
    assert (info.value.code, info.value.http_status) == (code, status)
    assert info.value.message == "the report for KO could not be stored: it broke"
