"""Report keys and the local report store (a real folder under ``tmp_path``)."""

from __future__ import annotations

import hashlib
import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from stock_agent.reports.storage import (
    LocalReportStore,
    S3ReportStore,
    StorageError,
    build_report_key,
    build_report_store,
    new_unique_suffix,
    remove_stale_temp_files,
)
from stock_agent.settings import AgentSettings

WHEN = datetime(2025, 9, 4, 23, 11, 55, tzinfo=UTC)
KEY_SHAPE = re.compile(
    r"\d{4}/\d{2}/\d{2}/[A-Z0-9._-]+_Stock_Report_\d{8}_\d{6}_[a-z0-9]{6,12}\.pdf"
)


def test_key_layout() -> None:
    key = build_report_key(symbol="SIM_STOCK", generated_at=WHEN, unique_suffix="a1b2c3d4")
    assert key == "2025/09/04/SIM_STOCK_Stock_Report_20250904_231155_a1b2c3d4.pdf"
    assert KEY_SHAPE.fullmatch(key)
    assert build_report_key(symbol=" brk.b ", generated_at=WHEN, unique_suffix="abcdef").startswith(
        "2025/09/04/BRK.B_Stock_Report_"
    )


def test_key_uses_utc_dates() -> None:
    local = datetime(2025, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=5)))  # 31 Dec 22:00 UTC
    key = build_report_key(symbol="KO", generated_at=local, unique_suffix="abcdef")
    assert key == "2024/12/31/KO_Stock_Report_20241231_220000_abcdef.pdf"


@pytest.mark.parametrize("symbol", ["", "../etc", "A/B", "A B", "ÄPFEL", "...", "X" * 21, "A\x00"])
def test_key_rejects_unsafe_symbols(symbol: str) -> None:
    with pytest.raises(ValueError, match="cannot be used in a report key"):
        build_report_key(symbol=symbol, generated_at=WHEN, unique_suffix="abcdef")


@pytest.mark.parametrize("suffix", ["", "abc", "ABCDEF", "abc-def", "a" * 13])
def test_key_rejects_bad_suffixes(suffix: str) -> None:
    with pytest.raises(ValueError, match="unique_suffix"):
        build_report_key(symbol="KO", generated_at=WHEN, unique_suffix=suffix)


def test_key_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_report_key(symbol="KO", generated_at=datetime(2025, 9, 4), unique_suffix="abcdef")


def test_unique_suffixes() -> None:
    suffixes = {new_unique_suffix() for _ in range(200)}
    assert len(suffixes) == 200 and all(re.fullmatch(r"[a-z0-9]{8}", s) for s in suffixes)


def test_local_put_writes_the_exact_bytes(tmp_path: Path) -> None:
    store = LocalReportStore(root=tmp_path / "reports")
    key = build_report_key(symbol="SIM_STOCK", generated_at=WHEN, unique_suffix="abcdef12")
    data = b"%PDF-1.4\n" + os.urandom(2048)
    ref = store.put(key=key, data=data, metadata={"symbol": "SIM_STOCK"})

    path = tmp_path / "reports" / "2025" / "09" / "04" / key.rsplit("/", 1)[1]
    assert path.read_bytes() == data
    assert ref.key == key and ref.bytes == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.uri.startswith("file:///") and Path(unquote(urlparse(ref.uri).path)) == path
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_local_put_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    store = LocalReportStore(root=tmp_path)
    key = build_report_key(symbol="KO", generated_at=WHEN, unique_suffix="abcdef")
    first = store.put(key=key, data=b"one", metadata={})
    assert store.put(key=key, data=b"one", metadata={}) == first
    with pytest.raises(StorageError) as info:
        store.put(key=key, data=b"two", metadata={})
    assert info.value.code == "report_key_conflict"
    assert (tmp_path / key).read_bytes() == b"one"


def test_local_put_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure between writing the temporary file and renaming it leaves no file at all."""
    store = LocalReportStore(root=tmp_path)
    key = build_report_key(symbol="KO", generated_at=WHEN, unique_suffix="abcdef")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(StorageError) as info:
        store.put(key=key, data=b"%PDF", metadata={})
    assert info.value.code == "report_write_failed"
    # The errno text and the folder go to the log, not to the caller.
    assert "No space left" not in info.value.message and str(tmp_path) not in info.value.message
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_local_put_into_an_unusable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = LocalReportStore(root=blocker)
    key = build_report_key(symbol="KO", generated_at=WHEN, unique_suffix="abcdef")
    with pytest.raises(StorageError) as info:
        store.put(key=key, data=b"%PDF", metadata={})
    assert info.value.code == "report_write_failed"


@pytest.mark.parametrize("key", ["../x.pdf", "/abs/x.pdf", "a//b.pdf", "a/./b.pdf", "a/b.txt"])
def test_local_put_refuses_keys_outside_the_layout(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a relative"):
        LocalReportStore(root=tmp_path).put(key=key, data=b"x", metadata={})


def test_build_report_store(tmp_path: Path) -> None:
    local = build_report_store(AgentSettings(reports_dir=str(tmp_path)))
    assert isinstance(local, LocalReportStore) and local.root == tmp_path

    sentinel = object()
    given = build_report_store(AgentSettings(report_bucket="bkt"), s3_client=sentinel)
    assert isinstance(given, S3ReportStore) and given.client is sentinel and given.bucket == "bkt"

    # Without a client one is created (no network call happens at creation).
    made = build_report_store(AgentSettings(report_bucket="bkt", aws_region="eu-west-1"))
    assert isinstance(made, S3ReportStore)
    assert made.client.meta.region_name == "eu-west-1"
    assert made.client.meta.config.read_timeout == 30
    assert made.client.meta.config.connect_timeout == 5


@pytest.mark.parametrize(("age_s", "removed"), [(59.0, False), (61.0, True)])
def test_stale_temp_files_are_removed_after_one_minute(
    tmp_path: Path, age_s: float, removed: bool
) -> None:
    temp = tmp_path / "2026" / ".KO_Stock_Report_x.pdf.abc.tmp"
    temp.parent.mkdir()
    temp.write_bytes(b"")
    now = time.time()
    os.utime(temp, (now - age_s, now - age_s))
    assert bool(remove_stale_temp_files(tmp_path, now=now)) is removed
    assert temp.exists() is not removed


def test_only_report_temp_files_are_touched(tmp_path: Path) -> None:
    other = tmp_path / ".notes.tmp"
    other.write_text("mine")
    os.utime(other, (0, 0))
    assert remove_stale_temp_files(tmp_path) == []
    assert other.exists()
