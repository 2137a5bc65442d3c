"""A GenAI span around every model call, in the form AgentCore Evaluations reads.

The agent's model calls go through its own clients, which no
auto-instrumentation knows, so :class:`TracedModelClient` wraps a client and
records each ``chat`` as a ``CLIENT`` span named ``chat {model}`` in the
evaluated scope (:data:`stock_agent.observability.tracing.EVALUATED_SCOPE`)
with the OpenTelemetry GenAI attributes (operation, provider under its
current and its former name, request model and parameters, the profile's
reasoning effort, response model, finish reasons, token counts,
``error.type`` on failure), ``llm.request.type=chat`` (how the evaluation
service tells an inference span of that scope), and the turn's ``session.id``.
The span is a child of whatever span is current (the graph node that asked),
so it lands in the request's trace.

Message content is sensitive and large, so it is recorded only when the
settings ask for it (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``):
each message of the request as ``gen_ai.prompt.<i>.role``/``.content`` and the
answer as ``gen_ai.completion.0.*`` (with its tool calls), as the LangChain
instrumentation of that scope records them, each cut to
:data:`~stock_agent.observability.tracing.MAX_CONTENT_CHARS`. The online
evaluators judge from them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import SpanKind

from ..observability.tracing import (
    MAX_CONTENT_CHARS,
    TRACER,
    content_json,
    cut,
    failures_marked,
    session_attributes,
)
from .types import CallProfile, ChatResult, ModelClient, Turn

__all__ = ["MAX_CONTENT_CHARS", "TracedModelClient"]


def _text(value: Any) -> str:
    return cut(value) if isinstance(value, str) else content_json(value)


def prompt_attributes(messages: Sequence[Turn]) -> dict[str, str]:
    """``gen_ai.prompt.<i>.role`` / ``.content`` of every message sent."""
    attributes: dict[str, str] = {}
    for i, message in enumerate(messages):
        attributes[f"gen_ai.prompt.{i}.role"] = str(message.get("role", "user"))
        attributes[f"gen_ai.prompt.{i}.content"] = _text(message.get("content") or "")
    return attributes


def completion_attributes(result: ChatResult) -> dict[str, str]:
    """``gen_ai.completion.0.*`` of the answer: its text and each tool call asked for."""
    attributes = {
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": _text(result.content),
    }
    if result.finish_reason:
        attributes["gen_ai.completion.0.finish_reason"] = result.finish_reason
    for j, call in enumerate(result.tool_calls):
        prefix = f"gen_ai.completion.0.tool_calls.{j}"
        attributes |= {
            f"{prefix}.id": call.id,
            f"{prefix}.name": call.name,
            f"{prefix}.arguments": json.dumps(call.arguments, ensure_ascii=False),
        }
    return attributes


class TracedModelClient:
    """A :class:`ModelClient` that records each call as a GenAI span, then delegates."""

    def __init__(
        self,
        inner: ModelClient,
        *,
        provider: str,
        request_model: str,
        server_address: str | None = None,
        capture_content: bool = False,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.provider = provider
        self.request_model = request_model
        self.server_address = server_address
        self.capture_content = capture_content

    def __getattr__(self, name: str) -> Any:
        """Anything else (``wake``, ``starting_eta_s``) is the wrapped client's."""
        return getattr(self.inner, name)

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        request_model = profile.model or self.request_model
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "llm.request.type": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.system": self.provider,  # the attribute's name before semconv 1.37
            "gen_ai.request.model": request_model,
            "gen_ai.request.max_tokens": profile.max_tokens,
            "gen_ai.request.temperature": profile.temperature,
            "stock_agent.model.purpose": profile.purpose,
            **session_attributes(),
        }
        if profile.reasoning_effort:
            attributes["gen_ai.request.reasoning_effort"] = profile.reasoning_effort
        if self.server_address:
            attributes["server.address"] = self.server_address
        if profile.tools:
            attributes["gen_ai.request.tool_names"] = [
                str(t.get("function", {}).get("name")) for t in profile.tools
            ]
        if profile.response_format is not None:
            attributes["gen_ai.output.type"] = "json"
        if self.capture_content:
            attributes |= prompt_attributes(profile.messages(turns))
        with TRACER.start_as_current_span(
            f"chat {request_model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            started = time.perf_counter()
            try:
                with failures_marked(span):
                    result = self.inner.chat(profile, turns)
            finally:
                span.set_attribute(
                    "stock_agent.model.latency_ms", round((time.perf_counter() - started) * 1000, 1)
                )
            span.set_attribute("gen_ai.response.model", result.model or request_model)
            span.set_attribute(
                "gen_ai.response.finish_reasons", [result.finish_reason or "unknown"]
            )
            span.set_attribute("gen_ai.usage.input_tokens", result.usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", result.usage.completion_tokens)
            if result.tool_calls:
                span.set_attribute("gen_ai.response.tool_calls", len(result.tool_calls))
            if self.capture_content:
                span.set_attributes(completion_attributes(result))
            return result
