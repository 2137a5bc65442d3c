"""A real HTTP server on 127.0.0.1 that speaks vLLM's OpenAI chat-completions JSON.

It stands in for the GPU (vLLM serving gpt-oss-20b cannot run on the CI
machine) and nothing else: requests go over a real socket, bodies are vLLM's
exact shapes (see ``tests/fixtures/vllm/README.md``), errors are vLLM's
``ErrorResponse``, streaming is SSE ending in ``data: [DONE]``.

Routes, as in vLLM's server: ``POST /v1/chat/completions``, ``POST
/invocations`` (SageMaker's path; only bodies with ``messages`` are routed to
chat, like vLLM), ``GET /ping`` and ``GET /health`` (200, empty body),
``GET /v1/models``.

Scripting, per test::

    with FakeVLLM.start() as fake:
        fake.enqueue(status=429, body=error_body("busy", status=429), headers={"Retry-After": "0"})
        fake.enqueue(body=chat_completion("hello", reasoning="think"))
        fake.enqueue(drop=True)                 # close the socket without answering
        fake.enqueue(body=b"not json")          # malformed bytes, status 200
        fake.default_response = lambda req: "narrative for " + req["messages"][-1]["content"]
        fake.default_delay_s = 0.5              # every unscripted answer takes 0.5 s
        client = OpenAIModelClient(base_url=fake.url, model="model", ...)
        ...
        assert fake.chat_requests[0]["messages"]

Queued responses are served first, in order; then ``default_response``
answers (a string → a completion with that content; a dict → sent as is; a
callable of the request body returning either).

A LoRA adapter served beside the base answers in its own way, as with vLLM's
``--lora-modules``: the request's ``model`` picks ``responders[name]`` when
there is one, and the completion names the model that was asked for::

    with FakeVLLM.start(adapters=("narrator-v1",)) as fake:
        fake.responders["narrator-v1"] = AnalystModel(invent_every=10)
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vllm"

Body = dict[str, Any] | bytes | str
DefaultResponse = str | dict[str, Any] | Callable[[dict[str, Any]], "str | dict[str, Any]"]


# --------------------------------------------------------------------------- vLLM-shaped bodies


def load_fixture(name: str) -> Any:
    """A fixture from ``tests/fixtures/vllm``: parsed JSON for ``.json``, text for ``.sse``."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


def chat_completion(
    content: str | None,
    *,
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    model: str = "model",
    prompt_tokens: int = 100,
    completion_tokens: int | None = None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A vLLM ``chat.completion`` body (shape of ``chat_reasoning.json``).

    ``tool_calls`` items are ``{"name": ..., "arguments": {...}}``; they are
    encoded as vLLM sends them (``arguments`` a JSON string).
    """
    calls = [
        {
            "id": f"chatcmpl-tool-{uuid.uuid4().hex[:16]}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
        }
        for c in tool_calls or []
    ]
    if completion_tokens is None:
        completion_tokens = max(1, len((content or "").split()) + len((reasoning or "").split()))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": None,
        "audio": None,
        "function_call": None,
        "reasoning": reasoning,
    }
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason or ("tool_calls" if calls else "stop"),
                "stop_reason": None,
                "token_ids": None,
            }
        ],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
        "prompt_token_ids": None,
        "kv_transfer_params": None,
    }


def error_body(
    message: str, *, status: int, type: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """vLLM's ``ErrorResponse``: ``{"error": {"message", "type", "param", "code": status}}``."""
    names = {400: "BadRequestError", 404: "NotFoundError", 429: "TooManyRequests"}
    kind = type or names.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def _words(text: str) -> list[str]:
    """Split text into token-like pieces that concatenate back to the text."""
    pieces = text.split(" ")
    return [p + " " for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def completion_to_sse(body: dict[str, Any], *, include_usage: bool = True) -> list[bytes]:
    """The SSE events vLLM streams for ``body`` (a ``chat.completion``), ``[DONE]`` last.

    Role chunk, reasoning pieces in ``delta.reasoning``, content pieces in
    ``delta.content``, tool calls (id/name first, then the arguments), a
    ``finish_reason`` chunk and, when requested, the usage chunk with empty
    ``choices``. Same order as ``stream_answer.sse`` / ``stream_tool_call.sse``.
    """
    choice = body["choices"][0]
    message = choice["message"]
    head = {
        "id": body.get("id", "chatcmpl-fake"),
        "object": "chat.completion.chunk",
        "created": body.get("created", int(time.time())),
        "model": body.get("model", "model"),
    }

    def event(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
        chunk = dict(head)
        chunk["choices"] = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        if usage is not None:
            chunk["usage"] = usage
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    events = [event({"role": "assistant", "content": ""})]
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    events += [event({"reasoning": piece}) for piece in _words(reasoning or "")]
    events += [event({"content": piece}) for piece in _words(message.get("content") or "")]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        first = {"id": call["id"], "type": "function", "index": index}
        first["function"] = {"name": function["name"], "arguments": ""}
        events.append(event({"tool_calls": [first]}))
        rest = {"index": index, "function": {"arguments": function["arguments"]}}
        events.append(event({"tool_calls": [rest]}))
    events.append(event({}, finish=choice.get("finish_reason") or "stop"))
    if include_usage and body.get("usage"):
        events.append(event(None, usage=body["usage"]))
    events.append(b"data: [DONE]\n\n")
    return events


# --------------------------------------------------------------------------- the server


@dataclass
class Scripted:
    """One queued answer."""

    status: int = 200
    body: Body | None = None  # None: default_response answers
    delay_s: float = 0.0  # before the status line
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    token_delay_s: float | None = None  # between streamed chunks (None: server default)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received, as sent."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None when the body was not JSON


RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema", "structural_tag")


def _reject_response_format(value: Any) -> dict[str, Any] | None:
    """vLLM's 400 for a ``response_format`` its ``ResponseFormat`` model refuses.

    vLLM's chat request takes OpenAI's shape: ``type`` one of
    :data:`RESPONSE_FORMAT_TYPES`; for ``json_schema`` a ``json_schema`` object
    with a ``name`` and a ``schema`` (the pydantic alias of ``schema_``), and
    an optional ``strict``; ``/invocations`` routes such a body to the same model.
    """
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in RESPONSE_FORMAT_TYPES:
        return error_body(
            f"1 validation error for ChatCompletionRequest response_format.type: "
            f"Input should be {', '.join(repr(t) for t in RESPONSE_FORMAT_TYPES)}",
            status=400,
            param="response_format",
        )
    spec = value.get("json_schema")
    if kind == "json_schema" and not (
        isinstance(spec, dict) and isinstance(spec.get("name"), str)
        and isinstance(spec.get("schema"), dict)
    ):  # fmt: skip
        return error_body(
            "response_format.json_schema: a 'name' and a 'schema' are required",
            status=400,
            param="response_format",
        )
    return None


def _default_answer(request: dict[str, Any]) -> str:
    messages = request.get("messages") or [{}]
    last = messages[-1].get("content") if isinstance(messages[-1], dict) else ""
    return f"Fake vLLM answer to: {str(last)[:80]}"


class FakeVLLM:
    """vLLM's OpenAI server on loopback, scriptable per test. Use :meth:`start`."""

    def __init__(self, *, served_model_name: str = "model", adapters: tuple[str, ...] = ()) -> None:
        self.served_model_name = served_model_name
        # LoRA adapters served beside the base model (vLLM --lora-modules NAME=PATH).
        self.adapters = adapters
        self.default_response: DefaultResponse = _default_answer
        # Per served name (the base's or an adapter's): answers for requests naming it.
        self.responders: dict[str, DefaultResponse] = {}
        self.default_delay_s = 0.0
        self.token_delay_s = 0.0
        self.requests: list[RecordedRequest] = []
        self._queue: collections.deque[Scripted] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @classmethod
    @contextlib.contextmanager
    def start(cls, **kwargs: Any) -> Iterator[FakeVLLM]:
        """Serve on 127.0.0.1 and a free port for the ``with`` block."""
        fake = cls(**kwargs)
        fake._serve()
        try:
            yield fake
        finally:
            fake.stop()

    def _serve(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the container's root: /ping, /invocations)."""
        assert self._server is not None, "use FakeVLLM.start()"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.base_url}/v1"

    # -- scripting

    def enqueue(
        self,
        *,
        status: int = 200,
        body: Body | None = None,
        delay_s: float = 0.0,
        headers: dict[str, str] | None = None,
        drop: bool = False,
        token_delay_s: float | None = None,
        times: int = 1,
    ) -> None:
        """Queue ``times`` identical answers for the next chat requests."""
        with self._lock:
            for _ in range(times):
                self._queue.append(
                    Scripted(status, body, delay_s, dict(headers or {}), drop, token_delay_s)
                )

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Parsed bodies of the chat requests received (both routes), oldest first."""
        with self._lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and isinstance(r.body, dict) and "messages" in r.body
            ]

    # -- used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _default(self, request: dict[str, Any]) -> dict[str, Any]:
        asked = request.get("model")
        name = asked if isinstance(asked, str) and asked else self.served_model_name
        answer = self.responders.get(name, self.default_response)
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, str):
            return chat_completion(answer, model=name)
        return answer

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops; True when it is stopping."""
        return seconds > 0 and self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and closed its socket is part of the script,
        # not a failure of the fake: keep pytest's output clean.
        logger.debug("fake vLLM: client %s went away", client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVLLM
    server_version = "uvicorn"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake vLLM: " + format, *args)

    # -- helpers

    def _send(self, status: int, body: Body, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict):
            raw = json.dumps(body).encode()
            content_type = "application/json"
        else:
            raw = body.encode() if isinstance(body, str) else body
            content_type = "application/json"
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self, events: list[bytes], token_delay_s: float) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for i, chunk in enumerate(events):
            if i and self.fake._wait(token_delay_s):
                return
            self.wfile.write(chunk)
            self.wfile.flush()

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return raw, json.loads(raw) if raw else None
        except ValueError:
            return raw, None

    def _record(self, raw: bytes, body: Any) -> None:
        self.fake._record(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw,
                body=body,
            )
        )

    # -- routes

    def do_GET(self) -> None:
        self._record(b"", None)
        if self.path in ("/ping", "/health"):
            self._send(200, b"")
        elif self.path == "/v1/models":
            # vLLM lists the base, then each LoRA module with the base as its parent.
            base = self.fake.served_model_name
            cards = [{"id": base, "object": "model", "owned_by": "vllm", "parent": None}]
            cards += [
                {"id": name, "object": "model", "owned_by": "vllm", "parent": base}
                for name in self.fake.adapters
            ]
            self._send(200, {"object": "list", "data": cards})
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        raw, body = self._read_body()
        self._record(raw, body)
        if self.path not in ("/v1/chat/completions", "/invocations"):
            self._send(404, {"detail": "Not Found"})
            return
        rejection = self._reject(raw, body)
        if rejection is not None:
            self._send(rejection["error"]["code"], rejection)
            return
        assert isinstance(body, dict)
        scripted = self.fake._next() or Scripted(delay_s=self.fake.default_delay_s)
        if self.fake._wait(scripted.delay_s):
            return
        if scripted.drop:
            self.close_connection = True
            return  # nothing written: the client sees the connection close
        answer = scripted.body if scripted.body is not None else self.fake._default(body)
        if scripted.status == 200 and body.get("stream") and isinstance(answer, dict):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            token_delay = scripted.token_delay_s
            if token_delay is None:
                token_delay = self.fake.token_delay_s
            self._stream(completion_to_sse(answer, include_usage=include_usage), token_delay)
            return
        self._send(scripted.status, answer, scripted.headers)

    def _reject(self, raw: bytes, body: Any) -> dict[str, Any] | None:
        """vLLM's own 4xx answers for requests its handlers would refuse."""
        if not isinstance(body, dict):
            return error_body(f"Invalid JSON body: {raw[:80]!r}", status=400)
        if "messages" not in body:
            if self.path == "/invocations":
                return error_body(
                    "Cannot find suitable handler for request. Expected one of: "
                    "['messages', 'prompt', 'input'] (chat, completion, embedding); "
                    f"got keys {sorted(body)}",
                    status=400,
                )
            return error_body("Field required: messages", status=400, param="messages")
        model = body.get("model")
        if model is not None and model not in (self.fake.served_model_name, *self.fake.adapters):
            return error_body(
                f"The model `{model}` does not exist.", status=404, type="NotFoundError"
            )
        return _reject_response_format(body.get("response_format"))
