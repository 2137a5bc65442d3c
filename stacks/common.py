"""Small translations from the stage config to CDK values, shared by the stacks."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from stacks.config import LOG_RETENTION_DAYS

# RetentionDays members in the order of CloudWatch's allowed values (INFINITE excluded).
_RETENTION = dict(
    zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True)
)


def log_retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for ``days`` (validated by the config)."""
    return _RETENTION[days]
