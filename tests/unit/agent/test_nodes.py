"""The whole LangGraph pipeline, offline: real provider, real analysis, real PDF, real store.

Offline model + simulated data + a local report folder (``tmp_path``): every
stage runs for real. The checks follow the issue's "done" criteria: the
figures in the response's text, in the record and in the PDF (read back with
pypdf) are the same strings; one ticker's failure does not sink the others;
the S3 path writes the object where the key says (moto's real S3 API).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from pypdf import PdfReader
from stock_agent.agent import Dependencies, StockAgent
from stock_agent.errors import AgentError
from stock_agent.formatting import key_figures, track_record_bucket_labels
from stock_agent.market_data import get_provider
from stock_agent.records import to_jsonable
from stock_agent.reports import storage
from stock_agent.settings import AgentSettings
from stock_agent.tools import analyze_stock_performance

from eval.pdf import flat
from tests.support.agents import offline_agent
from tests.support.moto_s3 import moto_s3_server, s3_client

PROMPT = "Analyze SIM_STOCK for investment purposes"


def _pdf_text(uri: str) -> str:
    path = Path(unquote(urlparse(uri).path))
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_offline_pipeline_numbers_agree_between_text_record_and_pdf(tmp_path: Path) -> None:
    response = offline_agent(tmp_path / "reports").invoke(PROMPT, request_id="req-1")

    assert response["request_id"] == "req-1"
    assert response["tickers"] == ["SIM_STOCK"]
    assert response["degraded"] is False
    [result] = response["results"]
    assert set(result["sections"]) == {
        "data_gathering",
        "performance_analysis",
        "report_generation",
    }
    for title in (
        "STOCK DATA GATHERING REPORT",
        "STOCK PERFORMANCE ANALYSIS",
        "STOCK REPORT GENERATION",
    ):
        assert title in response["text"]

    # The record in the response is the provider's snapshot for the same day.
    as_of = date.fromisoformat(result["data"]["as_of"])
    provider = get_provider("simulated")
    snapshot = provider.snapshot("SIM_STOCK", as_of=as_of)
    analysis = analyze_stock_performance(snapshot, provider=provider)
    expected = to_jsonable(snapshot)
    for name in ("current_price", "market_cap", "week52_high", "ytd_return", "pe_ratio"):
        assert result["data"][name] == expected[name]
    assert result["analysis"] == {
        k: v for k, v in to_jsonable(analysis).items() if k != "track_record"
    }
    assert analysis.track_record is not None and analysis.track_record.buckets
    assert result["track_record"] == to_jsonable(analysis.track_record)

    # Every key figure appears, identically formatted, in the text and in the PDF (the
    # track record's buckets as table cells there: tests/unit/agent/test_track_record_report.py).
    pdf = _pdf_text(result["report"]["uri"])
    flat_pdf = flat(pdf)
    rows = key_figures(snapshot, analysis)
    buckets = track_record_bucket_labels(analysis.track_record)
    assert result["key_figures"] == dict(rows)
    for label, value in rows:
        assert f"{label}: {value}" in response["text"] or value in response["text"], label
        if label not in buckets:
            assert flat(value) in flat_pdf, (label, value)

    # The stored bytes are what the response describes.
    path = Path(unquote(urlparse(result["report"]["uri"]).path))
    assert path.stat().st_size == result["report"]["bytes"]
    assert path.is_relative_to(tmp_path / "reports")
    assert result["narrative"]["source"] == "deterministic"
    assert response["metrics"]["model_calls"] == 0
    assert set(response["metrics"]["timings_ms"]) >= {
        "understand_request",
        "data_gathering",
        "performance_analysis",
        "narrative",
        "report_generation",
    }


def test_one_unknown_ticker_is_a_warning_the_others_complete(tmp_path: Path) -> None:
    response = offline_agent(tmp_path / "reports").invoke(
        "Compare AAPL and ZZZZ", request_id="req-2"
    )
    assert response["tickers"] == ["AAPL", "ZZZZ"]
    assert [r["symbol"] for r in response["results"]] == ["AAPL"]
    assert response["failed"][0]["symbol"] == "ZZZZ"
    assert response["failed"][0]["code"] == "unknown_ticker"
    assert any("ZZZZ" in w for w in response["warnings"])
    assert "--- AAPL ---" not in response["text"]  # one result: no subsections


def test_every_ticker_unknown_is_unknown_ticker(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as info:
        offline_agent(tmp_path / "reports").invoke("Analyze ZZZZ and QQQX", request_id="req-3")
    assert info.value.code == "unknown_ticker"
    assert "ZZZZ" in info.value.message and "QQQX" in info.value.message
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.pdf"))


def test_multi_ticker_text_has_a_subsection_per_ticker(tmp_path: Path) -> None:
    response = offline_agent(tmp_path / "reports").invoke(
        "Compare AAPL, msft and BRK-B", request_id="req-4"
    )
    assert response["tickers"] == ["AAPL", "MSFT", "BRK.B"]
    assert response["intent"] == "compare"
    text = response["text"]
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        assert text.count(f"--- {symbol} ---") == 3
    keys = {r["report"]["key"] for r in response["results"]}
    assert len(keys) == 3


def test_company_name_without_a_model_is_no_ticker(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as info:
        offline_agent(tmp_path / "reports").invoke("analyze foobarco", request_id="req-5")
    assert info.value.code == "no_ticker"
    assert "no model is configured" in info.value.message


def test_stream_emits_stage_events_in_order_then_the_result(tmp_path: Path) -> None:
    events = list(offline_agent(tmp_path / "reports").stream("Analyze $AAPL", request_id="req-6"))
    stages = [e["stage"] for e in events if e.get("event") == "stage"]
    assert stages == [
        "understand_request",
        "data_gathering",
        "performance_analysis",
        "narrative",
        "report_generation",
        "remember",
        "respond",
    ]
    assert all(e["request_id"] == "req-6" for e in events[:-1])
    assert events[-1]["event"] == "result"
    assert events[-1]["tickers"] == ["AAPL"]


def test_s3_store_writes_the_object_at_the_reported_key(tmp_path: Path) -> None:
    """REPORT_BUCKET set: the PDF lands in S3 (moto's real S3 API on loopback)."""
    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="reports-bucket")
        ctx = AgentSettings.from_env({}, report_bucket="reports-bucket", aws_region="us-east-1")
        deps = Dependencies.from_settings(
            ctx, store=storage.build_report_store(ctx, s3_client=client)
        )
        response = StockAgent(ctx=ctx, dependencies=deps).invoke(PROMPT, request_id="req-7")
        [result] = response["results"]
        report = result["report"]
        assert report["uri"] == f"s3://reports-bucket/{report['key']}"
        head = client.head_object(Bucket="reports-bucket", Key=report["key"])
        assert head["ContentType"] == "application/pdf"
        assert head["ContentLength"] == report["bytes"]
        today = datetime.now(UTC)
        assert report["key"].startswith(f"{today:%Y/%m/%d}/SIM_STOCK_Stock_Report_")
        assert "S3" in result["sections"]["report_generation"]
