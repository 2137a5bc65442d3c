"""The stage defaults (dev, prod) and :func:`load_stage`, the one way to get a stage's config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .endpoint import EndpointSettings
from .errors import ConfigError
from .evaluation import EvaluationSettings
from .logs import LogSettings
from .mcp import McpSettings
from .memory import MemorySettings
from .names import STAGES
from .operations import AlarmConfig, AutoscalingConfig, OperationsConfig
from .overrides import apply_overrides
from .runtime import RuntimeSettings
from .stage import StageConfig
from .storage import StorageSettings

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


# -- stage defaults --------------------------------------------------------------------
def _dev() -> StageConfig:
    return StageConfig(
        stage="dev",
        retain_data=False,
        # min 0: scale-to-zero releases the GPU instance when no copy runs;
        # max 2: one copy plus the one a rolling update starts beside it.
        endpoint=EndpointSettings(min_instance_count=0, max_instance_count=2),
        runtime=RuntimeSettings(log_level="DEBUG"),
        storage=StorageSettings(
            report_retention_days=30, noncurrent_retention_days=7, access_log_retention_days=30
        ),
        logs=LogSettings(retention_days=14),
        operations=DEV_OPERATIONS,
        memory=MemorySettings(event_expiry_days=7),
        # Many samples: changes land here first and need signal quickly.
        evaluation=EvaluationSettings(sampling_percentage=50.0),
        # Off: its Cognito app client costs money while nothing calls it (docs/mcp.md).
        mcp=McpSettings(enabled=False),
    )


def _prod() -> StageConfig:
    return StageConfig(
        stage="prod",
        retain_data=True,
        # max 3: two copies at peak plus the one a rolling update starts beside them.
        endpoint=EndpointSettings(min_instance_count=1, max_instance_count=3),
        runtime=RuntimeSettings(log_level="INFO"),
        storage=StorageSettings(
            report_retention_days=365,
            infrequent_access_after_days=30,
            noncurrent_retention_days=90,
            access_log_retention_days=365,
        ),
        logs=LogSettings(retention_days=90),
        operations=PROD_OPERATIONS,
        memory=MemorySettings(event_expiry_days=30),
        # Few samples: every evaluated trace costs judge-model tokens.
        evaluation=EvaluationSettings(sampling_percentage=5.0),
        mcp=McpSettings(enabled=True),
    )


STAGE_DEFAULTS = {"dev": _dev, "prod": _prod}


def load_stage(stage: str, overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Return the validated config of ``stage``, with ``overrides`` applied.

    ``overrides`` maps dotted keys (``"endpoint.copy_count"``,
    ``"model.weights_s3_uri"``, ``"runtime.jwt"``) to values; strings are
    converted to the field's type (so values from ``-c key=value`` work).
    Raises :class:`ConfigError` naming the key for an unknown stage, an
    unknown key, or an invalid value.
    """
    if stage not in STAGE_DEFAULTS:
        raise ConfigError(f"stage={stage!r} is invalid: expected {' | '.join(STAGES)}")
    config = STAGE_DEFAULTS[stage]()
    if not overrides:
        return config
    # All overrides are applied together, so keys that must change as a pair
    # (scale_to_zero with min_copy_count and min_instance_count) can.
    return apply_overrides(config, overrides)
