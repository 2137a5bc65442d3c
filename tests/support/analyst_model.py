"""A model behind :class:`tests.support.fake_vllm.FakeVLLM` that answers the agent's prompts.

It reads each request as the agent wrote it (the system prompt says which
kind) and answers as a careful analyst model would, in vLLM's wire format:

- narrative: ``write`` of the JSON input, by default
  :func:`tests.support.narratives.good_narrative` (every figure copied, every
  point made); with ``invent_every=N`` the N-th,
  2N-th, ... first-attempt narrative also quotes a figure that is in no
  record (:data:`INVENTED_SENTENCE`); an answer to the agent's "rejected,
  write it again" is always faithful;
- comparison and follow-up answer: the figures of the JSON it was given;
- request plan: a plan with no ticker (not sure), as structured output.

So two servers with the same settings are two equal models, and
``invent_every=10`` is a model that invents a figure in one narrative in ten.
It counts what it wrote, for the test to compare with what the harness saw.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stock_agent.prompts import (
    ANSWER_SYSTEM_PROMPT,
    COMPARISON_SYSTEM_PROMPT,
    NARRATIVE_SYSTEM_PROMPT,
    PLAN_SYSTEM_PROMPT,
)

from .fake_vllm import chat_completion
from .narratives import good_narrative

INVENTED_SENTENCE = "Management expects revenue to grow 41.7% over the next twelve months."
INVENTED_FIGURE = "41.7%"


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


@dataclass
class AnalystModel:
    """Answers one server's chat requests; see the module docstring."""

    invent_every: int | None = None
    write: Callable[[dict[str, Any]], str] = good_narrative
    narratives: int = 0  # first-attempt narratives written
    retries: int = 0  # narratives written again after a rejection
    invented_for: list[str] = field(default_factory=list)  # symbols given the invented figure
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, request: dict[str, Any]) -> str | dict[str, Any]:
        messages = request.get("messages") or []
        system = str(messages[0].get("content", "")) if messages else ""
        user = str(messages[1].get("content", "")) if len(messages) > 1 else ""
        kind = _first_line(system)
        if kind == _first_line(NARRATIVE_SYSTEM_PROMPT):
            return self._narrative(json.loads(user), retry=len(messages) > 2)
        if kind == _first_line(COMPARISON_SYSTEM_PROMPT):
            return _comparison(json.loads(user))
        if kind == _first_line(ANSWER_SYSTEM_PROMPT):
            return _answer(json.loads(user))
        if kind == _first_line(PLAN_SYSTEM_PROMPT):
            plan = {"intent": "analyze", "subjects": [], "aspects": [], "operator": None,
                    "time_frame": None, "why": False}  # fmt: skip
            return chat_completion(json.dumps(plan), model=str(request.get("model", "model")))
        return "I can only help with the analysis of stocks."

    def _narrative(self, payload: dict[str, Any], *, retry: bool) -> str:
        text = self.write(payload)
        with self._lock:
            if retry:
                self.retries += 1
                return text
            self.narratives += 1
            invent = self.invent_every is not None and self.narratives % self.invent_every == 0
            if invent:
                self.invented_for.append(str(payload.get("symbol")))
        return f"{text} {INVENTED_SENTENCE}" if invent else text


def _comparison(facts: dict[str, Any]) -> str:
    table: dict[str, dict[str, str]] = facts.get("table") or {}
    lines = [
        f"On {measure}, " + ", ".join(f"{symbol} reads {value}" for symbol, value in row.items())
        + "."
        for measure, row in table.items()
    ]  # fmt: skip
    return " ".join(lines) + " This comparison is not investment advice."


def _answer(body: dict[str, Any]) -> str:
    parts = []
    for fact in body.get("facts") or []:
        figures = ", ".join(f"{k} {v}" for k, v in (fact.get("key_figures") or {}).items())
        parts.append(f"{fact.get('symbol')}: {figures}.")
    return " ".join(parts) or "There is no analysed stock to answer about."
