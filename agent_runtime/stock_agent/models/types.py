"""One interface to the reasoning model, whatever serves it.

Implementations:

- ``offline``: no model at all; :meth:`ModelClient.chat` raises
  :class:`ModelUnavailable`, and callers fall back to deterministic text.
- ``openai``: any OpenAI-compatible ``/v1/chat/completions`` server
  (:mod:`stock_agent.models.openai`).
- ``sagemaker``: ``sagemaker-runtime.invoke_endpoint`` with
  ``InferenceComponentName`` and a chat-completions body
  (:mod:`stock_agent.models.sagemaker`).

Both remote clients speak vLLM's chat-completions JSON and return a
:class:`ChatResult`; every failure is a :class:`ModelError` with a stable
``code`` so callers can degrade gracefully and say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for (OpenAI ``tool_calls`` item)."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ChatResult:
    """The parts of a chat-completions response the agent uses."""

    content: str
    reasoning: str | None = None  # vLLM's ``reasoning_content`` (gpt-oss analysis channel)
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    warnings: tuple[str, ...] = ()  # e.g. "model endpoint was cold; waited 42 s"


class ModelError(Exception):
    """A model call failed. ``code`` is stable and machine-readable.

    Codes: ``model_unavailable`` (offline or unreachable), ``model_throttled``,
    ``model_server_error``, ``model_timeout``, ``model_bad_response``,
    ``model_no_capacity``, ``model_client_error``, ``deadline_exceeded``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        # Seconds after which the model may answer (a server's Retry-After, a cold start).
        self.retry_after = retry_after

    @property
    def public_message(self) -> str:
        """What a caller may read: the kind of failure, never URLs, hosts or endpoint names.

        :attr:`message` has the details for the logs.
        """
        return PUBLIC_MESSAGES.get(self.code, "the model call failed")


PUBLIC_MESSAGES = {
    "model_unavailable": "the model could not be reached",
    "model_throttled": "the model is throttling requests",
    "model_server_error": "the model server failed",
    "model_timeout": "the model did not answer in time",
    "model_bad_response": "the model's answer could not be read",
    "model_no_capacity": "the model has no running copy yet",
    "model_starting": "the model is starting",
    "model_client_error": "the model refused the request",
    "deadline_exceeded": "the request ran out of time for the model",
}


class ModelUnavailable(ModelError):
    def __init__(self, message: str = "no model is configured (MODEL_PROVIDER=offline)") -> None:
        super().__init__("model_unavailable", message)


class ModelClient(Protocol):
    """What the agent needs from a model."""

    name: str

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,  # time.monotonic() value after which to give up
        reasoning_effort: str | None = None,  # gpt-oss: low | medium | high
        max_cold_wait_s: float | None = None,  # cap on waiting for a scaled-to-zero model
        # {"type": "json_schema", "json_schema": {...}}: the server constrains the answer
        response_format: dict[str, Any] | None = None,
    ) -> ChatResult: ...


class OfflineModelClient:
    """No model: every call raises :class:`ModelUnavailable`."""

    name = "offline"

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
        reasoning_effort: str | None = None,
        max_cold_wait_s: float | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatResult:
        raise ModelUnavailable()
