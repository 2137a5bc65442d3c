"""``logs``: retention and encryption of the CloudWatch log groups this app creates."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import require

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    """Retention of the CloudWatch log groups this app creates."""

    retention_days: int = 14
    # Encrypt the app's log groups with a customer-managed KMS key (one per stack).
    kms_encryption: bool = True

    def validate(self) -> None:
        require(
            self.retention_days in LOG_RETENTION_DAYS,
            "logs.retention_days",
            self.retention_days,
            "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )
