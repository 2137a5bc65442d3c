"""``stock-agent invoke --download DIR``: save the PDFs a response points to.

A report with ``url`` (deployed: a presigned HTTPS GET) is downloaded; a
``file://`` report (a local server) is copied. Each file is checked against
the response's ``bytes`` and ``sha256`` and written atomically under its
key's file name, so a half-downloaded report never looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

DOWNLOAD_TIMEOUT_S = 60
MAX_REPORT_BYTES = 50 * 1024 * 1024


class DownloadError(Exception):
    """A report could not be saved; the message names which and why."""


def _response_json(body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    if "text/event-stream" in content_type or text.lstrip().startswith("data:"):
        events = [
            json.loads(line[5:])
            for line in text.splitlines()
            if line.startswith("data:") and line[5:].strip().startswith("{")
        ]
        results = [e for e in events if e.get("event") == "result"]
        return results[-1] if results else {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def reports_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Every report of a response: per ticker, then the comparison."""
    reports = [r["report"] for r in response.get("results", []) if isinstance(r, dict)]
    comparison = response.get("comparison")
    if isinstance(comparison, dict) and isinstance(comparison.get("report"), dict):
        reports.append(comparison["report"])
    return [r for r in reports if isinstance(r, dict) and r.get("key")]


def _fetch(report: dict[str, Any]) -> bytes:
    url = report.get("url")
    uri = str(report.get("uri", ""))
    if isinstance(url, str) and url.startswith("https://"):
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as reply:  # noqa: S310
            data: bytes = reply.read(MAX_REPORT_BYTES + 1)
        return data
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path)).read_bytes()
    raise DownloadError(
        f"{report.get('key')}: no download link (an {uri.split(':', 1)[0]}:// report without "
        "'url'; the runtime needs s3:GetObject on report keys to sign one)"
    )


def save_reports(body: bytes, *, content_type: str, folder: str | Path) -> list[str]:
    """Save each report of the response into ``folder``; the paths written."""
    response = _response_json(body, content_type)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    saved: list[str] = []
    for report in reports_of(response):
        name = Path(str(report["key"])).name
        if not name.endswith(".pdf") or name in ("", ".", ".."):
            raise DownloadError(f"{report['key']!r} is not a report key")
        try:
            data = _fetch(report)
        except OSError as err:
            raise DownloadError(f"{name}: {err}") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != report.get("sha256") or len(data) != report.get("bytes"):
            raise DownloadError(f"{name}: the bytes received do not match the response's sha256")
        fd, tmp = tempfile.mkstemp(dir=target, prefix=".part-", suffix=".pdf")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target / name)
        saved.append(str(target / name))
    return saved
