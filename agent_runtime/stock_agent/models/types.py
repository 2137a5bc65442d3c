"""One interface to the reasoning model, whatever serves it.

Implementations:

- ``offline``: no model at all; :meth:`ModelClient.chat` raises
  :class:`ModelUnavailable`, and callers fall back to deterministic text.
- ``openai``: any OpenAI-compatible ``/v1/chat/completions`` server
  (:mod:`stock_agent.models.openai`).
- ``sagemaker``: ``sagemaker-runtime.invoke_endpoint`` with
  ``InferenceComponentName`` and a chat-completions body
  (:mod:`stock_agent.models.sagemaker`).

Every call is described by one :class:`CallProfile` (system prompt, token
budget, reasoning effort, served model, tools, ...): a client builds its
request from the profile and the turns that follow the system prompt, so no
call site repeats a keyword list a client could miss. Both remote clients
speak vLLM's chat-completions JSON and return a :class:`ChatResult`; every
failure is a :class:`ModelError` with a stable ``code`` so callers can
degrade gracefully and say why. A call's deadline is the current request's
(:func:`stock_agent.deadline.current_deadline`), read by the client itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..settings import REASONING_EFFORTS

Turn = Mapping[str, Any]  # one chat message: {"role": ..., "content": ...}


@dataclass(frozen=True, kw_only=True)
class CallProfile:
    """How one kind of call asks the model: everything the request body carries but the turns.

    The clients read the wire fields (``system_prompt`` … ``max_cold_wait_s``);
    :func:`stock_agent.answering.checked_text.ask_checked_text` also reads
    ``max_attempts`` and ``retry_prompt``, how often a rejected answer is asked
    for again and with what words. ``purpose`` names the call in spans and logs.
    """

    purpose: str
    system_prompt: str | None  # the first message; None: the turns carry their own
    max_tokens: int
    reasoning_effort: str | None = None  # gpt-oss: one of REASONING_EFFORTS
    temperature: float = 0.2
    tools: tuple[Mapping[str, Any], ...] = ()
    model: str | None = None  # the served name (a LoRA adapter or the base); None: the client's
    # Cap on waiting for a scaled-to-zero model (0: do not wait); None: the client's own.
    max_cold_wait_s: float | None = None
    max_attempts: int = 1
    retry_prompt: str | None = None  # "... rejected: {reason} ..." for the next attempt
    # {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}: the server
    # constrains the answer to the schema (vLLM's structured outputs; OpenAI's field).
    response_format: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.max_tokens < 1:
            problems.append(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.reasoning_effort is not None and self.reasoning_effort not in REASONING_EFFORTS:
            problems.append(
                f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, "
                f"got {self.reasoning_effort!r}"
            )
        if self.max_attempts < 1 or (self.max_attempts > 1 and not self.retry_prompt):
            problems.append("max_attempts must be >= 1, and above 1 only with a retry_prompt")
        if self.response_format is not None:
            problems += _response_format_problems(self.response_format)
        if problems:
            raise ValueError(f"call profile {self.purpose!r}: " + "; ".join(problems))

    def messages(self, turns: Sequence[Turn]) -> list[dict[str, Any]]:
        """The request's messages: the system prompt (when there is one), then ``turns``."""
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*head, *(dict(turn) for turn in turns)]


RESPONSE_FORMAT_TYPES = ("json_schema", "json_object")


def _response_format_problems(value: Any) -> list[str]:
    """What is wrong with a ``response_format`` vLLM's ``ResponseFormat`` would refuse."""
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind not in RESPONSE_FORMAT_TYPES:
        return [f"response_format.type must be one of {', '.join(RESPONSE_FORMAT_TYPES)}, "
                f"got {kind!r}"]  # fmt: skip
    spec = value.get("json_schema")
    if kind == "json_schema" and not (
        isinstance(spec, Mapping)
        and isinstance(spec.get("name"), str)
        and isinstance(spec.get("schema"), Mapping)
    ):
        return ["response_format.json_schema must be an object with a 'name' string and a "
                "'schema' object"]  # fmt: skip
    return []


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
    """What the agent needs from a model: one chat completion per call profile."""

    name: str

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult: ...


class OfflineModelClient:
    """No model: every call raises :class:`ModelUnavailable`."""

    name = "offline"

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        raise ModelUnavailable()
