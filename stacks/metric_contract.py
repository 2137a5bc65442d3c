"""The metric contract between the agent and the Monitoring stack.

The agent emits CloudWatch Embedded Metric Format lines on stdout with these
names (``agent_runtime/stock_agent/observability/metrics.py``); the dashboard and alarms
read them. Part of the contract, not tuning knobs: docs/operations.md
documents the same names and tests on both sides pin them.
"""

from __future__ import annotations

AGENT_METRIC_NAMESPACE = "StockAgent"
AGENT_METRIC_DIMENSION = "Stage"
METRIC_REPORTS_WRITTEN = "ReportsWritten"
METRIC_REPORT_UPLOAD_FAILURES = "ReportUploadFailures"
METRIC_MODEL_TOKENS = "ModelTokens"
# Milliseconds per pipeline stage of one request, in the agent's stage order.
METRIC_STAGE_TIMINGS = (
    "StageMsUnderstandRequest",
    "StageMsDataGathering",
    "StageMsPerformanceAnalysis",
    "StageMsNarrative",
    "StageMsReportGeneration",
)
