"""Per-request metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout.

Why EMF and not ``PutMetricData``: AgentCore Runtime ships the container's
stdout to CloudWatch Logs, which turns EMF lines into metrics with no API call
and no IAM permission (the runtime role allows ``PutMetricData`` only in the
``bedrock-agentcore`` namespace). The contract with the dashboard and the
upload alarm is written in ``docs/operations.md`` and pinned by
``stacks/metric_contract.py``: namespace ``StockAgent``, one dimension set
``[["Stage"]]``, metrics ``ReportsWritten``, ``ReportUploadFailures`` and
``ModelTokens``. Per-stage timings travel in the same record as
``StageMs<Stage>`` metrics (milliseconds).

Each record is one JSON object alone on its line, as EMF requires, so it is
written straight to the sink rather than through the JSON log formatter.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

NAMESPACE = "StockAgent"
REPORTS_WRITTEN = "ReportsWritten"
REPORT_UPLOAD_FAILURES = "ReportUploadFailures"
MODEL_TOKENS = "ModelTokens"
UPLOAD_FAILURE_CODE = "report_upload_failed"

# Stages graphed on the dashboard (the article's pipeline). Conversation stages
# (comparison_report, answer_question) stay in the response's timings only, so
# the metric contract shared with the Monitoring stack does not change.
PIPELINE_STAGES = frozenset(
    {"understand_request", "data_gathering", "performance_analysis", "narrative",
     "report_generation"}
)  # fmt: skip

_write_lock = threading.Lock()


def _stdout_sink(line: str) -> None:
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _stage_metric_name(stage: str) -> str:
    """``data_gathering`` -> ``StageMsDataGathering``."""
    return "StageMs" + "".join(part.capitalize() for part in stage.split("_"))


def emf_record(
    *,
    stage: str,
    reports_written: int,
    upload_failures: int,
    model_tokens: int,
    timings_ms: Mapping[str, float],
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One EMF record for one request (pure: tests read it back)."""
    metrics: list[dict[str, str]] = [
        {"Name": REPORTS_WRITTEN, "Unit": "Count"},
        {"Name": REPORT_UPLOAD_FAILURES, "Unit": "Count"},
        {"Name": MODEL_TOKENS, "Unit": "Count"},
    ]
    values: dict[str, float | int] = {
        REPORTS_WRITTEN: reports_written,
        REPORT_UPLOAD_FAILURES: upload_failures,
        MODEL_TOKENS: model_tokens,
    }
    for name, millis in sorted(timings_ms.items()):
        if name not in PIPELINE_STAGES:
            continue
        metric = _stage_metric_name(name)
        metrics.append({"Name": metric, "Unit": "Milliseconds"})
        values[metric] = round(float(millis), 3)
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [["Stage"]], "Metrics": metrics}
            ],
        },
        "Stage": stage,
        **values,
    }


def request_metrics(
    *,
    stage: str,
    response: Mapping[str, Any] | None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """The EMF record of a finished request: a success ``response`` or a failed one.

    Upload failures count each ticker whose report could not be stored, whether
    the request still succeeded for other tickers or failed as a whole.
    """
    if response is None:
        return emf_record(
            stage=stage,
            reports_written=0,
            upload_failures=1 if error_code == UPLOAD_FAILURE_CODE else 0,
            model_tokens=0,
            timings_ms={},
        )
    usage = response.get("metrics", {})
    failed = response.get("failed", [])
    return emf_record(
        stage=stage,
        reports_written=len(response.get("results", [])),
        upload_failures=sum(1 for f in failed if f.get("code") == UPLOAD_FAILURE_CODE),
        model_tokens=int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        timings_ms=usage.get("timings_ms", {}),
    )


def emit(record: Mapping[str, Any], *, sink: Callable[[str], None] | None = None) -> None:
    """Write one EMF record as a single line (stdout unless a ``sink`` is given)."""
    (sink or _stdout_sink)(json.dumps(record, separators=(",", ":"), default=str))
