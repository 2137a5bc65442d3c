"""Model client for any OpenAI-compatible ``/v1/chat/completions`` server.

Used against a local vLLM (``vllm serve openai/gpt-oss-20b``), the model
container run by hand on port 8080, or any gateway that speaks the same JSON.
It uses the standard library's :mod:`urllib.request` on purpose: the agent
container must not need ``httpx``/``requests`` for one POST.

Failures are :class:`~stock_agent.models.types.ModelError` with stable codes:
429 → ``model_throttled``, 5xx → ``model_server_error`` (both retried with
full-jitter backoff, honouring ``Retry-After``), other 4xx →
``model_client_error`` (never retried), refused/dropped connections →
``model_unavailable`` and socket timeouts → ``model_timeout`` (retried).
Retries stop at ``max_retries`` or at the caller's deadline, whichever comes
first.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from ..context import AgentContext
from .types import ChatResult, ModelError
from .wire import (
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
    def from_context(cls, ctx: AgentContext) -> OpenAIModelClient:
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

    def _request(self, body: dict[str, Any], *, stream: bool) -> urllib.request.Request:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return urllib.request.Request(  # noqa: S310 (scheme checked to be http(s) in __init__)
            self.url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
        )

    def _open(self, request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
        """POST once; translate every transport failure into a ModelError."""
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(  # noqa: S310 (http(s) checked in __init__)
                request, timeout=timeout
            )
            return response
        except urllib.error.HTTPError as err:
            try:
                raw = err.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            finally:
                err.close()
            raise error_from_status(
                err.code,
                f"{self.url} answered HTTP {err.code}: {message_of_error_body(raw)}",
                retry_after=parse_retry_after(err.headers.get("Retry-After")),
            ) from None
        except TimeoutError:
            raise self._timeout(timeout) from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise self._timeout(timeout) from None
            raise ModelError(
                "model_unavailable", f"cannot reach {self.url}: {err.reason}", retryable=True
            ) from None
        except (ConnectionError, http.client.HTTPException) as err:
            raise self._dropped(err) from None

    def _timeout(self, timeout: float) -> ModelError:
        return ModelError(
            "model_timeout", f"{self.url} did not answer within {timeout:.1f} s", retryable=True
        )

    def _dropped(self, err: Exception) -> ModelError:
        return ModelError(
            "model_unavailable",
            f"connection to {self.url} failed: {type(err).__name__}: {err}",
            retryable=True,
        )

    def _attempt_timeout(self, remaining: float | None) -> float:
        return self.timeout_s if remaining is None else max(0.001, min(self.timeout_s, remaining))

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> ChatResult:
        """One chat completion; retries transient failures within ``deadline``."""
        body = build_chat_body(
            messages, model=self.model, max_tokens=max_tokens, temperature=temperature, tools=tools
        )

        def attempt(remaining: float | None) -> ChatResult:
            timeout = self._attempt_timeout(remaining)
            started = time.monotonic()
            with self._open(self._request(body, stream=False), timeout) as response:
                try:
                    raw = response.read()
                except TimeoutError:
                    raise self._timeout(timeout) from None
                except (ConnectionError, http.client.HTTPException) as err:
                    raise self._dropped(err) from None
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
            deadline=deadline,
            what=f"POST {self.url}",
            sleep=self._sleep,
            rng=self._rng,
        )

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> Iterator[StreamDelta]:
        """Stream one chat completion as :class:`StreamDelta` items (used by the benchmark).

        Only opening the stream is retried; once tokens flow, a failure is
        raised to the caller (a half-streamed answer cannot be retried
        transparently).
        """
        body = build_chat_body(
            messages,
            model=self.model,
            max_tokens=max_tokens,
            temperature=temperature,
            tools=tools,
            stream=True,
        )

        def attempt(remaining: float | None) -> tuple[http.client.HTTPResponse, float]:
            timeout = self._attempt_timeout(remaining)
            return self._open(self._request(body, stream=True), timeout), timeout

        response, timeout = call_with_retries(
            attempt,
            policy=self.policy,
            deadline=deadline,
            what=f"POST {self.url} (stream)",
            sleep=self._sleep,
            rng=self._rng,
        )
        with response:
            try:
                yield from parse_sse_stream(iter_sse_lines(iter(response.readline, b"")))
            except TimeoutError:
                raise self._timeout(timeout) from None
            except (ConnectionError, http.client.HTTPException) as err:
                raise self._dropped(err) from None
