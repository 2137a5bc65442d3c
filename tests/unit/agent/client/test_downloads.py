"""The download rules a subprocess test cannot reach: a server elsewhere, time already spent.

(The attacks over a real loopback server are in
``tests/integration/test_invoke_download_attacks.py``.)
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from stock_agent.client.downloads import (
    MAX_NAME_CHARS,
    DownloadError,
    fetch_report,
    report_file_name,
    save_reports,
)
from stock_agent.client.invoke_http import is_loopback_url

PDF = b"%PDF-1.7\nreport\n"


def _body(path: Path, data: bytes = PDF) -> bytes:
    report = {
        "uri": path.as_uri(),
        "key": f"2026/12/07/{path.name}",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return json.dumps({"results": [{"symbol": "AAPL", "report": report}]}).encode()


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.8.9.10:8080", True),
        ("http://[::1]:8080", True),
        ("http://localhost:8080", True),
        ("http://LOCALHOST.:8080", True),
        ("http://0.0.0.0:8080", False),
        ("http://10.0.0.5:8080", False),
        ("https://agent.example.com", False),
        ("http://127.0.0.1.example.com", False),
    ],
)
def test_only_this_machine_counts_as_loopback(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_a_file_report_from_a_server_elsewhere_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "AAPL_Report.pdf"
    report.write_bytes(PDF)
    with pytest.raises(DownloadError, match="read only from a server on this machine"):
        save_reports(
            _body(report),
            content_type="application/json",
            folder=tmp_path / "out",
            deadline=time.monotonic() + 10,
            allow_local_files=False,
        )
    assert not list((tmp_path / "out").glob("*"))
    saved = save_reports(
        _body(report),
        content_type="application/json",
        folder=tmp_path / "out",
        deadline=time.monotonic() + 10,
        allow_local_files=True,
    )
    assert [Path(p).read_bytes() for p in saved] == [PDF]


def test_a_link_with_no_time_left_is_not_fetched() -> None:
    report = {"url": "https://bucket.s3.amazonaws.com/k.pdf?X-Amz-Signature=x", "uri": "s3://b/k"}
    with pytest.raises(DownloadError, match="no time left"):
        fetch_report(report, deadline=time.monotonic() - 1, allow_local_files=False)


@pytest.mark.parametrize("length", [MAX_NAME_CHARS, MAX_NAME_CHARS + 1])
def test_report_names_at_the_length_limit(length: int) -> None:
    name = "A" * (length - 4) + ".pdf"
    if length <= MAX_NAME_CHARS:
        assert report_file_name({"key": f"2026/{name}"}) == name
    else:
        with pytest.raises(DownloadError, match="not a report file name"):
            report_file_name({"key": f"2026/{name}"})


def test_a_local_file_at_the_cap_is_read_one_byte_over_is_not(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(PDF)
    report = {"uri": path.as_uri()}
    assert (
        fetch_report(
            report, deadline=time.monotonic() + 5, allow_local_files=True, max_bytes=len(PDF)
        )
        == PDF
    )
    with pytest.raises(DownloadError, match=f"over the {len(PDF) - 1}-byte limit"):
        fetch_report(
            report, deadline=time.monotonic() + 5, allow_local_files=True, max_bytes=len(PDF) - 1
        )
