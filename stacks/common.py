"""Small translations from the stage config to CDK values, shared by the stacks."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from stacks.config import LOG_RETENTION_DAYS, StageConfig

# RetentionDays members in the order of CloudWatch's allowed values (INFINITE excluded).
_RETENTION = dict(
    zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True)
)


def log_retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for ``days`` (validated by the config)."""
    return _RETENTION[days]


def removal_policy(config: StageConfig) -> RemovalPolicy:
    """RETAIN where the stage keeps data on destroy (prod), else DESTROY (dev)."""
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
