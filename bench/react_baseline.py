"""The source article's design, rebuilt for comparison: a ReAct loop over the same tools.

In the article the model drives the agent: it decides to call
``gather_stock_data``, then ``analyze_stock_performance``, then
``generate_stock_report``, one tool call per turn, and finally writes the
answer: four model calls per ticker, each resending the growing history.
Our graph calls the tools itself with typed records and asks the model once
per ticker, for the narrative. The benchmark runs both against the same stub
model (same latency, same counting client) to show what that choice costs.

:func:`run_react` is a hand-written loop rather than LangGraph's prebuilt
agent so it can drive the project's own ``ModelClient`` (the OpenAI client
pointed at the loopback stub) and count exactly what is sent. The tools are
the LangChain ``StructuredTool``s from :func:`bench.react_tools.build_tools`,
described to the model by their JSON schemas and executed with the
arguments the model returns.

:func:`scripted_react_model` is the stub's behaviour: what a well-behaved
tool-calling model would answer at each turn, in vLLM's chat-completions
JSON, so the comparison measures the loop's structure and not a model's
mistakes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from stock_agent.models.types import CallProfile, ModelClient

from .counting import narrative_from_messages

logger = logging.getLogger(__name__)

REACT_SYSTEM_PROMPT = (
    "You are a stock analysis agent. For the stock the user names, call "
    "gather_stock_data, then analyze_stock_performance, then generate_stock_report "
    "with a 150-250 word analyst narrative that uses only figures from the tool "
    "results. Call one tool per turn. When the report is stored, answer the user with "
    "the three sections: STOCK DATA GATHERING REPORT, STOCK PERFORMANCE ANALYSIS, "
    "STOCK REPORT GENERATION."
)
TOOL_ORDER = ("gather_stock_data", "analyze_stock_performance", "generate_stock_report")


class ReactError(RuntimeError):
    """The loop could not finish (unknown tool, too many turns)."""


@dataclass
class ReactOutcome:
    answer: str
    model_calls: int
    tool_calls: list[str] = field(default_factory=list)
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tool_errors(self) -> list[dict[str, Any]]:
        return [r["error"] for r in self.tool_results if isinstance(r.get("error"), dict)]


def run_react(
    prompt: str,
    *,
    model: ModelClient,
    tools: Sequence[BaseTool],
    max_turns: int = 8,
    max_tokens: int = 1024,
) -> ReactOutcome:
    """Let the model call tools until it answers without one; return what happened."""
    by_name = {tool.name: tool for tool in tools}
    profile = CallProfile(
        purpose="react_turn",
        system_prompt=REACT_SYSTEM_PROMPT,
        max_tokens=max_tokens,
        tools=tuple(convert_to_openai_tool(tool) for tool in tools),
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    outcome = ReactOutcome(answer="", model_calls=0)
    started = time.perf_counter()
    for _turn in range(max_turns):
        result = model.chat(profile, messages)
        outcome.model_calls += 1
        if not result.tool_calls:
            outcome.answer = result.content
            outcome.seconds = time.perf_counter() - started
            return outcome
        messages.append(
            {
                "role": "assistant",
                "content": result.content or None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in result.tool_calls
                ],
            }
        )
        for call in result.tool_calls:
            tool = by_name.get(call.name)
            if tool is None:
                raise ReactError(f"the model called an unknown tool {call.name!r}")
            output = tool.invoke(call.arguments)
            outcome.tool_calls.append(call.name)
            outcome.tool_results.append(output if isinstance(output, dict) else {"text": output})
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": json.dumps(output, ensure_ascii=False, default=str),
                }
            )
    raise ReactError(f"no final answer after {max_turns} model turns")


def _tool_outputs(messages: list[dict[str, Any]]) -> list[Any]:
    outputs = []
    for message in messages:
        if message.get("role") == "tool":
            try:
                outputs.append(json.loads(message.get("content") or "null"))
            except ValueError:
                outputs.append(None)
    return outputs


def scripted_react_model(symbol: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A stub model's answers for one ticker: the three tool calls, one per turn, then text.

    The turn is read from the request itself (how many tool results it
    carries), as a real model would. The narrative it hands to
    ``generate_stock_report`` quotes the key figures of the analysis tool's
    result, so the tool's number check accepts it.
    """
    from tests.support.fake_vllm import chat_completion

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        messages = request.get("messages") or []
        outputs = _tool_outputs(messages)
        step = len(outputs)
        if step < len(TOOL_ORDER):
            arguments: dict[str, Any] = {"symbol": symbol}
            if TOOL_ORDER[step] == "generate_stock_report":
                figures = [o for o in outputs if isinstance(o, dict) and "key_figures" in o]
                source = json.dumps(figures[-1] if figures else {})
                arguments["narrative"] = narrative_from_messages(
                    [{"role": "user", "content": source}]
                )
            return chat_completion(
                None, tool_calls=[{"name": TOOL_ORDER[step], "arguments": arguments}]
            )
        report = outputs[-1] if outputs and isinstance(outputs[-1], dict) else {}
        text = (
            f"STOCK DATA GATHERING REPORT\nData gathered for {symbol}.\n\n"
            f"STOCK PERFORMANCE ANALYSIS\n{symbol} analysed.\n\n"
            f"STOCK REPORT GENERATION\nReport: {report.get('report', {}).get('uri', 'n/a')}"
        )
        return chat_completion(text)

    return answer
