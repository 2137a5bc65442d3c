"""Dashboard widgets of the evaluation scores (AgentCore publishes one metric per evaluator).

AgentCore Evaluations writes each score to the ``Bedrock-AgentCore/Evaluations``
namespace, metric named after the evaluator (``Builtin.Helpfulness``, or the
custom evaluator's name), with the evaluated service's ``service.name`` as a
dimension. Every value here is a literal known at synth time, so the
widgets can join any dashboard without a cross-stack reference.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw

EVALUATION_NAMESPACE = "Bedrock-AgentCore/Evaluations"
SCORE_PERIOD = Duration.hours(1)


def score_metric(*, service: str, evaluator: str) -> cw.Metric:
    """Hourly average score (0..1) of one evaluator on one runtime endpoint."""
    return cw.Metric(
        namespace=EVALUATION_NAMESPACE,
        metric_name=evaluator,
        dimensions_map={"service.name": service},
        statistic="Average",
        period=SCORE_PERIOD,
        label=evaluator.removeprefix("Builtin."),
    )


def evaluation_score_widgets(*, service: str, evaluators: list[str]) -> list[cw.IWidget]:
    """A header and one graph of every evaluator's hourly score, 0 to 1."""
    metrics: list[cw.IMetric] = [score_metric(service=service, evaluator=e) for e in evaluators]
    return [
        cw.TextWidget(
            markdown=(
                f"## Online evaluation of `{service}`\n"
                "Hourly average score (0 worst, 1 best) of the sampled live turns; "
                "an empty graph means no turn was sampled in that hour."
            ),
            width=24,
            height=2,
        ),
        cw.GraphWidget(
            title="Evaluation scores (hourly average)",
            left=metrics,
            width=16,
            height=6,
            left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
        ),
        cw.SingleValueWidget(
            title="Latest scores",
            metrics=metrics,
            width=8,
            height=6,
        ),
    ]
