"""The validated configuration of one deployment stage.

* :mod:`.settings`: the typed sections, :class:`ConfigError` and the validators;
* :mod:`.stages`: the dev and prod defaults and :func:`load_stage`;
* :mod:`.overrides`: ``-c config.<section>.<field>=<value>`` applied to a stage.
"""

from .settings import (
    AGENTCORE_NAME_PATTERN,
    AGENTCORE_REQUEST_TIMEOUT_SECONDS,
    GPU_INSTANCE_TYPES,
    INFERENCE_AMI_VERSIONS,
    LOG_RETENTION_DAYS,
    PROJECT,
    STAGES,
    AlarmConfig,
    AutoscalingConfig,
    ConfigError,
    EndpointSettings,
    JwtSettings,
    LogSettings,
    ModelSettings,
    OperationsConfig,
    RuntimeSettings,
    ScheduleSettings,
    StageConfig,
    StorageSettings,
    TagSettings,
)
from .stages import DEV_OPERATIONS, PROD_OPERATIONS, load_stage

__all__ = [
    "AGENTCORE_NAME_PATTERN",
    "AGENTCORE_REQUEST_TIMEOUT_SECONDS",
    "DEV_OPERATIONS",
    "GPU_INSTANCE_TYPES",
    "INFERENCE_AMI_VERSIONS",
    "LOG_RETENTION_DAYS",
    "PROD_OPERATIONS",
    "PROJECT",
    "STAGES",
    "AlarmConfig",
    "AutoscalingConfig",
    "ConfigError",
    "EndpointSettings",
    "JwtSettings",
    "LogSettings",
    "ModelSettings",
    "OperationsConfig",
    "RuntimeSettings",
    "ScheduleSettings",
    "StageConfig",
    "StorageSettings",
    "TagSettings",
    "load_stage",
]
