"""Dashboard rows that put the runtime's endpoints side by side (live, then the canary).

With a canary endpoint the question on the dashboard is "is the canary as good
as live?": each row shows one measure once per endpoint, left to right, on the
same axis, so the two read against each other at a glance. The evaluation
scores come from AgentCore Evaluations (one configuration per endpoint, the
same evaluators); latency and errors from AgentCore Runtime's own metrics,
published per endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudwatch as cw

from stacks.constructs.evaluation_widgets import score_metric
from stacks.metrics import RuntimeMetrics

ROW_WIDTH = 24
HEIGHT = 6


def _width(endpoints: Mapping[str, object]) -> int:
    if not endpoints:
        raise ValueError("no endpoint to show")
    return ROW_WIDTH // len(endpoints)


def score_comparison_widgets(
    *, services: Mapping[str, str], evaluators: list[str]
) -> list[cw.IWidget]:
    """A header, each endpoint's hourly scores side by side, then their latest values.

    ``services`` maps the endpoint's name to its spans' ``service.name``.
    """
    width = _width(services)
    names = " and ".join(f"`{service}`" for service in services.values())
    graphs: list[cw.IWidget] = []
    latest: list[cw.IWidget] = []
    for endpoint, service in services.items():
        metrics: list[cw.IMetric] = [score_metric(service=service, evaluator=e) for e in evaluators]
        graphs.append(
            cw.GraphWidget(
                title=f"{endpoint}: evaluation scores (hourly average)",
                left=metrics,
                width=width,
                height=HEIGHT,
                left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
            )
        )
        latest.append(
            cw.SingleValueWidget(
                title=f"{endpoint}: latest scores", metrics=metrics, width=width, height=HEIGHT
            )
        )
    header = cw.TextWidget(
        markdown=(
            f"## Online evaluation of {names}, side by side\n"
            "The same evaluators on both endpoints' sampled turns; hourly average score "
            "(0 worst, 1 best). An empty graph means no turn was sampled in that hour. "
            "The promotion gate itself is offline: `stock-agent eval --baseline qualifier:… "
            "--candidate qualifier:…`."
        ),
        width=ROW_WIDTH,
        height=2,
    )
    return [header, *graphs, *latest]


def runtime_comparison_widgets(endpoints: Mapping[str, RuntimeMetrics]) -> list[cw.IWidget]:
    """Each endpoint's invocations, errors and latency, one row per measure."""
    width = _width(endpoints)
    widgets: list[cw.IWidget] = [
        cw.TextWidget(
            markdown="## Runtime endpoints side by side: " + ", ".join(f"`{e}`" for e in endpoints),
            width=ROW_WIDTH,
            height=1,
        )
    ]
    rows = (
        ("invocations and throttles", "requests/min", lambda r: [r.invocations(), r.throttles()]),
        ("errors", "errors/min", lambda r: [r.system_errors(), r.user_errors()]),
        ("latency", "ms", lambda r: [r.latency("Average"), r.latency("p90")]),
    )
    for title, unit, metrics in rows:
        for endpoint, runtime in endpoints.items():
            widgets.append(
                cw.GraphWidget(
                    title=f"{endpoint}: {title}",
                    left=metrics(runtime),
                    width=width,
                    height=HEIGHT,
                    left_y_axis=cw.YAxisProps(label=unit, show_units=False, min=0),
                )
            )
    return widgets
