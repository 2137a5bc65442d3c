"""``operations``: the Monitoring stack's sections (autoscaling, alarms, tracing).

``operations.autoscaling`` and ``operations.alarms`` nest one level deeper than
the other sections (``-c config.operations.alarms.email=ops@example.com``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import flag, invalid, number, positive

# RFC 5322 is far wider; this is the shape SNS email endpoints accept in practice.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
ALARM_PERIODS = (60, 300, 900, 3600)
# SageMaker real-time inference cuts a call off after 60 s; the call then
# counts in InvocationModelErrors and leaves no ModelLatency sample, so a
# latency threshold near 60 s could hardly ever be crossed.
SAGEMAKER_INVOCATION_TIMEOUT_SECONDS = 60
MAX_LATENCY_THRESHOLD_SECONDS = 45


@dataclass(frozen=True, kw_only=True)
class AutoscalingConfig:
    """How the inference component's copy count follows the load.

    ``scale_to_zero`` trades the first request's wait for an idle GPU's bill: when on, the
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
        """Raise :class:`ConfigError` for the first inconsistent key."""
        flag("operations.autoscaling.scale_to_zero", self.scale_to_zero)
        positive(
            "operations.autoscaling.min_copy_count", self.min_copy_count, minimum=0, maximum=100
        )
        positive("operations.autoscaling.max_copy_count", self.max_copy_count, maximum=100)
        if self.scale_to_zero and self.min_copy_count != 0:
            raise invalid(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                "0 when scale_to_zero is on",
            )
        if not self.scale_to_zero and self.min_copy_count < 1:
            raise invalid(
                "operations.autoscaling.min_copy_count",
                self.min_copy_count,
                ">= 1 when scale_to_zero is off",
            )
        if self.max_copy_count < self.min_copy_count:
            raise invalid(
                "operations.autoscaling.max_copy_count",
                self.max_copy_count,
                f">= min_copy_count ({self.min_copy_count})",
            )
        number(
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
            positive(f"operations.autoscaling.{key}", getattr(self, key), minimum=0, maximum=3600)

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
            raise invalid(
                "endpoint.min_instance_count",
                min_instance_count,
                "0 when operations.autoscaling.scale_to_zero is on "
                "(an idle instance would stay billed)",
            )
        if accelerators_per_copy < 1 or accelerators_per_instance < accelerators_per_copy:
            raise invalid(
                "endpoint.accelerators_per_copy",
                accelerators_per_copy,
                f"between 1 and the instance's {accelerators_per_instance} accelerator(s)",
            )
        per_instance = accelerators_per_instance // accelerators_per_copy
        if self.max_copy_count > max_instance_count * per_instance:
            raise invalid(
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
        """Raise :class:`ConfigError` for the first bad key."""
        if self.email is not None and not _EMAIL.match(self.email):
            raise invalid(
                "operations.alarms.email", self.email, "an e-mail address like ops@example.com"
            )
        number(
            "operations.alarms.endpoint_5xx_rate_percent", self.endpoint_5xx_rate_percent, 0, 100
        )
        number(
            "operations.alarms.model_latency_p90_seconds",
            self.model_latency_p90_seconds,
            0,
            MAX_LATENCY_THRESHOLD_SECONDS,
        )
        for key in ("model_invocation_errors", "runtime_system_errors", "report_upload_failures"):
            positive(f"operations.alarms.{key}", getattr(self, key), maximum=100_000)
        if self.period_seconds not in ALARM_PERIODS:
            raise invalid(
                "operations.alarms.period_seconds",
                self.period_seconds,
                " | ".join(str(p) for p in ALARM_PERIODS),
            )
        positive("operations.alarms.evaluation_periods", self.evaluation_periods, maximum=24)


@dataclass(frozen=True, kw_only=True)
class OperationsConfig:
    """Everything the Monitoring stack needs from a stage."""

    # Default: one warm copy and no scaling range (a stage that does not choose).
    autoscaling: AutoscalingConfig = field(
        default_factory=lambda: AutoscalingConfig(
            scale_to_zero=False, min_copy_count=1, max_copy_count=1
        )
    )
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    # Tracing of the AgentCore runtime (X-Ray through the L2's tracingEnabled).
    tracing: bool = True

    def __post_init__(self) -> None:
        # The sections validate themselves; here only that they are sections
        # (a config override could put a plain string in their place).
        if not isinstance(self.autoscaling, AutoscalingConfig):
            raise invalid("operations.autoscaling", self.autoscaling, "an AutoscalingConfig")
        if not isinstance(self.alarms, AlarmConfig):
            raise invalid("operations.alarms", self.alarms, "an AlarmConfig")
        flag("operations.tracing", self.tracing)
