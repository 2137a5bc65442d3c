"""A real HTTP server on 127.0.0.1 that speaks the SageMaker Runtime REST protocol.

The GPU endpoint cannot run here, so tests point a real boto3
``sagemaker-runtime`` client at this server (``endpoint_url=fake.url``,
dummy credentials). It answers the wire format botocore's service model
(``botocore/data/sagemaker-runtime/2017-05-13/service-2.json``) describes:

- ``POST /endpoints/{EndpointName}/invocations`` with the inference component
  in ``X-Amzn-SageMaker-Inference-Component``; success returns the container's
  body with its ``Content-Type`` and ``x-Amzn-Invoked-Production-Variant``.
- ``POST /endpoints/{EndpointName}/invocations-response-stream``: an AWS
  event stream (``application/vnd.amazon.eventstream``; binary messages with
  prelude, headers and CRC32s) of ``PayloadPart`` events, or a
  ``ModelStreamError`` exception event.
- errors in the rest-json shape: ``x-amzn-ErrorType`` header, JSON body with
  ``Message`` (and for ``ModelError`` ``OriginalStatusCode``,
  ``OriginalMessage``, ``LogStreamArn``), status codes from the service model:
  ValidationError 400, ModelError 424, ModelNotReadyException 429,
  InternalFailure 500, ServiceUnavailable 503, InternalDependencyException
  530; ThrottlingException (a common AWS error, not in the model) 400.

Behind it is either a backend URL (e.g. a :class:`~tests.support.fake_vllm.FakeVLLM`
``base_url``; the body is proxied to its ``/invocations`` and a 4xx/5xx
answer becomes ``ModelError`` exactly as SageMaker wraps it) or
``default_response`` (a dict body, or a callable of the request body).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import re
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.fake_vllm import chat_completion, completion_to_sse

logger = logging.getLogger(__name__)

ERROR_STATUS = {
    "ValidationError": 400,
    "ThrottlingException": 400,
    "ModelError": 424,
    "ModelNotReadyException": 429,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "InternalDependencyException": 530,
}
# What SageMaker answers while an inference component has zero copies.
NO_CAPACITY_MESSAGE = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may "
    "be in-progress (if configured) or try to increase the capacity by invoking "
    "UpdateInferenceComponentRuntimeConfig API."
)
_PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/(?P<op>invocations|invocations-response-stream)$")


# --------------------------------------------------------------------------- event stream framing


def encode_event(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC32), string headers, payload, CRC32."""
    encoded = b"".join(
        struct.pack(">B", len(k)) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def payload_part(data: bytes) -> bytes:
    return encode_event(
        {
            ":event-type": "PayloadPart",
            ":content-type": "application/octet-stream",
            ":message-type": "event",
        },
        data,
    )


def stream_error(message: str, error_code: str = "StreamBroken") -> bytes:
    return encode_event(
        {
            ":exception-type": "ModelStreamError",
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"Message": message, "ErrorCode": error_code}).encode(),
    )


# --------------------------------------------------------------------------- scripting


@dataclass
class Scripted:
    """One queued answer: an AWS error, a container body, or a broken stream."""

    error: str | None = None  # AWS error code, e.g. "ThrottlingException"
    message: str = ""
    status: int | None = None  # default: ERROR_STATUS[error]
    original_status: int | None = None  # ModelError only
    original_message: str | None = None  # ModelError only
    body: dict[str, Any] | bytes | None = None  # success body (None: default/backend)
    delay_s: float = 0.0
    stream_error_after: int | None = None  # stream: send a ModelStreamError after N parts


@dataclass(frozen=True)
class Invocation:
    """One request the fake received."""

    endpoint_name: str
    operation: str  # "invocations" | "invocations-response-stream"
    inference_component: str | None
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw bytes when not JSON


@dataclass
class _State:
    queue: collections.deque[Scripted] = field(default_factory=collections.deque)
    requests: list[Invocation] = field(default_factory=list)
    cold_until: float = 0.0  # time.monotonic() before which there is no capacity


class FakeSageMakerRuntime:
    """SageMaker Runtime on loopback. Use :meth:`start`; point boto3 at :attr:`url`."""

    def __init__(self, *, backend: str | None = None, variant: str = "AllTraffic") -> None:
        self.backend = backend.rstrip("/") if backend else None
        self.variant = variant
        self.default_response: dict[str, Any] | Callable[[Any], dict[str, Any]] = lambda body: (
            chat_completion("Fake SageMaker answer")
        )
        self._state = _State()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    @contextlib.contextmanager
    def start(cls, **kwargs: Any) -> Iterator[FakeSageMakerRuntime]:
        fake = cls(**kwargs)
        handler = type("Handler", (_Handler,), {"fake": fake})
        fake._server = _Server(("127.0.0.1", 0), handler)
        fake._thread = threading.Thread(
            target=fake._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        fake._thread.start()
        try:
            yield fake
        finally:
            fake._stopping.set()
            fake._server.shutdown()
            fake._server.server_close()
            fake._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None, "use FakeSageMakerRuntime.start()"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self, *, read_timeout: float = 5.0) -> Any:
        """A real boto3 ``sagemaker-runtime`` client aimed at this fake (dummy credentials)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "sagemaker-runtime",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                read_timeout=read_timeout,
                connect_timeout=2,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )

    # -- scripting

    def enqueue_error(
        self,
        code: str,
        *,
        message: str | None = None,
        status: int | None = None,
        original_status: int | None = None,
        original_message: str | None = None,
        delay_s: float = 0.0,
        times: int = 1,
    ) -> None:
        """Queue ``times`` AWS errors ``code`` (status from the service model unless given)."""
        for _ in range(times):
            self._push(
                Scripted(
                    error=code,
                    message=message or f"{code} (fake)",
                    status=status,
                    original_status=original_status,
                    original_message=original_message,
                    delay_s=delay_s,
                )
            )

    def enqueue(
        self,
        body: dict[str, Any] | bytes | None = None,
        *,
        delay_s: float = 0.0,
        stream_error_after: int | None = None,
    ) -> None:
        """Queue one successful answer (``None``: default response / backend)."""
        self._push(Scripted(body=body, delay_s=delay_s, stream_error_after=stream_error_after))

    def make_cold(self, seconds: float) -> None:
        """No copy of the component for the next ``seconds`` (``float('inf')``: never)."""
        with self._lock:
            self._state.cold_until = time.monotonic() + seconds

    @property
    def requests(self) -> list[Invocation]:
        with self._lock:
            return list(self._state.requests)

    def _push(self, scripted: Scripted) -> None:
        with self._lock:
            self._state.queue.append(scripted)

    def _next(self, invocation: Invocation) -> Scripted:
        with self._lock:
            self._state.requests.append(invocation)
            if time.monotonic() < self._state.cold_until:
                return Scripted(error="ValidationError", message=NO_CAPACITY_MESSAGE)
            return self._state.queue.popleft() if self._state.queue else Scripted()

    def _container(self, body: Any, stream: bool) -> tuple[int, bytes]:
        """What the model container answers: the backend over HTTP, or the default."""
        if self.backend is None:
            answer = self.default_response
            chat = answer(body) if callable(answer) else answer
            if stream:
                return 200, b"".join(completion_to_sse(chat))
            return 200, json.dumps(chat).encode()
        request = urllib.request.Request(
            f"{self.backend}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("fake SageMaker runtime: client %s went away", client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSageMakerRuntime
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake SageMaker runtime: " + format, *args)

    def _reply(self, status: int, raw: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, scripted: Scripted) -> None:
        code = scripted.error or "InternalFailure"
        body: dict[str, Any] = {"Message": scripted.message}
        if code == "ModelError":
            original = scripted.original_status or 500
            kind = "server" if original >= 500 else "client"
            body = {
                "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
                "Message": (
                    f"Received {kind} error ({original}) from primary with message "
                    f'"{scripted.original_message or ""}". See the CloudWatch log stream.'
                ),
                "OriginalStatusCode": original,
                "OriginalMessage": scripted.original_message or "",
                "LogStreamArn": (
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/"
                    "InferenceComponents/fake"
                ),
            }
        raw = json.dumps(body).encode()
        self._reply(
            scripted.status or ERROR_STATUS.get(code, 400),
            raw,
            {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        match = _PATH.match(self.path)
        if match is None:
            self._reply(404, b'{"message": "Not Found"}', {"Content-Type": "application/json"})
            return
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        stream = match["op"] == "invocations-response-stream"
        invocation = Invocation(
            endpoint_name=match["name"],
            operation=match["op"],
            inference_component=self.headers.get("X-Amzn-SageMaker-Inference-Component"),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        scripted = self.fake._next(invocation)
        if scripted.delay_s and self.fake._stopping.wait(scripted.delay_s):
            return
        if scripted.error:
            self._error(scripted)
            return
        if scripted.body is not None:
            chat = scripted.body
            status, answer = 200, chat if isinstance(chat, bytes) else json.dumps(chat).encode()
            if stream and isinstance(chat, dict):
                answer = b"".join(completion_to_sse(chat))
        else:
            status, answer = self.fake._container(body, stream)
        if status >= 400:  # SageMaker wraps the container's error in ModelError (424)
            self._error(
                Scripted(
                    error="ModelError",
                    original_status=status,
                    original_message=answer.decode("utf-8", errors="replace"),
                )
            )
            return
        if stream:
            self._stream(answer, scripted.stream_error_after)
            return
        self._reply(
            200,
            answer,
            {
                "Content-Type": "application/json",
                "x-Amzn-Invoked-Production-Variant": self.fake.variant,
            },
        )

    def _stream(self, sse: bytes, error_after: int | None) -> None:
        """Send ``sse`` as PayloadPart events cut at odd places, as SageMaker does."""
        cut = 37  # deliberately not aligned with SSE lines or UTF-8 characters
        parts = [sse[i : i + cut] for i in range(0, len(sse), cut)]
        frames = [payload_part(p) for p in parts]
        if error_after is not None:
            frames = [*frames[:error_after], stream_error("connection to the model was reset")]
        raw = b"".join(frames)
        self._reply(
            200,
            raw,
            {
                "Content-Type": "application/vnd.amazon.eventstream",
                "X-Amzn-SageMaker-Content-Type": "text/event-stream",
                "x-Amzn-Invoked-Production-Variant": self.fake.variant,
            },
        )
