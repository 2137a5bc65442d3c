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
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from . import contract, deadline
from .answering import personal as personal_text
from .answering.checked_text import CheckedText
from .answering.conversation import write_answer
from .answering.narrative import NarrativeOutcome, write_narrative
from .context import Dependencies, RunContext, reference_figure_groups
from .customize import run_records
from .errors import AgentError, internal_error
from .memory.checkpoints import memory_read_failed
from .memory.session import (
    SessionMemory,
    SessionRecord,
    last_tickers,
    remember_turn,
    remembered_figure_groups,
    session_records,
)
from .memory.user_profile import (
    ProfileUnavailable,
    UserProfile,
    with_preferences,
    with_tickers,
    without_tickers,
)
from .models.types import ModelError
from .models.warmup import lookup_error, wake_model
from .prompts import json_in_content, plan_turns
from .records import Narrative
from .reports.comparison import generate_comparison_report
from .state import AgentState, TickerFailure
from .tools import analyze_stock_performance, gather_stock_data, generate_stock_report
from .understanding.names import in_order_of_mention
from .understanding.parsing import ParsedRequest, no_ticker_error, parse_request
from .understanding.plan import (
    OUT_OF_SCOPE_MESSAGE,
    PlanError,
    RequestPlan,
    plan_from_json,
    plan_request,
    plan_schema,
)
from .understanding.vocabulary import Vocabulary, build_vocabulary

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
# understand the request: one plan, by the rules or (once) by the model
# ---------------------------------------------------------------------------


def turn_vocabulary(session: SessionMemory | None) -> Vocabulary:
    """The aspects of this turn: a complete report's figure labels and the session's own."""
    groups: dict[str, list[str]] = {}
    for title, labels in [*reference_figure_groups(), *remembered_figure_groups(session)]:
        held = groups.setdefault(title, [])
        held.extend(label for label in labels if label not in held)
    return build_vocabulary(groups.items())


def plan_turn(
    prompt: str,
    deps: Dependencies,
    session: SessionMemory | None,
    *,
    watchlist: tuple[str, ...] | None = None,
) -> tuple[RequestPlan, ParsedRequest]:
    """The rules' plan of ``prompt`` given the session and the user's watchlist (``None``:
    not known), and what the parser found."""
    vocabulary = turn_vocabulary(session)
    parsed = parse_request(
        prompt, known_symbols=deps.parser_symbols, figure_words=vocabulary.figure_words
    )
    names = deps.names.resolve(prompt, boundaries=vocabulary.figure_words)
    plan = plan_request(
        prompt,
        parsed=parsed,
        named=in_order_of_mention(list(zip(parsed.offsets, parsed.tickers, strict=True)), names),
        remembered=list(session["records"]) if session else [],
        last=last_tickers(session),
        vocabulary=vocabulary,
        model_available=deps.model_configured,
        watchlist=watchlist,
    )
    return plan, parsed


def classify(prompt: str, deps: Dependencies, session: SessionMemory | None) -> RequestPlan:
    """The rules' plan; raises a refused plan's caller error unless the model will be asked.

    The server calls it before a stream starts, so a refusal gets its 4xx status.
    """
    plan, parsed = plan_turn(prompt, deps, session)
    if plan.refused and (plan.confident or not deps.model_configured):
        raise refusal(plan, parsed)
    return plan


def refusal(plan: RequestPlan, parsed: ParsedRequest) -> AgentError:
    """The caller's error of a refused plan (out of scope keeps the ``no_ticker`` code)."""
    if plan.intent == "no_context":
        unread = memory_read_failed()
        if unread:
            # The session may well hold the context: the store did not answer, so say that.
            return AgentError(
                "memory_unavailable",
                f"this follow-up needs the session, and the session memory could not be read "
                f"({unread}); nothing was answered or saved: try again",
                retry_after=MEMORY_RETRY_AFTER_S,
            )
        return AgentError("no_context", plan.note)
    if plan.intent == "out_of_scope":
        # Same code as before the route existed: callers already branch on no_ticker.
        return AgentError("no_ticker", plan.note or OUT_OF_SCOPE_MESSAGE)
    return no_ticker_error(
        prompt_hints=parsed.company_hints,
        model_asked=plan.source == "model",
        dollar_hints=parsed.dollar_hints,
    )


def _plan_update(
    state: AgentState, runtime: Runtime[RunContext], plan: RequestPlan, parsed: ParsedRequest
) -> Update:
    """The state of a decided plan: its route, tickers, reused records, or its refusal."""
    if plan.refused:
        err = refusal(plan, parsed)
        _stage(runtime, "understand_request", status="failed", error=_error(err))
        return {"plan": plan.to_json(), "error": _error(err)}
    route = plan.route()
    tickers = list(plan.subjects)
    _stage(runtime, "understand_request", status="done", tickers=tickers, intent=route)
    logger.info(
        "request understood",
        extra={"tickers": tickers, "intent": route, "plan_intent": plan.intent,
               "aspects": list(plan.aspects), "plan_source": plan.source},
    )  # fmt: skip
    update: Update = {"plan": plan.to_json(), "tickers": tickers, "intent": route}
    if plan.note:
        update["warnings"] = [plan.note]
    if route != "question" and plan.reused:
        reused = session_records(state.get("session"), symbols=plan.reused)
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


def _user_context(state: AgentState, deps: Dependencies) -> tuple[dict[str, Any], Update]:
    """The user's long-term memory for this turn, read once: ``state["user"]`` and, when the
    store failed, the warning that the turn goes on without it."""
    actor = state.get("actor")
    if not actor:
        return {"identified": False}, {}
    try:
        profile = deps.profiles.read(actor)
    except ProfileUnavailable as err:
        logger.warning("user memory read failed", extra={"error": str(err)})
        warning = personal_text.unread_warning(str(err))
        return {"identified": True, "unread": str(err)}, {
            "warnings": [warning], "degraded_reasons": [warning]}  # fmt: skip
    return {"identified": True, "profile": profile.to_json()}, {}


def user_profile(state: AgentState) -> UserProfile | None:
    """This turn's profile of the user, ``None`` without an identity or when unread."""
    raw = (state.get("user") or {}).get("profile")
    return UserProfile.from_json(raw) if raw is not None else None


def understand_request(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """The turn's request plan by the rules; an unsure plan waits for ``fill_plan``.

    The user's long-term memory is read first: "how is my watchlist doing?" is planned
    over the watchlist.
    """
    started = time.perf_counter()
    deps = runtime.context.deps
    if deps.model_configured:  # start a sleeping model while the data is gathered
        wake_model(deps.model, progress=runtime.stream_writer)
    user, read = _user_context(state, deps)
    profile = UserProfile.from_json(user["profile"]) if "profile" in user else None
    timing = {"understand_request": _elapsed_ms(started)}
    try:
        plan, parsed = plan_turn(
            state["prompt"], deps, state.get("session"),
            watchlist=profile.watchlist if profile is not None else None,
        )  # fmt: skip
    except AgentError as err:
        _stage(runtime, "understand_request", status="failed", error=_error(err))
        return {**read, "user": user, "error": _error(err), "timings_ms": timing}
    if not plan.confident and deps.model_configured:
        _stage(runtime, "understand_request", status="unsure", intent=plan.intent)
        return {**read, "user": user, "plan": plan.to_json(),
                "timings_ms": {"understand_request": _elapsed_ms(started)}}  # fmt: skip
    update = _plan_update(state, runtime, plan, parsed)
    warnings = [*read.get("warnings", []), *update.pop("warnings", [])]
    return {
        **read,
        **update,
        "warnings": warnings,
        "user": user,
        "timings_ms": {"understand_request": _elapsed_ms(started)},
    }


def _model_plan(
    state: AgentState, run: RunContext, rules: RequestPlan
) -> tuple[RequestPlan | None, Update]:
    """One structured-output call: the model's plan (``None`` when it is unusable)."""
    deps, session = run.deps, state.get("session")
    vocabulary = turn_vocabulary(session)
    # The schema lists this turn's vocabulary: the profile's format is set per call.
    profile = replace(
        run.profiles.request_plan,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "request_plan",
                "schema": plan_schema(vocabulary.aspects),
                "strict": True,
            },
        },
    )
    try:
        result = deps.model.chat(
            profile, plan_turns(state["prompt"], session_tickers=last_tickers(session))
        )
    except ModelError as err:
        logger.warning("request plan by the model failed", extra={"code": err.code})
        raise lookup_error(err, model=deps.model) from err
    usage: Update = {
        "model_calls": 1,
        "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens,
    }
    symbols = deps.model_symbols
    try:
        plan = plan_from_json(
            json_in_content(result.content),
            vocabulary=vocabulary,
            accept_ticker=lambda s: not symbols or s in symbols,
            remembered=list(session["records"]) if session else [],
        )
    except PlanError as err:
        logger.warning("request plan by the model rejected", extra={"why": str(err)[:200]})
        if result.finish_reason == "length" and rules.intent == "no_ticker":
            raise AgentError(
                "no_ticker",
                "the model ran out of its answer budget while reading the request "
                "(finish_reason=length); name the ticker, e.g. 'Analyze AAPL'",
            ) from err
        return None, {**usage, "warnings": [f"the model's reading of the request was "
                                            f"rejected: {err}"]}  # fmt: skip
    if plan.subjects and plan.subjects != rules.subjects:
        usage["warnings"] = [
            f"tickers {', '.join(plan.subjects)} were inferred by the model from the request"
        ]
    return plan, usage


def fill_plan(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """The model fills the same request plan once, through a JSON schema; validated like input.

    Its tickers are kept only when the data provider lists them; an unusable
    answer leaves the rules' plan in force, and a failed call is the caller's
    error (a starting model is a 503 with ``retry_after``).
    """
    started = time.perf_counter()
    rules = RequestPlan.from_json(state.get("plan") or {"intent": "out_of_scope"})
    vocabulary = turn_vocabulary(state.get("session"))
    parsed = parse_request(
        state["prompt"],
        known_symbols=runtime.context.deps.parser_symbols,
        figure_words=vocabulary.figure_words,
    )
    if deadline.deadline_passed():
        err = AgentError("deadline_exceeded", "the request ran out of time before it began")
        _stage(runtime, "fill_plan", status="failed", error=_error(err))
        return {"error": _error(err), "timings_ms": {"fill_plan": _elapsed_ms(started)}}
    try:
        plan, usage = _model_plan(state, runtime.context, rules)
    except AgentError as err:
        _stage(runtime, "fill_plan", status="failed", error=_error(err))
        return {
            "error": _error(err),
            "model_calls": 1,
            "timings_ms": {"fill_plan": _elapsed_ms(started)},
        }
    chosen = plan or replace(rules, confident=True, source="rules")
    if plan is None and chosen.intent == "no_ticker":
        chosen = replace(chosen, source="model")  # the model was asked and found nothing
    _stage(runtime, "fill_plan", status="done" if plan else "rejected", intent=chosen.intent)
    update = _plan_update(state, runtime, chosen, parsed)
    warnings = [*usage.pop("warnings", []), *update.pop("warnings", [])]
    return {
        **update,
        **usage,
        "warnings": warnings,
        "timings_ms": {"fill_plan": _elapsed_ms(started)},
    }


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


def _comparison_pdfs_wanted(state: AgentState) -> bool:
    profile = user_profile(state)
    return profile is None or profile.preference("comparison_pdfs") == "on"


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
            render_pdf=_comparison_pdfs_wanted(state),
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
    """The plan's answer from the records (this turn's, then the session's), number-checked."""
    started = time.perf_counter()
    run = runtime.context
    deps = run.deps
    plan = RequestPlan.from_json(state.get("plan") or {"intent": "question"})
    fresh = _finished_records(state)
    missing = [s for s in plan.subjects if s not in fresh]
    targets = {**session_records(state.get("session"), symbols=missing), **fresh}
    answerable = tuple(s for s in plan.subjects if s in targets)
    if answerable != plan.subjects:  # a ticker that failed this turn is left out, and said
        plan = replace(plan, subjects=answerable, reused=tuple(
            s for s in plan.reused if s in answerable))  # fmt: skip
    outcome = write_answer(
        prompt=state["prompt"],
        plan=plan,
        records={s: targets[s] for s in plan.subjects},
        model=deps.model,
        profile=run.profiles.answer,
        # a model that failed the narratives of this request is not asked again
        use_model=deps.model_configured and not state.get("degraded_reasons"),
    )
    _stage(runtime, "answer_question", status="done", tickers=list(plan.subjects),
           source=outcome.source)  # fmt: skip
    return {
        **_written(outcome),
        "answer": outcome.text,
        "timings_ms": {"answer_question": _elapsed_ms(started)},
    }


def _unknown_tickers(symbols: Sequence[str], deps: Dependencies) -> list[tuple[str, str]]:
    """The symbols the data provider does not know, each with why (nothing is stored)."""
    if deps.model_symbols:  # the simulated provider lists its symbols
        return [(s, "not a ticker the data provider knows") for s in symbols
                if s not in deps.model_symbols]  # fmt: skip
    unknown: list[tuple[str, str]] = []
    for symbol in symbols:
        try:
            gather_stock_data(symbol, provider=deps.provider, as_of=deps.clock().date())
        except AgentError as err:
            unknown.append((symbol, err.message))
    return unknown


def personal(state: AgentState, runtime: Runtime[RunContext]) -> Update:
    """A turn about the user's long-term memory: change it or say what it holds.

    Without an identity there is no long-term memory, and the answer says why; a
    store that did not answer leaves the turn answered, degraded, and says what was
    not read or saved. A change over a bound, a value outside its closed list, or an
    unknown ticker is refused whole (422), nothing written.
    """
    started = time.perf_counter()
    deps = runtime.context.deps
    plan = RequestPlan.from_json(state.get("plan") or {})
    action = plan.memory or "show_profile"
    user = state.get("user") or {}
    actor = state.get("actor")
    limit = deps.profiles.limits.max_tickers
    done: Update = {"timings_ms": {"personal": _elapsed_ms(started)}}
    if not actor:
        _stage(runtime, "personal", status="skipped", action=action)
        return {**done, "answer": personal_text.NO_IDENTITY}
    profile = user_profile(state)
    if profile is None:  # the read failed: the warning is in the state already
        _stage(runtime, "personal", status="failed", action=action)
        why = personal_text.unread_warning(str(user.get("unread", "not read")))
        verb = "shown" if action in ("show_watchlist", "show_profile") else "changed"
        return {**done, "answer": f"Nothing was {verb}: {why}."}
    if action in ("show_watchlist", "show_profile", "review", "mine"):
        if action == "show_profile":
            text = personal_text.profile_text(profile, limit)
        elif action == "show_watchlist":
            text = personal_text.watchlist_text(profile, limit)
        else:
            text = personal_text.empty_watchlist_text(action)
        _stage(runtime, "personal", status="done", action=action)
        return {**done, "answer": text}
    try:
        before, after = _change_profile(plan, actor, profile, deps)
    except AgentError as err:
        _stage(runtime, "personal", status="failed", action=action, error=_error(err))
        return {**done, "error": _error(err)}
    except ProfileUnavailable as err:
        logger.warning("user memory write failed", extra={"error": str(err)})
        warning = personal_text.unsaved_warning(str(err))
        _stage(runtime, "personal", status="failed", action=action)
        return {**done, "answer": f"Nothing was changed: {warning}.",
                "warnings": [warning], "degraded_reasons": [warning]}  # fmt: skip
    if action == "watch":
        text = personal_text.watch_text(before, after, plan.subjects, limit)
    elif action == "unwatch":
        text = personal_text.unwatch_text(before, after, plan.subjects, limit)
    elif action == "prefer":
        text = personal_text.preferences_text(plan.preferences)
    else:
        text = personal_text.forgotten_text(
            "preferences" if action == "forget_preferences" else "everything", before, after
        )
    _stage(runtime, "personal", status="done", action=action)
    return {
        **done,
        "answer": text,
        "user": {**user, "profile": after.to_json()},
        "timings_ms": {"personal": _elapsed_ms(started)},
    }


def _change_profile(
    plan: RequestPlan, actor: str, profile: UserProfile, deps: Dependencies
) -> tuple[UserProfile, UserProfile]:
    """Apply the plan's change through the store; (before, after). Raises the caller's
    error (nothing written) or :class:`ProfileUnavailable`."""
    action = plan.memory
    if action in ("watch", "unwatch") and not plan.subjects:
        raise AgentError(
            "no_ticker",
            f"name the ticker to {'add to' if action == 'watch' else 'drop from'} your "
            f"watchlist, e.g. '{'add NVDA to' if action == 'watch' else 'drop NVDA from'} "
            "my watchlist'; nothing was changed",
        )
    if action == "watch":
        unknown = _unknown_tickers(plan.subjects, deps)
        if unknown:
            raise AgentError(
                "unknown_ticker",
                "; ".join(f"{s}: {why}" for s, why in unknown)
                + ". Nothing was added to your watchlist",
            )
    before: list[UserProfile] = []

    def change(current: UserProfile) -> UserProfile:
        before.append(current)
        if action == "watch":
            return with_tickers(current, plan.subjects)
        if action == "unwatch":
            return without_tickers(current, plan.subjects)
        if action == "prefer":
            return with_preferences(current, plan.preferences)
        if action == "forget_preferences":
            return replace(current, preferences={})
        return UserProfile()

    after = deps.profiles.update(actor, change)
    return (before[-1] if before else profile), after


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
    """``unsure`` (to ``fill_plan``: the rules were unsure and a model is configured) |
    ``question`` | ``personal`` | ``analyze_or_compare`` | ``refused`` (no ticker, ...)."""
    if state.get("error"):
        return "refused"
    plan = state.get("plan") or {}
    if not plan.get("confident", True):
        return "unsure"
    return route_after_plan(state)


def route_after_plan(state: AgentState) -> str:
    """After the model's plan: ``question`` | ``personal`` | ``analyze_or_compare`` |
    ``refused``."""
    if state.get("error"):
        return "refused"
    if state.get("intent") == "personal":
        return "personal"
    if state.get("intent") == "question":
        return "question"
    return "analyze_or_compare"


def after_ticker_stage(state: AgentState) -> str:
    """``next`` stage, or ``every_ticker_failed`` (the error is in the state) to respond."""
    return "every_ticker_failed" if state.get("error") else "next"


def _owes_answer(state: AgentState) -> bool:
    plan = state.get("plan")
    return plan is not None and RequestPlan.from_json(plan).needs_answer_after_analysis


def route_after_reports(state: AgentState) -> str:
    """``compare`` (two or more reports) | ``answer`` (the plan asked more than a report)
    | ``analyze`` | ``every_ticker_failed``."""
    if state.get("error"):
        return "every_ticker_failed"
    if state.get("intent") == "compare" and len(_finished_records(state)) >= 2:
        return "compare"
    return "answer" if _owes_answer(state) else "analyze"


def route_after_comparison(state: AgentState) -> str:
    """``answer`` when the plan asked a question of the compared tickers, else ``done``."""
    return "answer" if _owes_answer(state) else "done"


def after_personal(state: AgentState) -> str:
    """``done`` (to ``remember``) | ``refused`` (a change refused whole: to ``respond``)."""
    return "refused" if state.get("error") else "done"
