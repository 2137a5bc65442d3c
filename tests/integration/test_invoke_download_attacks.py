"""``stock-agent invoke --download`` against a server that points at the wrong things.

The console script runs in a subprocess; the server is
:class:`tests.support.hostile_http.HostileServer` on loopback. It answers
with reports whose links are this machine's secrets, devices, FIFOs, links
and oversized files, a presigned HTTPS link that trickles, names with NUL
bytes or 300 characters, answers without reports or with ``results: 5``,
broken SSE lines, two reports of one name, JSON nested 100,000 deep, and
checks what ``--user-id`` does with CR/LF. Each must end in one clear message
(never "unexpected error"), in bounded time, with no ``.part-`` file left and
nothing overwritten or copied that is not the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import STOCK_AGENT
from tests.support.hostile_http import (
    Behaviour,
    HostileServer,
    http_response,
    self_signed_tls,
    send_and_close,
    trickle,
)

pytestmark = pytest.mark.slow

SLACK_S = 8.0  # interpreter start-up on a loaded 2-core machine
PDF = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"


def _report(path_or_url: str, data: bytes, *, key: str = "2026/12/07/AAPL_Report.pdf") -> dict:
    report: dict[str, Any] = {
        "key": key,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if path_or_url.startswith("https://"):
        report.update(uri=f"s3://bucket/{key}", url=path_or_url)
    else:
        report["uri"] = Path(path_or_url).as_uri()
    return report


def _answer(*reports: dict, **extra: Any) -> dict:
    results = [{"symbol": f"T{i}", "report": r} for i, r in enumerate(reports)]
    return {"tickers": ["AAPL"], "results": results, "text": "ok\n", **extra}


def _invoke(
    behaviour: Behaviour, folder: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float, HostileServer]:
    with HostileServer.start(behaviour) as server:
        started = time.monotonic()
        done = subprocess.run(
            [str(STOCK_AGENT), "invoke", "Analyze AAPL", "--url", server.url, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **(env or {})},
            cwd=folder,
        )
        return done, time.monotonic() - started, server


def _download(
    answer: Any, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "pdfs"
    body = answer if isinstance(answer, (bytes, str)) else json.dumps(answer)
    done, _, _ = _invoke(
        send_and_close(http_response(200, body)), tmp_path, "--download", str(out), *extra
    )
    return done, out


def _clean(done: subprocess.CompletedProcess[str], out: Path, why: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout[-500:], done.stderr)
    assert why in done.stderr, done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [name for name in left if name.startswith(".part-")], left


# ---------------------------------------------------------------------------
# file:// only for a real report: a regular PDF file under the cap
# ---------------------------------------------------------------------------


def test_a_secret_file_is_not_copied_even_with_the_right_checksum(tmp_path: Path) -> None:
    secret = Path("/etc/passwd")
    done, out = _download(_answer(_report(str(secret), secret.read_bytes())), tmp_path)
    _clean(done, out, "the file is not a PDF")
    assert not list(out.glob("*"))


@pytest.mark.parametrize("kind", ["device", "fifo", "link"])
def test_devices_fifos_and_links_are_refused_at_once(tmp_path: Path, kind: str) -> None:
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "report.pdf"
        os.mkfifo(path)
    else:
        real = tmp_path / "real.pdf"
        real.write_bytes(PDF)
        path = tmp_path / "link.pdf"
        path.symlink_to(real)
    started = time.monotonic()
    done, out = _download(_answer(_report(str(path), PDF)), tmp_path)
    _clean(done, out, "AAPL_Report.pdf:")
    assert ("not a regular file" in done.stderr) or ("cannot open it" in done.stderr)
    assert time.monotonic() - started < 30 + SLACK_S


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:
        handle.write(PDF)
        handle.truncate(60 * 1024 * 1024)  # sparse: 60 MB on paper, nothing on disk
    done, out = _download(_answer(_report(str(huge), PDF)), tmp_path)
    _clean(done, out, "over the 52428800-byte limit")


def test_a_real_local_report_is_copied(tmp_path: Path) -> None:
    real = tmp_path / "server" / "AAPL_Report.pdf"
    real.parent.mkdir()
    real.write_bytes(PDF)
    done, out = _download(_answer(_report(str(real), PDF)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "AAPL_Report.pdf").read_bytes() == PDF
    assert sorted(p.name for p in out.iterdir()) == ["AAPL_Report.pdf"]


# ---------------------------------------------------------------------------
# a presigned link that trickles is bounded by --timeout
# ---------------------------------------------------------------------------


def _through_a_presigned_link(
    tmp_path: Path, link_behaviour: Behaviour, *extra: str
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    """``invoke --download`` of an answer whose report link is ``link_behaviour`` over TLS."""
    tls, cert = self_signed_tls(tmp_path)
    out = tmp_path / "pdfs"
    with HostileServer.start(link_behaviour, tls=tls) as link:
        answer = _answer(_report(f"{link.url}/AAPL_Report.pdf?X-Amz-Signature=abc", PDF))
        done, elapsed, _ = _invoke(
            send_and_close(http_response(200, answer)),
            tmp_path,
            "--download",
            str(out),
            *extra,
            env={"SSL_CERT_FILE": str(cert)},
        )
    return done, elapsed, out


def test_a_trickling_presigned_download_ends_at_the_timeout(tmp_path: Path) -> None:
    slow_pdf = http_response(200, PDF, content_type="application/pdf")
    done, elapsed, out = _through_a_presigned_link(
        tmp_path, trickle(slow_pdf, every_s=0.2), "--timeout", "3"
    )
    _clean(done, out, "no complete answer within the")
    assert elapsed < 3 + SLACK_S
    assert not list(out.glob("*.pdf"))


def test_a_presigned_download_that_completes_is_saved(tmp_path: Path) -> None:
    pdf = http_response(200, PDF, content_type="application/pdf")
    done, _, out = _through_a_presigned_link(tmp_path, send_and_close(pdf))
    assert done.returncode == 0, done.stderr
    assert (out / "AAPL_Report.pdf").read_bytes() == PDF


# ---------------------------------------------------------------------------
# names and shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("2026/12/07/AA\u0000PL.pdf", "AA\\x00PL.pdf"),
        ("2026/12/07/" + "A" * 300 + ".pdf", "not a report file name"),
        ("2026/12/07/..", "not a report file name"),
        ("2026/12/07/report.exe", "not a report file name"),
        ("2026/12/07/.hidden.pdf", "not a report file name"),
    ],
)
def test_a_bad_report_name_is_refused_before_anything_is_fetched(
    tmp_path: Path, key: str, shown: str
) -> None:
    real = tmp_path / "real.pdf"
    real.write_bytes(PDF)
    done, out = _download(_answer(_report(str(real), PDF, key=key)), tmp_path)
    _clean(done, out, shown)
    assert not list(out.glob("*"))


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"results": [{"symbol": "AAPL"}]}, "result 1 (AAPL) has no report"),
        ({"results": 5}, "'results' is a int, not a list of results"),
        ({"results": ["AAPL"]}, "result 1 (None) has no report"),
    ],
)
def test_an_answer_not_shaped_like_one_is_said_in_words(
    tmp_path: Path, answer: dict, why: str
) -> None:
    done, out = _download(answer, tmp_path)
    _clean(done, out, why)


def test_a_bad_sse_line_is_skipped_and_the_result_event_is_used(tmp_path: Path) -> None:
    real = tmp_path / "real.pdf"
    real.write_bytes(PDF)
    result = {"event": "result", **_answer(_report(str(real), PDF))}
    stream = (
        'data: {"event": "stage", "stage": "understand_request"\n\n'  # cut short
        "data: " + "[" * 100_000 + "\n\n"
        "data: not json at all\n\n"
        f"data: {json.dumps(result)}\n\n"
    )
    out = tmp_path / "pdfs"
    done, _, _ = _invoke(
        send_and_close(http_response(200, stream, content_type="text/event-stream")),
        tmp_path,
        "--download",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert (out / "AAPL_Report.pdf").read_bytes() == PDF


def test_two_reports_of_one_name_are_refused_not_overwritten(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(PDF)
    second.write_bytes(PDF + b"second")
    answer = _answer(_report(str(first), PDF), _report(str(second), PDF + b"second"))
    done, out = _download(answer, tmp_path)
    _clean(done, out, "two reports are named AAPL_Report.pdf; neither was saved")
    assert not list(out.glob("*.pdf"))


def test_an_existing_different_file_is_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.pdf"
    real.write_bytes(PDF)
    out = tmp_path / "pdfs"
    out.mkdir()
    (out / "AAPL_Report.pdf").write_bytes(b"%PDF- my own notes")
    done, _ = _download(_answer(_report(str(real), PDF)), tmp_path)
    _clean(done, out, "already exists with other contents; not replaced")
    assert (out / "AAPL_Report.pdf").read_bytes() == b"%PDF- my own notes"
    (out / "AAPL_Report.pdf").write_bytes(PDF)  # the same report: saving it again is fine
    again, _ = _download(_answer(_report(str(real), PDF)), tmp_path)
    assert again.returncode == 0, again.stderr


# ---------------------------------------------------------------------------
# deep JSON and --user-id
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("download", [False, True])
def test_json_nested_100000_deep_is_an_answer_shown_not_a_crash(
    tmp_path: Path, download: bool
) -> None:
    extra = ("--download", str(tmp_path / "pdfs")) if download else ()
    done, _, _ = _invoke(send_and_close(http_response(200, "[" * 100_000)), tmp_path, *extra)
    assert done.returncode == 1, done.stderr
    assert "RecursionError" not in done.stderr and "unexpected error" not in done.stderr
    if not download:
        assert done.stdout.startswith("(the response is not JSON; shown as received)")


@pytest.mark.parametrize(
    ("user_id", "problem"),
    [
        ("alice\r\nX-Injected: 1", "no control characters"),
        ("alicé", "visible ASCII"),
        (" alice", "surrounding whitespace"),
        ("alice ", "surrounding whitespace"),
        ("", "it is empty"),
        ("a" * 1025, "1025 characters; the limit is 1024"),
    ],
)
def test_a_bad_user_id_is_a_usage_error_before_anything_is_sent(
    tmp_path: Path, user_id: str, problem: str
) -> None:
    done, _, server = _invoke(
        send_and_close(http_response(200, {})), tmp_path, "--user-id", user_id
    )
    assert done.returncode == 2, done.stderr
    assert f"stock-agent: --user-id: {problem}" in done.stderr or problem in done.stderr
    assert server.requests == []


def test_a_user_id_is_sent_exactly_as_given(tmp_path: Path) -> None:
    done, _, server = _invoke(
        send_and_close(http_response(200, {"text": "ok"})),
        tmp_path,
        "--user-id",
        "Alice Smith:42",
    )
    assert done.returncode == 0, done.stderr
    [request] = server.requests
    assert b"\r\nX-Amzn-Bedrock-AgentCore-Runtime-User-Id: Alice Smith:42\r\n" in request
