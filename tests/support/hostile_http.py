"""A hostile HTTP peer on 127.0.0.1, written for the attack tests.

It stands in for a model server or an agent server that is broken or
malicious, at the byte level (:mod:`http.server` cannot misbehave this
way): it reads one request (request line, headers and a ``Content-Length``
body), then runs a *behaviour* on the raw socket:

- :func:`trickle`: send bytes one at a time, ``every_s`` apart;
- :func:`send_then_hang`: send some bytes (say a status line and headers),
  then keep the connection open without another byte;
- :func:`send_and_close`: send bytes (a short body, garbage, a bad status
  line) and close;
- :func:`endless`: send a head, then the same chunk until the peer leaves.

Every behaviour stops when the test's ``with`` block ends. ``requests``
holds the raw requests received, ``sent`` the bytes written per connection.
With ``tls`` (:func:`self_signed_tls`) it speaks HTTPS, for a client told to
trust that certificate (``SSL_CERT_FILE``): a presigned link that misbehaves.

The escape-laden and garbage bodies tests need are built with
:func:`http_response` and :data:`ANSI_ATTACK`.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Behaviour = Callable[[socket.socket, threading.Event], int]

# Clears the screen, sets the window title (OSC 0) and hides the cursor: a terminal obeys all three.
ANSI_ATTACK = "\x1b[2J\x1b]0;pwned\x07\x1b[?25l"


def http_response(
    status: int = 200,
    body: bytes | str | dict[str, Any] = b"",
    *,
    content_type: str = "application/json",
    content_length: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A complete HTTP/1.1 response; ``content_length`` may lie about the body."""
    if isinstance(body, dict):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    length = len(raw) if content_length is None else content_length
    head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {length}"]
    head += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + raw


def trickle(data: bytes, *, every_s: float) -> Behaviour:
    def run(conn: socket.socket, stop: threading.Event) -> int:
        sent = 0
        for i in range(len(data)):
            if stop.wait(every_s if i else 0):
                break
            conn.sendall(data[i : i + 1])
            sent += 1
        return sent

    return run


def send_then_hang(data: bytes) -> Behaviour:
    def run(conn: socket.socket, stop: threading.Event) -> int:
        conn.sendall(data)
        stop.wait()
        return len(data)

    return run


def send_and_close(data: bytes) -> Behaviour:
    def run(conn: socket.socket, stop: threading.Event) -> int:
        conn.sendall(data)
        return len(data)

    return run


def endless(head: bytes, chunk: bytes) -> Behaviour:
    def run(conn: socket.socket, stop: threading.Event) -> int:
        conn.sendall(head)
        sent = len(head)
        while not stop.is_set():
            conn.sendall(chunk)
            sent += len(chunk)
        return sent

    return run


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and its PEM path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "hostile-cert.pem", folder / "hostile-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


class HostileServer:
    """Accepts connections on loopback; answers each with ``behaviour``."""

    def __init__(self, behaviour: Behaviour, *, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.requests: list[bytes] = []
        self.sent: list[int] = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, behaviour: Behaviour, *, tls: ssl.SSLContext | None = None
    ) -> Iterator[HostileServer]:
        server = cls(behaviour, tls=tls)
        acceptor = threading.Thread(target=server._accept, daemon=True)
        acceptor.start()
        try:
            yield server
        finally:
            server._stop.set()
            acceptor.join(timeout=5)
            for thread in list(server._threads):
                thread.join(timeout=5)
            server._sock.close()

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            conn = self.tls.wrap_socket(raw, server_side=True) if self.tls else raw
        except OSError:  # the handshake failed: the client did not trust us
            raw.close()
            with self._lock:
                self.sent.append(-1)
            return
        with conn:
            try:
                request = _read_request(conn)
                with self._lock:
                    self.requests.append(request)
                sent = self.behaviour(conn, self._stop)
            except OSError:  # the client under test gave up: that is what we test
                sent = -1
            with self._lock:
                self.sent.append(sent)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    deadline = time.monotonic() + 5
    while len(body) < length and time.monotonic() < deadline:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
