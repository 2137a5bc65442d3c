"""``storage``: the report bucket's lifecycle and the presigned report links."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import positive


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """The report bucket's lifecycle and access."""

    report_retention_days: int = 30
    # None = no transition (S3 needs >= 30 days before STANDARD_IA).
    infrequent_access_after_days: int | None = None
    noncurrent_retention_days: int = 7
    access_log_retention_days: int = 30
    # Offer presigned GET links to reports (the response's report.url and the run
    # notifications): adds s3:GetObject on report keys to the runtime role.
    presigned_links: bool = True
    # How long a presigned link works: at most one hour, so a leaked link dies soon.
    presigned_link_seconds: int = 3600

    def validate(self) -> None:
        positive("storage.report_retention_days", self.report_retention_days)
        positive("storage.noncurrent_retention_days", self.noncurrent_retention_days)
        positive("storage.access_log_retention_days", self.access_log_retention_days)
        positive(
            "storage.presigned_link_seconds",
            self.presigned_link_seconds,
            minimum=60,
            maximum=3600,
        )
        if self.infrequent_access_after_days is not None:
            positive(
                "storage.infrequent_access_after_days",
                self.infrequent_access_after_days,
                minimum=30,
                maximum=self.report_retention_days - 1,
            )
