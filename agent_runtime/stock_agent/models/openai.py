"""Model client for any OpenAI-compatible ``/v1/chat/completions`` server.

Used against a local vLLM (``vllm serve openai/gpt-oss-20b``), the model
container run by hand on port 8080, or any gateway that speaks the same JSON.
It uses the standard library's :mod:`http.client` on purpose: the agent
container must not need ``httpx``/``requests`` for one POST.

Time limits are totals: an attempt gets ``min(timeout_s, time left before
the request's deadline)`` for connecting, sending, the status line, the
headers and the whole body (or stream). A socket timeout alone is per read,
so a server trickling a byte a second would never hit it; a watchdog
(:func:`stock_agent.deadline.socket_deadline`) shuts the socket down when
the attempt's time is up. Bodies over
:data:`~stock_agent.models.wire.MAX_RESPONSE_BYTES` are refused.

Failures are :class:`~stock_agent.models.types.ModelError` with stable codes:
429 → ``model_throttled``, 5xx → ``model_server_error`` (both retried with
full-jitter backoff, honouring ``Retry-After``), other 4xx →
``model_client_error`` (never retried), refused/dropped connections →
``model_unavailable`` and timeouts → ``model_timeout`` (retried).
Retries stop at ``max_retries`` or at the request's deadline, whichever comes
first.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..deadline import connection_socket, current_deadline, socket_deadline, timed_connection
from ..settings import AgentSettings
from .types import CallProfile, ChatResult, ModelError, Turn
from .wire import (
    MAX_RESPONSE_BYTES,
    RetryPolicy,
    StreamDelta,
    build_chat_body,
    call_with_retries,
    error_from_status,
    iter_sse_lines,
    message_of_error_body,
    parse_chat_completion,
    parse_sse_stream,
)

logger = logging.getLogger(__name__)

_USER_AGENT = "stock-agent/0.1 (+model_openai)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIModelClient:
    """Chat completions over HTTP with bounded, jittered retries."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        retry_after_cap_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ModelError("model_client_error", f"base_url must be http(s), got {base_url!r}")
        if timeout_s <= 0:
            raise ModelError("model_client_error", f"timeout_s must be > 0, got {timeout_s}")
        if max_retries < 0:
            raise ModelError("model_client_error", f"max_retries must be >= 0, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
            retry_after_cap_s=retry_after_cap_s,
        )
        self._api_key = api_key
        self._sleep = sleep
        self._rng = rng

    @classmethod
    def from_settings(cls, ctx: AgentSettings) -> OpenAIModelClient:
        """The client the settings describe (``OPENAI_BASE_URL``, ``OPENAI_MODEL``, ...)."""
        if not ctx.openai_base_url:
            raise ModelError("model_client_error", "OPENAI_BASE_URL is not set")
        return cls(
            base_url=ctx.openai_base_url,
            model=ctx.served_model,
            api_key=ctx.openai_api_key,
            timeout_s=ctx.model_timeout_seconds,
            max_retries=ctx.model_max_retries,
        )

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        return timed_connection(self.url, timeout=timeout)

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _send(
        self, conn: http.client.HTTPConnection, body: dict[str, Any], *, stream: bool
    ) -> http.client.HTTPResponse:
        """POST once and read the status line and headers; an error status raises."""
        path = urllib.parse.urlsplit(self.url).path or "/"
        data = json.dumps(body).encode("utf-8")
        conn.request("POST", path, body=data, headers=self._headers(stream=stream))
        response = conn.getresponse()
        if response.status >= 400:
            raw = read_capped(response, MAX_RESPONSE_BYTES, what=self.url)
            raise error_from_status(
                response.status,
                f"{self.url} answered HTTP {response.status}: {message_of_error_body(raw)}",
                retry_after=parse_retry_after(response.getheader("Retry-After")),
            )
        return response

    def _failure(self, err: Exception, *, budget: float, alarm: Any) -> ModelError:
        """The ModelError for a transport failure: a timeout when the time was up."""
        if alarm.fired or isinstance(err, TimeoutError):
            return self._timeout(budget)  # whatever a cut-off read then looked like
        if isinstance(err, ModelError):
            return err
        if isinstance(err, ConnectionRefusedError | socket.gaierror):
            return ModelError(
                "model_unavailable", f"cannot reach {self.url}: {err}", retryable=True
            )
        return self._dropped(err)

    def _timeout(self, timeout: float) -> ModelError:
        return ModelError(
            "model_timeout",
            f"{self.url} did not complete its answer within {timeout:.1f} s (total)",
            retryable=True,
        )

    def _dropped(self, err: Exception) -> ModelError:
        return ModelError(
            "model_unavailable",
            f"connection to {self.url} failed: {type(err).__name__}: {err}",
            retryable=True,
        )

    def _attempt_timeout(self, remaining: float | None) -> float:
        """The total time of one attempt: the client's limit, or less when the deadline is near."""
        return self.timeout_s if remaining is None else max(0.001, min(self.timeout_s, remaining))

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        """One chat completion; retries transient failures within the request's deadline."""
        body = build_chat_body(profile, turns, model=self.model)

        def attempt(remaining: float | None) -> ChatResult:
            budget = self._attempt_timeout(remaining)
            started = time.monotonic()
            conn = self._connection(budget)
            try:
                with socket_deadline(started + budget, lambda: connection_socket(conn)) as alarm:
                    try:
                        response = self._send(conn, body, stream=False)
                        raw = read_capped(response, MAX_RESPONSE_BYTES, what=self.url)
                    except (OSError, http.client.HTTPException, ModelError) as err:
                        raise self._failure(err, budget=budget, alarm=alarm) from None
                    if alarm.fired:  # a body without a length ends at the shutdown
                        raise self._timeout(budget)
            finally:
                conn.close()
            result = parse_chat_completion(raw)
            logger.info(
                "model call ok: %s in %.2f s, %d prompt + %d completion tokens, finish=%s",
                self.url,
                time.monotonic() - started,
                result.usage.prompt_tokens,
                result.usage.completion_tokens,
                result.finish_reason,
            )
            return result

        return call_with_retries(
            attempt,
            policy=self.policy,
            deadline=current_deadline(),
            what=f"POST {self.url}",
            sleep=self._sleep,
            rng=self._rng,
        )

    def stream_chat(self, profile: CallProfile, turns: Sequence[Turn]) -> Iterator[StreamDelta]:
        """Stream one chat completion as :class:`StreamDelta` items (used by the benchmark).

        Only opening the stream is retried; once tokens flow, a failure is
        raised to the caller (a half-streamed answer cannot be retried
        transparently). The whole stream shares the attempt's total time.
        """
        body = build_chat_body(profile, turns, model=self.model, stream=True)

        def attempt(remaining: float | None) -> tuple[http.client.HTTPConnection, Any, float, Any]:
            budget = self._attempt_timeout(remaining)
            conn = self._connection(budget)
            guard = socket_deadline(time.monotonic() + budget, lambda: connection_socket(conn))
            alarm = guard.__enter__()
            try:
                return conn, self._send(conn, body, stream=True), budget, (guard, alarm)
            except (OSError, http.client.HTTPException, ModelError) as err:
                guard.__exit__(None, None, None)
                conn.close()
                raise self._failure(err, budget=budget, alarm=alarm) from None

        conn, response, budget, (guard, alarm) = call_with_retries(
            attempt,
            policy=self.policy,
            deadline=current_deadline(),
            what=f"POST {self.url} (stream)",
            sleep=self._sleep,
            rng=self._rng,
        )
        try:
            lines = iter_capped_lines(response, MAX_RESPONSE_BYTES, what=self.url)
            for delta in parse_sse_stream(iter_sse_lines(lines)):
                yield delta
                if delta.done:
                    return
            if alarm.fired:
                raise self._timeout(budget)
        except (OSError, http.client.HTTPException, ModelError) as err:
            raise self._failure(err, budget=budget, alarm=alarm) from None
        finally:
            guard.__exit__(None, None, None)
            conn.close()


def read_capped(response: http.client.HTTPResponse, limit: int, *, what: str) -> bytes:
    """The whole body, refusing one over ``limit`` bytes (declared or actual)."""
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise ModelError(
            "model_bad_response", f"{what} sent a {int(declared)}-byte body (limit {limit})"
        )
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(65536):
        size += len(chunk)
        if size > limit:
            raise ModelError("model_bad_response", f"{what} sent over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def iter_capped_lines(
    response: http.client.HTTPResponse, limit: int, *, what: str
) -> Iterator[bytes]:
    """The body's lines, at most ``limit`` bytes in all."""
    size = 0
    while line := response.readline(limit + 1):
        size += len(line)
        if size > limit:
            raise ModelError("model_bad_response", f"{what} streamed over {limit} bytes")
        yield line
