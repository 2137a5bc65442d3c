"""``stock-agent invoke --download DIR``: save the PDFs a response points to, trusting nothing.

The response comes from a server that may be broken or hostile, so:

- a report's link (``url``, deployed: a presigned HTTPS GET) is downloaded
  within what is left of the command's ``--timeout`` and under a size cap,
  however slowly it trickles;
- a ``file://`` report is copied only when the server is on this machine (a
  loopback ``--url``), and only from a regular file under the size cap
  (never a device, a FIFO or a link), opened without blocking;
- every name is checked before anything is fetched: a report key must end
  in a plain file name (``[A-Za-z0-9._-]``, at most :data:`MAX_NAME_CHARS`,
  ending ``.pdf``), two reports may not share one, and a response whose
  results are not what a response holds is refused with what is wrong;
- each file must have the response's ``bytes`` and ``sha256`` and start like
  a PDF; it is written to a temporary ``.part-`` file that never outlives the
  command, then linked into place without replacing a different file already
  there (the same report saved again is fine).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .. import bounded_json
from .invoke_http import InvokeFailure, get_bytes

MAX_REPORT_BYTES = 50 * 1024 * 1024
MAX_NAME_CHARS = 200
_NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_NAME_CHARS - 4}}}\.pdf")
_PDF_MAGIC = b"%PDF-"


class DownloadError(OSError):
    """A report could not be fetched or saved; the message names which and why."""


def response_json(body: bytes, content_type: str) -> dict[str, Any]:
    """The response object of a JSON body or of an SSE stream's result event (``{}`` if none)."""
    text = body.decode("utf-8", errors="replace")
    if "text/event-stream" in content_type or text.lstrip().startswith("data:"):
        result: dict[str, Any] = {}
        for line in text.splitlines():
            if not line.startswith("data:"):
                continue
            try:
                event = bounded_json.loads(line[5:])
            except ValueError:  # not JSON, or nested deeper than the limit
                continue
            if isinstance(event, dict) and event.get("event") == "result":
                result = event
        return result
    try:
        value = bounded_json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def reports_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Every report of a response: per ticker, then the comparison.

    Raises :class:`DownloadError` for a response that is not shaped like one
    (``results`` not a list, a result without its ``report``).
    """
    results = response.get("results", [])
    if not isinstance(results, list):
        raise DownloadError(f"'results' is a {type(results).__name__}, not a list of results")
    reports = []
    for index, result in enumerate(results, start=1):
        report = result.get("report") if isinstance(result, dict) else None
        if not isinstance(report, dict):
            symbol = result.get("symbol") if isinstance(result, dict) else None
            raise DownloadError(f"result {index} ({str(symbol)[:20]}) has no report")
        reports.append(report)
    comparison = response.get("comparison")
    if isinstance(comparison, dict) and isinstance(comparison.get("report"), dict):
        reports.append(comparison["report"])
    return reports


def report_file_name(report: dict[str, Any]) -> str:
    """The file name of a report's key, or :class:`DownloadError` saying why it is not one."""
    key = report.get("key")
    if not isinstance(key, str):
        raise DownloadError("a report has no key")
    name = key.rsplit("/", 1)[-1]
    if not _NAME.fullmatch(name) or name.startswith("."):
        shown = name[:60].encode("unicode_escape").decode("ascii")
        raise DownloadError(
            f"'{shown}' is not a report file name (up to {MAX_NAME_CHARS} of A-Z a-z 0-9 . _ -, "
            "ending .pdf)"
        )
    return name


def read_local_report(path: str, *, max_bytes: int = MAX_REPORT_BYTES) -> bytes:
    """A local report's bytes: a regular file, not a link, at most ``max_bytes``.

    Opened without following a link and without blocking (a FIFO would wait
    for a writer forever), then checked on the open descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise DownloadError(f"cannot open it ({err.strerror or err})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DownloadError("it is not a regular file")
        if info.st_size > max_bytes:
            raise DownloadError(f"it has {info.st_size} bytes, over the {max_bytes}-byte limit")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DownloadError(f"it grew past the {max_bytes}-byte limit while read")
    return data


def fetch_report(
    report: dict[str, Any],
    *,
    deadline: float,
    allow_local_files: bool,
    max_bytes: int = MAX_REPORT_BYTES,
) -> bytes:
    """A report's bytes from its link, or from this machine's disk when that is allowed.

    ``deadline`` is a ``time.monotonic()`` value the whole download must meet.
    """
    url = report.get("url")
    uri = str(report.get("uri", ""))
    if isinstance(url, str) and url.startswith("https://"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DownloadError("no time left for the download (--timeout)")
        try:
            reply = get_bytes(url, timeout_s=remaining, max_bytes=max_bytes)
        except InvokeFailure as err:
            raise DownloadError(err.message) from None
        if reply.status != 200:
            raise DownloadError(f"the link answered HTTP {reply.status}")
        return reply.body
    if uri.startswith("file://"):
        if not allow_local_files:
            raise DownloadError(
                "a file:// report is read only from a server on this machine (a loopback --url)"
            )
        return read_local_report(unquote(urlparse(uri).path), max_bytes=max_bytes)
    raise DownloadError(
        f"no download link (an {uri.split(':', 1)[0][:10]}:// report without 'url'; the "
        "runtime needs s3:GetObject on report keys to sign one)"
    )


def verify_report(report: dict[str, Any], data: bytes) -> None:
    """``data`` is the report the response describes: its size, its SHA-256, a PDF."""
    if hashlib.sha256(data).hexdigest() != report.get("sha256") or len(data) != report.get("bytes"):
        raise DownloadError("the bytes received do not match the response's sha256")
    if not data.startswith(_PDF_MAGIC):
        raise DownloadError("the file is not a PDF")


def save_reports(
    body: bytes,
    *,
    content_type: str,
    folder: str | Path,
    deadline: float,
    allow_local_files: bool,
    max_bytes: int = MAX_REPORT_BYTES,
) -> list[str]:
    """Save each report of the response into ``folder``; the paths written.

    Every name is checked before the first download; a report that fails
    stops the command with its reason, and the reports saved before it stay
    (each complete).
    """
    reports = reports_of(response_json(body, content_type))
    names = [report_file_name(report) for report in reports]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DownloadError(f"two reports are named {repeated[0]}; neither was saved")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    saved: list[str] = []
    for report, name in zip(reports, names, strict=True):
        try:
            data = fetch_report(
                report, deadline=deadline, allow_local_files=allow_local_files, max_bytes=max_bytes
            )
            verify_report(report, data)
        except DownloadError as err:
            raise DownloadError(f"{name}: {err}") from None
        saved.append(str(_write_new(target, name, data)))
    return saved


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` atomically, never replacing a different file there."""
    final = folder / name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(tmp, final)  # fails if the name is taken: nothing is replaced
        except FileExistsError:
            if not _holds(final, data):
                raise DownloadError(
                    f"{name}: {final} already exists with other contents; not replaced"
                ) from None
        except OSError:  # a file system without hard links: create-if-absent instead
            _create_exclusive(final, name, data)
    except OSError as err:
        raise DownloadError(f"{name}: cannot write it ({err.strerror or err})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return final


def _holds(path: Path, data: bytes) -> bool:
    """``path`` is a regular file with exactly ``data`` (the same report saved before)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == len(data) and path.read_bytes() == data


def _create_exclusive(final: Path, name: str, data: bytes) -> None:
    try:
        fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if _holds(final, data):
            return
        raise DownloadError(
            f"{name}: {final} already exists with other contents; not replaced"
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
