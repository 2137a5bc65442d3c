"""The chat-completions wire format the agent and the model container share.

vLLM's OpenAI server is the contract: the agent sends a chat-completions body
(``messages``, ``max_tokens``, ``temperature``, optional ``tools`` with
``tool_choice="auto"``) and reads back a ``chat.completion`` object or, when
streaming, ``chat.completion.chunk`` events over SSE ending in
``data: [DONE]``. Both remote clients (:mod:`stock_agent.models.openai` and
:mod:`stock_agent.models.sagemaker`) build and parse bodies here, so the two
cannot drift apart, and every way a body can be wrong becomes a
:class:`~stock_agent.models.types.ModelError` with a stable code instead of a
``KeyError`` deep inside a caller.

Field names follow vLLM's protocol definitions: the gpt-oss analysis channel
arrives as ``reasoning`` (vLLM >= 0.11.1; the only name after vLLM PR #33402)
or ``reasoning_content`` (older releases, still emitted next to ``reasoning``
by 0.13); both are accepted. Errors are ``{"error": {"message", "type",
"param", "code"}}`` where ``code`` is the HTTP status (vLLM's ``ErrorInfo``);
the flat pre-0.10 shape ``{"object": "error", "message", ...}`` is accepted
too.

The module also holds the retry loop both clients use (exponential backoff
with full jitter, bounded by a retry count *and* a ``time.monotonic()``
deadline) so the policy is written and tested once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .types import CallProfile, ChatResult, ModelError, ToolCall, Turn, Usage

logger = logging.getLogger(__name__)

T = TypeVar("T")

_EXCERPT_CHARS = 200
# No model answer the agent uses comes near this; a body past it is refused unread.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


# --------------------------------------------------------------------------- bodies


def build_chat_body(
    profile: CallProfile,
    turns: Sequence[Turn],
    *,
    model: str | None,
    stream: bool = False,
) -> dict[str, Any]:
    """The chat-completions request body vLLM's ``/v1/chat/completions`` and ``/invocations`` take.

    Everything but the turns comes from ``profile``; ``model`` is the served
    name when the profile names none (the client's own). ``tool_choice`` is
    ``"auto"`` and only sent with tools: it is the one choice gpt-oss handles
    reliably through vLLM's ``openai`` tool parser. When streaming, usage is
    requested in the final chunk so token counts are the same in both forms.
    ``reasoning_effort`` (vLLM's chat-completions field) is sent when the
    profile sets one: gpt-oss spends ``max_tokens`` on reasoning first, so a
    small budget needs a low effort. ``response_format`` (OpenAI's field, which
    vLLM's chat-completions request takes and enforces by structured-output
    decoding; ``/invocations`` routes a body with ``messages`` to the same
    handler) is sent when the profile sets one.
    """
    if isinstance(turns, str | bytes) or not isinstance(turns, Sequence):
        raise ModelError("model_client_error", "turns must be a list of dicts")
    for i, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or "role" not in turn:
            raise ModelError("model_client_error", f"turns[{i}] must be a dict with a 'role'")
    messages = profile.messages(turns)
    if not messages:
        raise ModelError("model_client_error", "a call needs a system prompt or at least one turn")
    body: dict[str, Any] = {
        "messages": messages,
        "max_tokens": int(profile.max_tokens),
        "temperature": float(profile.temperature),
    }
    served = profile.model or model
    if served:
        body["model"] = served
    if profile.tools:
        body["tools"] = [dict(tool) for tool in profile.tools]
        body["tool_choice"] = "auto"
    if profile.reasoning_effort is not None:
        body["reasoning_effort"] = profile.reasoning_effort
    if profile.response_format is not None:
        body["response_format"] = json.loads(json.dumps(profile.response_format))
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


# --------------------------------------------------------------------------- helpers


def excerpt(raw: object, limit: int = _EXCERPT_CHARS) -> str:
    """A short, printable slice of a body for an error message (never the whole thing)."""
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw[: limit * 4]).decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        try:
            text = json.dumps(raw, default=str)
        except (TypeError, ValueError):
            text = repr(raw)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "…"


def _bad(message: str, raw: object) -> ModelError:
    return ModelError("model_bad_response", f"{message}; body: {excerpt(raw)!r}")


def _load_json(body: bytes | str | dict[str, Any]) -> Any:
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes | bytearray):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("model response is not UTF-8", body) from None
    elif isinstance(body, str):
        text = body
    else:
        raise _bad(f"model response has unsupported type {type(body).__name__}", body)
    try:
        return json.loads(text)
    except ValueError:
        raise _bad("model response is not JSON", text) from None


class RetryAfterError(ModelError):
    """A :class:`ModelError` that also carries the server's ``Retry-After`` (seconds)."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(code, message, retryable=retryable)
        self.retry_after = retry_after


def error_from_status(status: int, message: str, *, retry_after: float | None = None) -> ModelError:
    """Map an HTTP status of the model server to a :class:`ModelError` code.

    429 and 5xx are retryable (busy or broken for a moment); other 4xx mean
    the request itself is wrong and retrying cannot help.
    """
    if status == 429:
        return RetryAfterError("model_throttled", message, retryable=True, retry_after=retry_after)
    if status >= 500:
        return RetryAfterError(
            "model_server_error", message, retryable=True, retry_after=retry_after
        )
    return ModelError("model_client_error", message)


def error_body_message(obj: Any) -> tuple[str, int | None] | None:
    """``(message, status)`` of a vLLM error body, or None when ``obj`` is not one.

    Accepts the nested ``{"error": {...}}`` shape (vLLM >= 0.10, OpenAI) and the
    older flat ``{"object": "error", "message": ...}`` shape.
    """
    if not isinstance(obj, dict):
        return None
    info: Any = None
    if "error" in obj and "choices" not in obj:
        info = obj["error"]
    elif obj.get("object") == "error":
        info = obj
    if info is None:
        return None
    if isinstance(info, str):
        return info, None
    if not isinstance(info, dict):
        return excerpt(info), None
    message = info.get("message")
    text = message if isinstance(message, str) and message else excerpt(info)
    code = info.get("code")
    status = code if isinstance(code, int) and 100 <= code <= 599 else None
    kind = info.get("type")
    if isinstance(kind, str) and kind:
        text = f"{kind}: {text}"
    return text, status


def message_of_error_body(raw: bytes | str) -> str:
    """Best human-readable message from an HTTP error body of any shape."""
    try:
        parsed = _load_json(raw)
    except ModelError:
        return excerpt(raw)
    found = error_body_message(parsed)
    return found[0] if found else excerpt(parsed)


def _raise_for_error_body(obj: Any) -> None:
    found = error_body_message(obj)
    if found is None:
        return
    text, status = found
    raise error_from_status(status or 500, f"model server returned an error: {text}")


def _int_field(obj: dict[str, Any], name: str, raw: object) -> int:
    value = obj.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"usage.{name} is not an integer", raw)
    return value


def _usage(obj: Any, raw: object) -> Usage:
    if obj is None:
        return Usage()
    if not isinstance(obj, dict):
        raise _bad("usage is not an object", raw)
    return Usage(
        prompt_tokens=_int_field(obj, "prompt_tokens", raw),
        completion_tokens=_int_field(obj, "completion_tokens", raw),
    )


def _arguments(name: str, arguments: Any, raw: object) -> dict[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        raise _bad(f"tool call {name!r} has arguments of type {type(arguments).__name__}", raw)
    try:
        parsed = json.loads(arguments)
    except ValueError:
        raise ModelError(
            "model_bad_response",
            f"tool call {name!r} has arguments that are not JSON: {excerpt(arguments)!r}",
        ) from None
    if not isinstance(parsed, dict):
        raise ModelError(
            "model_bad_response",
            f"tool call {name!r} arguments must be a JSON object, got {excerpt(arguments)!r}",
        )
    return parsed


def _tool_calls(items: Any, raw: object) -> tuple[ToolCall, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _bad("message.tool_calls is not a list", raw)
    calls: list[ToolCall] = []
    for i, item in enumerate(items):
        function = item.get("function") if isinstance(item, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise _bad(f"tool_calls[{i}] has no function name", raw)
        assert isinstance(function, dict) and isinstance(item, dict)  # narrowed above
        call_id = item.get("id")
        calls.append(
            ToolCall(
                id=call_id if isinstance(call_id, str) and call_id else f"call_{i}",
                name=name,
                arguments=_arguments(name, function.get("arguments"), raw),
            )
        )
    return tuple(calls)


def _reasoning(obj: dict[str, Any]) -> str | None:
    for key in ("reasoning_content", "reasoning"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _optional_str(obj: dict[str, Any], name: str, raw: object) -> str | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{name} is not a string", raw)


# --------------------------------------------------------------------------- parsing


def parse_chat_completion(body: bytes | str | dict[str, Any]) -> ChatResult:
    """Read a vLLM ``chat.completion`` object into a :class:`ChatResult`.

    Raises :class:`ModelError`: the server's code (throttled / server / client
    error) for an error body, ``model_bad_response`` with a short excerpt for
    anything else that is not a chat completion.
    """
    obj = _load_json(body)
    if not isinstance(obj, dict):
        raise _bad("model response is not a JSON object", obj)
    _raise_for_error_body(obj)
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _bad("model response has no choices", obj)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise _bad("choices[0] has no message object", obj)
    assert isinstance(choice, dict)
    content = _optional_str(message, "content", obj)
    model = obj.get("model")
    return ChatResult(
        content=content or "",
        reasoning=_reasoning(message),
        tool_calls=_tool_calls(message.get("tool_calls"), obj),
        finish_reason=_optional_str(choice, "finish_reason", obj),
        usage=_usage(obj.get("usage"), obj),
        model=model if isinstance(model, str) else None,
    )


@dataclass(frozen=True)
class StreamDelta:
    """One ``chat.completion.chunk`` (or the end of the stream, ``done=True``).

    ``tool_calls`` holds the raw fragments (``index``, ``id``, ``function.name``,
    ``function.arguments`` pieces); :func:`assemble_stream` joins them.
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    done: bool = False


def iter_sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split a byte stream into text lines, whatever the chunk boundaries.

    SageMaker's ``PayloadPart`` events and HTTP reads cut the SSE text at
    arbitrary points, even inside a UTF-8 character, so lines are cut from a
    byte buffer before decoding.
    """
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    if buffer:
        yield buffer.rstrip(b"\r").decode("utf-8", errors="replace")


def _chunk_delta(obj: Any) -> StreamDelta:
    if not isinstance(obj, dict):
        raise _bad("stream chunk is not a JSON object", obj)
    _raise_for_error_body(obj)
    choices = obj.get("choices")
    if not isinstance(choices, list):
        raise _bad("stream chunk has no choices list", obj)
    usage = _usage(obj["usage"], obj) if obj.get("usage") is not None else None
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    if not choices:
        return StreamDelta(usage=usage, model=model)
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        raise _bad("stream chunk choices[0] has no delta object", obj)
    assert isinstance(choice, dict)
    fragments = delta.get("tool_calls") or []
    if not isinstance(fragments, list) or not all(isinstance(f, dict) for f in fragments):
        raise _bad("stream chunk delta.tool_calls is not a list of objects", obj)
    return StreamDelta(
        content=_optional_str(delta, "content", obj) or "",
        reasoning=_reasoning(delta) or "",
        tool_calls=tuple(fragments),
        finish_reason=_optional_str(choice, "finish_reason", obj),
        usage=usage,
        model=model,
    )


def parse_sse_stream(lines: Iterable[str | bytes]) -> Iterator[StreamDelta]:
    """Parse vLLM's streamed chat completion (``data: {...}`` lines) into deltas.

    Yields one :class:`StreamDelta` per chunk and a final ``done=True`` delta
    at ``data: [DONE]``. An error chunk raises the matching
    :class:`ModelError`; a chunk that is not JSON raises ``model_bad_response``.
    A stream that ends without ``[DONE]`` simply stops (no ``done`` delta), so
    :func:`assemble_stream` can tell a truncated stream from a finished one.
    """
    for raw_line in lines:
        line = (
            raw_line.decode("utf-8", errors="replace") if isinstance(raw_line, bytes) else raw_line
        )
        line = line.strip("\r\n")
        if not line or line.startswith(":") or not line.startswith("data:"):
            continue  # blank separators, comments, ``event:``/``id:`` fields
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            yield StreamDelta(done=True)
            return
        yield _chunk_delta(_load_json(data))


@dataclass
class _ToolFragment:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def assemble_stream(deltas: Iterable[StreamDelta]) -> ChatResult:
    """Join streamed deltas into the :class:`ChatResult` the non-streamed call returns."""
    content: list[str] = []
    reasoning: list[str] = []
    tools: dict[int, _ToolFragment] = {}
    finish_reason: str | None = None
    usage = Usage()
    model: str | None = None
    done = False
    for delta in deltas:
        if delta.done:
            done = True
            break
        content.append(delta.content)
        reasoning.append(delta.reasoning)
        for fragment in delta.tool_calls:
            index = fragment.get("index", 0)
            slot = tools.setdefault(index if isinstance(index, int) else 0, _ToolFragment())
            if isinstance(fragment.get("id"), str):
                slot.id = fragment["id"]
            function = fragment.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str):
                    slot.name += function["name"]
                if isinstance(function.get("arguments"), str):
                    slot.arguments.append(function["arguments"])
        finish_reason = delta.finish_reason or finish_reason
        usage = delta.usage or usage
        model = delta.model or model
    if not done:
        raise ModelError("model_bad_response", "model stream ended before data: [DONE]")
    calls = tuple(
        ToolCall(
            id=slot.id or f"call_{index}",
            name=slot.name,
            arguments=_arguments(slot.name, "".join(slot.arguments), slot),
        )
        for index, slot in sorted(tools.items())
        if slot.name
    )
    return ChatResult(
        content="".join(content),
        reasoning="".join(reasoning) or None,
        tool_calls=calls,
        finish_reason=finish_reason,
        usage=usage,
        model=model,
    )


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How a client retries one model call.

    ``max_retries`` extra attempts after the first, each preceded by a sleep
    of ``uniform(0, min(cap, base * 2**n))`` (full jitter: concurrent agents
    that failed together do not retry together), or by the server's
    ``Retry-After`` capped at ``retry_after_cap_s``. No sleep may cross the
    caller's deadline.
    """

    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    retry_after_cap_s: float = 20.0

    def delay(self, attempt: int, *, rng: Callable[[], float], retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_cap_s)
        return rng() * min(self.backoff_cap_s, self.backoff_base_s * (2**attempt))


def remaining_s(deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (a ``time.monotonic()`` value), or None for no deadline."""
    return None if deadline is None else deadline - time.monotonic()


def call_with_retries(
    attempt: Callable[[float | None], T],
    *,
    policy: RetryPolicy,
    deadline: float | None,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt(remaining_seconds)`` until it succeeds, retrying retryable ModelErrors.

    Stops at ``policy.max_retries`` (re-raising the last error) or when the
    next sleep would cross ``deadline`` (raising ``deadline_exceeded`` that
    names the last error).
    """
    tries = 0
    while True:
        left = remaining_s(deadline)
        if left is not None and left <= 0:
            raise ModelError("deadline_exceeded", f"{what}: the request deadline has passed")
        try:
            return attempt(left)
        except ModelError as err:
            if not err.retryable or tries >= policy.max_retries:
                raise
            pause = policy.delay(tries, rng=rng, retry_after=getattr(err, "retry_after", None))
            left = remaining_s(deadline)
            if left is not None and pause >= left:
                raise ModelError(
                    "deadline_exceeded",
                    f"{what}: no time left to retry after {err.code}: {err.message}",
                ) from err
            tries += 1
            logger.warning(
                "%s failed (%s: %s); retry %d/%d in %.2f s",
                what,
                err.code,
                err.message,
                tries,
                policy.max_retries,
                pause,
            )
            sleep(pause)
