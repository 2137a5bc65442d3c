"""The one way the agent asks the model for text: checked, retried within budget, or replaced.

:func:`ask_checked_text` takes the call site's :class:`~stock_agent.models.types.CallProfile`
(system prompt, token budget, reasoning effort, served model, how many
attempts and the words of a retry) and a :class:`TextRequest` (the turns the
model is given, the figures it may quote, the deterministic text that stands
in for it). It asks the model, applies the number check
(:func:`~stock_agent.answering.number_check.check_narrative`; an answer cut
off at the token limit is rejected too: gpt-oss spends ``max_tokens`` on
reasoning first, and what is left may stop mid-sentence), asks again with
the reason while the profile's attempts and the request's deadline last, and
otherwise returns the deterministic text, saying why in a warning. A model
that cannot be reached gives the deterministic text at once, with the reason
(the response's ``degraded_reason``); when that is because the model is
starting after scale-to-zero, :attr:`CheckedText.model_starting_eta_s` says
how long it should take. No figure reaches a caller that the request did
not allow, and gpt-oss's reasoning (``reasoning_content``) never does either
(only its length is logged).

The ticker narratives, the comparison narrative and the answers to
follow-up questions are all written through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..deadline import deadline_passed
from ..models.types import CallProfile, ModelClient, ModelError
from ..models.warmup import COLD_START_CODES, cold_start_eta_s, starting_eta_s
from ..prompts import retry_turns
from .number_check import MAX_NARRATIVE_CHARS, check_narrative, public_reason

logger = logging.getLogger(__name__)

CUT_OFF = "the answer was cut off at the token limit (finish_reason=length)"


@dataclass(frozen=True)
class TextAttempt:
    """One model answer and the check's verdict on it (run records keep them)."""

    attempt: int
    messages: tuple[dict[str, Any], ...]
    answer: str
    passed: bool
    reason: str | None
    finish_reason: str | None
    reasoning_chars: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    served_model: str | None = None


@dataclass(frozen=True)
class TextRequest:
    """One text to ask for.

    ``subject`` names it in warnings ("the narrative of AAPL"); ``turns`` are
    what the model is given after the profile's system prompt; ``allowed`` the
    normalised figures it may quote; ``fallback`` the deterministic text,
    which must pass the same check (each caller's tests show it does).
    """

    subject: str
    turns: tuple[dict[str, Any], ...]
    allowed: frozenset[str]
    fallback: str


@dataclass(frozen=True)
class CheckedText:
    """The text a caller may use, where it came from, and what producing it cost."""

    text: str
    source: Literal["model", "deterministic"]
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: tuple[str, ...] = ()
    # Why the model could not be reached (the response's degraded reason); None when it was.
    unavailable_reason: str | None = None
    attempts: tuple[TextAttempt, ...] = ()
    # Set when the model was starting after scale-to-zero: about when it should answer.
    model_starting_eta_s: float | None = None


def ask_checked_text(
    model: ModelClient,
    profile: CallProfile,
    request: TextRequest,
    *,
    use_model: bool = True,
) -> CheckedText:
    """The model's text for ``request`` when it passes the check, else the fallback.

    At most ``profile.max_attempts`` calls, none after the request's deadline.
    ``use_model=False`` (offline, or the model already failed in this request)
    gives the fallback without a warning.
    """
    attempts: list[TextAttempt] = []
    tokens = [0, 0]

    def fallback(
        *, calls: int, warning: str | None, unavailable: str | None, eta: float | None = None
    ) -> CheckedText:
        return CheckedText(
            text=request.fallback,
            source="deterministic",
            model_calls=calls,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            warnings=(warning,) if warning else (),
            unavailable_reason=unavailable,
            attempts=tuple(attempts),
            model_starting_eta_s=eta,
        )

    if not use_model:
        return fallback(calls=0, warning=None, unavailable=None)
    calls = 0
    rejection: str | None = None
    turns: Sequence[dict[str, Any]] = request.turns
    while calls < profile.max_attempts:
        if deadline_passed():
            reason = f"request deadline reached before {request.subject}"
            return fallback(
                calls=calls, warning=reason, unavailable=reason, eta=starting_eta_s(model)
            )
        asked = time.perf_counter()
        try:
            result = model.chat(profile, turns)
        except ModelError as err:
            # The caller reads the kind of failure; URLs and endpoint names stay in the log.
            reason = f"model unavailable for {request.subject} ({err.code}): {err.public_message}"
            logger.warning(
                "model call failed; using the deterministic text",
                extra={
                    "purpose": profile.purpose,
                    "code": err.code,
                    "attempt": calls + 1,
                    "detail": err.message,
                },
            )
            # A starting model is said so, whatever cut the wait for it (its refusal or time).
            cold = err.code in COLD_START_CODES
            eta = cold_start_eta_s(err, model) if cold else starting_eta_s(model)
            return fallback(calls=calls + 1, warning=reason, unavailable=reason, eta=eta)
        calls += 1
        tokens[0] += result.usage.prompt_tokens
        tokens[1] += result.usage.completion_tokens
        text = result.content.strip()
        if result.finish_reason == "length":
            rejection = CUT_OFF
        else:
            rejection = check_narrative(text, allowed=request.allowed)
        logger.info(
            "model answer",
            extra={
                "purpose": profile.purpose,
                "attempt": calls,
                "content_chars": len(result.content),
                "reasoning_chars": len(result.reasoning or ""),
                "finish_reason": result.finish_reason,
                "passed": rejection is None,
            },
        )
        attempts.append(
            TextAttempt(
                attempt=calls,
                messages=tuple(profile.messages(turns)),
                answer=text,
                passed=rejection is None,
                reason=rejection,
                finish_reason=result.finish_reason,
                reasoning_chars=len(result.reasoning or ""),
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                latency_ms=round((time.perf_counter() - asked) * 1000, 1),
                served_model=result.model,
            )
        )
        if rejection is None:
            return CheckedText(
                text=text,
                source="model",
                model_calls=calls,
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
                warnings=tuple(result.warnings),
                attempts=tuple(attempts),
            )
        if calls < profile.max_attempts and profile.retry_prompt:
            turns = retry_turns(
                request.turns,
                previous=text[:MAX_NARRATIVE_CHARS],
                retry_prompt=profile.retry_prompt,
                reason=rejection,
            )
    times = {1: "", 2: " twice"}.get(calls, f" {calls} times")
    warning = (
        f"the model's {request.subject.removeprefix('the ')} was rejected{times} "
        f"({public_reason(rejection)}); the deterministic text is used"
    )
    return fallback(calls=calls, warning=warning, unavailable=None)
