"""A model client that counts: calls, and an estimate of the prompt tokens sent.

Rows 3 and 7 and the ReAct comparison need to know how often the agent asks
the model and how much it sends, independently of what the model (or a fake
of it) reports as usage. :class:`CountingModelClient` implements the
``ModelClient`` protocol of :mod:`stock_agent.models.types`; it either wraps a
real client (the OpenAI client pointed at the loopback stub) or answers by
itself with a narrative built from the figures the agent put in the prompt,
so the agent's number check passes and no regeneration distorts the count.

Token estimate: ``ceil(characters / 4)`` over every message's content, plus
the JSON of the tool schemas when tools are sent. tiktoken is not installed;
four characters per token is OpenAI's published rule of thumb for English
text and errs high for JSON full of short numbers, which suits a budget check.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stock_agent.models.types import CallProfile, ChatResult, ModelClient, Turn, Usage

CHARS_PER_TOKEN = 4
_HAS_DIGIT = re.compile(r"\d")


def estimate_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
    """Prompt-token estimate of one chat request (documented in the module)."""
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif content is not None:
            chars += len(json.dumps(content, separators=(",", ":")))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"], separators=(",", ":")))
    if tools:
        chars += len(json.dumps(tools, separators=(",", ":")))
    return math.ceil(chars / CHARS_PER_TOKEN)


def _figure_strings(value: Any) -> list[str]:
    """Every string leaf with a digit in it: the formatted figures of the prompt."""
    if isinstance(value, str):
        return [value] if _HAS_DIGIT.search(value) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _figure_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _figure_strings(v)]
    return []


def _json_in(text: str) -> Any:
    """The first JSON object or array embedded in ``text`` (the prompt's data)."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            return value
    return None


def narrative_from_messages(messages: list[dict[str, Any]]) -> str:
    """A plausible analyst narrative that quotes only figures found in the prompt.

    The agent's number check accepts figures copied exactly as formatted, so
    quoting the prompt's own strings keeps the narrative valid without knowing
    the prompt's layout. With no figures found the text carries no numbers,
    which is valid too.
    """
    user_texts = [
        m["content"]
        for m in messages
        if m.get("role") == "user" and isinstance(m.get("content"), str)
    ]
    figures: list[str] = []
    for text in user_texts:
        data = _json_in(text)
        # Prefer the agent's formatted key figures: dates or scores elsewhere
        # in the payload need not be on the number check's allow-list.
        if isinstance(data, dict) and isinstance(data.get("key_figures"), dict):
            data = data["key_figures"]
        figures.extend(_figure_strings(data))
    # Keep it inside the prompt's word budget and avoid multi-line values.
    quoted = [f for f in dict.fromkeys(figures) if "\n" not in f and len(f) <= 40][:8]
    sentences = [
        "The stock's recent record is summarised from the structured figures alone.",
        "Trend, volatility and valuation are weighed together; none is decisive on its own.",
    ]
    if quoted:
        sentences.append("Key figures: " + "; ".join(quoted) + ".")
    sentences.append(
        "This is an analysis of the data provided, not investment advice; "
        "investors should weigh their own objectives and risk tolerance."
    )
    return " ".join(sentences)


def plan_from_messages(messages: list[dict[str, Any]]) -> str:
    """A request plan (JSON) for a structured-output call: the session's tickers, asked about.

    The stub does not read language; it fills the plan's required fields so the
    agent's validation passes and the turn goes on, which is all a count needs.
    """
    body = _json_in(str(messages[-1].get("content", ""))) if messages else None
    tickers = body.get("session_tickers") if isinstance(body, dict) else None
    subjects = list(tickers) if isinstance(tickers, list) and tickers else ["AAPL"]
    return json.dumps(
        {
            "intent": "question" if tickers else "analyze",
            "subjects": subjects,
            "aspects": ["Beta"] if tickers else [],
            "operator": None,
            "time_frame": None,
            "why": False,
        }
    )


@dataclass
class CallRecord:
    prompt_tokens: int
    seconds: float
    used_tools: bool
    structured: bool = False  # a response_format call: the request plan


@dataclass
class CountingModelClient:
    """Counts every ``chat`` call; thread-safe so concurrent fan-out counts right.

    ``inner`` is the client to forward to; ``None`` answers locally after
    ``latency_s`` with :func:`narrative_from_messages`.
    """

    inner: ModelClient | None = None
    latency_s: float = 0.0
    name: str = "counting"
    calls: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def plan_calls(self) -> int:
        """Calls that asked for the request plan (structured output)."""
        return sum(c.structured for c in self.calls)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        messages = profile.messages(turns)
        tools = [dict(tool) for tool in profile.tools] or None
        started = time.perf_counter()
        try:
            if self.inner is not None:
                return self.inner.chat(profile, turns)
            if self.latency_s:
                time.sleep(self.latency_s)
            text = (
                plan_from_messages(messages)
                if profile.response_format is not None
                else narrative_from_messages(messages)
            )
            return ChatResult(
                content=text,
                finish_reason="stop",
                usage=Usage(
                    prompt_tokens=estimate_tokens(messages, tools),
                    completion_tokens=math.ceil(len(text) / CHARS_PER_TOKEN),
                ),
                model="counting-stub",
            )
        finally:
            record = CallRecord(
                prompt_tokens=estimate_tokens(messages, tools),
                seconds=time.perf_counter() - started,
                used_tools=bool(tools),
                structured=profile.response_format is not None,
            )
            with self._lock:
                self.calls.append(record)
