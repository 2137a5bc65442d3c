"""The validated configuration of one deployment stage, one module per section.

* :mod:`.errors`: :class:`ConfigError`, the one error type, and the validators;
* :mod:`.names`: the physical names stacks share (:class:`ResourceNames`);
* one module per section: :mod:`.model`, :mod:`.endpoint`, :mod:`.runtime`,
  :mod:`.storage`, :mod:`.logs`, :mod:`.tags`, :mod:`.operations`,
  :mod:`.schedule`, :mod:`.training`, :mod:`.memory`, :mod:`.evaluation`, :mod:`.mcp`;
* :mod:`.stage`: :class:`StageConfig`, the sections together and the rules
  that span them;
* :mod:`.stages`: the dev and prod defaults and :func:`load_stage`;
* :mod:`.overrides`: ``-c config.<section>.<field>=<value>`` applied to a stage.
"""

from .endpoint import GPU_INSTANCE_TYPES, INFERENCE_AMI_VERSIONS, EndpointSettings
from .errors import ConfigError
from .evaluation import EvaluationSettings
from .logs import LOG_RETENTION_DAYS, LogSettings
from .mcp import GATEWAY_AUTHS, McpSettings
from .memory import MemorySettings
from .model import ModelSettings
from .names import PROJECT, STAGES, ResourceNames
from .operations import AlarmConfig, AutoscalingConfig, OperationsConfig
from .runtime import (
    AGENTCORE_NAME_PATTERN,
    AGENTCORE_REQUEST_TIMEOUT_SECONDS,
    JwtSettings,
    RuntimeSettings,
)
from .schedule import ScheduleSettings
from .stage import StageConfig
from .stages import DEV_OPERATIONS, PROD_OPERATIONS, load_stage
from .storage import StorageSettings
from .tags import TagSettings
from .training import TrainingSettings

__all__ = [
    "AGENTCORE_NAME_PATTERN",
    "AGENTCORE_REQUEST_TIMEOUT_SECONDS",
    "DEV_OPERATIONS",
    "GATEWAY_AUTHS",
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
    "EvaluationSettings",
    "JwtSettings",
    "LogSettings",
    "McpSettings",
    "MemorySettings",
    "ModelSettings",
    "OperationsConfig",
    "ResourceNames",
    "RuntimeSettings",
    "ScheduleSettings",
    "StageConfig",
    "StorageSettings",
    "TagSettings",
    "TrainingSettings",
    "load_stage",
]
