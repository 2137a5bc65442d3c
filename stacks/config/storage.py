"""``storage``: the report bucket's lifecycle and the presigned report links."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import positive

# The agent accepts the same range (REPORT_URL_EXPIRES_SECONDS); a test keeps them equal.
MIN_LINK_SECONDS, MAX_LINK_SECONDS = 60, 3600


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """The report bucket's lifecycle and access."""

    report_retention_days: int = 30
    # None = no transition (S3 needs >= 30 days before STANDARD_IA).
    infrequent_access_after_days: int | None = None
    noncurrent_retention_days: int = 7
    access_log_retention_days: int = 30
    # How long a presigned GET link to a report works (the response's report.url, the run
    # notifications): at most one hour, so a leaked link dies soon. Links add s3:GetObject
    # on report keys to the runtime role; None: no links, and no read access.
    presigned_link_seconds: int | None = 3600

    def validate(self) -> None:
        positive("storage.report_retention_days", self.report_retention_days)
        positive("storage.noncurrent_retention_days", self.noncurrent_retention_days)
        positive("storage.access_log_retention_days", self.access_log_retention_days)
        if self.presigned_link_seconds is not None:
            positive(
                "storage.presigned_link_seconds",
                self.presigned_link_seconds,
                minimum=MIN_LINK_SECONDS,
                maximum=MAX_LINK_SECONDS,
            )
        if self.infrequent_access_after_days is not None:
            positive(
                "storage.infrequent_access_after_days",
                self.infrequent_access_after_days,
                minimum=30,
                maximum=self.report_retention_days - 1,
            )
