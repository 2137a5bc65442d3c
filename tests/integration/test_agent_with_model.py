"""The agent with a model: ``openai`` provider pointed at FakeVLLM on loopback.

FakeVLLM (tests/support/fake_vllm.py) stands in for vLLM serving gpt-oss-20b
on a GPU, which cannot run here; it speaks vLLM's chat-completions JSON over
a real socket and records every request, so the tests count model calls from
what the "server" actually received. Everything else is real: the OpenAI
client, the graph, the provider, the PDF, the local store, and in the last
test the ``stock-agent serve`` subprocess configured only by environment.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from stock_agent.agent import StockAgent
from stock_agent.errors import AgentError
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.settings import AgentSettings

from tests.support.agents import agent_on
from tests.support.fake_vllm import FakeVLLM, chat_completion, error_body

pytestmark = pytest.mark.slow


def _payload(request: dict[str, Any]) -> dict[str, Any] | None:
    """The narrative prompt's JSON (the first user message), or None for other requests."""
    for message in request.get("messages", []):
        if message.get("role") == "user":
            try:
                value = json.loads(message["content"])
            except (TypeError, ValueError):
                return None
            return value if isinstance(value, dict) else None
    return None


def faithful(request: dict[str, Any]) -> str:
    """An analyst paragraph quoting only the figures the prompt gave (as a good model does)."""
    payload = _payload(request) or {}
    fig = payload.get("key_figures", {})
    return (
        f"{payload.get('company')} closes at {fig.get('Current Price')} with a P/E of "
        f"{fig.get('P/E Ratio')} and a year-to-date return of {fig.get('YTD Return')}. "
        f"Risk is rated {payload.get('risk_level')}."
    )


def inventive(request: dict[str, Any]) -> str:
    return faithful(request) + " We see the shares reaching $12,345.67 within 18 months."


def _symbols(fake: FakeVLLM) -> list[str]:
    return [str((_payload(r) or {}).get("symbol")) for r in fake.chat_requests]


@pytest.fixture
def fake() -> Iterator[FakeVLLM]:
    with FakeVLLM.start() as server:
        yield server


@pytest.fixture
def agent_for(tmp_path: Path) -> Callable[..., StockAgent]:
    def build(fake: FakeVLLM, *, retries: int = 0) -> StockAgent:
        ctx = AgentSettings.from_env(
            {},
            model_provider="openai",
            openai_base_url=fake.url,
            reports_dir=str(tmp_path / "reports"),
            model_max_retries=retries,
            model_timeout_seconds=5.0,
        )
        client = OpenAIModelClient(
            base_url=fake.url,
            model="model",
            timeout_s=5.0,
            max_retries=retries,
            backoff_base_s=0.01,
        )
        return agent_on(ctx, model=client)

    return build


def test_model_narrative_is_used(fake: FakeVLLM, agent_for: Callable[..., StockAgent]) -> None:
    fake.default_response = faithful
    response = agent_for(fake).invoke("Analyze SIM_STOCK", request_id="m-1")
    assert response["degraded"] is False
    [result] = response["results"]
    assert result["narrative"]["source"] == "model"
    assert result["narrative"]["model_calls"] == 1
    assert result["narrative"]["text"] == faithful(fake.chat_requests[0])
    assert "(language model)" in result["sections"]["performance_analysis"]
    assert response["metrics"]["model_calls"] == 1 == len(fake.chat_requests)
    assert response["metrics"]["prompt_tokens"] > 0


def test_invented_number_is_regenerated_once(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.enqueue(body=chat_completion("The stock will double to $57.00 by next year."))
    fake.default_response = faithful
    response = agent_for(fake).invoke("Analyze SIM_STOCK", request_id="m-2")
    [result] = response["results"]
    assert result["narrative"]["source"] == "model"
    assert len(fake.chat_requests) == 2
    assert "$57.00" in fake.chat_requests[1]["messages"][-1]["content"]


def test_two_bad_narratives_fall_back_and_warn_at_most_two_calls_per_ticker(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.default_response = inventive
    response = agent_for(fake).invoke("Compare AAPL, MSFT and KO", request_id="m-3")
    assert response["degraded"] is False
    assert [r["narrative"]["source"] for r in response["results"]] == ["deterministic"] * 3
    # two narrative calls per ticker, then one for the comparison narrative (also rejected)
    assert Counter(_symbols(fake)) == {"AAPL": 2, "MSFT": 2, "KO": 2, "None": 1}
    assert response["comparison"]["narrative_source"] == "deterministic"
    for symbol in ("AAPL", "MSFT", "KO"):
        assert any(symbol in w and "rejected twice" in w for w in response["warnings"])
    assert "$12,345.67" not in response["text"]


def test_model_errors_degrade_and_the_report_still_ships(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.enqueue(status=500, body=error_body("CUDA error", status=500), times=10)
    response = agent_for(fake, retries=1).invoke("Compare AAPL and KO", request_id="m-4")
    assert response["degraded"] is True
    assert "model_server_error" in response["degraded_reason"]
    assert [r["narrative"]["source"] for r in response["results"]] == ["deterministic"] * 2
    assert all(r["report"]["bytes"] > 0 for r in response["results"])
    # One failed call per ticker (each retried once by the client), no regeneration:
    # a model that errors is not asked to rewrite. Tickers run in parallel, so both
    # may reach the model before either learns it is down.
    per_ticker = Counter(_symbols(fake))
    assert set(per_ticker) <= {"AAPL", "KO"} and all(n <= 2 for n in per_ticker.values())


def plan_answer(**fields: Any) -> dict[str, Any]:
    """A chat completion whose content is a request plan, as structured output returns it."""
    plan = {"intent": "analyze", "subjects": [], "aspects": [], "operator": None,
            "time_frame": None, "why": False, **fields}  # fmt: skip
    return chat_completion(json.dumps(plan))


def test_company_name_is_resolved_by_one_structured_plan(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.enqueue(body=plan_answer(subjects=["aapl"]))
    fake.default_response = faithful
    # "apple" alone would resolve without a model (the simulated universe's names)
    response = agent_for(fake).invoke("analyze the iPhone maker", request_id="m-5")
    assert response["tickers"] == ["AAPL"]
    assert response["plan"]["source"] == "model" and response["plan"]["intent"] == "analyze"
    first = fake.chat_requests[0]
    assert "tools" not in first
    response_format = first["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert response_format["json_schema"]["name"] == "request_plan"
    assert "RSI (14)" in schema["properties"]["aspects"]["items"]["enum"]
    assert any("inferred by the model" in w for w in response["warnings"])
    assert response["metrics"]["model_calls"] == 2  # the plan, then the narrative


def test_the_model_fills_a_question_the_rules_could_not_read(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    agent = agent_for(fake)
    fake.default_response = faithful
    agent.invoke("Analyze AAPL", request_id="m-7a", session_id="plan-fill")
    fake.requests.clear()
    fake.enqueue(body=plan_answer(intent="question", subjects=["AAPL"], aspects=["Beta"]))
    answer = agent.invoke("what do you make of how jumpy it is?", request_id="m-7b",
                          session_id="plan-fill")  # fmt: skip
    assert answer["intent"] == "question" and answer["plan"]["aspects"] == ["Beta"]
    assert answer["metrics"]["model_calls"] == 2  # one plan, one answer: never more
    assert [bool(r.get("response_format")) for r in fake.chat_requests] == [True, False]


def test_model_cannot_inject_tickers_outside_the_universe(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.enqueue(body=plan_answer(subjects=["../../etc", "NOTREAL", "s3://x/y"]))
    with pytest.raises(AgentError) as info:
        agent_for(fake).invoke("analyze some fruit company", request_id="m-6")
    assert info.value.code == "no_ticker"
    assert len(fake.chat_requests) == 1


def test_a_plan_that_breaks_its_schema_leaves_the_rules_in_force(
    fake: FakeVLLM, agent_for: Callable[..., StockAgent]
) -> None:
    fake.enqueue(body=chat_completion('{"tickers": ["AAPL"]}'))  # not the plan's shape
    with pytest.raises(AgentError) as info:
        agent_for(fake).invoke("analyze some fruit company", request_id="m-8")
    assert info.value.code == "no_ticker"
    assert "could not map the company name" in info.value.message
    assert len(fake.chat_requests) == 1


def test_served_agent_uses_the_model_configured_by_environment(
    fake: FakeVLLM, agent_server_factory: Callable[..., Any]
) -> None:
    fake.default_response = faithful
    env = {"MODEL_PROVIDER": "openai", "OPENAI_BASE_URL": fake.url, "MODEL_MAX_RETRIES": "0"}
    with agent_server_factory(env=env) as server:
        reply = server.invoke({"prompt": "Analyze $KO"})
    assert reply.status == 200, reply.body[:300]
    body = reply.json()
    assert body["degraded"] is False
    assert body["results"][0]["narrative"]["source"] == "model"
    assert _symbols(fake) == ["KO"]
