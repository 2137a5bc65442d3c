"""The agent's EMF metric lines: what the dashboard and the upload alarm read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stock_agent.agent import Dependencies, StockAgent
from stock_agent.errors import AgentError
from stock_agent.observability import metrics
from stock_agent.records import ReportRef
from stock_agent.reports.storage import StorageError
from stock_agent.settings import AgentSettings

from stacks import metric_contract as ops_config

PROMPT = "Analyze SIM_STOCK and AAPL"


class _FailingStore:
    """A report store whose every upload fails for good, as S3 does when access is denied."""

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef:
        raise StorageError("report_upload_failed", f"could not store {key}", retryable=False)


def _run(tmp_path: Path, **deps: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    ctx = AgentSettings(reports_dir=str(tmp_path), stage="dev")
    lines: list[str] = []
    agent = StockAgent(
        ctx=ctx, dependencies=Dependencies.from_settings(ctx, **deps), metrics_sink=lines.append
    )
    try:
        response: dict[str, Any] | None = agent.invoke(PROMPT, request_id="req-metrics")
    except AgentError:
        response = None
    return [json.loads(line) for line in lines], response


def test_one_emf_record_per_request_matches_the_dashboard_contract(tmp_path: Path) -> None:
    records, response = _run(tmp_path)
    assert response is not None and len(records) == 1
    record = records[0]
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == ops_config.AGENT_METRIC_NAMESPACE
    assert directive["Dimensions"] == [[ops_config.AGENT_METRIC_DIMENSION]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert {
        ops_config.METRIC_REPORTS_WRITTEN,
        ops_config.METRIC_REPORT_UPLOAD_FAILURES,
        ops_config.METRIC_MODEL_TOKENS,
    } <= names
    assert record["Stage"] == "dev"
    assert record[ops_config.METRIC_REPORTS_WRITTEN] == len(response["results"]) == 2
    assert record[ops_config.METRIC_REPORT_UPLOAD_FAILURES] == 0
    assert record[ops_config.METRIC_MODEL_TOKENS] == 0  # offline: no model tokens
    # every metric named in the directive has a numeric value in the record
    for name in names:
        assert isinstance(record[name], int | float), name
    # the per-stage timings of the response travel as StageMs* metrics
    for stage, millis in response["metrics"]["timings_ms"].items():
        if stage not in metrics.PIPELINE_STAGES:  # conversation stages: response only
            assert metrics._stage_metric_name(stage) not in record
            continue
        assert record[metrics._stage_metric_name(stage)] == pytest.approx(millis, abs=0.001)
    # ... under exactly the names the dashboard graphs, one per pipeline stage
    stage_names = sorted(n for n in names if n.startswith("StageMs"))
    assert stage_names == sorted(ops_config.METRIC_STAGE_TIMINGS)


def test_failed_uploads_are_counted_when_the_request_fails(tmp_path: Path) -> None:
    records, response = _run(tmp_path, store=_FailingStore())
    assert response is None
    assert len(records) == 1
    assert records[0][metrics.REPORT_UPLOAD_FAILURES] == 1
    assert records[0][metrics.REPORTS_WRITTEN] == 0


def test_model_tokens_add_prompt_and_completion_tokens() -> None:
    record = metrics.request_metrics(
        stage="prod",
        response={
            "results": [{}],
            "failed": [{"code": "report_upload_failed"}, {"code": "unknown_ticker"}],
            "metrics": {"prompt_tokens": 900, "completion_tokens": 250, "timings_ms": {}},
        },
    )
    assert record[metrics.MODEL_TOKENS] == 1150
    assert record[metrics.REPORT_UPLOAD_FAILURES] == 1
    assert record[metrics.REPORTS_WRITTEN] == 1


def test_local_stage_writes_no_metric_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = StockAgent(ctx=AgentSettings(reports_dir=str(tmp_path)))
    agent.invoke("Analyze SIM_STOCK", request_id="req-local")
    assert "_aws" not in capsys.readouterr().out


def test_bad_stage_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="STAGE='Prod!' is invalid"):
        AgentSettings(stage="Prod!")
