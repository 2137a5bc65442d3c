"""S3 report store against a real S3 HTTP API (moto's ThreadedMotoServer on 127.0.0.1).

The client is a real boto3 client with dummy credentials passed as
arguments and botocore's own retries off, so every attempt the store makes
is visible. Failures are injected with botocore's ``before-send`` event: the
handler returns an HTTP response instead of sending the request, exactly as
a throttling or failing S3 would answer.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from stock_agent.reports.storage import (
    S3ReportStore,
    StorageError,
    build_report_key,
    new_unique_suffix,
)

from tests.support.moto_s3 import moto_s3_server, s3_client

pytestmark = pytest.mark.slow

WHEN = datetime(2025, 9, 4, 23, 11, 55, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + os.urandom(4096) + b"\n%%EOF\n"
_bucket_numbers = itertools.count()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    return s3_client(s3_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"reports-{os.getpid()}-{next(_bucket_numbers)}"
    s3.create_bucket(Bucket=name)
    return name


class SleepRecorder:
    """Stands in for ``time.sleep`` so backoff is observable and the test stays fast."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def s3_error(status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{code}</Code><Message>injected {code}</Message></Error>".encode()
    return AWSResponse("http://injected", status, {"content-type": "application/xml"}, _Raw(body))


def inject(s3: Any, operation: str, responses: Callable[[int], AWSResponse | None]) -> list[int]:
    """Answer ``operation`` with ``responses(n)`` for its n-th call (None: send for real)."""
    calls: list[int] = []

    def handler(**_: Any) -> AWSResponse | None:
        calls.append(len(calls) + 1)
        return responses(len(calls))

    s3.meta.events.register(f"before-send.s3.{operation}", handler)
    return calls


def _key(symbol: str = "SIM_STOCK") -> str:
    return build_report_key(symbol=symbol, generated_at=WHEN, unique_suffix=new_unique_suffix())


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_put_stores_a_verified_pdf(s3: Any, bucket: str) -> None:
    store = S3ReportStore(bucket=bucket, client=s3)
    key = _key()
    ref = store.put(
        key=key,
        data=PDF,
        metadata={"symbol": "SIM_STOCK", "request-id": "req-1", "company": "シミュ & Co"},
    )
    assert ref.uri == f"s3://{bucket}/{key}" and ref.key == key and ref.bytes == len(PDF)
    assert key.startswith("2025/09/04/SIM_STOCK_Stock_Report_20250904_231155_")

    stored = s3.get_object(Bucket=bucket, Key=key)
    body = stored["Body"].read()
    assert body == PDF
    assert ref.sha256 == hashlib.sha256(body).hexdigest()
    assert stored["ContentType"] == "application/pdf"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert head["Metadata"]["symbol"] == "SIM_STOCK"
    assert head["Metadata"]["request-id"] == "req-1"
    assert head["Metadata"]["sha256"] == ref.sha256
    assert head["Metadata"]["company"].isascii()  # non-ASCII metadata is percent-encoded


def test_two_reports_in_the_same_second_get_different_keys(s3: Any, bucket: str) -> None:
    store = S3ReportStore(bucket=bucket, client=s3)
    first = store.put(key=_key("KO"), data=PDF, metadata={})
    second = store.put(key=_key("KO"), data=PDF + b" ", metadata={})
    assert first.key != second.key
    assert sorted(_keys(s3, bucket)) == sorted([first.key, second.key])


def test_one_transient_failure_is_retried(s3: Any, bucket: str) -> None:
    sleep = SleepRecorder()
    store = S3ReportStore(bucket=bucket, client=s3, max_attempts=3, sleep=sleep)
    puts = inject(s3, "PutObject", lambda n: s3_error(500, "InternalError") if n == 1 else None)
    ref = store.put(key=_key(), data=PDF, metadata={})
    assert len(puts) == 2 and len(sleep.delays) == 1 and 0 <= sleep.delays[0] <= 0.2
    assert s3.get_object(Bucket=bucket, Key=ref.key)["Body"].read() == PDF


def test_a_stored_object_that_does_not_match_is_rewritten(s3: Any, bucket: str) -> None:
    """HeadObject reports a different checksum once: the store uploads again, then verifies."""
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    def head(n: int) -> AWSResponse | None:
        if n > 1:
            return None
        headers = {"content-length": str(len(PDF)), "x-amz-checksum-sha256": wrong}
        return AWSResponse("http://injected", 200, headers, _Raw(b""))

    store = S3ReportStore(bucket=bucket, client=s3, sleep=SleepRecorder())
    puts = inject(s3, "PutObject", lambda n: None)
    heads = inject(s3, "HeadObject", head)
    ref = store.put(key=_key(), data=PDF, metadata={})
    assert (len(puts), len(heads)) == (2, 2)
    assert s3.get_object(Bucket=bucket, Key=ref.key)["Body"].read() == PDF


def test_a_put_answer_with_another_checksum_is_retried(s3: Any, bucket: str) -> None:
    """S3 echoes the checksum it stored; a different one means the upload is not ours."""
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    def put(n: int) -> AWSResponse | None:
        headers = {"etag": '"x"', "x-amz-checksum-sha256": wrong}
        return AWSResponse("http://injected", 200, headers, _Raw(b"")) if n == 1 else None

    store = S3ReportStore(bucket=bucket, client=s3, sleep=SleepRecorder())
    puts = inject(s3, "PutObject", put)
    ref = store.put(key=_key(), data=PDF, metadata={})
    assert len(puts) == 2
    assert s3.get_object(Bucket=bucket, Key=ref.key)["Body"].read() == PDF


def test_without_read_permission_s3s_checksum_verdict_is_used(s3: Any, bucket: str) -> None:
    """A runtime role with only s3:PutObject gets 403 on HeadObject; the upload still counts."""
    store = S3ReportStore(bucket=bucket, client=s3, sleep=SleepRecorder())
    puts = inject(s3, "PutObject", lambda n: None)
    heads = inject(s3, "HeadObject", lambda n: s3_error(403, "AccessDenied"))
    ref = store.put(key=_key(), data=PDF, metadata={})
    assert (len(puts), len(heads)) == (1, 1)
    assert ref.sha256 == hashlib.sha256(PDF).hexdigest()


def test_persistent_failure_raises_and_leaves_nothing(
    s3: Any, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    sleep = SleepRecorder()
    store = S3ReportStore(bucket=bucket, client=s3, max_attempts=3, sleep=sleep)
    puts = inject(s3, "PutObject", lambda n: s3_error(503, "SlowDown"))
    with pytest.raises(StorageError) as info:
        store.put(key=_key(), data=PDF, metadata={})
    assert info.value.code == "report_upload_failed" and info.value.retryable
    # The caller learns the S3 error code; the bucket and key are only in the log.
    assert "SlowDown" in info.value.message and bucket not in info.value.message
    assert any(bucket in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    assert len(puts) == 3 and len(sleep.delays) == 2
    assert sleep.delays[1] <= 0.4  # exponential ceiling with jitter
    assert _keys(s3, bucket) == []


def test_permanent_errors_are_not_retried(s3: Any, bucket: str) -> None:
    store = S3ReportStore(bucket=bucket, client=s3, sleep=SleepRecorder())
    puts = inject(s3, "PutObject", lambda n: s3_error(403, "AccessDenied"))
    with pytest.raises(StorageError) as info:
        store.put(key=_key(), data=PDF, metadata={})
    assert len(puts) == 1 and not info.value.retryable
    assert "AccessDenied" in info.value.message

    missing = S3ReportStore(bucket="no-such-bucket-here", client=s3_client_for(s3))
    with pytest.raises(StorageError) as info:
        missing.put(key=_key(), data=PDF, metadata={})
    assert "NoSuchBucket" in info.value.message and not info.value.retryable


def s3_client_for(s3: Any) -> Any:
    """A fresh client on the same endpoint (no injected handlers)."""
    return s3_client(s3.meta.endpoint_url)


def test_unreachable_endpoint_is_retried_then_reported() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = SleepRecorder()
    store = S3ReportStore(
        bucket="reports", client=s3_client(f"http://127.0.0.1:{port}"), max_attempts=2, sleep=sleep
    )
    with pytest.raises(StorageError) as info:
        store.put(key=_key(), data=PDF, metadata={})
    assert info.value.code == "report_upload_failed" and info.value.retryable
    assert len(sleep.delays) == 1


def test_bad_inputs_are_named(s3: Any, bucket: str) -> None:
    store = S3ReportStore(bucket=bucket, client=s3)
    with pytest.raises(ValueError, match="metadata key"):
        store.put(key=_key(), data=PDF, metadata={"Bad Key!": "x"})
    with pytest.raises(ValueError, match="not a relative"):
        store.put(key="../escape.pdf", data=PDF, metadata={})
    with pytest.raises(ValueError, match="max_attempts"):
        S3ReportStore(bucket=bucket, client=s3, max_attempts=0)
    assert _keys(s3, bucket) == []
