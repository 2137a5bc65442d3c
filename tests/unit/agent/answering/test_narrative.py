"""The narrative stage: number check, one regeneration, deterministic fallback.

The model is ``tests.support.fake_vllm.FakeVLLM`` (a loopback HTTP server
speaking vLLM's chat-completions JSON: the GPU cannot run here) reached by
the real :class:`~stock_agent.models.openai.OpenAIModelClient`. Everything
else (snapshot, analysis, formatting) is the real code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date

import pytest
from stock_agent import formatting
from stock_agent.answering.narrative import deterministic_narrative, write_narrative
from stock_agent.answering.number_check import (
    allowed_figures,
    check_narrative,
)
from stock_agent.context import CallProfiles
from stock_agent.deadline import RequestControl, request_control
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.prompts import NARRATIVE_SYSTEM_PROMPT, narrative_payload
from stock_agent.records import StockAnalysis, StockSnapshot
from stock_agent.settings import AgentSettings

from tests.support.fake_vllm import FakeVLLM, chat_completion, error_body
from tests.support.records import copied_figures_text, simulated_record

AS_OF = date(2026, 11, 20)
PROFILE = CallProfiles.from_settings(AgentSettings(model_max_tokens=512)).narrative


def _records(symbol: str) -> tuple[StockSnapshot, StockAnalysis]:
    return simulated_record(symbol, as_of=AS_OF)


@pytest.fixture
def fake() -> Iterator[FakeVLLM]:
    with FakeVLLM.start() as server:
        yield server


def _client(fake: FakeVLLM, *, retries: int = 0) -> OpenAIModelClient:
    return OpenAIModelClient(
        base_url=fake.url, model="model", timeout_s=5, max_retries=retries, backoff_base_s=0.01
    )


@pytest.mark.parametrize("symbol", ["SIM_STOCK", "SIM_ESC", "SIM_JP", "AAPL", "BRK.B", "INTC"])
def test_deterministic_narrative_passes_the_number_check(symbol: str) -> None:
    snapshot, analysis = _records(symbol)
    rows = formatting.key_figures(snapshot, analysis)
    text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    assert check_narrative(text, allowed=allowed) is None
    assert dict(rows)["Current Price"] in text
    assert snapshot.company_name in text


def test_model_narrative_used_and_reasoning_kept_out(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("SIM_STOCK")
    text = copied_figures_text(snapshot, analysis)
    fake.enqueue(body=chat_completion(text, reasoning="SECRET CHAIN OF THOUGHT 123456"))
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
    )
    assert outcome.unavailable_reason is None
    assert outcome.narrative.source == "model"
    assert outcome.narrative.text == text
    assert "SECRET" not in outcome.narrative.text
    assert outcome.narrative.model_calls == 1 == len(fake.chat_requests)
    request = fake.chat_requests[0]
    assert request["messages"][0]["content"] == NARRATIVE_SYSTEM_PROMPT
    # The user message is the record's formatted figures as JSON, nothing else.
    payload = json.loads(request["messages"][1]["content"])
    assert payload["key_figures"] == dict(formatting.key_figures(snapshot, analysis))


def test_invented_number_is_regenerated_once_with_feedback(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("AAPL")
    fake.enqueue(body=chat_completion("Analysts expect a price target of $999.99."))
    fake.enqueue(body=chat_completion(copied_figures_text(snapshot, analysis)))
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
    )
    assert outcome.narrative.source == "model"
    assert outcome.narrative.model_calls == 2 == len(fake.chat_requests)
    retry = fake.chat_requests[1]["messages"]
    assert retry[-2] == {
        "role": "assistant",
        "content": "Analysts expect a price target of $999.99.",
    }
    assert "$999.99" in retry[-1]["content"]


def test_two_bad_answers_fall_back_with_a_warning(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("MSFT")
    fake.enqueue(body=chat_completion("Revenue will grow 45.5% next year."), times=2)
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
    )
    assert outcome.narrative.source == "deterministic"
    assert outcome.narrative.model_calls == 2 == len(fake.chat_requests)
    assert outcome.unavailable_reason is None  # the model answered: not degraded
    [warning] = outcome.narrative.warnings
    assert "MSFT" in warning and "1 figure not in the data" in warning
    assert "45.5%" not in warning  # the invented figure is never shown to users


def test_server_errors_degrade_with_a_reason(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("SIM_STOCK")
    fake.enqueue(status=500, body=error_body("engine dead", status=500), times=5)
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake, retries=1), profile=PROFILE
    )
    assert outcome.narrative.source == "deterministic"
    assert outcome.unavailable_reason is not None and "SIM_STOCK" in outcome.unavailable_reason
    assert len(fake.chat_requests) == 2  # one call, retried once by the client; no regeneration


def test_deadline_already_passed_skips_the_model(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("SIM_STOCK")
    with request_control(RequestControl(deadline=time.monotonic() - 1)):
        outcome = write_narrative(
            snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
        )
    assert outcome.narrative.source == "deterministic"
    assert outcome.unavailable_reason is not None and "deadline" in outcome.unavailable_reason
    assert fake.chat_requests == []


# --- Counting and messages at their edges -------------------------------------------


def test_deterministic_narrative_words_for_unknown_and_known_valuation() -> None:
    snapshot, analysis = _records("BA")  # losses: valuation unknown
    rows = formatting.key_figures(snapshot, analysis)
    text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    assert "the valuation cannot be judged from the available data" in text
    snapshot, analysis = _records("KO")
    rows = formatting.key_figures(snapshot, analysis)
    text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    assert f"the valuation looks {analysis.fundamental.valuation}" in text


def test_no_model_means_no_calls_and_no_tokens() -> None:
    snapshot, analysis = _records("KO")
    outcome = write_narrative(
        snapshot=snapshot,
        analysis=analysis,
        model=None,
        profile=PROFILE,
        use_model=False,  # type: ignore[arg-type]
    )
    narrative = outcome.narrative
    assert (narrative.source, narrative.model_calls, narrative.warnings) == ("deterministic", 0, ())
    assert (narrative.prompt_tokens, narrative.completion_tokens) == (0, 0)
    assert outcome.unavailable_reason is None


def test_tokens_are_summed_over_both_calls(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("AAPL")
    fake.enqueue(body=chat_completion("A target of $999.99.", prompt_tokens=700,
                                      completion_tokens=40))  # fmt: skip
    fake.enqueue(body=chat_completion(copied_figures_text(snapshot, analysis), prompt_tokens=900,
                                      completion_tokens=60))  # fmt: skip
    narrative = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
    ).narrative
    assert (narrative.model_calls, narrative.prompt_tokens, narrative.completion_tokens) == (
        2,
        1600,
        100,
    )


def test_a_model_error_counts_the_failed_call(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("AAPL")
    fake.enqueue(body=chat_completion("A target of $999.99.", prompt_tokens=700,
                                      completion_tokens=40))  # fmt: skip
    fake.enqueue(status=500, body=error_body("engine dead", status=500), times=5)
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), profile=PROFILE
    )
    narrative = outcome.narrative
    assert narrative.source == "deterministic"
    assert (narrative.model_calls, narrative.prompt_tokens, narrative.completion_tokens) == (
        2,
        700,
        40,
    )
    assert outcome.unavailable_reason is not None and "AAPL" in outcome.unavailable_reason


def test_deterministic_narrative_lists_risk_factors_not_the_point_count() -> None:
    snapshot, analysis = _records("TSLA")
    assert analysis.risk_factors[-1].startswith("Risk points")
    rows = formatting.key_figures(snapshot, analysis)
    text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    first_factor = analysis.risk_factors[0].split(" (+")[0].rstrip(".")
    assert first_factor in text
    assert "Risk points" not in text
