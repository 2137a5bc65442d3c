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
from stock_agent.analysis import analyze
from stock_agent.answering.narrative import (
    MAX_NARRATIVE_CHARS,
    _public_reason,
    allowed_figures,
    check_narrative,
    deterministic_narrative,
    write_narrative,
)
from stock_agent.formatting import allowed_numbers
from stock_agent.market_data import SimulatedProvider
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.prompts import NARRATIVE_SYSTEM_PROMPT, narrative_payload
from stock_agent.records import StockAnalysis, StockSnapshot

from tests.support.fake_vllm import FakeVLLM, chat_completion, error_body

AS_OF = date(2026, 11, 20)


def _records(symbol: str) -> tuple[StockSnapshot, StockAnalysis]:
    from stock_agent.market_data import get_provider

    snapshot = get_provider("simulated").snapshot(symbol, as_of=AS_OF)
    return snapshot, analyze(snapshot)


def _good_text(snapshot: StockSnapshot, analysis: StockAnalysis) -> str:
    fig = dict(formatting.key_figures(snapshot, analysis))
    return (
        f"{snapshot.company_name} trades at {fig['Current Price']} with a P/E of "
        f"{fig['P/E Ratio']}. Year to date the shares returned {fig['YTD Return']}, and the "
        f"52-week high is {fig['52-Week High']}. Risk is {analysis.risk_level.lower()}."
    )


@pytest.fixture
def fake() -> Iterator[FakeVLLM]:
    with FakeVLLM.start() as server:
        yield server


def _client(fake: FakeVLLM, *, retries: int = 0) -> OpenAIModelClient:
    return OpenAIModelClient(
        base_url=fake.url, model="model", timeout_s=5, max_retries=retries, backoff_base_s=0.01
    )


def test_check_accepts_copied_figures_and_rejects_invented_ones() -> None:
    snapshot, analysis = _records("SIM_STOCK")
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis)
    assert check_narrative(_good_text(snapshot, analysis), allowed=allowed) is None
    reason = check_narrative("The price target is $987.65 by 2031.", allowed=allowed)
    assert reason is not None and "$987.65" in reason and "2031" in reason
    assert check_narrative("   ", allowed=allowed) == "the narrative is empty"
    too_long = check_narrative("word " * (MAX_NARRATIVE_CHARS // 4), allowed=allowed)
    assert too_long is not None and "limit" in too_long


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
    text = _good_text(snapshot, analysis)
    fake.enqueue(body=chat_completion(text, reasoning="SECRET CHAIN OF THOUGHT 123456"))
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), max_tokens=512
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
    fake.enqueue(body=chat_completion(_good_text(snapshot, analysis)))
    outcome = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), max_tokens=512
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
        snapshot=snapshot, analysis=analysis, model=_client(fake), max_tokens=512
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
        snapshot=snapshot, analysis=analysis, model=_client(fake, retries=1), max_tokens=512
    )
    assert outcome.narrative.source == "deterministic"
    assert outcome.unavailable_reason is not None and "SIM_STOCK" in outcome.unavailable_reason
    assert len(fake.chat_requests) == 2  # one call, retried once by the client; no regeneration


def test_deadline_already_passed_skips_the_model(fake: FakeVLLM) -> None:
    snapshot, analysis = _records("SIM_STOCK")
    outcome = write_narrative(
        snapshot=snapshot,
        analysis=analysis,
        model=_client(fake),
        max_tokens=512,
        deadline=time.monotonic() - 1,
    )
    assert outcome.narrative.source == "deterministic"
    assert outcome.unavailable_reason is not None and "deadline" in outcome.unavailable_reason
    assert fake.chat_requests == []


# --- Counting and messages at their edges -------------------------------------------


def test_at_most_ten_invented_figures_are_listed() -> None:
    text = " ".join(f"{n}.5 units." for n in range(101, 113))  # twelve invented figures
    reason = check_narrative(text, allowed=())
    assert reason is not None
    listed = reason.split("not in the data: ")[1].split(", ")
    assert listed == [f"{n}.5" for n in range(101, 111)]


@pytest.mark.parametrize(
    ("rejection", "public"),
    [
        ("it contains figures that are not in the data: 1.5", "it quoted 1 figure not in the data"),
        ("it contains figures that are not in the data: 1.5, 2.5",
         "it quoted 2 figures not in the data"),
        ("the narrative is empty", "the narrative is empty"),
        (None, "rejected"),
        ("", "rejected"),
    ],
)  # fmt: skip
def test_public_reason_counts_without_repeating_figures(rejection: str | None, public: str) -> None:
    assert _public_reason(rejection) == public


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
        max_tokens=512,
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
    fake.enqueue(body=chat_completion(_good_text(snapshot, analysis), prompt_tokens=900,
                                      completion_tokens=60))  # fmt: skip
    narrative = write_narrative(
        snapshot=snapshot, analysis=analysis, model=_client(fake), max_tokens=512
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
        snapshot=snapshot, analysis=analysis, model=_client(fake), max_tokens=512
    )
    narrative = outcome.narrative
    assert narrative.source == "deterministic"
    assert (narrative.model_calls, narrative.prompt_tokens, narrative.completion_tokens) == (
        2,
        700,
        40,
    )
    assert outcome.unavailable_reason is not None and "AAPL" in outcome.unavailable_reason


def test_figures_the_model_was_given_are_allowed() -> None:
    snapshot, analysis = _records("KO")
    without = allowed_figures(snapshot=snapshot, analysis=analysis)
    assert "123.45" not in without
    given = allowed_figures(
        snapshot=snapshot, analysis=analysis, payload={"note": ["a figure of 123.45"]}
    )
    assert "123.45" in given and without <= given


def test_deterministic_narrative_lists_risk_factors_not_the_point_count() -> None:
    snapshot, analysis = _records("TSLA")
    assert analysis.risk_factors[-1].startswith("Risk points")
    rows = formatting.key_figures(snapshot, analysis)
    text = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    first_factor = analysis.risk_factors[0].split(" (+")[0].rstrip(".")
    assert first_factor in text
    assert "Risk points" not in text


def test_narrative_length_limit() -> None:
    assert check_narrative("a" * MAX_NARRATIVE_CHARS, allowed=()) is None
    reason = check_narrative("a" * (MAX_NARRATIVE_CHARS + 1), allowed=())
    assert reason == f"the narrative has {MAX_NARRATIVE_CHARS + 1} characters; the limit is 4000"
    assert check_narrative(" \n ", allowed=()) == "the narrative is empty"


def test_number_check_uses_the_record() -> None:
    snap = SimulatedProvider().snapshot("KO", as_of=date(2025, 9, 5))
    allowed = allowed_numbers(snap, analyze(snap))
    price = f"{snap.current_price:.2f}"
    assert check_narrative(f"KO closed at ${price}.", allowed=allowed) is None
    invented = f"{snap.current_price + 0.07:.2f}"
    assert check_narrative(f"KO closed at ${invented}.", allowed=allowed) is not None
