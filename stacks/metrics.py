"""CloudWatch metric factories shared by the dashboard and the alarms.

Namespaces, names and dimensions are the ones AWS documents (SageMaker AI
"metrics in Amazon CloudWatch", AgentCore "runtime observability data"),
kept in one place so the alarm on a metric and its graph can never drift
apart. ``ModelLatency`` is published in microseconds; the helpers that show
it convert to milliseconds with metric math.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cloudwatch as cw

from stacks.metric_contract import (
    AGENT_METRIC_DIMENSION,
    AGENT_METRIC_NAMESPACE,
    METRIC_MODEL_TOKENS,
    METRIC_REPORT_UPLOAD_FAILURES,
    METRIC_REPORTS_WRITTEN,
)

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INFERENCE_COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"
ENDPOINT_INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
ONE_MINUTE = Duration.minutes(1)


def _metric(
    namespace: str, name: str, dimensions: dict[str, str], statistic: str, period: Duration
) -> cw.Metric:
    return cw.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
    )


class ModelMetrics:
    """Metrics of one inference component on one endpoint variant.

    Invocation metrics use the ``InferenceComponentName`` dimension (the
    endpoint-level series would mix in any other component on the endpoint);
    instance metrics only exist per ``EndpointName``/``VariantName``.
    """

    def __init__(self, *, endpoint_name: str, variant_name: str, component_name: str) -> None:
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.component_name = component_name

    def invocation(
        self, name: str, *, statistic: str = "Sum", period: Duration = ONE_MINUTE
    ) -> cw.Metric:
        """An ``AWS/SageMaker`` request metric of the component."""
        return _metric(SAGEMAKER_NAMESPACE, name, self._by_component, statistic, period)

    def component(
        self, name: str, *, statistic: str = "Average", period: Duration = ONE_MINUTE
    ) -> cw.Metric:
        """A per-copy utilisation metric (``/aws/sagemaker/InferenceComponents``)."""
        return _metric(INFERENCE_COMPONENT_NAMESPACE, name, self._by_component, statistic, period)

    def instance(
        self, name: str, *, statistic: str = "Average", period: Duration = ONE_MINUTE
    ) -> cw.Metric:
        """A per-instance metric of the endpoint variant (``/aws/sagemaker/Endpoints``)."""
        by_variant = {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}
        return _metric(ENDPOINT_INSTANCE_NAMESPACE, name, by_variant, statistic, period)

    @property
    def _by_component(self) -> dict[str, str]:
        return {"InferenceComponentName": self.component_name}

    def no_capacity_failures(self, *, period: Duration = ONE_MINUTE) -> cw.Metric:
        """Requests refused because no copy is running: the wake-up signal."""
        return self.invocation(NO_CAPACITY_METRIC, statistic="Sum", period=period)

    def latency_ms(self, statistic: str, *, period: Duration = ONE_MINUTE) -> cw.MathExpression:
        """``ModelLatency`` at ``statistic`` converted from microseconds to milliseconds."""
        # Each expression in one graph needs its own variable name.
        var = "latency_" + "".join(c for c in statistic.lower() if c.isalnum())
        return cw.MathExpression(
            expression=f"{var} / 1000",
            using_metrics={
                var: self.invocation("ModelLatency", statistic=statistic, period=period)
            },
            label=f"model latency {statistic} (ms)",
            period=period,
        )

    def error_rate_percent(self, *, period: Duration) -> cw.MathExpression:
        """5xx answers as a percentage of invocations; 0 when there was no traffic."""
        return cw.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={
                "errors": self.invocation("Invocation5XXErrors", period=period),
                "invocations": self.invocation("Invocations", period=period),
            },
            label="5xx rate (%)",
            period=period,
        )

    def copy_count(self) -> cw.Metric:
        """Running copies, derived: each copy reports its utilisation once a minute.

        SageMaker publishes no copy-count metric; the ``SampleCount`` of the
        per-copy ``CPUUtilizationNormalized`` over one minute is the number of
        copies that were running. Zero copies publish nothing (an empty graph).
        """
        return self.component("CPUUtilizationNormalized", statistic="SampleCount").with_(
            label="copies (SampleCount of per-copy CPUUtilizationNormalized)"
        )

    def instance_count(self) -> cw.Metric:
        """Running instances, derived the same way from the per-instance CPU metric."""
        return self.instance("CPUUtilizationNormalized", statistic="SampleCount").with_(
            label="instances (SampleCount of per-instance CPUUtilizationNormalized)"
        )


class RuntimeMetrics:
    """Metrics of the AgentCore runtime, built by the L2 so dimensions match AWS's.

    The L2 uses ``Name=<runtime name>::DEFAULT``; invocations through a named
    runtime endpoint are published under ``<runtime name>::<endpoint>``, so
    the endpoint the callers use is passed in and overrides that dimension.
    """

    def __init__(
        self, *, runtime: agentcore.IBedrockAgentRuntime, endpoint_name: str = "DEFAULT"
    ) -> None:
        self.runtime = runtime
        self.endpoint_name = endpoint_name

    def _dims(self) -> dict[str, str]:
        return {"Name": f"{self.runtime.agent_runtime_name}::{self.endpoint_name}"}

    def invocations(self) -> cw.Metric:
        """Requests to the runtime (every status counts)."""
        return self.runtime.metric_invocations(dimensions_map=self._dims(), period=ONE_MINUTE)

    def system_errors(self, *, period: Duration = ONE_MINUTE) -> cw.Metric:
        """Server-side failures: the agent crashed or timed out."""
        return self.runtime.metric_system_errors(dimensions_map=self._dims(), period=period)

    def user_errors(self) -> cw.Metric:
        """Client-side failures (bad request, access denied): graphed, not paged."""
        return self.runtime.metric_user_errors(dimensions_map=self._dims(), period=ONE_MINUTE)

    def throttles(self) -> cw.Metric:
        """Requests refused for quota; a capacity signal, not an agent fault."""
        return self.runtime.metric_throttles(dimensions_map=self._dims(), period=ONE_MINUTE)

    def latency(self, statistic: str) -> cw.Metric:
        """End-to-end time of one invocation (milliseconds)."""
        return self.runtime.metric_latency(
            dimensions_map=self._dims(), statistic=statistic, period=ONE_MINUTE
        )


class AgentMetrics:
    """The agent's own EMF metrics: namespace ``StockAgent``, dimension ``Stage``."""

    def __init__(self, *, stage: str) -> None:
        self.stage = stage

    def metric(
        self, name: str, *, period: Duration = ONE_MINUTE, statistic: str = "Sum"
    ) -> cw.Metric:
        """One agent metric for this stage (a ``Sum`` unless ``statistic`` says otherwise)."""
        return _metric(
            AGENT_METRIC_NAMESPACE, name, {AGENT_METRIC_DIMENSION: self.stage}, statistic, period
        )

    def reports_written(self) -> cw.Metric:
        """PDF reports stored (S3 in the cloud)."""
        return self.metric(METRIC_REPORTS_WRITTEN)

    def report_upload_failures(self, *, period: Duration = ONE_MINUTE) -> cw.Metric:
        """Reports that could not be stored after retries."""
        return self.metric(METRIC_REPORT_UPLOAD_FAILURES, period=period)

    def model_tokens(self) -> cw.Metric:
        """Prompt plus completion tokens the model reported."""
        return self.metric(METRIC_MODEL_TOKENS)

    def stage_duration_p90(self, name: str) -> cw.Metric:
        """p90 milliseconds of one pipeline stage (``StageMs…``) over 5 minutes."""
        return self.metric(name, period=Duration.minutes(5), statistic="p90")
