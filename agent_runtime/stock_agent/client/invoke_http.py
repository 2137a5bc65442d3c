"""The HTTP side of ``stock-agent invoke --url``: a client the server cannot fool.

The server at the other end may be broken or hostile, so:

- ``timeout_s`` is a total for the whole exchange (connect, status line,
  headers, body): a watchdog shuts the socket down when it is up, however
  slowly bytes trickle in;
- the body is capped at ``max_bytes`` (declared or actual) and never held
  past it;
- every way the exchange can fail is one :class:`InvokeFailure` with one
  message per cause: not HTTP at all, a malformed status line, malformed
  headers, a connection closed before an answer, a body cut short, the time
  limit (saying how far the answer got), the size limit;
- :func:`terminal_safe` neutralises what a terminal would obey (ANSI/OSC
  escape sequences, other control characters, bidirectional overrides)
  before anything the server sent is printed.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..deadline import connection_socket, socket_deadline, timed_connection

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 65536


class InvokeFailure(Exception):
    """The exchange failed; ``message`` says why, in words a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InvokeReply:
    status: int
    content_type: str
    body: bytes


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape instead.

    Newline and tab stay; other C0/C1 controls (ESC starts ANSI and OSC
    sequences), DEL and format characters (bidirectional overrides, zero-width
    characters) become ``\\x1b``/``\\u202e``-style text.
    """
    out: list[str] = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        elif category in ("Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _status_line_failure(err: http.client.BadStatusLine) -> InvokeFailure:
    line = str(err.args[0] if err.args else "").strip()
    shown = terminal_safe(line[:80]) or "(empty)"
    if line.startswith("HTTP/"):
        return InvokeFailure(f"the server sent a malformed HTTP status line: '{shown}'")
    return InvokeFailure(f"the server did not answer with HTTP (its first line: '{shown}')")


def _request_headers(user_id: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if user_id:
        headers["X-Amzn-Bedrock-AgentCore-Runtime-User-Id"] = user_id
    return headers


def post_json(
    url: str,
    payload: dict[str, Any] | bytes,
    *,
    timeout_s: float,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    user_id: str | None = None,
) -> InvokeReply:
    """POST ``payload`` to ``url + /invocations``; the whole reply within the limits.

    ``payload`` is sent as JSON, or as it is when it is already bytes (the
    evaluation sends malformed bodies on purpose). ``user_id`` travels as
    AgentCore's runtime user-id header: the actor whose session it is.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvokeFailure(f"--url {url!r} is not an http(s) URL")
    return _exchange(
        url,
        "POST",
        parts.path.rstrip("/") + "/invocations",
        body=payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
        headers=_request_headers(user_id),
        timeout_s=timeout_s,
        max_bytes=max_bytes,
    )


def get_bytes(url: str, *, timeout_s: float, max_bytes: int) -> InvokeReply:
    """GET ``url`` (a presigned report link) within the same total time and size limits."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvokeFailure("a report link must be an https URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _exchange(
        url, "GET", target, body=None, headers={}, timeout_s=timeout_s, max_bytes=max_bytes
    )


def is_loopback_url(url: str) -> bool:
    """``url`` names this machine (127.0.0.0/8, ``::1`` or ``localhost``)."""
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _exchange(
    url: str,
    method: str,
    path: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    timeout_s: float,
    max_bytes: int,
) -> InvokeReply:
    """One request on its own connection; the reply whole, within ``timeout_s`` and
    ``max_bytes``, or one :class:`InvokeFailure` that says why not."""
    conn = timed_connection(url, timeout=timeout_s)
    started = time.monotonic()
    progress = {"status": None, "bytes": 0}

    def timed_out() -> InvokeFailure:
        if progress["status"] is None:
            where = "no response status arrived"
        else:
            count = progress["bytes"]
            where = (
                f"HTTP {progress['status']} arrived, then the body stalled after "
                f"{count} byte{'' if count == 1 else 's'}"
            )
        return InvokeFailure(f"no complete answer within the {timeout_s:g} s limit ({where})")

    try:
        with socket_deadline(started + timeout_s, lambda: connection_socket(conn)) as alarm:
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                progress["status"] = response.status
                data = _read_capped(response, max_bytes, progress)
            except http.client.BadStatusLine as err:
                if alarm.fired:
                    raise timed_out() from None
                if isinstance(err, http.client.RemoteDisconnected):
                    raise InvokeFailure(
                        "the server closed the connection without answering"
                    ) from None
                raise _status_line_failure(err) from None
            except http.client.IncompleteRead as err:
                if alarm.fired:
                    raise timed_out() from None
                expected = len(err.partial) + (err.expected or 0)
                raise InvokeFailure(
                    f"the response body was cut short: {len(err.partial)} of {expected} bytes "
                    "arrived before the server closed the connection"
                ) from None
            except (http.client.LineTooLong, http.client.HTTPException) as err:
                if alarm.fired:
                    raise timed_out() from None
                raise InvokeFailure(
                    f"the server sent malformed HTTP headers ({type(err).__name__})"
                ) from None
            except TimeoutError:
                raise timed_out() from None
            except OSError as err:
                if alarm.fired:
                    raise timed_out() from None
                where = urllib.parse.urlsplit(url)
                raise InvokeFailure(
                    f"cannot reach {where.scheme}://{where.netloc}: {err.strerror or err}"
                ) from None
            if alarm.fired:  # a body without a length "ends" when the socket is shut
                raise timed_out()
    finally:
        conn.close()
    return InvokeReply(
        status=response.status,
        content_type=response.getheader("Content-Type", "") or "",
        body=data,
    )


def _read_capped(
    response: http.client.HTTPResponse, max_bytes: int, progress: dict[str, Any]
) -> bytes:
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise InvokeFailure(
            f"the response declares {int(declared)} bytes, over the {max_bytes}-byte limit "
            "(--max-bytes); nothing was read"
        )
    chunks: list[bytes] = []
    while chunk := response.read1(_READ_CHUNK):
        progress["bytes"] += len(chunk)
        if progress["bytes"] > max_bytes:
            raise InvokeFailure(
                f"the response is larger than the {max_bytes}-byte limit (--max-bytes); "
                "stopped reading"
            )
        chunks.append(chunk)
    if declared is not None and declared.strip().isdigit():
        expected = int(declared)
        if progress["bytes"] < expected:
            raise http.client.IncompleteRead(b"".join(chunks), expected - progress["bytes"])
    return b"".join(chunks)
