"""The agent as a LangGraph ``StateGraph``: request → three agents → narrative → response.

Nodes, in order (the order never depends on the model: a stock cannot be
analysed before its data is gathered; see docs/decisions.md):

``understand_request``
    the deterministic parser (:mod:`stock_agent.parsing`); only when it finds
    no ticker but the text plausibly names a company does it ask the model
    once, and the answer goes through the same validation.
``data_gathering_agent`` / ``performance_analysis_agent``
    the ``gather_stock_data`` / ``analyze_stock_performance`` tools.
``narrative``
    the model writes the analyst narrative (≤ 2 calls per ticker, number
    check, deterministic fallback; :mod:`stock_agent.narrative`).
``report_generation_agent``
    the ``generate_stock_report`` tool: render the PDF, store it.
``respond``
    the response and its three text sections (:mod:`stock_agent.contract`).

Settings reach the nodes only as ``runtime.context`` (an
:class:`~stock_agent.context.AgentContext`). The model client, market-data
provider and report store are built from it once per :class:`StockAgent`
(or injected by tests through :class:`Dependencies`).

Tickers fan out over a thread pool of at most :data:`MAX_WORKERS` inside each
stage. A ticker that fails (unknown, provider error, store error) becomes a
warning and the others complete; when every ticker has failed the request
fails with the most telling error.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from . import contract, metrics, storage
from .context import AgentContext
from .errors import AgentError, internal_error
from .market_data import MarketDataProvider, get_provider, known_symbols
from .models.client import build_model_client
from .models.types import ModelClient, ModelError
from .narrative import NarrativeOutcome, write_narrative
from .parsing import no_ticker_error, parse_request, tickers_from_candidates
from .prompts import TICKER_TOOL, ticker_candidates, ticker_messages
from .records import Narrative
from .state import AgentState, TickerFailure
from .tools import analyze_stock_performance, gather_stock_data, generate_stock_report

logger = logging.getLogger(__name__)

MAX_WORKERS = 4
TICKER_ANSWER_MAX_TOKENS = 256
STAGES = (
    "understand_request",
    "data_gathering",
    "performance_analysis",
    "narrative",
    "report_generation",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Dependencies:
    """What the nodes call out to; built from settings, or injected by tests."""

    model: ModelClient
    provider: MarketDataProvider
    store: storage.ReportStore
    # Symbols the parser treats as tickers whatever their case ("msft").
    parser_symbols: frozenset[str] = field(default_factory=known_symbols)
    # Symbols a model-proposed ticker must be one of; empty = the shape check only.
    model_symbols: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def from_context(
        cls,
        ctx: AgentContext,
        *,
        model: ModelClient | None = None,
        provider: MarketDataProvider | None = None,
        store: storage.ReportStore | None = None,
    ) -> Dependencies:
        """Build every dependency ``ctx`` names; any of them may be given instead."""
        return cls(
            model=model or build_model_client(ctx),
            provider=provider
            or get_provider(
                ctx.data_provider,
                cache_dir=ctx.market_data_cache_dir,
                cache_ttl_seconds=ctx.market_data_cache_ttl_seconds,
            ),
            store=store or storage.build_report_store(ctx),
            # The simulated provider can enumerate its symbols; a real one cannot.
            model_symbols=known_symbols() if ctx.data_provider == "simulated" else frozenset(),
        )

    @property
    def model_configured(self) -> bool:
        return self.model.name != "offline"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _check_deadline(state: AgentState, stage: str) -> None:
    if time.monotonic() >= state["deadline"]:
        raise AgentError(
            "deadline_exceeded", f"the request ran out of time before the {stage} stage"
        )


def _map_tickers(
    fn: Callable[[str], T], symbols: Sequence[str]
) -> Iterator[tuple[str, T | AgentError]]:
    """``fn`` over ``symbols`` (≤ MAX_WORKERS threads), yielding results in input order.

    An :class:`AgentError` is yielded, not raised, so one ticker's failure
    leaves the others alone; any other exception is a bug, logged with its
    stack trace and yielded as ``internal_error``. Each call runs in a copy
    of the caller's context so log lines keep the request id.
    """

    def guarded(symbol: str) -> T | AgentError:
        try:
            return fn(symbol)
        except AgentError as err:
            return err
        except Exception:
            logger.exception("stage failed for one ticker", extra={"symbol": symbol})
            return internal_error()

    if len(symbols) <= 1:
        for symbol in symbols:
            yield symbol, guarded(symbol)
        return
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(symbols))) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, guarded, symbol) for symbol in symbols
        ]
        for symbol, future in zip(symbols, futures, strict=True):
            yield symbol, future.result()


def _active(state: AgentState) -> list[str]:
    failures = state.get("failures", {})
    return [s for s in state.get("tickers", []) if s not in failures]


def _failure(stage: str, err: AgentError) -> TickerFailure:
    return {"stage": stage, "code": err.code, "message": err.message}


def _all_failed(failures: dict[str, TickerFailure]) -> AgentError:
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
    runtime: Runtime[AgentContext],
    *,
    stage: str,
    fn: Callable[[str], T],
    deadline_applies: bool = False,
) -> tuple[dict[str, T], dict[str, TickerFailure], list[str]]:
    """Run ``fn`` for every still-active ticker; emit a progress event per ticker.

    The request deadline stops the request only before any data was gathered;
    after that the remaining stages are local and fast, and a report with a
    deterministic narrative beats a timeout (the model calls honour the
    deadline themselves).
    """
    if deadline_applies:
        _check_deadline(state, stage)
    done: dict[str, T] = {}
    failures: dict[str, TickerFailure] = {}
    warnings: list[str] = []
    for symbol, outcome in _map_tickers(fn, _active(state)):
        if isinstance(outcome, AgentError):
            failures[symbol] = _failure(stage, outcome)
            warnings.append(f"{symbol} skipped at {stage}: {outcome.message}")
            runtime.stream_writer(
                {"event": "stage", "stage": stage, "symbol": symbol, "status": "failed",
                 "error": {"code": outcome.code, "message": outcome.message}}
            )  # fmt: skip
        else:
            done[symbol] = outcome
            runtime.stream_writer(
                {"event": "stage", "stage": stage, "symbol": symbol, "status": "done"}
            )
    if not done:
        raise _all_failed({**state.get("failures", {}), **failures})
    return done, failures, warnings


# ---------------------------------------------------------------------------
# the graph
# ---------------------------------------------------------------------------


def build_graph(*, dependencies: Callable[[AgentContext], Dependencies]) -> Any:
    """Compile the agent's graph; ``dependencies`` maps the run's context to its clients."""

    def understand_request(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        started = time.perf_counter()
        deps = dependencies(runtime.context)
        parsed = parse_request(state["prompt"], known_symbols=deps.parser_symbols)
        tickers = list(parsed.tickers)
        update: dict[str, Any] = {}
        if not tickers:
            if not (parsed.needs_model and deps.model_configured):
                raise no_ticker_error(prompt_hints=parsed.company_hints, model_asked=False)
            _check_deadline(state, "understand_request")
            tickers, update = _tickers_from_model(state, runtime.context, deps, parsed)
        runtime.stream_writer(
            {"event": "stage", "stage": "understand_request", "status": "done",
             "tickers": tickers, "intent": parsed.intent}
        )  # fmt: skip
        logger.info("request understood", extra={"tickers": tickers, "intent": parsed.intent})
        return {
            **update,
            "tickers": tickers,
            "intent": parsed.intent,
            "timings_ms": {"understand_request": _elapsed_ms(started)},
        }

    def data_gathering_agent(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        started = time.perf_counter()
        deps = dependencies(runtime.context)
        as_of: date = deps.clock().date()
        snapshots, failures, warnings = _per_ticker_stage(
            state,
            runtime,
            stage="data_gathering",
            fn=lambda s: gather_stock_data(s, provider=deps.provider, as_of=as_of),
            deadline_applies=True,
        )
        return {
            "snapshots": snapshots,
            "failures": failures,
            "warnings": warnings,
            "timings_ms": {"data_gathering": _elapsed_ms(started)},
        }

    def performance_analysis_agent(
        state: AgentState, runtime: Runtime[AgentContext]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        snapshots = state["snapshots"]
        analyses, failures, warnings = _per_ticker_stage(
            state,
            runtime,
            stage="performance_analysis",
            fn=lambda s: analyze_stock_performance(
                snapshots[s], risk_free_rate=runtime.context.risk_free_rate
            ),
        )
        return {
            "analyses": analyses,
            "failures": failures,
            "warnings": warnings,
            "timings_ms": {"performance_analysis": _elapsed_ms(started)},
        }

    def narrative(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        started = time.perf_counter()
        ctx = runtime.context
        deps = dependencies(ctx)
        model_down = threading.Event()  # once the model is unreachable, stop asking it

        def one(symbol: str) -> NarrativeOutcome:
            skip = model_down.is_set()
            outcome = write_narrative(
                snapshot=state["snapshots"][symbol],
                analysis=state["analyses"][symbol],
                model=deps.model,
                max_tokens=ctx.model_max_tokens,
                deadline=state["deadline"],
                use_model=deps.model_configured and not skip,
            )
            if outcome.unavailable_reason:
                model_down.set()
            if skip and deps.model_configured:
                reason = f"{symbol}: model not asked (it was unavailable earlier in this request)"
                return NarrativeOutcome(narrative=outcome.narrative, unavailable_reason=reason)
            return outcome

        outcomes, failures, warnings = _per_ticker_stage(state, runtime, stage="narrative", fn=one)
        narratives: dict[str, Narrative] = {s: o.narrative for s, o in outcomes.items()}
        for o in outcomes.values():
            warnings.extend(o.narrative.warnings)
        return {
            "narratives": narratives,
            "failures": failures,
            "warnings": warnings,
            "degraded_reasons": [
                o.unavailable_reason for o in outcomes.values() if o.unavailable_reason
            ],
            "model_calls": sum(n.model_calls for n in narratives.values()),
            "prompt_tokens": sum(n.prompt_tokens for n in narratives.values()),
            "completion_tokens": sum(n.completion_tokens for n in narratives.values()),
            "timings_ms": {"narrative": _elapsed_ms(started)},
        }

    def report_generation_agent(
        state: AgentState, runtime: Runtime[AgentContext]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        deps = dependencies(runtime.context)
        stamps: dict[str, datetime] = {}

        def one(symbol: str) -> Any:
            generated_at = deps.clock()
            stamps[symbol] = generated_at
            return generate_stock_report(
                snapshot=state["snapshots"][symbol],
                analysis=state["analyses"][symbol],
                narrative=state["narratives"][symbol],
                store=deps.store,
                generated_at=generated_at,
                request_id=state["request_id"],
            )

        reports, failures, warnings = _per_ticker_stage(
            state, runtime, stage="report_generation", fn=one
        )
        return {
            "reports": reports,
            "generated_at": {s: stamps[s] for s in reports},
            "failures": failures,
            "warnings": warnings,
            "timings_ms": {"report_generation": _elapsed_ms(started)},
        }

    def respond(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        return {"response": contract.build_response(state, ctx=runtime.context)}

    graph = StateGraph(AgentState, context_schema=AgentContext)
    graph.add_node("understand_request", understand_request)
    graph.add_node("data_gathering_agent", data_gathering_agent)
    graph.add_node("performance_analysis_agent", performance_analysis_agent)
    graph.add_node("narrative", narrative)
    graph.add_node("report_generation_agent", report_generation_agent)
    graph.add_node("respond", respond)
    graph.add_edge(START, "understand_request")
    graph.add_edge("understand_request", "data_gathering_agent")
    graph.add_edge("data_gathering_agent", "performance_analysis_agent")
    graph.add_edge("performance_analysis_agent", "narrative")
    graph.add_edge("narrative", "report_generation_agent")
    graph.add_edge("report_generation_agent", "respond")
    graph.add_edge("respond", END)
    return graph.compile()


def _tickers_from_model(
    state: AgentState, ctx: AgentContext, deps: Dependencies, parsed: Any
) -> tuple[list[str], dict[str, Any]]:
    """Ask the model once which tickers the request names; validate like the parser."""
    messages = ticker_messages(state["prompt"], known_symbols=deps.model_symbols)
    try:
        result = deps.model.chat(
            messages,
            max_tokens=TICKER_ANSWER_MAX_TOKENS,
            temperature=0.0,
            tools=[TICKER_TOOL],
            deadline=state["deadline"],
        )
    except ModelError as err:
        logger.warning("ticker lookup by the model failed", extra={"code": err.code})
        raise AgentError(
            "no_ticker",
            "no stock ticker found in the request, and the model that could look up a "
            f"company name is unavailable ({err.code}); name the ticker, e.g. 'Analyze AAPL'",
        ) from err
    candidates = ticker_candidates(
        tool_arguments=[c.arguments for c in result.tool_calls if c.name == "report_tickers"],
        content=result.content,
    )
    tickers = list(tickers_from_candidates(candidates, known_symbols=deps.model_symbols))
    usage = {
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


class StockAgent:
    """The compiled graph plus its dependencies: one per process, many requests.

    ``invoke`` returns the success response (see :func:`stock_agent.contract.build_response`)
    and raises :class:`AgentError` for every failure a caller should see;
    ``stream`` yields progress events, then ``{"event": "result", ...}``.
    Requests share nothing but the (thread-safe) clients.
    """

    def __init__(
        self,
        *,
        ctx: AgentContext,
        dependencies: Dependencies | None = None,
        metrics_sink: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self._deps = dependencies
        self._metrics_sink = metrics_sink
        self._lock = threading.Lock()
        self.graph = build_graph(dependencies=self._dependencies_for)

    def _dependencies_for(self, ctx: AgentContext) -> Dependencies:
        if ctx is not self.ctx:  # a caller ran the graph with other settings
            return Dependencies.from_context(ctx)
        with self._lock:
            if self._deps is None:
                self._deps = Dependencies.from_context(ctx)
            return self._deps

    @property
    def dependencies(self) -> Dependencies:
        return self._dependencies_for(self.ctx)

    def preflight(self, prompt: str) -> None:
        """Raise the parser's errors before a stream starts (so they get a 4xx status)."""
        deps = self.dependencies
        parsed = parse_request(prompt, known_symbols=deps.parser_symbols)
        if not parsed.tickers and not (parsed.needs_model and deps.model_configured):
            raise no_ticker_error(prompt_hints=parsed.company_hints, model_asked=False)

    def _initial_state(
        self, prompt: str, request_id: str, session_id: str | None, warnings: Sequence[str]
    ) -> AgentState:
        return {
            "request_id": request_id,
            "session_id": session_id,
            "prompt": prompt,
            "deadline": time.monotonic() + self.ctx.request_deadline_seconds,
            "tickers": [],
            "failures": {},
            "warnings": list(warnings),
            "degraded_reasons": [],
            "timings_ms": {},
            "model_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        }

    def invoke(
        self,
        prompt: str,
        *,
        request_id: str,
        session_id: str | None = None,
        warnings: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Run the whole pipeline; the success response, or :class:`AgentError`.

        ``warnings`` (e.g. ignored payload keys) are carried into the response.
        """
        _ = self.dependencies  # build the clients first: a config error surfaces plainly
        try:
            final = self.graph.invoke(
                self._initial_state(prompt, request_id, session_id, warnings), context=self.ctx
            )
        except AgentError as err:
            self._emit_metrics(None, error_code=err.code)
            raise
        response: dict[str, Any] = final["response"]
        self._emit_metrics(response)
        return response

    def stream(
        self,
        prompt: str,
        *,
        request_id: str,
        session_id: str | None = None,
        warnings: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Progress events per stage and ticker, then ``{"event": "result", **response}``."""
        _ = self.dependencies
        last: dict[str, Any] = {}
        try:
            for mode, chunk in self.graph.stream(
                self._initial_state(prompt, request_id, session_id, warnings),
                context=self.ctx,
                stream_mode=["custom", "values"],
            ):
                if mode == "custom":
                    yield {"request_id": request_id, **chunk}
                else:
                    last = chunk
        except AgentError as err:
            self._emit_metrics(None, error_code=err.code)
            raise
        self._emit_metrics(last["response"])
        yield {"event": "result", **last["response"]}

    def _emit_metrics(
        self, response: dict[str, Any] | None, *, error_code: str | None = None
    ) -> None:
        """One EMF record per request in deployed stages (see :mod:`stock_agent.metrics`)."""
        if not (self.ctx.emits_metrics or self._metrics_sink):
            return
        record = metrics.request_metrics(
            stage=self.ctx.stage, response=response, error_code=error_code
        )
        metrics.emit(record, sink=self._metrics_sink)
