"""Operations layer (issue 7): autoscaling to zero, alarms, dashboard, cost model.

Constructs take plain names and metric factories so they can be wired to
the Model and Runtime stacks' objects by :mod:`stacks.monitoring_stack`, or
to a throw-away endpoint in a unit test.
"""

from .alarms import AlarmTopic, OperationsAlarms
from .autoscaling import InferenceComponentAutoscaling
from .config import (
    DEV_OPERATIONS,
    PROD_OPERATIONS,
    STEADY_OPERATIONS,
    AlarmConfig,
    AutoscalingConfig,
    OperationsConfig,
    OperationsConfigError,
)
from .dashboard import OperationsDashboard
from .metrics import AgentMetrics, ModelMetrics, RuntimeMetrics
from .tracing import allow_trace_delivery

__all__ = [
    "DEV_OPERATIONS",
    "PROD_OPERATIONS",
    "STEADY_OPERATIONS",
    "AgentMetrics",
    "AlarmConfig",
    "AlarmTopic",
    "AutoscalingConfig",
    "InferenceComponentAutoscaling",
    "ModelMetrics",
    "OperationsAlarms",
    "OperationsConfig",
    "OperationsConfigError",
    "OperationsDashboard",
    "RuntimeMetrics",
    "allow_trace_delivery",
]
