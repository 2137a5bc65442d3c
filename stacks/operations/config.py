"""Typed settings of the operations layer: autoscaling, alarms, dashboard.

One frozen dataclass per concern so a stage config can hold them as values
and a test can build a variant with :func:`dataclasses.replace`. Every
constructor validates itself and raises :class:`OperationsConfigError` naming
the key, the value and what is allowed, so a bad stage fails ``cdk synth``
with a readable message instead of a CloudFormation rollback an hour later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The metric contract between the agent (emits CloudWatch Embedded Metric
# Format lines on stdout) and the dashboard/alarms (read them). Part of the
# contract, not tuning knobs: docs/operations.md documents the same names.
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

# RFC 5322 is far wider; this is the shape SNS email endpoints accept in practice.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_ALARM_PERIODS = (60, 300, 900, 3600)
# SageMaker real-time inference cuts a call off after 60 s; the call then
# counts in InvocationModelErrors and leaves no ModelLatency sample, so a
# latency threshold near 60 s could hardly ever be crossed.
SAGEMAKER_INVOCATION_TIMEOUT_SECONDS = 60
MAX_LATENCY_THRESHOLD_SECONDS = 45


class OperationsConfigError(ValueError):
    """An operations setting has a value the stacks cannot deploy; the message names it."""


def _bad(key: str, value: object, allowed: str) -> OperationsConfigError:
    return OperationsConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def _check_int(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(key, value, f"an integer in [{low}, {high}]")


def _check_number(key: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise _bad(key, value, f"a number in ({low:g}, {high:g}]")


@dataclass(frozen=True, kw_only=True)
class AutoscalingConfig:
    """How the inference component's copy count follows the load.

    ``scale_to_zero`` is the stage option the issue asks for: when on, the
    copy count may reach 0 and a step policy driven by
    ``NoCapacityInvocationFailures`` brings one copy back on the first
    request; the endpoint's managed instance scaling (minimum 0, checked by
    :meth:`check_endpoint`) then releases the idle GPU instance. When off, at
    least one copy stays warm so no request ever waits for a cold start.

    Instance counts are not repeated here: the endpoint settings of the
    stage own them (managed instance scaling min/max) and
    :meth:`check_endpoint` keeps the two consistent.
    """

    scale_to_zero: bool
    min_copy_count: int
    max_copy_count: int
    # Target tracking on SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution.
    target_concurrent_requests_per_copy: float = 5.0
    scale_out_cooldown_seconds: int = 120
    scale_in_cooldown_seconds: int = 900
    # Cooldown of the wake-up step policy: one copy per cold start is enough;
    # target tracking adds more once the copy serves traffic.
    wake_up_cooldown_seconds: int = 300

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`OperationsConfigError` for the first inconsistent key."""
        if not isinstance(self.scale_to_zero, bool):
            raise _bad("operations.autoscaling.scale_to_zero", self.scale_to_zero, "true | false")
        _check_int("operations.autoscaling.min_copy_count", self.min_copy_count, 0, 100)
        _check_int("operations.autoscaling.max_copy_count", self.max_copy_count, 1, 100)
        if self.scale_to_zero and self.min_copy_count != 0:
            raise _bad(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                "0 when scale_to_zero is on",
            )
        if not self.scale_to_zero and self.min_copy_count < 1:
            raise _bad(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                ">= 1 when scale_to_zero is off",
            )
        if self.max_copy_count < self.min_copy_count:
            raise _bad(
                "operations.autoscaling.max_copy_count",
                self.max_copy_count,
                f">= min_copy_count ({self.min_copy_count})",
            )
        _check_number(
            "operations.autoscaling.target_concurrent_requests_per_copy",
            self.target_concurrent_requests_per_copy,
            0,
            1000,
        )
        for key in (
            "scale_out_cooldown_seconds",
            "scale_in_cooldown_seconds",
            "wake_up_cooldown_seconds",
        ):
            _check_int(f"operations.autoscaling.{key}", getattr(self, key), 0, 3600)

    def check_endpoint(
        self,
        *,
        min_instance_count: int,
        max_instance_count: int,
        accelerators_per_instance: int,
        accelerators_per_copy: int,
    ) -> None:
        """Fail when the endpoint's instance scaling contradicts the copy scaling.

        Scale-to-zero needs managed instance scaling down to 0, or the idle
        GPU instance stays billed and the option saves nothing. And
        ``max_copy_count`` copies must fit on ``max_instance_count``
        instances: SageMaker would accept the target and leave the extra
        copies pending forever.
        """
        if self.scale_to_zero and min_instance_count != 0:
            raise _bad(
                "endpoint.min_instance_count",
                min_instance_count,
                "0 when operations.autoscaling.scale_to_zero is on "
                "(an idle instance would stay billed)",
            )
        if accelerators_per_copy < 1 or accelerators_per_instance < accelerators_per_copy:
            raise _bad(
                "endpoint.accelerators_per_copy",
                accelerators_per_copy,
                f"between 1 and the instance's {accelerators_per_instance} accelerator(s)",
            )
        per_instance = accelerators_per_instance // accelerators_per_copy
        if self.max_copy_count > max_instance_count * per_instance:
            raise _bad(
                "operations.autoscaling.max_copy_count",
                self.max_copy_count,
                f"<= {max_instance_count * per_instance} (max_instance_count "
                f"{max_instance_count} x {per_instance} copies per instance)",
            )


@dataclass(frozen=True, kw_only=True)
class AlarmConfig:
    """Thresholds of the paging alarms and where they are sent.

    ``email`` is optional: without it the SNS topic still exists (so other
    subscribers such as chat webhooks can be attached by hand) but nobody
    receives mail. The subscription must be confirmed from the inbox.
    """

    email: str | None = None
    endpoint_5xx_rate_percent: float = 5.0
    model_latency_p90_seconds: float = 30.0
    # Calls that got no valid answer, timeouts at 60 s included.
    model_invocation_errors: int = 1
    runtime_system_errors: int = 1
    report_upload_failures: int = 1
    period_seconds: int = 300
    evaluation_periods: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`OperationsConfigError` for the first bad key."""
        if self.email is not None and not _EMAIL.match(self.email):
            raise _bad(
                "operations.alarms.email", self.email, "an e-mail address like ops@example.com"
            )
        _check_number(
            "operations.alarms.endpoint_5xx_rate_percent", self.endpoint_5xx_rate_percent, 0, 100
        )
        _check_number(
            "operations.alarms.model_latency_p90_seconds",
            self.model_latency_p90_seconds,
            0,
            MAX_LATENCY_THRESHOLD_SECONDS,
        )
        _check_int(
            "operations.alarms.model_invocation_errors", self.model_invocation_errors, 1, 100_000
        )
        _check_int(
            "operations.alarms.runtime_system_errors", self.runtime_system_errors, 1, 100_000
        )
        _check_int(
            "operations.alarms.report_upload_failures", self.report_upload_failures, 1, 100_000
        )
        if self.period_seconds not in _ALARM_PERIODS:
            raise _bad(
                "operations.alarms.period_seconds",
                self.period_seconds,
                " | ".join(str(p) for p in _ALARM_PERIODS),
            )
        _check_int("operations.alarms.evaluation_periods", self.evaluation_periods, 1, 24)


@dataclass(frozen=True, kw_only=True)
class OperationsConfig:
    """Everything the Monitoring stack needs from a stage."""

    autoscaling: AutoscalingConfig
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    # Tracing of the AgentCore runtime (X-Ray through the L2's tracingEnabled).
    tracing: bool = True

    def __post_init__(self) -> None:
        # The sections validate themselves; here only that they are sections
        # (a config override could put a plain string in their place).
        if not isinstance(self.autoscaling, AutoscalingConfig):
            raise _bad("operations.autoscaling", self.autoscaling, "an AutoscalingConfig")
        if not isinstance(self.alarms, AlarmConfig):
            raise _bad("operations.alarms", self.alarms, "an AlarmConfig")
        if not isinstance(self.tracing, bool):
            raise _bad("operations.tracing", self.tracing, "true | false")


# One warm copy, no autoscaling range: the default of a stage that does not choose.
STEADY_OPERATIONS = OperationsConfig(
    autoscaling=AutoscalingConfig(scale_to_zero=False, min_copy_count=1, max_copy_count=1)
)


DEV_OPERATIONS = OperationsConfig(
    autoscaling=AutoscalingConfig(
        scale_to_zero=True,
        min_copy_count=0,
        max_copy_count=1,
        # Idle for 15 minutes -> release the GPU; developers pay one cold start.
        scale_in_cooldown_seconds=900,
    ),
    alarms=AlarmConfig(model_latency_p90_seconds=30.0),
)

PROD_OPERATIONS = OperationsConfig(
    autoscaling=AutoscalingConfig(
        scale_to_zero=False,
        min_copy_count=1,
        max_copy_count=2,
        scale_in_cooldown_seconds=1800,
    ),
    alarms=AlarmConfig(endpoint_5xx_rate_percent=2.0, model_latency_p90_seconds=30.0),
)
