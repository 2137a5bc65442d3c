"""OpenTelemetry GenAI spans around every model call.

AgentCore Observability and its evaluators read spans; the agent's model
calls go through its own clients, which no auto-instrumentation knows. So
:class:`TracedModelClient` wraps a client and records each ``chat`` as a
``CLIENT`` span named ``chat {model}`` with the GenAI semantic-convention
attributes: operation, provider, request model and parameters, response
model, finish reasons, input/output token counts, and ``error.type`` on
failure. The span is a child of whatever span is current (the graph node
that asked), so it lands in the request's trace.

Message content is sensitive and large, so it is recorded only when the
settings ask for it (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``),
as ``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON, each cut to
:data:`MAX_CONTENT_CHARS`. Online evaluation of faithfulness needs it.

Only ``opentelemetry-api`` is used: without a configured SDK (a laptop, the
tests) the spans are no-ops that cost next to nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .types import CallProfile, ChatResult, ModelClient, ModelError, Turn

MAX_CONTENT_CHARS = 16_000
_TRACER = trace.get_tracer("stock_agent.models")


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "…"


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
            "gen_ai.provider.name": self.provider,
            "gen_ai.system": self.provider,  # the attribute's name before semconv 1.37
            "gen_ai.request.model": request_model,
            "gen_ai.request.max_tokens": profile.max_tokens,
            "gen_ai.request.temperature": profile.temperature,
            "stock_agent.model.purpose": profile.purpose,
        }
        if profile.reasoning_effort:
            attributes["gen_ai.request.reasoning_effort"] = profile.reasoning_effort
        if self.server_address:
            attributes["server.address"] = self.server_address
        if profile.tools:
            attributes["gen_ai.request.tool_names"] = [
                str(t.get("function", {}).get("name")) for t in profile.tools
            ]
        if self.capture_content:
            attributes["gen_ai.input.messages"] = _json(profile.messages(turns))
        with _TRACER.start_as_current_span(
            f"chat {request_model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            started = time.perf_counter()
            try:
                result = self.inner.chat(profile, turns)
            except ModelError as err:
                span.set_attribute("error.type", err.code)
                span.set_status(Status(StatusCode.ERROR, err.code))
                raise
            except Exception as err:
                span.set_attribute("error.type", type(err).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(err).__qualname__))
                raise
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
                output: dict[str, Any] = {"role": "assistant", "content": result.content}
                if result.tool_calls:
                    output["tool_calls"] = [
                        {"name": c.name, "arguments": c.arguments} for c in result.tool_calls
                    ]
                span.set_attribute("gen_ai.output.messages", _json([output]))
            return result
