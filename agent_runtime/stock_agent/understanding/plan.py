"""One typed request plan per turn: what the user asks, about which tickers, and how.

The rules (:func:`plan_request`) read only the *current* prompt plus which
symbols the session remembers; stored prompts are never re-read, so text
planted in an earlier turn cannot steer a later one. When they cannot make a
confident plan and a model is configured, the graph asks the model to fill the
*same* plan (:func:`plan_schema`, :func:`plan_from_json`), validated like any
input.

Intents:

``analyze`` / ``compare``
    one ticker / several tickers with a comparison asked for ("compare",
    "vs", "so sánh"); several without one get a report each. A follow-up
    that adds tickers ("and MSFT?", "compare it with NVDA") compares them
    with the last turn's tickers, whose records are reused.
``question``
    a figure, a verdict, a comparative ("which has the higher beta?") or a
    why, about tickers of the session (answered from its records) or not yet
    in it (analysed first, then answered).
``advice``
    "should I buy it?": the outlook, its factors and the statement that this
    is not investment advice; never a buy or sell call.
``declined``
    a price target or forecast: declined in one sentence that says what is
    available instead.
``personal``
    the user's long-term memory (:data:`~.signals.MEMORY_ACTIONS` in
    ``memory``): add or drop watchlist tickers, show the watchlist, state or
    forget preferences, "what do you remember about me?". "How is my
    watchlist doing?" and "which of my stocks ..." are not personal when the
    watchlist is known: they are a comparison or a question with the
    watchlist as subjects (``mine``).
``out_of_scope`` / ``no_ticker`` / ``no_context``
    nothing about stocks (a refusal with a hint) / a stock request that names
    no ticker / a follow-up in a session with nothing to follow.

Aspects are figure label keys and verdict names of the
:class:`~stock_agent.understanding.vocabulary.Vocabulary` (one source: the
labels of the figures the report carries). A comparison's ``operator`` is
``highest`` or ``lowest``: "riskier" is the highest risk, "cheaper" the
lowest P/E, "better" the best outlook; ``time_frame`` is ``1M``, ``3M``,
``YTD`` or ``1Y`` when one is named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, cast, get_args

from ..errors import AgentError
from ..settings import MAX_TICKERS_PER_REQUEST
from .parsing import ParsedRequest, canonical_ticker
from .signals import (
    MAX_ASPECTS,
    MEMORY_ACTIONS,
    OPERATORS,
    TIME_FRAMES,
    MemoryAction,
    Operator,
    Signals,
    TimeFrame,
    read_memory_ask,
    read_signals,
)
from .vocabulary import VERDICTS, Vocabulary

PlanIntent = Literal[
    "analyze",
    "compare",
    "question",
    "advice",
    "declined",
    "personal",
    "out_of_scope",
    "no_ticker",
    "no_context",
]
Route = Literal["analyze", "compare", "question", "personal", "refused"]

INTENTS: tuple[PlanIntent, ...] = get_args(PlanIntent)
REFUSALS: frozenset[str] = frozenset({"out_of_scope", "no_ticker", "no_context"})

NO_CONTEXT_MESSAGE = (
    "this follow-up refers to an earlier analysis, but the session has none; start with "
    "'Analyze AAPL' (or name the ticker in the question, e.g. 'What is the beta of AAPL?') "
    "and send the same session_id"
)
NO_FORECAST_NOTE = (
    "the report gives no price targets or forecasts; it describes the data up to its as-of date"
)
OUT_OF_SCOPE_MESSAGE = (
    "this agent analyses listed stocks (prices, fundamentals, risk, PDF reports) and cannot "
    "help with this request. Name a company or a ticker, e.g. 'Analyze AAPL', 'How does "
    "Apple compare with Microsoft?' or, after an analysis, 'What is its beta?'"
)


class PlanError(ValueError):
    """A plan that cannot be used; the message names the field, the value and what is allowed."""


@dataclass(frozen=True)
class RequestPlan:
    """What one turn asks. Validated when made, whoever made it (rules or model)."""

    intent: PlanIntent
    subjects: tuple[str, ...] = ()  # canonical tickers the turn is about
    aspects: tuple[str, ...] = ()  # figure label keys and verdict names
    operator: Operator | None = None
    time_frame: TimeFrame | None = None
    why: bool = False
    # Subjects whose records come from the session (no new fetch for them).
    reused: tuple[str, ...] = ()
    # False: the rules were not sure; a configured model is asked to fill the plan.
    confident: bool = True
    source: Literal["rules", "model"] = "rules"
    # A refusal's message, or a note for the response's warnings.
    note: str = ""
    # The user's long-term memory: what a personal turn does, the preferences it states,
    # and whether the subjects are the user's watchlist ("how is my watchlist doing?").
    memory: MemoryAction | None = None
    preferences: tuple[tuple[str, str], ...] = ()
    mine: bool = False

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise PlanError(f"intent={self.intent!r}; allowed: {', '.join(INTENTS)}")
        bad = [s for s in self.subjects if canonical_ticker(s) != s]
        if bad:
            raise PlanError(f"subjects={list(bad)}: not canonical ticker symbols")
        if len(set(self.subjects)) != len(self.subjects):
            raise PlanError(f"subjects={list(self.subjects)}: a ticker appears twice")
        if len(self.subjects) > MAX_TICKERS_PER_REQUEST:
            raise PlanError(
                f"subjects: {len(self.subjects)} tickers; at most {MAX_TICKERS_PER_REQUEST}"
            )
        if not set(self.reused) <= set(self.subjects):
            raise PlanError(f"reused={list(self.reused)}: not among the subjects")
        if len(self.aspects) > MAX_ASPECTS or not all(
            isinstance(a, str) and a for a in self.aspects
        ):
            raise PlanError(f"aspects: at most {MAX_ASPECTS} non-empty names")
        if self.operator is not None and self.operator not in OPERATORS:
            raise PlanError(f"operator={self.operator!r}; allowed: {', '.join(OPERATORS)} or none")
        if self.time_frame is not None and self.time_frame not in TIME_FRAMES:
            raise PlanError(
                f"time_frame={self.time_frame!r}; allowed: {', '.join(TIME_FRAMES)} or none"
            )
        if self.source not in ("rules", "model"):
            raise PlanError(f"source={self.source!r}; allowed: rules, model")
        if self.memory is not None and self.memory not in MEMORY_ACTIONS:
            raise PlanError(f"memory={self.memory!r}; allowed: {', '.join(MEMORY_ACTIONS)}")
        if (self.intent == "personal") != (self.memory is not None):
            raise PlanError("a personal plan, and only one, names its memory action")

    @property
    def refused(self) -> bool:
        return self.intent in REFUSALS

    @property
    def figures(self) -> tuple[str, ...]:
        """The aspects that are figure labels."""
        return tuple(a for a in self.aspects if a not in VERDICTS)

    @property
    def verdicts(self) -> tuple[str, ...]:
        return tuple(a for a in self.aspects if a in VERDICTS)

    @property
    def answers(self) -> bool:
        """The turn ends in an answer (a question, advice or a decline), not only a report."""
        return self.intent in ("question", "advice", "declined")

    @property
    def needs_answer_after_analysis(self) -> bool:
        """After analysing new tickers, is an answer still owed?

        The analysis itself answers "what's the outlook for X?"; a figure, a
        comparison, a why or advice needs its own answer.
        """
        if self.intent == "advice":
            return True
        return self.intent in ("question", "compare") and bool(
            self.figures or self.why or (self.operator and len(self.subjects) > 1)
        )

    def route(self) -> Route:
        """Where the graph goes: answer from the session, analyse first, or refuse."""
        if self.refused:
            return "refused"
        if self.intent == "personal":
            return "personal"
        if self.intent == "declined":
            return "question"
        if self.answers and set(self.subjects) <= set(self.reused):
            return "question"
        if self.intent == "analyze" or len(self.subjects) < 2:
            return "analyze"
        if self.intent == "compare" or self.operator is not None:
            return "compare"
        return "analyze"  # several tickers asked about, not compared: a report each

    def to_json(self) -> dict[str, Any]:
        """The plan as the state and the response carry it."""
        body = asdict(self)
        body["subjects"], body["aspects"] = list(self.subjects), list(self.aspects)
        body["reused"] = list(self.reused)
        body["preferences"] = [list(pair) for pair in self.preferences]
        return body

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RequestPlan:
        """A plan written by :meth:`to_json` (the state's copy)."""
        return cls(
            intent=raw["intent"],
            subjects=tuple(raw.get("subjects", ())),
            aspects=tuple(raw.get("aspects", ())),
            operator=raw.get("operator"),
            time_frame=raw.get("time_frame"),
            why=bool(raw.get("why")),
            reused=tuple(raw.get("reused", ())),
            confident=bool(raw.get("confident", True)),
            source=raw.get("source", "rules"),
            note=str(raw.get("note", "")),
            memory=raw.get("memory"),
            preferences=tuple((str(k), str(v)) for k, v in raw.get("preferences", ())),
            mine=bool(raw.get("mine")),
        )


# ---------------------------------------------------------------------------
# the rules
# ---------------------------------------------------------------------------


def _names_a_company(prompt: str, hints: Sequence[str]) -> bool:
    """A capitalised word other than the one opening the prompt ("How is Foobarco doing?").

    The opening word is capitalised by grammar, not because it is a name, so
    "Write me a poem" or "Apple pie recipe" are out of scope, not unknown tickers.
    """
    first = re.match(r"\W*(\w+)", prompt)
    opening = first.group(1) if first else ""
    return any(h[0].isupper() and h != opening for h in hints)


def _alone(prompt: str, symbol: str) -> str:
    """Why a comparison of one ticker is an analysis. The example names another ticker:
    "Compare AAPL and AAPL" is what may have been typed."""
    example = f"'Compare {symbol} and {'AAPL' if symbol == 'MSFT' else 'MSFT'}'"
    named = re.findall(rf"(?<![\w.]){re.escape(symbol)}(?![\w])", prompt, re.IGNORECASE)
    if len(named) > 1:
        return f"{symbol} is named twice: a comparison needs two different tickers (e.g. {example})"
    return (
        f"nothing earlier in this session to compare {symbol} with; to compare, name every "
        f"ticker (e.g. {example}) or send the session_id of an earlier analysis"
    )


def _too_many(combined: Sequence[str]) -> AgentError:
    return AgentError(
        "too_many_tickers",
        f"at most {MAX_TICKERS_PER_REQUEST} tickers per comparison; with the previous ones "
        f"this follow-up names {len(combined)}: " + ", ".join(combined),
    )


def plan_request(
    prompt: str,
    *,
    parsed: ParsedRequest,
    named: Sequence[str],
    remembered: Iterable[str],
    last: Sequence[str],
    vocabulary: Vocabulary,
    model_available: bool,
    watchlist: Sequence[str] | None = None,
) -> RequestPlan:
    """The plan of one turn by the rules (module docstring).

    ``watchlist``: the user's watchlist, ``None`` when not known (no identity,
    or its memory was not read);
    ``named``: tickers the prompt names (parser, then company names);
    ``remembered``: symbols with records in the session; ``last``: the
    previous turn's tickers that are still remembered. Raises
    ``too_many_tickers`` when a follow-up adds up to more than the limit.
    """
    signals = read_signals(prompt, vocabulary)
    known = frozenset(remembered)
    tickers = list(dict.fromkeys(named))
    last = list(last)

    ask = read_memory_ask(prompt, names_tickers=bool(tickers))
    if ask is not None:
        if ask.action in ("review", "mine") and watchlist:
            return _watchlist_plan(prompt, ask.action, signals, list(watchlist), known, parsed)
        if ask.action == "mine" and last:
            ask = None  # no watchlist known, and the session has tickers: they are meant
    if ask is not None:
        if ask.action == "watch" and not tickers and parsed.company_hints:
            return RequestPlan("no_ticker")  # "add Foobarco to my watchlist": not a ticker
        return RequestPlan(
            "personal",
            subjects=tuple(tickers) if ask.action in ("watch", "unwatch") else (),
            memory=ask.action,
            preferences=ask.preferences,
        )

    if signals.forecast and (tickers or last) and not signals.requests_analysis:
        subjects = tuple(tickers or last)
        return RequestPlan(
            "declined", subjects=subjects, reused=tuple(s for s in subjects if s in known)
        )
    if signals.forecast and signals.requests_analysis and tickers:
        # "Analyze MSFT and write that the price target is 999": the analysis, no forecast.
        return replace(_ticker_plan(prompt, signals, tickers, last, known), note=NO_FORECAST_NOTE)

    if signals.asks:
        plan = _question_plan(prompt, signals, tickers, last, known, parsed, model_available)
        if plan is not None:
            return plan

    if tickers:
        return _ticker_plan(prompt, signals, tickers, last, known)

    if parsed.company_hints and model_available:
        # Words that may name a company, and a model to ask: the rules are not sure.
        return RequestPlan("no_ticker", confident=False, note="")
    if signals.analysis_words or _names_a_company(prompt, parsed.company_hints):
        return RequestPlan("no_ticker")
    # A question in a session that the rules did not understand: the model may.
    unsure = signals.question_shaped and bool(last)
    return RequestPlan(
        "out_of_scope", subjects=tuple(last) if unsure else (), reused=tuple(last) if unsure
        else (), confident=not unsure, note=OUT_OF_SCOPE_MESSAGE,
    )  # fmt: skip


def _watchlist_plan(
    prompt: str,
    action: MemoryAction,
    signals: Signals,
    watchlist: list[str],
    known: frozenset[str],
    parsed: ParsedRequest,
) -> RequestPlan:
    """ "How is my watchlist doing?" (a comparison of it) or "which of my stocks ...?" (a
    question over it); a watchlist longer than one request takes its first tickers, said."""
    subjects = watchlist[:MAX_TICKERS_PER_REQUEST]
    note = (
        f"your watchlist has {len(watchlist)} tickers; this answer covers the first "
        f"{len(subjects)} ({', '.join(subjects)}), the most one request analyses"
        if len(watchlist) > len(subjects)
        else ""
    )
    if action == "mine" and signals.asks:
        plan = _question_plan(prompt, signals, subjects, [], known, parsed, False)
        if plan is not None:
            return replace(plan, mine=True, note=note or plan.note)
    intent: PlanIntent = "compare" if len(subjects) > 1 else "analyze"
    return RequestPlan(
        intent,
        subjects=tuple(subjects),
        reused=tuple(s for s in subjects if s in known),
        mine=True,
        note=note,
    )


def _question_plan(
    prompt: str,
    signals: Signals,
    tickers: list[str],
    last: list[str],
    known: frozenset[str],
    parsed: ParsedRequest,
    model_available: bool,
) -> RequestPlan | None:
    """A question or advice plan; ``None`` to let the ticker rules decide."""
    subjects = tickers or last
    comparative = signals.compare_cue or signals.operator is not None
    if tickers and last and comparative and (signals.refers or signals.adds_on):
        subjects = list(dict.fromkeys([*last, *tickers]))  # "is it riskier than NVDA?"
    if len(subjects) > MAX_TICKERS_PER_REQUEST:
        raise _too_many(subjects)
    if not subjects:
        if parsed.company_hints and model_available:
            return RequestPlan("no_context", confident=False, note=NO_CONTEXT_MESSAGE)
        if signals.refers or signals.why or not parsed.company_hints:
            return RequestPlan("no_context", note=NO_CONTEXT_MESSAGE)
        return None  # "what is Foobarco's beta?": the ticker rules say no_ticker
    reused = tuple(s for s in subjects if s in known)
    intent: PlanIntent = "advice" if signals.advice else "question"
    if (
        intent == "question"
        and signals.compare_cue
        and len(subjects) > 1
        and reused != tuple(subjects)
    ):
        intent = "compare"  # "compare the valuation of AAPL and MSFT": compared, then answered
    alone = signals.compare_cue and len(subjects) == 1 and not last
    return RequestPlan(
        intent,
        subjects=tuple(subjects),
        note=_alone(prompt, subjects[0]) if alone else "",
        aspects=signals.aspects,
        operator=signals.operator if len(subjects) > 1 else None,
        time_frame=signals.time_frame,
        why=signals.why,
        reused=reused,
    )


def _ticker_plan(
    prompt: str, signals: Signals, tickers: list[str], last: list[str], known: frozenset[str]
) -> RequestPlan:
    """Tickers named and nothing else asked: analyse or compare (and follow-ups)."""
    follow_up = signals.adds_on or (len(tickers) == 1 and (signals.refers or signals.compare_cue))
    if follow_up and last:
        combined = list(dict.fromkeys([*last, *tickers]))
        if len(combined) > MAX_TICKERS_PER_REQUEST:
            raise _too_many(combined)
        if len(combined) > 1:
            reused = tuple(s for s in combined if s in known and s not in tickers)
            return RequestPlan("compare", subjects=tuple(combined), reused=reused)
    if not last and signals.only_after:
        return RequestPlan(
            "no_context",
            note=(
                "this follow-up adds to an earlier analysis, but the session has none; name "
                f"every ticker (e.g. 'Analyze {tickers[0]}') or send the session_id of an "
                "earlier analysis"
            ),
        )
    if follow_up and not last and len(tickers) == 1 and signals.compare_cue:
        # Nothing earlier to compare with: analyse what was named, and say so.
        return RequestPlan("analyze", subjects=tuple(tickers), note=_alone(prompt, tickers[0]))
    # Several tickers get one report each; a comparison is asked for ("compare", "vs").
    intent: PlanIntent = "compare" if len(tickers) > 1 and signals.compare_cue else "analyze"
    return RequestPlan(intent, subjects=tuple(tickers))


# ---------------------------------------------------------------------------
# the model fills the same plan
# ---------------------------------------------------------------------------

#: The intents a model may choose (the refusals other than out_of_scope are the rules' own).
MODEL_INTENTS: tuple[PlanIntent, ...] = (
    "analyze",
    "compare",
    "question",
    "advice",
    "declined",
    "out_of_scope",
)
_TICKER_PATTERN = r"^[A-Za-z][A-Za-z0-9]{0,9}([._-][A-Za-z0-9]{1,10}){0,2}$"


def plan_schema(aspects: Sequence[str]) -> dict[str, Any]:
    """The JSON schema the model's plan must follow (the server enforces it).

    Aspects are an enum of the vocabulary, so the model cannot name a figure
    the report does not carry.
    """
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "intent": {"type": "string", "enum": list(MODEL_INTENTS)},
            "subjects": {
                "type": "array",
                "items": {"type": "string", "pattern": _TICKER_PATTERN},
                "maxItems": MAX_TICKERS_PER_REQUEST,
            },
            "aspects": {
                "type": "array",
                "items": {"type": "string", "enum": list(aspects)},
                "maxItems": MAX_ASPECTS,
            },
            "operator": {"enum": [*OPERATORS, None]},
            "time_frame": {"enum": [*TIME_FRAMES, None]},
            "why": {"type": "boolean"},
        },
        "required": ["intent", "subjects", "aspects", "operator", "time_frame", "why"],
    }


def _field(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise PlanError(f"{key}={value!r}: expected {getattr(kind, '__name__', kind)}")
    return value


def plan_from_json(
    raw: Any,
    *,
    vocabulary: Vocabulary,
    accept_ticker: Callable[[str], bool],
    remembered: Iterable[str],
) -> RequestPlan:
    """The model's plan, validated like any input; :class:`PlanError` names what is wrong.

    Unknown aspects are an error (the schema forbids them); tickers are
    canonicalised and kept only when ``accept_ticker`` (the data provider's
    check) says the symbol exists; never trusted as written.
    """
    if not isinstance(raw, dict):
        raise PlanError(f"the plan must be a JSON object, not {type(raw).__name__}")
    unknown = set(raw) - {"intent", "subjects", "aspects", "operator", "time_frame", "why"}
    if unknown:
        raise PlanError(f"unknown keys {sorted(unknown)}")
    intent = raw.get("intent")
    if intent not in MODEL_INTENTS:
        raise PlanError(f"intent={intent!r}; allowed: {', '.join(MODEL_INTENTS)}")
    subjects: list[str] = []
    for candidate in _field(raw, "subjects", list):
        canon = canonical_ticker(candidate) if isinstance(candidate, str) else None
        if canon is not None and canon not in subjects and accept_ticker(canon):
            subjects.append(canon)
    aspects = _field(raw, "aspects", list)[:MAX_ASPECTS]
    allowed = set(vocabulary.aspects)
    wrong = [a for a in aspects if a not in allowed]
    if wrong:
        raise PlanError(f"aspects {wrong[:3]} are not figures or verdicts of the report")
    why = _field(raw, "why", bool)
    known = frozenset(remembered)
    plan_intent = cast(PlanIntent, intent)
    if plan_intent in ("analyze", "compare", "question", "advice") and not subjects:
        plan_intent = "no_ticker"
    return RequestPlan(
        plan_intent,
        subjects=tuple(subjects),
        aspects=tuple(dict.fromkeys(aspects)),
        operator=raw.get("operator") if len(subjects) > 1 else None,
        time_frame=raw.get("time_frame"),
        why=why,
        reused=tuple(s for s in subjects if s in known),
        source="model",
        note=OUT_OF_SCOPE_MESSAGE if plan_intent == "out_of_scope" else "",
    )
