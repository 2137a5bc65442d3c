"""Spans recorded in memory by the OpenTelemetry SDK, and a scripted model client to cause them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stock_agent.models.tracing import TracedModelClient
from stock_agent.models.types import CallProfile, ChatResult, ModelError, Turn

_EXPORTER = InMemorySpanExporter()


def recording_spans() -> InMemorySpanExporter:
    """The in-memory exporter, emptied; the first call of the process installs the SDK's
    provider (OpenTelemetry allows setting it only once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    return _EXPORTER


class ScriptedModel:
    """A model client that answers (or fails) with one given outcome and records each call."""

    name = "openai"

    def __init__(self, outcome: ChatResult | ModelError) -> None:
        self.outcome = outcome
        self.calls: list[dict[str, Any]] = []

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        self.calls.append({"profile": profile, "messages": profile.messages(turns)})
        if isinstance(self.outcome, ModelError):
            raise self.outcome
        return self.outcome


def traced_client(outcome: ChatResult | ModelError, **kwargs: Any) -> TracedModelClient:
    """:class:`ScriptedModel` wrapped as the agent wraps every model client."""
    return TracedModelClient(ScriptedModel(outcome), provider="openai", request_model="m", **kwargs)
