"""One construct per IAM role: the folder a security reviewer reads.

Every role of the app and every statement it gets is here, as inline policies
with stable names; the IAM stack composes them, and the other stacks receive
the roles as objects they cannot add statements to.
"""

from .evaluation_execution_role import EVALUATION_METRICS_NAMESPACE, EvaluationExecutionRole
from .mcp_gateway_role import McpGatewayRole
from .mcp_runtime_role import McpRuntimeRole
from .policy import WILDCARD_RESOURCE_ACTIONS
from .runtime_baseline import RUNTIME_METRICS_NAMESPACE
from .runtime_execution_role import (
    SAGEMAKER_INVOKE_ACTIONS,
    SESSION_MEMORY_ACTIONS,
    USER_MEMORY_ACTIONS,
    RuntimeExecutionRole,
)
from .sagemaker_execution_role import SageMakerExecutionRole
from .training_job_role import TrainingJobRole
from .watchlist_schedule_role import WatchlistScheduleRole

__all__ = [
    "EVALUATION_METRICS_NAMESPACE",
    "RUNTIME_METRICS_NAMESPACE",
    "SAGEMAKER_INVOKE_ACTIONS",
    "SESSION_MEMORY_ACTIONS",
    "USER_MEMORY_ACTIONS",
    "WILDCARD_RESOURCE_ACTIONS",
    "EvaluationExecutionRole",
    "McpGatewayRole",
    "McpRuntimeRole",
    "RuntimeExecutionRole",
    "SageMakerExecutionRole",
    "TrainingJobRole",
    "WatchlistScheduleRole",
]
