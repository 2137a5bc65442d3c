"""Row 10: the conversation (follow-ups, the checkpointer, session size, model calls).

10a  follow-up question, offline model: p50 wall time of "what is its beta?" after
    "Analyze AAPL" in the same session (in-memory checkpointer), in-process.
10b  checkpointer overhead per turn, local: time spent inside the checkpointer
    (read, write, compaction) per turn, over a 20-turn conversation of analyses,
    comparisons and questions on LangGraph's in-memory saver.
10c  serialized session state after 20 turns: the bytes of the stored checkpoint
    (every channel, serialized by the saver's own serializer) after that conversation,
    and of the ``session`` channel alone.
10d  model calls per turn, with the counting client: an analysis of one ticker, a
    follow-up question, and (for information) a comparison of three tickers, whose
    comparison narrative is one call more than its tickers.
10e  request plans filled by the model, with the counting client: turns the rules cannot
    read (a question that names nothing they know, a company named by description) ask
    the model for the plan at most once each; turns they can read never do.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from .counting import CountingModelClient
from .report import Row, fmt_bytes, fmt_ms, percentile

FOLLOW_UP_TARGET_S = 0.050
CHECKPOINTER_TARGET_S = 0.010
SESSION_TARGET_BYTES = 256 * 1024

# 20 turns: analyses, follow-up comparisons and questions, cycling through tickers.
CONVERSATION = (
    "Analyze AAPL",
    "what is its beta?",
    "and MSFT?",
    "why is the technical score low?",
    "Analyze KO",
    "what is its P/E?",
    "compare it with PG",
    "why is the risk high?",
    "Analyze NVDA",
    "what is its dividend yield?",
    "and AMD?",
    "why is the fundamental score high?",
    "Analyze JPM",
    "what about V",
    "what is the volatility of V?",
    "Analyze XOM",
    "and CSCO?",
    "what is its market cap?",
    "Compare WMT, HD and DIS",
    "why is the outlook what it is?",
)


# Turns the rules read on their own, and turns they leave to the model (10e).
PLAN_READ_BY_RULES = (
    "what is its beta?",
    "which is riskier, and why?",
    "should I buy it?",
    "what's your price target?",
    "and its FCF margin?",
)
PLAN_FILLED_BY_MODEL = (
    "what do you make of how jumpy it is?",
    "analyze the iPhone maker",
    "tell me about the company that makes Windows",
)


@dataclass
class _Clock:
    seconds: float = 0.0
    calls: int = 0
    per_turn: list[float] = field(default_factory=list)


def _timed_saver(clock: _Clock) -> Any:
    """A GuardedSaver on InMemorySaver that adds up the time spent in the checkpointer."""
    from langgraph.checkpoint.memory import InMemorySaver
    from stock_agent.memory.checkpoints import GuardedSaver

    class Timed(GuardedSaver):
        def _time(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - started
                clock.calls += 1

        def get_tuple(self, config: Any) -> Any:
            return self._time(super().get_tuple, config)

        def put(self, *args: Any, **kwargs: Any) -> Any:
            return self._time(super().put, *args, **kwargs)

        def put_writes(self, *args: Any, **kwargs: Any) -> Any:
            return self._time(super().put_writes, *args, **kwargs)

        def keep_latest(self, config: Any) -> None:
            self._time(super().keep_latest, config)

    return Timed(InMemorySaver())


def row10(*, runs: int) -> list[Row]:
    from stock_agent.agent import Dependencies, StockAgent
    from stock_agent.errors import AgentError
    from stock_agent.memory.checkpoints import thread_config
    from stock_agent.settings import AgentSettings

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-row10-") as reports:
        ctx = AgentSettings(
            model_provider="offline", data_provider="simulated", reports_dir=reports
        )

        # 10a: follow-up question latency
        agent = StockAgent(ctx=ctx)
        agent.invoke("Analyze AAPL", request_id="warm", session_id="bench-10a")
        agent.invoke("what is its beta?", request_id="warm-q", session_id="bench-10a")
        samples = []
        for i in range(runs):
            started = time.perf_counter()
            response = agent.invoke("what is its beta?", request_id=f"q{i}", session_id="bench-10a")
            samples.append(time.perf_counter() - started)
            if response["intent"] != "question" or "Beta" not in (response["answer"] or ""):
                raise RuntimeError(f"not an answer: {response['text'][:200]}")
        p50 = percentile(samples, 50)
        rows.append(
            Row(
                number="10a",
                what="follow-up question, offline model",
                figure=f"p50 {fmt_ms(p50)}",
                target="p50 ≤ 50 ms",
                ok=p50 <= FOLLOW_UP_TARGET_S,
                note=f"{runs} runs of 'what is its beta?' after 'Analyze AAPL'; "
                f"p90 {fmt_ms(percentile(samples, 90))}; no data fetch, no model",
            )
        )

        # 10b / 10c: a 20-turn conversation on the timed in-memory checkpointer
        clock = _Clock()
        saver = _timed_saver(clock)
        agent = StockAgent(ctx=ctx, checkpointer=saver)
        for i, prompt in enumerate(CONVERSATION):
            before = clock.seconds
            agent.invoke(prompt, request_id=f"t{i}", session_id="bench-10b")
            clock.per_turn.append(clock.seconds - before)
        per_turn = percentile(clock.per_turn, 50)
        rows.append(
            Row(
                number="10b",
                what="checkpointer overhead per turn, local",
                figure=f"p50 {fmt_ms(per_turn)}",
                target="≤ 10 ms",
                ok=per_turn <= CHECKPOINTER_TARGET_S,
                note=f"{len(CONVERSATION)} turns (analyses, comparisons, questions), in-memory "
                f"saver; max {fmt_ms(max(clock.per_turn))}; {clock.calls} checkpointer calls",
            )
        )
        saved = saver.get_tuple(thread_config(session_id="bench-10b", actor=None))
        if saved is None:
            raise RuntimeError("the session was not saved")
        values = saved.checkpoint["channel_values"]
        total = sum(len(saver.serde.dumps_typed(v)[1]) for v in values.values())
        total += len(saver.serde.dumps_typed({**saved.checkpoint, "channel_values": {}})[1])
        session_bytes = len(saver.serde.dumps_typed(values["session"])[1])
        session = values["session"]
        rows.append(
            Row(
                number="10c",
                what="serialized session state after 20 turns",
                figure=fmt_bytes(total),
                target="≤ 256 KB",
                ok=total <= SESSION_TARGET_BYTES,
                note=f"whole checkpoint; the session channel alone {fmt_bytes(session_bytes)} "
                f"({len(session['turns'])} turns, {len(session['records'])} records kept: bounds "
                f"{ctx.session_max_turns} turns / {ctx.session_max_records} records)",
            )
        )

        # 10d: model calls per turn with a model that answers (and passes the number check)
        counting = CountingModelClient()
        agent = StockAgent(ctx=ctx, dependencies=Dependencies.from_settings(ctx, model=counting))
        agent.invoke("Analyze AAPL", request_id="c1", session_id="bench-10d")
        analyze_calls = counting.call_count
        counting.reset()
        answer = agent.invoke("what is its beta?", request_id="c2", session_id="bench-10d")
        question_calls = counting.call_count
        counting.reset()
        compared = agent.invoke("Compare KO, PG and WMT", request_id="c3")
        compare_calls = counting.call_count
        rejected = any("rejected" in w for w in answer["warnings"])
        if rejected:
            raise RuntimeError(f"the counting model's answer was rejected: {answer['warnings']}")
        ok = analyze_calls <= 1 and question_calls <= 1
        rows.append(
            Row(
                number="10d",
                what="model calls: analyze / question",
                figure=f"{analyze_calls} per ticker / {question_calls} per answer",
                target="≤ 1 per ticker / ≤ 1 per answer",
                ok=ok,
                note="the model's answer passed the number check; "
                f"a comparison of {len(compared['tickers'])} tickers made {compare_calls} calls "
                "(one narrative per ticker plus the comparison narrative)",
            )
        )

        # 10e: the request plan by the model, at most once per turn, and only when needed
        plans: dict[str, int] = {}
        for prompt in (*PLAN_READ_BY_RULES, *PLAN_FILLED_BY_MODEL):
            counting.reset()
            with contextlib.suppress(AgentError):  # a refusal still counts its calls
                agent.invoke(prompt, request_id="p", session_id="bench-10d")
            plans[prompt] = counting.plan_calls
        by_rules = [plans[p] for p in PLAN_READ_BY_RULES]
        by_model = [plans[p] for p in PLAN_FILLED_BY_MODEL]
        rows.append(
            Row(
                number="10e",
                what="request plans filled by the model per turn",
                figure=f"max {max(by_model)} when the rules cannot read it, "
                f"{max(by_rules)} when they can",
                target="≤ 1 / 0",
                ok=max(by_model) <= 1 and max(by_rules) == 0,
                note=f"{len(PLAN_FILLED_BY_MODEL)} turns the rules leave unsure "
                f"({sum(by_model)} plan calls), {len(PLAN_READ_BY_RULES)} they read "
                f"({sum(by_rules)} plan calls); counting client, structured output",
            )
        )
    return rows
