"""Fixtures shared by the agent's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.spans import recording_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans finished during the test (model-call and node spans), in order."""
    exporter = recording_spans()
    yield exporter
    exporter.clear()
