"""The agent's remote model clients pointed at the loopback fakes, and the fakes as fixtures.

The GPU endpoint cannot run here: ``vllm`` is :class:`~tests.support.fake_vllm.FakeVLLM`
(vLLM's OpenAI JSON) and ``runtime`` a :class:`~tests.support.fake_sagemaker_runtime.
FakeSageMakerRuntime` in front of it (the REST protocol a real boto3 client uses). The
clients' backoffs are tiny, so a test of retries stays well under two seconds. The
fixtures reach every test through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.models.sagemaker import SageMakerModelClient
from stock_agent.models.types import CallProfile

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.fake_vllm import FakeVLLM

MESSAGES = [
    {"role": "system", "content": "You are a stock analyst."},
    {"role": "user", "content": "Summarise SIM_STOCK in one sentence."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "gather_stock_data",
            "description": "Price history and fundamentals of one ticker",
            "parameters": {
                "type": "object",
                "properties": {"symbol": {"type": "string"}},
                "required": ["symbol"],
            },
        },
    }
]
FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.02}


def call_profile(
    *, max_tokens: int = 64, tools: Any = (), system_prompt: str | None = None, **fields: Any
) -> CallProfile:
    """A profile for a client test: by default the turns (e.g. :data:`MESSAGES`) bring their
    own system prompt, so the body is exactly the turns plus the fields given."""
    return CallProfile(
        purpose="test",
        system_prompt=system_prompt,
        max_tokens=max_tokens,
        tools=tuple(tools),
        **fields,
    )


@pytest.fixture
def vllm() -> Iterator[FakeVLLM]:
    with FakeVLLM.start() as fake:
        yield fake


@pytest.fixture
def runtime(vllm: FakeVLLM) -> Iterator[FakeSageMakerRuntime]:
    with FakeSageMakerRuntime.start(backend=vllm.base_url) as fake:
        yield fake


def openai_client(vllm: FakeVLLM, **overrides: Any) -> OpenAIModelClient:
    settings: dict[str, Any] = {"timeout_s": 2.0, "max_retries": 2, **FAST, **overrides}
    return OpenAIModelClient(base_url=vllm.url, model="model", **settings)


def sagemaker_client(
    runtime: FakeSageMakerRuntime, *, read_timeout: float = 2.0, **overrides: Any
) -> SageMakerModelClient:
    settings: dict[str, Any] = {
        "max_retries": 2,
        "cold_start_wait_s": 1.0,
        "cold_start_poll_s": 0.05,
        "cold_start_poll_cap_s": 0.1,
        **FAST,
        **overrides,
    }
    return SageMakerModelClient(
        endpoint_name="stock-agent-dev-endpoint",
        inference_component="stock-agent-dev-gpt-oss-20b",
        client=runtime.client(read_timeout=read_timeout),
        **settings,
    )
