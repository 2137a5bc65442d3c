"""The five tools against the records they answer from, and their failures against the agent's.

Every result is validated against its published output schema; the figures
are the record's, formatted once (compared with ``formatting``); each PDF is
read back with pypdf and holds every figure; a fault gives the code and
message the LangGraph agent gives for the same input or the same fault.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from jsonschema import Draft202012Validator
from stock_agent.agent import StockAgent
from stock_agent.answering.narrative import deterministic_narrative
from stock_agent.context import Dependencies
from stock_agent.contract import (
    DATA_SECTION_GROUPS,
    analysis_json,
    data_gathering_section,
    data_json,
)
from stock_agent.errors import AgentError
from stock_agent.formatting import figure_groups, figure_provenance, key_figures, provenance_rows
from stock_agent.market_data import MarketDataError
from stock_agent.mcp.schemas import output_schemas
from stock_agent.mcp.toolbox import SPECS, SPECS_BY_NAME, Toolbox, ToolOutput
from stock_agent.records import StockSnapshot, to_jsonable
from stock_agent.reports.storage import LocalReportStore, S3ReportStore, StorageError
from stock_agent.settings import AgentSettings

from eval.pdf import flat, pdf_text
from tests.support.moto_s3 import moto_s3_server, s3_client
from tests.support.records import simulated_record
from tests.support.report_text import figures_missing_from_pdf

NOW = datetime(2026, 11, 30, 14, 21, 10, tzinfo=UTC)
DAY = NOW.date()


def settings(reports: Path, **values: Any) -> AgentSettings:
    return AgentSettings.from_env({}, reports_dir=str(reports), **values)


def toolbox(reports: Path, **clients: Any) -> Toolbox:
    ctx = settings(reports)
    deps = Dependencies.from_settings(ctx, **clients)
    return Toolbox(ctx, Dependencies(**{**vars(deps), "clock": lambda: NOW}))


def record(symbol: str) -> tuple[StockSnapshot, Any]:
    """The record as the agent computes it that day (with its track record)."""
    return simulated_record(symbol, as_of=DAY, track_record=True)


def fits(name: str, output: ToolOutput) -> dict[str, Any]:
    errors = [e.message for e in Draft202012Validator(output_schemas()[name]).iter_errors(
        output.structured)]  # fmt: skip
    assert errors == [], errors
    return output.structured


def stored(uri: str) -> bytes:
    return Path(unquote(urlparse(uri).path)).read_bytes()


def test_every_spec_runs_its_own_method() -> None:
    assert [s.name for s in SPECS] == [
        "gather_stock_data", "analyze_stock_performance", "generate_stock_report",
        "compare_stocks", "get_figure",
    ]  # fmt: skip
    for spec in SPECS:
        assert spec.run is getattr(Toolbox, spec.name)
        assert SPECS_BY_NAME[spec.name] is spec


def test_gather_stock_data_is_the_snapshot_and_its_sections_figures(tmp_path: Path) -> None:
    snapshot, analysis = simulated_record("BRK.B", as_of=DAY)  # no track record in this section
    out = toolbox(tmp_path).call("gather_stock_data", {"symbol": "brk-b"})
    body = fits("gather_stock_data", out)
    expected = data_json(snapshot)
    history = expected.pop("history")
    assert body["data"] == expected
    assert body["figures"] == provenance_rows(
        figure_groups(snapshot, analysis)[:DATA_SECTION_GROUPS]
    )
    assert out.text == data_gathering_section(snapshot, analysis)
    with_history = toolbox(tmp_path).call(
        "gather_stock_data", {"symbol": "BRK.B", "include_history": True}
    )
    series = fits("gather_stock_data", with_history)["data"]["history"]
    assert series == history and len(series) == body["data"]["price_history"]["sessions"]
    assert not list(tmp_path.rglob("*.pdf"))  # reading data writes nothing


def test_analyze_stock_performance_is_the_analysis_every_figure_and_the_narrative(
    tmp_path: Path,
) -> None:
    snapshot, analysis = record("NVDA")
    out = toolbox(tmp_path).call("analyze_stock_performance", {"symbol": "nvda"})
    body = fits("analyze_stock_performance", out)
    assert body["analysis"] == analysis_json(analysis)
    assert body["track_record"] == to_jsonable(analysis.track_record)
    assert body["track_record"] is not None
    assert body["figures"] == figure_provenance(snapshot, analysis)
    narrative = deterministic_narrative(
        snapshot=snapshot, analysis=analysis, key_figures=key_figures(snapshot, analysis)
    )
    assert body["narrative"] == {"text": narrative, "source": "deterministic", "model_calls": 0}
    assert out.text.startswith("Stock: NVDA | Current Price: ")
    assert body["narrative"]["text"] in out.text
    for row in body["figures"]:
        assert row["source"] and row["as_of"], row


def test_generate_stock_report_stores_a_pdf_with_every_figure(tmp_path: Path) -> None:
    snapshot, analysis = record("SIM_STOCK")
    out = toolbox(tmp_path).call("generate_stock_report", {"symbol": "SIM_STOCK"})
    body = fits("generate_stock_report", out)
    report = body["report"]
    data = stored(report["uri"])
    assert len(data) == report["bytes"]
    assert hashlib.sha256(data).hexdigest() == report["sha256"]
    assert report["key"].startswith("2026/11/30/SIM_STOCK_Stock_Report_20261130_142110_")
    assert "url" not in report  # a local folder cannot presign
    assert (body["as_of"], body["generated_at"]) == ("2026-11-30", NOW.isoformat())
    assert figures_missing_from_pdf(pdf_text(data), snapshot, analysis) == []
    assert f"- SHA-256: {report['sha256']}" in out.text


def test_compare_stocks_writes_each_pdf_and_the_comparison(tmp_path: Path) -> None:
    out = toolbox(tmp_path).call("compare_stocks", {"symbols": ["KO", "pg", "JNJ"]})
    body = fits("compare_stocks", out)
    assert body["symbols"] == ["KO", "PG", "JNJ"]
    assert list(body["reports"]) == ["KO", "PG", "JNJ"]
    comparison = flat(pdf_text(stored(body["report"]["uri"])))
    for label, row in body["table"].items():
        for symbol, value in row.items():
            assert value in comparison, (label, symbol, value)
            assert value == dict(key_figures(*record(symbol))).get(label, value)
    for symbol, ref in body["reports"].items():
        assert symbol in flat(pdf_text(stored(ref["uri"])))
    assert len(list(tmp_path.rglob("*.pdf"))) == 4
    assert body["narrative_source"] == "deterministic"


def test_get_figure_is_one_row_of_the_record(tmp_path: Path) -> None:
    snapshot, analysis = record("KO")
    rows = {row["label"]: row for row in figure_provenance(snapshot, analysis)}
    tools = toolbox(tmp_path)
    for asked, label in (
        ("dividend", "Dividend Yield"),
        ("Sharpe Ratio (1Y)", "Sharpe Ratio (1Y)"),
    ):
        out = tools.call("get_figure", {"symbol": "KO", "figure": asked})
        body = fits("get_figure", out)
        assert body["figure"] == rows[label]
        assert body["asked"] == asked
        assert out.text.startswith(f"KO (The Coca-Cola Company) {label}: {rows[label]['value']} ")
        assert rows[label]["as_of"] in out.text


# --------------------------------------------------------------------------- failures


def agent_error(reports: Path, prompt: str, **clients: Any) -> AgentError:
    """The error the LangGraph agent gives for ``prompt`` (the HTTP contract's body)."""
    ctx = settings(reports)
    agent = StockAgent(ctx=ctx, dependencies=Dependencies.from_settings(ctx, **clients))
    with pytest.raises(AgentError) as caught:
        agent.invoke(prompt, request_id="r")
    return caught.value


def tool_error(tools: Toolbox, name: str, arguments: Any) -> AgentError:
    with pytest.raises(AgentError) as caught:
        tools.call(name, arguments)
    return caught.value


@pytest.mark.parametrize(
    ("prompt", "tool", "arguments"),
    [
        ("Analyze ZZZZ", "gather_stock_data", {"symbol": "ZZZZ"}),
        ("Analyze ZZZZ", "generate_stock_report", {"symbol": "zzzz"}),
        ("Compare ZZZZ and QQQQX", "compare_stocks", {"symbols": ["ZZZZ", "QQQQX"]}),
        ("Compare AAPL MSFT NVDA TSLA AMZN META", "compare_stocks",
         {"symbols": ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "META"]}),
    ],
)  # fmt: skip
def test_bad_tickers_get_the_agents_code_and_message(
    tmp_path: Path, prompt: str, tool: str, arguments: dict[str, Any]
) -> None:
    expected = agent_error(tmp_path / "agent", prompt)
    got = tool_error(toolbox(tmp_path / "mcp"), tool, arguments)
    assert (got.code, got.message) == (expected.code, expected.message)
    assert not list((tmp_path / "mcp").rglob("*.pdf"))


def test_one_unknown_ticker_stops_a_comparison_before_any_pdf(tmp_path: Path) -> None:
    """The agent would compare the others with a warning; a tool call is all or nothing."""
    err = tool_error(toolbox(tmp_path), "compare_stocks", {"symbols": ["AAPL", "ZZZZ", "KO"]})
    assert err.code == "unknown_ticker"
    assert err.message.startswith("ZZZZ: unknown ticker 'ZZZZ'")
    assert not list(tmp_path.rglob("*"))


class DownProvider:
    """The market-data provider timing out (retryable), as a network outage does."""

    name = "simulated"

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        raise MarketDataError(symbol, f"provider timed out for {symbol}", retryable=True)


def test_a_provider_outage_says_to_try_again_as_the_agent_does(tmp_path: Path) -> None:
    expected = agent_error(tmp_path / "agent", "Analyze AAPL", provider=DownProvider())
    tools = toolbox(tmp_path / "mcp", provider=DownProvider())
    for name, arguments in (
        ("gather_stock_data", {"symbol": "AAPL"}),
        ("get_figure", {"symbol": "AAPL", "figure": "beta"}),
        ("generate_stock_report", {"symbol": "AAPL"}),
    ):
        got = tool_error(tools, name, arguments)
        assert (got.code, got.message) == (expected.code, expected.message)
        assert got.code == "market_data_unavailable" and "try again" in got.message
    assert not list((tmp_path / "mcp").rglob("*.pdf"))


class BrokenFolder(LocalReportStore):
    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> Any:
        raise StorageError("report_write_failed", "disk full")


def test_a_store_failure_is_the_agents_error(tmp_path: Path) -> None:
    store = BrokenFolder(root=tmp_path / "r")
    expected = agent_error(tmp_path / "agent", "Analyze KO", store=store)
    got = tool_error(
        toolbox(tmp_path / "mcp", store=store), "generate_stock_report", {"symbol": "KO"}
    )
    assert (got.code, got.message) == (expected.code, expected.message)
    assert got.code == "report_write_failed"


def test_reports_in_s3_come_with_a_presigned_link(tmp_path: Path) -> None:
    with moto_s3_server() as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket="reports")
        tools = toolbox(tmp_path, store=S3ReportStore(bucket="reports", client=s3))
        body = fits("generate_stock_report", tools.call("generate_stock_report", {"symbol": "KO"}))
        report = body["report"]
        assert report["uri"] == f"s3://reports/{report['key']}"
        assert report["url"].startswith(f"{endpoint}/reports/{report['key']}?")
        assert "Signature=" in report["url"] and "Expires=" in report["url"]
        data = s3.get_object(Bucket="reports", Key=report["key"])["Body"].read()
        assert hashlib.sha256(data).hexdigest() == report["sha256"]
        compared = tools.call("compare_stocks", {"symbols": ["KO", "PG"]}).structured
        assert compared["report"]["url"].startswith(f"{endpoint}/reports/")
        assert all("url" in ref for ref in compared["reports"].values())


def test_an_unknown_tool_is_a_key_error_not_a_tool_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        toolbox(tmp_path).call("delete_everything", {})
