"""The routine every model-written text goes through, at the edges of its budget.

The model is a scripted client (the :class:`~stock_agent.models.types.ModelClient`
protocol, answers given per test): what is under test is what the routine does
with answers, failures, the attempts budget and the request's deadline. The
wire format of the calls it makes is pinned elsewhere
(``tests/integration/test_model_wire_bodies.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from stock_agent.answering.checked_text import CUT_OFF, TextRequest, ask_checked_text
from stock_agent.deadline import RequestControl, request_control
from stock_agent.models.types import CallProfile, ChatResult, ModelError, Turn, Usage

ALLOWED = frozenset({"12.5", "3"})
REQUEST = TextRequest(
    subject="the narrative of KO",
    turns=({"role": "user", "content": '{"price": "12.5"}'},),
    allowed=ALLOWED,
    fallback="The deterministic text.",
)
GOOD = "The price is 12.5."
INVENTED = "The price will be 99.99 and then 77.77."


def _profile(attempts: int = 1) -> CallProfile:
    return CallProfile(
        purpose="narrative",
        system_prompt="Rules.",
        max_tokens=64,
        max_attempts=attempts,
        retry_prompt="Rejected: {reason}. Again." if attempts > 1 else None,
    )


class Scripted:
    """Answers in order (a ModelError is raised); records the messages of each call."""

    name = "scripted"

    def __init__(self, *answers: ChatResult | ModelError | str, on_call: Any = None) -> None:
        self.answers = list(answers)
        self.calls: list[list[dict[str, Any]]] = []
        self.on_call = on_call

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        self.calls.append(profile.messages(turns))
        if self.on_call:
            self.on_call()
        answer = self.answers.pop(0)
        if isinstance(answer, ModelError):
            raise answer
        if isinstance(answer, str):
            return ChatResult(content=answer, usage=Usage(prompt_tokens=10, completion_tokens=4))
        return answer


def test_a_passing_answer_is_used_with_its_cost_and_warnings() -> None:
    model = Scripted(
        ChatResult(content=f"  {GOOD}\n", usage=Usage(3, 2), warnings=("waited 40 s",))
    )
    checked = ask_checked_text(model, _profile(), REQUEST)
    assert (checked.text, checked.source, checked.model_calls) == (GOOD, "model", 1)
    assert (checked.prompt_tokens, checked.completion_tokens) == (3, 2)
    assert checked.warnings == ("waited 40 s",) and checked.unavailable_reason is None
    [attempt] = checked.attempts
    assert attempt.passed and attempt.messages[0] == {"role": "system", "content": "Rules."}


@pytest.mark.parametrize(
    ("attempts", "calls", "times"),
    [(1, 1, "rejected ("), (2, 2, "rejected twice"), (3, 3, "3 times")],
)
def test_rejections_are_asked_again_only_within_the_attempts(
    attempts: int, calls: int, times: str
) -> None:
    model = Scripted(*([INVENTED] * attempts))
    checked = ask_checked_text(model, _profile(attempts), REQUEST)
    assert len(model.calls) == calls == checked.model_calls
    assert checked.text == REQUEST.fallback and checked.source == "deterministic"
    [warning] = checked.warnings
    assert warning.startswith("the model's narrative of KO was ") and times in warning
    assert "it quoted 2 figures not in the data" in warning
    assert "99.99" not in warning  # the invented figures are never shown to users
    assert checked.unavailable_reason is None  # the model answered: not degraded
    assert (checked.prompt_tokens, checked.completion_tokens) == (10 * calls, 4 * calls)


def test_a_retry_carries_the_rejected_answer_and_the_reason() -> None:
    model = Scripted(INVENTED, GOOD)
    checked = ask_checked_text(model, _profile(2), REQUEST)
    assert checked.source == "model" and checked.model_calls == 2
    retry = model.calls[1]
    assert retry[:2] == model.calls[0]
    assert retry[2] == {"role": "assistant", "content": INVENTED}
    assert retry[3]["content"].startswith("Rejected: it contains figures that are not in the data")
    assert [a.passed for a in checked.attempts] == [False, True]


def test_an_answer_cut_off_at_the_token_limit_is_rejected_even_if_its_figures_are_fine() -> None:
    cut = ChatResult(content="The price is", finish_reason="length", usage=Usage(5, 64))
    checked = ask_checked_text(Scripted(cut), _profile(), REQUEST)
    assert checked.source == "deterministic"
    assert checked.attempts[0].reason == CUT_OFF
    assert "cut off at the token limit" in checked.warnings[0]


def test_a_model_failure_gives_the_fallback_at_once_without_internals() -> None:
    failure = ModelError("model_timeout", "POST http://10.0.0.7:8000/v1/chat/completions: slow")
    model = Scripted(INVENTED, failure)
    checked = ask_checked_text(model, _profile(2), REQUEST)
    assert checked.model_calls == 2 and checked.source == "deterministic"
    assert checked.unavailable_reason == (
        "model unavailable for the narrative of KO (model_timeout): "
        "the model did not answer in time"
    )
    assert checked.warnings == (checked.unavailable_reason,)
    assert "10.0.0.7" not in checked.unavailable_reason  # hosts stay in the log
    assert (checked.prompt_tokens, checked.completion_tokens) == (10, 4)  # the first answer's
    assert checked.model_starting_eta_s is None


def test_a_model_that_is_starting_says_when_it_should_answer() -> None:
    cold = ModelError("model_no_capacity", "no copy", retry_after=420.0)
    checked = ask_checked_text(Scripted(cold), _profile(), REQUEST)
    assert checked.source == "deterministic" and checked.model_starting_eta_s == 420.0


def test_no_attempt_starts_after_the_deadline() -> None:
    """The first answer spends the rest of the budget: the retry is not asked for."""
    control = RequestControl(deadline=time.monotonic() + 60)

    def spend_it() -> None:
        control.deadline = time.monotonic() - 0.001

    model = Scripted(INVENTED, GOOD, on_call=spend_it)
    with request_control(control):
        checked = ask_checked_text(model, _profile(2), REQUEST)
    assert len(model.calls) == 1 and checked.model_calls == 1
    assert checked.unavailable_reason == "request deadline reached before the narrative of KO"
    assert checked.text == REQUEST.fallback


def test_without_the_model_nothing_is_asked_and_nothing_is_said() -> None:
    model = Scripted()
    checked = ask_checked_text(model, _profile(2), REQUEST, use_model=False)
    assert model.calls == [] and checked.model_calls == 0
    assert (checked.text, checked.warnings, checked.unavailable_reason) == (
        REQUEST.fallback,
        (),
        None,
    )
