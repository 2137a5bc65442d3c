"""Report storage: S3 in the cloud, a local folder on a laptop, same key layout.

Keys are ``YYYY/MM/DD/{SYMBOL}_Stock_Report_{YYYYmmdd_HHMMSS}_{suffix}.pdf``
(UTC). The date folders are what the article shows; the random suffix is
ours, so two reports of the same symbol in the same second, or a retried
request, never overwrite each other. The symbol is validated before it
becomes part of a key, so no input can steer a write elsewhere.

Both stores guarantee that a returned :class:`ReportRef` describes exactly
the bytes stored under its key (size and SHA-256): the local store writes
atomically, the S3 store sends a SHA-256 checksum that S3 verifies on
upload and then reads the stored checksum back.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ..records import ReportRef
from ..settings import AgentSettings

logger = logging.getLogger(__name__)

_SYMBOL = re.compile(r"[A-Z0-9._-]{1,20}")
_SUFFIX = re.compile(r"[a-z0-9]{6,12}")
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_METADATA_VALUE_MAX = 256

# S3 error codes and HTTP statuses worth another attempt.
_RETRYABLE_CODES = frozenset(
    {
        "BadDigest",
        "InternalError",
        "OperationAborted",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "500",
        "502",
        "503",
        "504",
    }
)


class StorageError(RuntimeError):
    """A report could not be stored. ``code`` is stable and machine-readable.

    Codes: ``report_upload_failed`` (S3), ``report_write_failed`` (local
    folder), ``report_key_conflict`` (the key already holds other bytes).
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class ReportStore(Protocol):
    """Somewhere a PDF report can be put and later fetched by its key."""

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef: ...


def new_unique_suffix() -> str:
    """Eight random lower-case hex characters for :func:`build_report_key`."""
    return secrets.token_hex(4)


def build_report_key(*, symbol: str, generated_at: datetime, unique_suffix: str) -> str:
    """``YYYY/MM/DD/{SYMBOL}_Stock_Report_{YYYYmmdd_HHMMSS}_{suffix}.pdf`` in UTC.

    Raises :class:`ValueError` naming the argument when the symbol has
    characters outside ``[A-Z0-9._-]`` (after upper-casing), the suffix is
    not 6-12 of ``[a-z0-9]``, or ``generated_at`` is naive.
    """
    clean = symbol.strip().upper() if isinstance(symbol, str) else ""
    if not _SYMBOL.fullmatch(clean) or set(clean) <= {"."}:
        raise ValueError(
            f"symbol {symbol!r} cannot be used in a report key: expected 1-20 of [A-Z0-9._-]"
        )
    if not isinstance(unique_suffix, str) or not _SUFFIX.fullmatch(unique_suffix):
        raise ValueError(f"unique_suffix {unique_suffix!r} is invalid: expected 6-12 of [a-z0-9]")
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware, got a naive datetime")
    when = generated_at.astimezone(UTC)
    return f"{when:%Y/%m/%d}/{clean}_Stock_Report_{when:%Y%m%d_%H%M%S}_{unique_suffix}.pdf"


def build_comparison_key(*, symbols: list[str], generated_at: datetime, unique_suffix: str) -> str:
    """``YYYY/MM/DD/{A}-{B}[-...]_Comparison_{YYYYmmdd_HHMMSS}_{suffix}.pdf`` in UTC.

    Each symbol is validated as in :func:`build_report_key`.
    """
    keys = [
        build_report_key(symbol=s, generated_at=generated_at, unique_suffix=unique_suffix)
        for s in symbols
    ]
    if len(keys) < 2:
        raise ValueError(f"a comparison needs at least two symbols, got {symbols!r}")
    names = [k.split("/")[-1].split("_Stock_Report_")[0] for k in keys]
    folder, _, first = keys[0].rpartition("/")
    stamp = first.split("_Stock_Report_")[1]
    return f"{folder}/{'-'.join(names)}_Comparison_{stamp}"


# What a store may hold under a report key: the PDF and its JSON run record.
CONTENT_TYPES = {".pdf": "application/pdf", ".json": "application/json"}


def run_record_key(report_key: str) -> str:
    """The run record's key: the report's key with ``.json`` instead of ``.pdf``."""
    _check_key(report_key)
    if not report_key.endswith(".pdf"):
        raise ValueError(f"report key {report_key!r} does not end with .pdf")
    return report_key.removesuffix(".pdf") + ".json"


def _content_type(key: str) -> str:
    return CONTENT_TYPES[key[key.rfind(".") :]]


def _check_key(key: str) -> None:
    """Refuse keys that could escape the store's root or are not report or run-record keys."""
    parts = key.split("/")
    if (
        not key.endswith(tuple(CONTENT_TYPES))
        or key.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or "\\" in key
        or "\x00" in key
    ):
        raise ValueError(f"report key {key!r} is not a relative YYYY/MM/DD/....pdf (or .json) key")


def _sha256(data: bytes) -> tuple[str, str]:
    """Hex digest (for people) and base64 digest (S3's ChecksumSHA256 wire form)."""
    digest = hashlib.sha256(data).digest()
    return digest.hex(), base64.b64encode(digest).decode("ascii")


class LocalReportStore:
    """Reports in a local folder, same key layout as S3, written atomically.

    The bytes go to a temporary file in the target folder, are flushed to
    disk, then renamed over the final name with :func:`os.replace`, so a
    reader never sees half a report. Writing the same bytes to a key twice is
    a no-op; different bytes raise ``report_key_conflict``. Metadata is only
    logged: a file system has no place for it.
    """

    def __init__(self, *, root: Path) -> None:
        self.root = Path(root)

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef:
        _check_key(key)
        hex_digest, _ = _sha256(data)
        target = self.root.joinpath(*key.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                if hashlib.sha256(target.read_bytes()).hexdigest() != hex_digest:
                    raise StorageError(
                        "report_key_conflict", f"{target} already holds a different report"
                    )
            else:
                fd, temp_name = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(temp_name, target)
                except BaseException:
                    Path(temp_name).unlink(missing_ok=True)
                    raise
        except OSError as exc:
            # Paths and errno text stay in the log (tagged with the request id), never
            # in the message the caller sees.
            logger.error(
                "could not write report %s under %s: %s", key, self.root, exc, exc_info=False
            )
            raise StorageError(
                "report_write_failed", "the local report folder could not be written to"
            ) from exc
        logger.info("stored report %s (%d bytes) metadata=%s", target, len(data), metadata)
        return ReportRef(uri=target.resolve().as_uri(), key=key, bytes=len(data), sha256=hex_digest)


STALE_TEMP_AGE_S = 60.0


def remove_stale_temp_files(
    root: Path, *, older_than_s: float = STALE_TEMP_AGE_S, now: float | None = None
) -> list[Path]:
    """Delete ``.*.pdf.*.tmp`` files older than ``older_than_s`` under ``root``; log them.

    :class:`LocalReportStore` writes to such a file and renames it, so one
    left behind is the remains of a process killed mid-write. A temp file
    younger than the limit may belong to a write in progress and is kept.
    """
    if not root.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than_s
    removed: list[Path] = []
    for path in root.rglob(".*.pdf.*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError as exc:
            logger.warning("could not remove stale temp file %s: %s", path, exc)
    if removed:
        logger.warning(
            "removed %d stale temporary report file(s) left by an interrupted write: %s",
            len(removed),
            ", ".join(str(p.relative_to(root)) for p in removed),
        )
    return removed


def _s3_metadata(metadata: Mapping[str, str], hex_digest: str) -> dict[str, str]:
    """User metadata S3 accepts: lower-case keys, ASCII values (others percent-encoded)."""
    clean: dict[str, str] = {}
    for key, value in metadata.items():
        name = key.strip().lower()
        if not _METADATA_KEY.fullmatch(name):
            raise ValueError(f"metadata key {key!r} is invalid: expected [a-z0-9-], 1-63 chars")
        text = str(value)
        if not text.isascii() or not text.isprintable():
            text = quote(text, safe=" -_.:/@+=,")
        clean[name] = text[:_METADATA_VALUE_MAX]
    clean["sha256"] = hex_digest
    return clean


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code or str(status or "")
    return type(exc).__name__


def _is_retryable(exc: BaseException) -> bool:
    """Transient: throttling, 5xx, checksum mismatch in transit, connection trouble."""
    try:
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        return False
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in _RETRYABLE_CODES or int(status) >= 500
    return isinstance(exc, (ConnectionError, HTTPClientError))


def _public_code(reason: str) -> str:
    """The error code at the head of ``reason`` ("SlowDown: ..." → SlowDown), or a generic word."""
    head = reason.partition(":")[0].strip()
    return head if re.fullmatch(r"[A-Za-z0-9]{1,40}", head) else "upload failed"


class _VerificationError(Exception):
    """The object under the key is not the bytes we sent (retryable)."""


class S3ReportStore:
    """Reports in an S3 bucket, uploaded with a SHA-256 checksum and verified.

    ``put`` sends ``PutObject`` with the key's ``ContentType`` (PDF or JSON),
    ``ChecksumAlgorithm=SHA256`` and ``ChecksumSHA256`` (S3 rejects a body
    that does not match, so no corrupted object is ever stored), then reads
    back ``HeadObject(ChecksumMode=ENABLED)`` and compares checksum and size
    (S3's echoed checksum must match too).
    Transient failures are retried up to ``max_attempts`` times with
    exponential backoff and full jitter; a retry writes the same bytes to the
    same unique key, so it is idempotent. When it fails for good it raises
    ``StorageError(code="report_upload_failed")``.

    Needs ``s3:PutObject`` on the bucket's objects; with ``s3:GetObject``
    too the stored object is also read back (HeadObject), without it the
    store relies on S3's server-side checksum validation. Never DeleteObject.
    """

    def __init__(
        self,
        *,
        bucket: str,
        client: Any,
        max_attempts: int = 3,
        url_expires_seconds: int | None = 3600,
        backoff_base: float = 0.2,
        backoff_cap: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not bucket:
            raise ValueError("bucket must be a non-empty S3 bucket name")
        if not 1 <= max_attempts <= 10:
            raise ValueError(f"max_attempts={max_attempts} is invalid: expected 1..10")
        self.bucket = bucket
        self.client = client
        self.max_attempts = max_attempts
        # Validated once, with the other settings (REPORT_URL_EXPIRES_SECONDS); None: no links.
        self.url_expires_seconds = url_expires_seconds
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep

    def link(self, key: str) -> str | None:
        """A presigned HTTPS GET of this one report, valid ``url_expires_seconds`` (≤ 1 h).

        The agent's only presigner: the response's ``report.url`` and the run
        notification's link are this one. Signing is local (no request); the
        runtime role's ``s3:GetObject`` on report keys is what makes the link
        work. ``None`` when links are off or it cannot be signed.
        """
        _check_key(key)
        if self.url_expires_seconds is None:  # links are off: the role cannot read reports
            return None
        try:
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.url_expires_seconds,
            )
        except Exception as exc:  # no credentials: the caller still gets the s3:// uri
            logger.warning("could not presign a report URL", extra={"error": type(exc).__name__})
            return None
        return url

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef:
        _check_key(key)
        hex_digest, b64_digest = _sha256(data)
        s3_metadata = _s3_metadata(metadata, hex_digest)
        reason = "no attempt was made"
        retryable = False
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType=_content_type(key),
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=b64_digest,
                    Metadata=s3_metadata,
                )
                echoed = response.get("ChecksumSHA256")
                if echoed != b64_digest:
                    raise _VerificationError(
                        f"PutObject answered checksum {echoed!r}, expected {b64_digest!r}"
                    )
                self._verify(key=key, size=len(data), b64_digest=b64_digest)
            except _VerificationError as exc:
                retryable, reason = True, str(exc)
            except Exception as exc:  # botocore raises many types; classified here
                retryable, reason = _is_retryable(exc), f"{_error_code(exc)}: {exc}"
            else:
                logger.info(
                    "stored report s3://%s/%s (%d bytes, attempt %d)",
                    self.bucket,
                    key,
                    len(data),
                    attempt,
                )
                return ReportRef(
                    uri=f"s3://{self.bucket}/{key}", key=key, bytes=len(data), sha256=hex_digest
                )
            logger.warning(
                "report upload s3://%s/%s attempt %d/%d failed (%s): %s",
                self.bucket,
                key,
                attempt,
                self.max_attempts,
                "retryable" if retryable else "permanent",
                reason,
            )
            if not retryable:
                break
            if attempt < self.max_attempts:
                ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
                self._sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto
        logger.error(
            "could not store report s3://%s/%s after %d attempt(s): %s",
            self.bucket,
            key,
            attempt,
            reason,
        )
        raise StorageError(
            "report_upload_failed",
            f"the report bucket did not accept the report ({_public_code(reason)})",
            retryable=retryable,
        )

    def _verify(self, *, key: str, size: int, b64_digest: str) -> None:
        """Read the stored checksum and size back (HeadObject, needs ``s3:GetObject``).

        Without that permission S3 answers 403; the upload is then trusted on
        S3's own verdict: it checked the body against ``ChecksumSHA256`` and
        echoed the same checksum, which :meth:`put` has already compared.
        """
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except Exception as exc:
            if _error_code(exc) not in ("403", "AccessDenied", "Forbidden"):
                raise
            logger.info(
                "HeadObject not permitted on s3://%s/%s; relying on the checksum S3 verified",
                self.bucket,
                key,
            )
            return
        stored = head.get("ChecksumSHA256")
        length = head.get("ContentLength")
        if stored != b64_digest or length != size:
            raise _VerificationError(
                f"stored object differs from the report (checksum {stored!r} vs {b64_digest!r}, "
                f"{length} vs {size} bytes)"
            )


def build_report_store(ctx: AgentSettings, *, s3_client: Any | None = None) -> ReportStore:
    """S3 when ``ctx.report_bucket`` is set, else the local folder ``ctx.reports_dir``.

    boto3 is imported only when S3 is used (it is slow to import); the client
    gets explicit connect/read timeouts and botocore's own retries off
    (``total_max_attempts=1``): :class:`S3ReportStore` retries the whole
    put-and-verify itself, and two nested retry loops would multiply (botocore's
    ``max_attempts=3`` means 4 tries, so 3 x 4 = 12 PutObjects for one report).
    """
    if ctx.report_bucket:
        if s3_client is None:
            import boto3
            from botocore.config import Config

            s3_client = boto3.client(
                "s3",
                region_name=ctx.aws_region,
                config=Config(
                    # presigned report links: SigV4 (X-Amz-Expires, at most 7 days by design)
                    signature_version="s3v4",
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"mode": "standard", "total_max_attempts": 1},
                ),
            )
        return S3ReportStore(
            bucket=ctx.report_bucket,
            client=s3_client,
            url_expires_seconds=ctx.report_url_expires_seconds,
        )
    return LocalReportStore(root=Path(ctx.reports_dir))
