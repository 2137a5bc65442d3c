"""Where the golden set runs: the in-process app, a server URL, or a deployed runtime.

Every target takes the same request bytes and gives back an :class:`Exchange`
(status, content type, body, latency); :func:`observe` turns that into an
:class:`Observation` the graders read. So a case graded in-process is graded
exactly as it would be against ``stock-agent serve`` or AgentCore.

- :class:`InProcessTarget`: :func:`stock_agent.server.entrypoint.create_app`, the app
  ``stock-agent serve`` and the container run, driven through its ASGI
  interface (Starlette's test client: no socket, same middleware, same
  payload guard, same streaming).
- :class:`UrlTarget`: ``POST {url}/invocations`` over HTTP, through the
  ``stock-agent invoke`` client's protections (a total time limit, a size
  cap, a failed exchange instead of an exception for whatever the server sends).
- :class:`RuntimeArnTarget`: ``bedrock-agentcore`` ``InvokeAgentRuntime``
  with the case's session id as ``runtimeSessionId``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stock_agent import bounded_json
from stock_agent.client.invoke_http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    InvokeFailure,
    is_loopback_url,
    post_json,
)
from stock_agent.memory.checkpoints import USER_ID_HEADER

TRACE_MARKERS = ("Traceback (most recent call last)", 'File "', "site-packages")
REPORT_READ_TIMEOUT_S = 60.0
MIN_RUNTIME_SESSION_ID_CHARS = 33
DEFAULT_TIMEOUT_S = 360.0


@dataclass(frozen=True)
class Exchange:
    """One request and its raw answer."""

    status: int
    content_type: str
    body: bytes
    latency_ms: float


class Target(Protocol):
    """Sends one request body; answers with the raw exchange."""

    description: str
    model: str
    local_files: bool  # its reports may be read from this machine's disk (file://)

    def send(self, body: bytes, *, session_id: str, user_id: str | None = None) -> Exchange: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Observation:
    """What the graders see of one turn."""

    status: int
    streamed: bool
    events: tuple[dict[str, Any], ...]
    response: dict[str, Any] | None  # the success response (JSON body or result event)
    error: dict[str, Any] | None  # {"code", "message"} from a body or an error event
    raw_text: str
    latency_ms: float
    # symbol -> (pdf bytes, extracted text); filled by the runner, empty when not readable
    reports: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    report_errors: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.response is not None and self.error is None

    @property
    def stage_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "stage"]


def _sse_values(text: str) -> list[Any]:
    values: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data:"):
            try:
                values.append(bounded_json.loads(line[5:].strip()))
            except ValueError:  # not JSON, or nested deeper than the limit
                values.append(line[5:].strip())
    return values


def observe(exchange: Exchange) -> Observation:
    """Parse a JSON body or an SSE stream into an :class:`Observation`; never raises."""
    text = exchange.body.decode("utf-8", errors="replace")
    streamed = "text/event-stream" in exchange.content_type or text.lstrip().startswith("data:")
    events: list[dict[str, Any]] = []
    value: Any = None
    if streamed:
        events = [v for v in _sse_values(text) if isinstance(v, dict)]
        value = next((e for e in reversed(events) if e.get("event") in ("result", "error")), None)
    else:
        try:
            value = bounded_json.loads(text)
        except ValueError:  # not JSON, or nested deeper than the limit
            value = None
        if isinstance(value, str):  # some runtimes wrap the JSON answer in a JSON string
            try:
                value = bounded_json.loads(value)
            except ValueError:
                value = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    if isinstance(value, dict):
        raw_error = value.get("error")
        if isinstance(raw_error, dict):
            error = raw_error
        elif raw_error is not None:
            error = {"code": None, "message": str(raw_error)}
        elif value.get("event", "result") == "result" and exchange.status < 400:
            response = {k: v for k, v in value.items() if k != "event"}
    if response is None and error is None:
        error = {"code": None, "message": f"unreadable answer (status {exchange.status})"}
    return Observation(
        status=exchange.status,
        streamed=streamed,
        events=tuple(e for e in events if e.get("event") != "result"),
        response=response,
        error=error,
        raw_text=text,
        latency_ms=exchange.latency_ms,
    )


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------


class InProcessTarget:
    """The agent app in this process, offline model or an OpenAI-compatible server."""

    def __init__(
        self,
        *,
        reports_dir: Path,
        model_url: str | None = None,
        model_name: str = "model",
        model_adapter: str | None = None,
    ) -> None:
        from starlette.testclient import TestClient
        from stock_agent.server.entrypoint import create_app
        from stock_agent.settings import AgentSettings

        ctx = AgentSettings(
            model_provider="openai" if model_url else "offline",
            openai_base_url=model_url,
            openai_model=model_name,
            model_adapter=model_adapter,
            data_provider="simulated",
            reports_dir=str(reports_dir),
            log_level="WARNING",
        )
        served = f"{model_name} + adapter {model_adapter}" if model_adapter else model_name
        self.model = f"openai:{served} at {model_url}" if model_url else "offline"
        self.description = (
            "in-process app (stock_agent.server.entrypoint.create_app), simulated data"
        )
        self.local_files = True  # the app writes its reports on this machine
        # The local server's Host check: the test client speaks as http://localhost.
        self._client = TestClient(
            create_app(ctx=ctx), base_url="http://localhost", raise_server_exceptions=False
        )

    def send(self, body: bytes, *, session_id: str, user_id: str | None = None) -> Exchange:
        started = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        if user_id is not None:
            headers[USER_ID_HEADER] = user_id
        reply = self._client.post("/invocations", content=body, headers=headers)
        return Exchange(
            status=reply.status_code,
            content_type=reply.headers.get("content-type", ""),
            body=reply.content,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self._client.close()


class UrlTarget:
    """A running server: ``stock-agent serve`` or the container on a port."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"--url {url!r} is not an http(s) URL")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        # A server on this machine may point at files on this machine; a remote one may not.
        self.local_files = is_loopback_url(self.url)
        self.model = "as configured on the server"
        self.description = f"server at {self.url}"

    def send(self, body: bytes, *, session_id: str, user_id: str | None = None) -> Exchange:
        """One POST through the invoke client: a total time limit, a size cap, and every
        way the server can fail to answer (not HTTP, a bad status line, a body cut short)
        turned into a failed exchange the graders record, never an exception."""
        started = time.perf_counter()
        try:
            reply = post_json(
                self.url, body, timeout_s=self.timeout_s, max_bytes=self.max_bytes,
                user_id=user_id,
            )  # fmt: skip
            status, ctype, data = reply.status, reply.content_type, reply.body
        except InvokeFailure as err:
            status, ctype = 0, "application/json"
            data = json.dumps(
                {"error": {"code": "unreachable", "message": f"{self.url}: {err.message}"}}
            ).encode()
        return Exchange(status, ctype, data, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        return None


class RuntimeArnTarget:
    """A deployed AgentCore runtime, through ``InvokeAgentRuntime``."""

    def __init__(self, *, arn: str, qualifier: str, client: Any, s3_client: Any = None) -> None:
        self.arn = arn
        self.qualifier = qualifier
        self._client = client
        self.s3_client = s3_client  # reads the reports the runtime stored
        self.local_files = False
        self.model = "as deployed"
        self.description = f"AgentCore runtime {arn} (qualifier {qualifier})"

    @staticmethod
    def request(
        arn: str, qualifier: str, body: bytes, session_id: str, user_id: str | None = None
    ) -> dict[str, Any]:
        """The ``InvokeAgentRuntime`` parameters of one turn (``runtimeUserId``: its user)."""
        if len(session_id) < MIN_RUNTIME_SESSION_ID_CHARS:
            raise ValueError(
                f"runtimeSessionId must have at least {MIN_RUNTIME_SESSION_ID_CHARS} characters"
            )
        return {
            "agentRuntimeArn": arn,
            "qualifier": qualifier,
            "runtimeSessionId": session_id,
            "contentType": "application/json",
            "accept": "application/json, text/event-stream",
            "payload": body,
            **({"runtimeUserId": user_id} if user_id is not None else {}),
        }

    def send(self, body: bytes, *, session_id: str, user_id: str | None = None) -> Exchange:
        from botocore.exceptions import BotoCoreError, ClientError

        params = self.request(self.arn, self.qualifier, body, session_id, user_id)
        started = time.perf_counter()
        try:
            response = self._client.invoke_agent_runtime(**params)
            stream = response.get("response")
            data = stream.read() if hasattr(stream, "read") else (stream or b"")
            status = int(response.get("statusCode", 200))
            ctype = str(response.get("contentType", ""))
        except ClientError as err:
            # The runtime maps the container's 4xx/5xx to a service error.
            meta = err.response.get("ResponseMetadata", {})
            status = int(meta.get("HTTPStatusCode", 500))
            message = err.response.get("Error", {}).get("Message", str(err))
            data = (
                _error_json_in(message)
                or json.dumps({"error": {"code": "runtime_error", "message": message}}).encode()
            )
            ctype = "application/json"
        except BotoCoreError as err:
            status, ctype = 0, "application/json"
            data = json.dumps({"error": {"code": "unreachable", "message": str(err)}}).encode()
        if isinstance(data, str):
            data = data.encode()
        return Exchange(status, ctype, data, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        return None


def _error_json_in(message: str) -> bytes | None:
    """The agent's ``{"error": ...}`` body when the service quotes it in its message."""
    start = message.find('{"error"')
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(message[start:])
    except ValueError:
        return None
    return json.dumps(value).encode()


def read_report(
    report: dict[str, Any], *, s3_client: Any = None, allow_local_files: bool = False
) -> bytes:
    """The stored PDF of a response's ``report``: a presigned URL, a local file, or S3.

    Links and files go through the ``invoke --download`` protections
    (:func:`stock_agent.client.downloads.fetch_report`: a total time limit, a
    size cap, ``file://`` only when ``allow_local_files`` (the agent runs on this
    machine) and only a regular file). ``s3://`` objects are read with the
    caller's credentials (``s3_client``, or a default boto3 client), under
    the same size cap: a deployed runtime stores reports there.
    """
    from urllib.parse import unquote, urlparse

    from stock_agent.client.downloads import MAX_REPORT_BYTES, fetch_report

    uri = str(report.get("uri", ""))
    parsed = urlparse(uri)
    url = report.get("url")
    if parsed.scheme == "file" or (isinstance(url, str) and url.startswith("https://")):
        return fetch_report(
            report,
            deadline=time.monotonic() + REPORT_READ_TIMEOUT_S,
            allow_local_files=allow_local_files,
        )
    if parsed.scheme == "s3" and parsed.netloc and parsed.path.strip("/"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        body = s3_client.get_object(Bucket=parsed.netloc, Key=unquote(parsed.path.lstrip("/")))
        stored: bytes = body["Body"].read(MAX_REPORT_BYTES + 1)
        if len(stored) > MAX_REPORT_BYTES:
            raise OSError(f"{uri!r} is larger than {MAX_REPORT_BYTES} bytes")
        return stored
    raise OSError(f"cannot read {uri!r}: not a file, https or s3 location")
