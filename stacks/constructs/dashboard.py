"""One CloudWatch dashboard per stage: model, runtime and agent side by side.

Rows follow a request's path: the model endpoint (traffic, latency, errors),
its capacity (GPU, copies, instances, the scaling signal), the AgentCore
runtime, then the agent's own counters and the alarm states. Every metric
comes from :mod:`stacks.metrics`, the same factories the alarms
use, so a graph always shows what its alarm watches.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from stacks.metric_contract import METRIC_STAGE_TIMINGS
from stacks.metrics import AgentMetrics, ModelMetrics, RuntimeMetrics

WIDTH = 8
HEIGHT = 6


def _graph(title: str, left: list[cw.IMetric], *, unit: str | None = None) -> cw.GraphWidget:
    return cw.GraphWidget(
        title=title,
        left=left,
        width=WIDTH,
        height=HEIGHT,
        left_y_axis=cw.YAxisProps(label=unit, show_units=False, min=0) if unit else None,
    )


class OperationsDashboard(Construct):
    """The stage's dashboard; ``alarms`` are shown in an alarm-status row."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        model_metrics: ModelMetrics,
        runtime_metrics: RuntimeMetrics,
        agent_metrics: AgentMetrics,
        alarms: list[cw.Alarm],
    ) -> None:
        super().__init__(scope, construct_id)
        m, r, a = model_metrics, runtime_metrics, agent_metrics
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cw.TextWidget(
                markdown=(
                    f"## Model endpoint `{m.endpoint_name}`, component `{m.component_name}`\n"
                    "Copies and instances are derived from per-copy/per-instance samples: "
                    "an empty graph means zero (scaled to zero)."
                ),
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            _graph("Endpoint invocations", [m.invocation("Invocations")], unit="requests/min"),
            _graph(
                "Model latency",
                [m.latency_ms("p50"), m.latency_ms("p90"), m.latency_ms("p99")],
                unit="ms",
            ),
            _graph(
                "Endpoint errors",
                [
                    m.invocation("Invocation4XXErrors"),
                    m.invocation("Invocation5XXErrors"),
                    m.no_capacity_failures(),
                ],
                unit="requests/min",
            ),
        )
        self.dashboard.add_widgets(
            _graph(
                "GPU utilisation and memory",
                [
                    m.component("GPUUtilizationNormalized"),
                    m.component("GPUMemoryUtilizationNormalized"),
                ],
                unit="%",
            ),
            _graph("Copies and instances", [m.copy_count(), m.instance_count()], unit="count"),
            _graph(
                "Concurrent requests per copy (scaling signal)",
                [m.invocation("ConcurrentRequestsPerCopy", statistic="Maximum")],
                unit="requests",
            ),
        )
        self.dashboard.add_widgets(
            _graph("Runtime invocations", [r.invocations(), r.throttles()], unit="requests/min"),
            _graph("Runtime errors", [r.system_errors(), r.user_errors()], unit="errors/min"),
            _graph("Runtime latency", [r.latency("Average"), r.latency("p90")], unit="ms"),
        )
        self.dashboard.add_widgets(
            _graph(
                "Reports written",
                [a.reports_written(), a.report_upload_failures()],
                unit="reports/min",
            ),
            _graph("Model tokens used", [a.model_tokens()], unit="tokens/min"),
            cw.AlarmStatusWidget(title="Alarms", alarms=alarms, width=WIDTH, height=HEIGHT),
        )
        # Where a slow request spends its time: one line per pipeline stage.
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Agent stage timings (p90)",
                left=[a.stage_duration_p90(name) for name in METRIC_STAGE_TIMINGS],
                width=24,
                height=HEIGHT,
                left_y_axis=cw.YAxisProps(label="ms", show_units=False, min=0),
            )
        )
