"""What each call site sends the model, byte for byte: the request bodies are pinned.

The agent runs in process through the real graph, once with the OpenAI client
against FakeVLLM (vLLM's chat-completions JSON on loopback) and once with the
SageMaker client against FakeSageMakerRuntime (SageMaker Runtime's REST
protocol, reached by a real boto3 client) in front of the same fake: neither
the GPU nor an endpoint can run here. A session goes through every call site
the agent has: the request plan the model fills for a company it names by
description (with its JSON schema as ``response_format``), a narrative rejected
once and regenerated, a comparison narrative and a follow-up answer. Every body either
client sent is compared with ``tests/fixtures/model_wire_bodies.json``; the
clock is fixed so the market data (and so the prompts) are the same each run.

Regenerate the fixture only when a change to the wire is intended:
``STOCK_AGENT_WRITE_WIRE_FIXTURE=1 .venv/bin/pytest tests/integration/test_model_wire_bodies.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.models.sagemaker import SageMakerModelClient, is_wake_probe
from stock_agent.models.types import ModelClient
from stock_agent.settings import AgentSettings

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.fake_vllm import FakeVLLM, chat_completion
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.slow

FIXTURE = FIXTURES / "model_wire_bodies.json"
FIXED_NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
SESSION = "wire-bodies-" + "0" * 32
TURNS = ("Analyze the iPhone maker please", "Compare AAPL and MSFT", "What is the beta of AAPL?")
INVENTED = "Apple shares will reach $9,999.99 by the end of the year."


def _system(request: dict[str, Any]) -> str:
    return str(request["messages"][0]["content"])


def _answer(request: dict[str, Any]) -> dict[str, Any] | str:
    """The model's answers, chosen by what the request is (the order of parallel calls varies)."""
    if request.get("response_format"):
        plan = {"intent": "analyze", "subjects": ["AAPL"], "aspects": [], "operator": None,
                "time_frame": None, "why": False}  # fmt: skip
        return chat_completion(json.dumps(plan))
    messages = request["messages"]
    first_try = len(messages) == 2
    if "AAPL" in str(messages[1]["content"])[:40] and first_try and "narrative" in _system(request):
        return INVENTED  # rejected by the number check: the retry's body is pinned too
    return "The figures are in the table; nothing more is claimed here."


def _sort_key(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True)


def _run_session(model: ModelClient, tmp_path: Path) -> None:
    settings = AgentSettings.from_env(
        {}, reports_dir=str(tmp_path / "reports"), memory_backend="memory"
    )
    deps = dataclasses.replace(
        Dependencies.from_settings(settings, model=model), clock=lambda: FIXED_NOW
    )
    agent = StockAgent(ctx=settings, dependencies=deps)
    for number, prompt in enumerate(TURNS):
        response = agent.invoke(prompt, request_id=f"wire-{number}", session_id=SESSION)
        assert not response.get("error"), response


def _sent_bodies(fake: FakeVLLM, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return sorted((b for b in fake.chat_requests if keep(b)), key=_sort_key)


def test_each_call_site_sends_the_pinned_body_through_both_clients(tmp_path: Path) -> None:
    with FakeVLLM.start() as vllm:
        vllm.default_response = _answer
        openai = OpenAIModelClient(base_url=vllm.url, model="model", timeout_s=10, max_retries=0)
        _run_session(openai, tmp_path / "openai")
        through_openai = _sent_bodies(vllm, lambda b: True)

    with FakeVLLM.start() as vllm, FakeSageMakerRuntime.start(backend=vllm.base_url) as runtime:
        vllm.default_response = _answer
        sagemaker = SageMakerModelClient(
            endpoint_name="e",
            inference_component="ic",
            client=runtime.client(),
            model="model",
            max_retries=0,
            wake_probe=False,
        )
        _run_session(sagemaker, tmp_path / "sagemaker")
        through_sagemaker = _sent_bodies(vllm, lambda b: not is_wake_probe(b))

    assert through_openai == through_sagemaker  # one body per call site, whatever serves it
    if os.environ.get("STOCK_AGENT_WRITE_WIRE_FIXTURE") == "1":
        FIXTURE.write_text(json.dumps(through_openai, indent=1, sort_keys=True) + "\n")
    expected = json.loads(FIXTURE.read_text())
    assert len(through_openai) == len(expected)
    for sent, pinned in zip(through_openai, expected, strict=True):
        assert sent == pinned
