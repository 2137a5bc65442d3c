"""The graph's nodes: module-level functions of ``(state, runtime)``.

Each node reads its clients from ``runtime.context`` (a
:class:`~stock_agent.context.RunContext`), returns only what it adds to
the state, and emits its stage events through ``runtime.stream_writer`` (the
``"stream": true`` contract). Decisions are not taken here but by the
routing functions at the end of this module, which :mod:`stock_agent.graph`
wires as conditional edges.

The article's three agents are the nodes ``data_gathering_agent``,
``performance_analysis_agent`` and ``report_generation_agent``. A failure a
caller should see (no ticker, no context, every ticker failed, the deadline)
is written to ``state["error"]`` and routed to ``respond``; no node throws an
expected failure through the graph.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from . import contract, deadline
from .answering.checked_text import CheckedText
from .answering.conversation import Question, Understanding, understand, write_answer
from .answering.narrative import NarrativeOutcome, write_narrative
from .context import Dependencies, RunContext
from .customize import run_records
from .errors import AgentError, internal_error
from .memory.checkpoints import memory_read_failed
from .memory.session import (
    SessionMemory,
    SessionRecord,
    last_tickers,
    remember_turn,
    session_records,
)
from .models.types import ModelError
from .models.warmup import lookup_error, wake_model
from .prompts import ticker_candidates, ticker_turns
from .records import Narrative
from .reports.comparison import generate_comparison_report
from .state import AgentState, TickerFailure
from .tools import analyze_stock_performance, gather_stock_data, generate_stock_report
from .understanding.names import resolve_names
from .understanding.parsing import (
    ParsedRequest,
    no_ticker_error,
    parse_request,
    tickers_from_candidates,
)

logger = logging.getLogger(__name__)
# Seconds after which a follow-up refused for an unreadable session memory may be retried.
MEMORY_RETRY_AFTER_S = 5

MAX_WORKERS = 4

T = TypeVar("T")
Update = dict[str, Any]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _error(err: AgentError) -> dict[str, Any]:
    """The error as state carries it: the caller-facing body (``retry_after`` when known)."""
    return dict(err.to_body()["error"])


def _stage(runtime: Runtime[RunContext], stage: str, **fields: Any) -> None:
    runtime.stream_writer({"event": "stage", "stage": stage, **fields})


def _map_tickers(
    fn: Callable[[str], T], symbols: Sequence[str], *, stage: str, grace_s: float
) -> Iterator[tuple[str, T | AgentError]]:
    """``fn`` over ``symbols`` (≤ MAX_WORKERS threads), yielding results in input order.

    Bounded by the request's deadline plus ``grace_s`` and stopped by a
    disconnected caller: see :func:`stock_agent.deadline.map_bounded`.
    """
    return deadline.map_bounded(fn, symbols, max_workers=MAX_WORKERS, stage=stage, grace_s=grace_s)


def _active(state: AgentState) -> list[str]:
    failures = state.get("failures", {})
    return [s for s in state.get("tickers", []) if s not in failures]


def all_failed_error(failures: dict[str, TickerFailure]) -> AgentError:
    """The request's error when no ticker is left: the most telling of the failures."""
    codes = [f["code"] for f in failures.values()]
    detail = "; ".join(f"{symbol}: {f['message']}" for symbol, f in failures.items())
    if all(code == "unknown_ticker" for code in codes):
        return AgentError("unknown_ticker", detail)
    code = next(c for c in codes if c != "unknown_ticker")
    if code == "internal_error":
        return internal_error()
    return AgentError(code, detail)


def _per_ticker_stage(
    state: AgentState,
    runtime: Runtime[RunContext],
    *,
    stage: str,
    done_key: str,
    fn: Callable[[str], T],
    deadline_applies: bool = False,
) -> tuple[dict[str, T], Update]:
    """Run ``fn`` for every active ticker without a ``done_key`` record yet.

    Symbols whose record is already there (reused from the session) emit a
    ``reused`` event. Returns the new records and the bookkeeping update
    (failures, warnings, and ``error`` when no ticker is left). A caller that
    left stops the stage; ``deadline_applies`` bounds it by the request's
    deadline, else by the deadline plus the stated margin (a deterministic
    narrative or a report already written beats a timeout).
    """
    deadline.check_cancelled(stage)
    grace_s = 0.0 if deadline_applies else deadline.DEADLINE_MARGIN_S
    existing: dict[str, Any] = dict(state.get(done_key) or {})  # type: ignore[call-overload]
    done: dict[str, T] = {}
    failures: dict[str, TickerFailure] = {}
    warnings: list[str] = []
    todo = [s for s in _active(state) if s not in existing]
    for symbol in _active(state):
        if symbol in existing:
            _stage(runtime, stage, symbol=symbol, status="reused")
    for symbol, outcome in _map_tickers(fn, todo, stage=stage, grace_s=grace_s):
        if isinstance(outcome, AgentError):
            failures[symbol] = {"stage": stage, "code": outcome.code, "message": outcome.message}
            warnings.append(f"{symbol} skipped at {stage}: {outcome.message}")
            _stage(runtime, stage, symbol=symbol, status="failed",
                   error={"code": outcome.code, "message": outcome.message})  # fmt: skip
        else:
            done[symbol] = outcome
            _stage(runtime, stage, symbol=symbol, status="done")
    update: Update = {"failures": failures, "warnings": warnings}
    if not done and not existing:
        update["error"] = _error(all_failed_error({**state.get("failures", {}), **failures}))
    return done, update


# ---------------------------------------------------------------------------
# understand the request
# ---------------------------------------------------------------------------


def _tickers_from_model(
    state: AgentState, run: RunContext, parsed: ParsedRequest
) -> tuple[list[str], Update]:
    """Ask the model once which tickers the request names; validate its answer."""
    deps = run.deps
    try:
        result = deps.model.chat(run.profiles.ticker_lookup, ticker_turns(state["prompt"]))
    except ModelError as err:
        logger.warning("ticker lookup by the model failed", extra={"code": err.code})
        raise lookup_error(err, model=deps.model) from err
    candidates = ticker_candidates(
        tool_arguments=[c.arguments for c in result.tool_calls if c.name == "report_tickers"],
        content=result.content,
    )
    tickers = list(tickers_from_candidates(candidates, known_symbols=deps.model_symbols))
    if not tickers and result.finish_reason == "length":
        logger.warning("ticker lookup cut off at the token limit", extra={"code": "length"})
        raise AgentError(
            "no_ticker",
            "the model ran out of its answer budget while looking up the company name "
            "(finish_reason=length); name the ticker, e.g. 'Analyze AAPL'",
        )
    usage: Update = {
        "model_calls": 1,
        "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens,
    }
    if not tickers:
        raise no_ticker_error(prompt_hints=parsed.company_hints, model_asked=True)
    return tickers, {
        **usage,
        "warnings": [f"tickers {', '.join(tickers)} were inferred by the model from the request"],
    }


def classify(prompt: str, deps: Dependencies, session: SessionMemory | None) -> Understanding:
    """The route of ``prompt`` given the session; raises the caller-facing routes' errors.

    ``ask_model`` is returned unresolved: only the graph asks the model.
    """
    parsed = parse_request(prompt, known_symbols=deps.parser_symbols)
    named = [*parsed.tickers, *resolve_names(prompt, deps.names)]
    seen = understand(
        prompt,
        parsed=parsed,
        named=list(dict.fromkeys(named)),
        remembered=list(session["records"]) if session else [],
        last=last_tickers(session),
        model_available=deps.model_configured,
    )
    if seen.route == "no_ticker":
        raise no_ticker_error(
            prompt_hints=parsed.company_hints,
            model_asked=False,
            dollar_hints=parsed.dollar_hints,
        )
    if seen.route == "no_context":
        unread = memory_read_failed()
        if unread:
            # The session may well hold the context: the store did not answer, so say that.
            raise AgentError(
                "memory_unavailable",
                f"this follow-up needs the session, and the session memory could not be read "
                f"({unread}); nothing was answered or saved: try again",
                retry_after=MEMORY_RETRY_AFTER_S,
            )
        raise AgentError("no_context", seen.message)
    if seen.route == "out_of_scope":
        # Same code as before the route existed: callers already branch on no_ticker.
        raise AgentError("no_ticker", seen.message)
    return seen


def _understanding(state: AgentState, run: RunContext) -> tuple[Understanding, Update]:
    seen = classify(state["prompt"], run.deps, state.get("session"))
    if seen.route != "ask_model":
        return seen, {}
    if deadline.deadline_passed():
        raise AgentError("deadline_exceeded", "the request ran out of time before it began")
    parsed = parse_request(state["prompt"], known_symbols=run.deps.parser_symbols)
    tickers, update = _tickers_from_model(state, run, parsed)
    if len(tickers) > 1:
        return Understanding(route="compare", tickers=tuple(tickers)), update
    return Understanding(route="analyze", tickers=tuple(tickers)), update


def understand_request(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """Tickers (parser, company names, the model once at most), the route, reused records."""
    started = time.perf_counter()
    deps = runtime.context.deps
    if deps.model_configured:  # start a sleeping model while the data is gathered
        wake_model(deps.model, progress=runtime.stream_writer)
    try:
        seen, update = _understanding(state, runtime.context)
    except AgentError as err:
        _stage(runtime, "understand_request", status="failed", error=_error(err))
        return {"error": _error(err), "timings_ms": {"understand_request": _elapsed_ms(started)}}
    tickers = list(seen.tickers)
    intent = seen.route
    if seen.message:
        update["warnings"] = [*update.get("warnings", []), seen.message]
    _stage(runtime, "understand_request", status="done", tickers=tickers, intent=intent)
    logger.info("request understood", extra={"tickers": tickers, "intent": intent})
    update.update(
        {
            "tickers": tickers,
            "intent": intent,
            "timings_ms": {"understand_request": _elapsed_ms(started)},
        }
    )
    if seen.question is not None:
        q = seen.question
        update["question"] = {
            "figures": list(q.figures),
            "verdicts": list(q.verdicts),
            "why": q.why,
        }
    if seen.reused:
        reused = session_records(state.get("session"), symbols=seen.reused)
        update.update(
            {
                "snapshots": {s: r.snapshot for s, r in reused.items()},
                "analyses": {s: r.analysis for s, r in reused.items()},
                "narratives": {s: r.narrative for s, r in reused.items()},
                "reports": {s: r.report for s, r in reused.items()},
                "generated_at": {s: r.generated_at for s, r in reused.items()},
            }
        )
    return update


# ---------------------------------------------------------------------------
# the article's three agents (and the narrative between them)
# ---------------------------------------------------------------------------


def data_gathering_agent(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """Data Gathering Agent: one provider snapshot per ticker not yet in the session."""
    started = time.perf_counter()
    deps = runtime.context.deps
    if deadline.deadline_passed():
        err = AgentError(
            "deadline_exceeded", "the request ran out of time before the data_gathering stage"
        )
        _stage(runtime, "data_gathering", status="failed", error=_error(err))
        return {"error": _error(err)}
    as_of: date = deps.clock().date()
    snapshots, update = _per_ticker_stage(
        state,
        runtime,
        stage="data_gathering",
        done_key="snapshots",
        fn=lambda s: gather_stock_data(s, provider=deps.provider, as_of=as_of),
        deadline_applies=True,
    )
    return {
        **update,
        "snapshots": {**state.get("snapshots", {}), **snapshots},
        "timings_ms": {"data_gathering": _elapsed_ms(started)},
    }


def performance_analysis_agent(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """Stock Performance Analyzer Agent: technical, fundamental and risk verdicts, and the
    track record (the provider's longer history, cached per ticker and day)."""
    started = time.perf_counter()
    snapshots = state["snapshots"]
    analyses, update = _per_ticker_stage(
        state,
        runtime,
        stage="performance_analysis",
        done_key="analyses",
        fn=lambda s: analyze_stock_performance(
            snapshots[s],
            risk_free_rate=runtime.context.settings.risk_free_rate,
            provider=runtime.context.deps.provider,
        ),
    )
    return {
        **update,
        "analyses": {**state.get("analyses", {}), **analyses},
        "timings_ms": {"performance_analysis": _elapsed_ms(started)},
    }


def narrative(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """The analyst narrative per ticker: the model (number-checked) or deterministic."""
    started = time.perf_counter()
    run = runtime.context
    deps = run.deps
    model_down = threading.Event()  # once the model is unreachable, stop asking it

    def one(symbol: str) -> NarrativeOutcome:
        skip = model_down.is_set()
        outcome = write_narrative(
            snapshot=state["snapshots"][symbol],
            analysis=state["analyses"][symbol],
            model=deps.model,
            profile=run.profiles.narrative,
            use_model=deps.model_configured and not skip,
        )
        if outcome.unavailable_reason:
            model_down.set()
        if skip and deps.model_configured:
            reason = f"{symbol}: model not asked (it was unavailable earlier in this request)"
            return NarrativeOutcome(narrative=outcome.narrative, unavailable_reason=reason)
        return outcome

    outcomes, update = _per_ticker_stage(
        state, runtime, stage="narrative", done_key="narratives", fn=one
    )
    narratives: dict[str, Narrative] = {s: o.narrative for s, o in outcomes.items()}
    warnings = list(update["warnings"])
    for o in outcomes.values():
        warnings.extend(o.narrative.warnings)
    return {
        **update,
        "narratives": {**state.get("narratives", {}), **narratives},
        "narrative_traces": {
            **state.get("narrative_traces", {}),
            **{s: o.trace for s, o in outcomes.items() if o.trace},
        },
        "warnings": warnings,
        "degraded_reasons": [
            o.unavailable_reason for o in outcomes.values() if o.unavailable_reason
        ],
        "model_starting_eta_s": [
            o.model_starting_eta_s for o in outcomes.values() if o.model_starting_eta_s is not None
        ],
        "model_calls": sum(n.model_calls for n in narratives.values()),
        "prompt_tokens": sum(n.prompt_tokens for n in narratives.values()),
        "completion_tokens": sum(n.completion_tokens for n in narratives.values()),
        "timings_ms": {"narrative": _elapsed_ms(started)},
    }  # fmt: skip


def report_generation_agent(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """Stock Report Generation Agent: render and store one PDF per new ticker."""
    started = time.perf_counter()
    deps = runtime.context.deps
    stamps: dict[str, datetime] = {}

    def one(symbol: str) -> Any:
        generated_at = deps.clock()
        stamps[symbol] = generated_at
        ref = generate_stock_report(
            snapshot=state["snapshots"][symbol],
            analysis=state["analyses"][symbol],
            narrative=state["narratives"][symbol],
            store=deps.store,
            generated_at=generated_at,
            request_id=state["request_id"],
        )
        # The run record next to the PDF (best effort; see stock_agent.customize.run_records).
        run_records.store_run_record(
            ctx=runtime.context.settings, store=deps.store, state=state, symbol=symbol,
            report=ref, extra_timings_ms={"report_generation": _elapsed_ms(started)},
        )  # fmt: skip
        return ref

    reports, update = _per_ticker_stage(
        state, runtime, stage="report_generation", done_key="reports", fn=one
    )
    return {
        **update,
        "reports": {**state.get("reports", {}), **reports},
        "generated_at": {**state.get("generated_at", {}), **{s: stamps[s] for s in reports}},
        "timings_ms": {"report_generation": _elapsed_ms(started)},
    }


# ---------------------------------------------------------------------------
# compare, answer, remember, respond
# ---------------------------------------------------------------------------


def _written(text: CheckedText) -> Update:
    """What a model-written text adds to the turn: its warnings, why the model was not
    used (when it could not be reached) and what it cost."""
    return {
        "warnings": list(text.warnings),
        "degraded_reasons": [text.unavailable_reason] if text.unavailable_reason else [],
        "model_starting_eta_s": (
            [text.model_starting_eta_s] if text.model_starting_eta_s is not None else []
        ),
        "model_calls": text.model_calls,
        "prompt_tokens": text.prompt_tokens,
        "completion_tokens": text.completion_tokens,
    }


def _finished_records(state: AgentState) -> dict[str, SessionRecord]:
    return {
        s: SessionRecord(
            snapshot=state["snapshots"][s],
            analysis=state["analyses"][s],
            narrative=state["narratives"][s],
            report=state["reports"][s],
            generated_at=state["generated_at"][s],
        )
        for s in state.get("tickers", [])
        if s in state.get("reports", {})
    }


def comparison_report(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """One comparison PDF of every analysed ticker: table, rebased chart, leaders, narrative."""
    started = time.perf_counter()
    run = runtime.context
    deps = run.deps
    records = _finished_records(state)
    try:
        outcome = generate_comparison_report(
            records,
            store=deps.store,
            model=deps.model,
            profile=run.profiles.comparison,
            # a model that failed the narratives of this request is not asked again
            use_model=deps.model_configured and not state.get("degraded_reasons"),
            generated_at=deps.clock(),
            request_id=state["request_id"],
        )
    except AgentError as err:
        _stage(runtime, "comparison_report", status="failed", error=_error(err))
        return {
            "warnings": [f"the comparison report could not be produced: {err.message}"],
            "timings_ms": {"comparison_report": _elapsed_ms(started)},
        }
    _stage(runtime, "comparison_report", status="done", symbols=list(records))
    return {
        **_written(outcome.narrative),
        "comparison": outcome.as_json(),
        "timings_ms": {"comparison_report": _elapsed_ms(started)},
    }


def answer_question(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """A follow-up answered from the session's records: no data fetch, number-checked."""
    started = time.perf_counter()
    run = runtime.context
    deps = run.deps
    remembered = session_records(state.get("session"), symbols=state.get("tickers", []))
    targets = {s: remembered[s] for s in state.get("tickers", []) if s in remembered}
    q = state.get("question") or {}
    question = Question(
        figures=tuple(q.get("figures", ())), verdicts=tuple(q.get("verdicts", ())),
        why=bool(q.get("why")),
    )  # fmt: skip
    outcome = write_answer(
        prompt=state["prompt"],
        question=question,
        records=targets,
        model=deps.model,
        profile=run.profiles.answer,
        use_model=deps.model_configured,
    )
    _stage(runtime, "answer_question", status="done", tickers=list(targets), source=outcome.source)
    return {
        **_written(outcome),
        "answer": outcome.text,
        "timings_ms": {"answer_question": _elapsed_ms(started)},
    }


def remember(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """Add this turn and its records to the session, within the configured bounds.

    A request without a session id remembers nothing (there is nowhere to keep it).
    """
    settings = runtime.context.settings
    if state.get("session_id") is None:
        _stage(runtime, "remember", status="skipped")
        return {}
    session = remember_turn(
        state.get("session"),
        turn={
            "request_id": state["request_id"],
            "prompt": state["prompt"],
            "intent": state.get("intent", "analyze"),
            "tickers": list(state.get("tickers", [])),
        },
        records=_finished_records(state),
        max_turns=settings.session_max_turns,
        max_records=settings.session_max_records,
    )
    _stage(runtime, "remember", status="done", turns=len(session["turns"]),
           records=len(session["records"]))  # fmt: skip
    return {"session": session}


def respond(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """The response (or the error) of the turn; the per-ticker records are let go."""
    error = state.get("error")
    response: dict[str, Any]
    if error:
        response = {"error": dict(error)}
    else:
        response = contract.build_response(
            state, ctx=runtime.context.settings, link=runtime.context.deps.store
        )
    _stage(runtime, "respond", status="failed" if error else "done")
    # Only the session carries over to the next turn: the checkpoint stays small.
    return {
        "response": response,
        "snapshots": {},
        "analyses": {},
        "narratives": {},
        "narrative_traces": {},
        "reports": {},
        "generated_at": {},
    }


# ---------------------------------------------------------------------------
# routing (the conditional edges)
# ---------------------------------------------------------------------------


def route_after_understanding(state: AgentState) -> str:
    """``question`` | ``analyze_or_compare`` | ``refused`` (no ticker, no context, ...)."""
    if state.get("error"):
        return "refused"
    if state.get("intent") == "question":
        return "question"
    return "analyze_or_compare"


def after_ticker_stage(state: AgentState) -> str:
    """``next`` stage, or ``every_ticker_failed`` (the error is in the state) to respond."""
    return "every_ticker_failed" if state.get("error") else "next"


def route_after_reports(state: AgentState) -> str:
    """``compare`` (two or more reports) | ``analyze`` | ``every_ticker_failed``."""
    if state.get("error"):
        return "every_ticker_failed"
    if state.get("intent") == "compare" and len(_finished_records(state)) >= 2:
        return "compare"
    return "analyze"
