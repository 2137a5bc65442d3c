"""The golden set: versioned JSONL, one case per line, validated on load.

A case is one conversation of one or more turns. Each turn sends either a
``prompt`` (the runner adds ``stream: true`` and the case's session id, so
the stage events show the route) or a request as a caller could botch it:
``payload`` (any JSON value, sent as is), ``body`` (raw text) or
``oversize`` (a valid prompt padded past the payload limit).

What a turn expects (every key optional; a grader applies only when its key
is present):

- ``tickers``: the tickers the agent understood, in order;
- ``intent``: ``analyze`` | ``compare`` | ``question``;
- ``route``: the stage names of the stream's stage events, in order;
- ``results`` / ``failed``: the symbols analysed / dropped;
- ``error``: a refusal is expected, with this code or one of these codes;
  without it the turn must succeed;
- ``answer_figure``: ``{"symbol", "label"}``, a key figure the answer must quote;
- ``comparison``: a comparison of these symbols must be in the response.

What the *answer* must contain (the relevance graders, each able to fail an
answer that talks around the question; values always come from the session's
records, never from the case):

- ``figures``: ``[{"symbol", "label"}]``, each figure's value as the record
  formats it (``n/a`` where it is n/a), the ticker and the data's as-of date;
  ``{benchmark}`` in a label stands for the record's benchmark symbol;
- ``winner``: ``{"aspect", "order", "symbols"}``, the ticker that is
  ``highest`` / ``lowest`` on a figure label, ``Risk Level``, ``Outlook`` or
  ``Overall`` (outlook, then technical + fundamental score), named first, with
  every ticker's value; a tie at the displayed values is said to be a tie;
- ``why``: ``[{"symbol", "verdict"}]``, the scoring factors behind the
  verdict (``technical`` | ``fundamental`` | ``risk`` | ``outlook``) with
  their points;
- ``advice``: ``["SYMBOL", ...]``, each ticker's outlook with its scores and
  risk level, the not-investment-advice statement, and no buy/sell call;
- ``declined``: ``true``, a short decline of a price target or forecast that
  says what is available instead.

Who sends a turn (``user_memory`` cases): ``user`` labels an identity (sent as
a runtime user id unique to the run and case; a turn without one has no
identity) and ``session`` which of the case's sessions the turn belongs to.
What the user's long-term memory holds after the turn (the response's
``user`` block): ``watchlist`` (the tickers, in order, each named by a
personal answer), ``preferences`` (stated ones), ``identified`` (false: the
answer says there is no memory without an identity).

``question`` (optional) names the question a case paraphrases: cases with the
same ``question`` ask the same thing in different words (at least three each).

``requires`` names the capabilities a case needs beyond today's pipeline
(:data:`CAPABILITIES`); the runner reports a case whose capability the agent
lacks as *pending*, never as passed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOLDEN_SET = Path(__file__).resolve().parent / "golden" / "cases.v1.jsonl"

CATEGORIES = (
    "single_ticker",
    "several_tickers",
    "compare",
    "multi_turn",
    "company_name",
    "unknown_ticker",
    "out_of_scope",
    "prompt_injection",
    "other_language",
    "malformed",
    # The conversation classes: does the answer answer the question?
    "figure_follow_up",
    "multi_ticker_figure",
    "comparative",
    "why",
    "advice",
    "price_target",
    "names_in_sentences",
    "abbreviation",
    # The user's long-term memory: watchlist and preferences across sessions.
    "user_memory",
)
#: The categories whose pass rate (cases whose every grade passes) the report shows per class.
CONVERSATION_CLASSES = CATEGORIES[CATEGORIES.index("figure_follow_up") :]

#: Capabilities a case may require. The conversational analyst brings the first four.
CAPABILITIES = (
    "conversation",  # session memory: follow-ups, questions about figures, no_context
    "comparison_report",  # the ``comparison`` field and its PDF
    "company_names",  # company names resolve to tickers without a model
    "intent_routing",  # analyze vs compare decided by the request, not the ticker count
    "request_plan",  # one request plan per turn: any figure, comparatives, why, advice
    "user_memory",  # watchlists and preferences across sessions, per identity
)

INTENTS = ("analyze", "compare", "question", "personal")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
_EXPECT_KEYS = frozenset(
    {
        "tickers",
        "intent",
        "route",
        "results",
        "failed",
        "error",
        "answer_figure",
        "comparison",
        "figures",
        "winner",
        "why",
        "advice",
        "declined",
        "watchlist",
        "preferences",
        "identified",
    }
)
ORDERS = ("highest", "lowest")
VERDICTS = ("technical", "fundamental", "risk", "outlook")
_REQUEST_KEYS = ("prompt", "payload", "body", "oversize")
#: Who sends a turn and in which of the case's sessions (user_memory cases).
_CALLER_KEYS = ("user", "session")
_LABEL_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")


class GoldenSetError(ValueError):
    """A case cannot be used; the message names the line, the field and what is allowed."""


@dataclass(frozen=True)
class Winner:
    """Which ticker a comparative answer must name: ``order`` on ``aspect`` among ``symbols``."""

    aspect: str
    order: str  # highest | lowest
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class Expectation:
    tickers: tuple[str, ...] | None = None
    intent: str | None = None
    route: tuple[str, ...] | None = None
    results: tuple[str, ...] | None = None
    failed: tuple[str, ...] | None = None
    error_codes: tuple[str, ...] = ()  # empty: the turn must succeed
    answer_figure: tuple[str, str] | None = None  # (symbol, label)
    comparison: tuple[str, ...] | None = None
    figures: tuple[tuple[str, str], ...] = ()  # (symbol, label)
    winner: Winner | None = None
    why: tuple[tuple[str, str], ...] = ()  # (symbol, verdict)
    advice: tuple[str, ...] = ()
    declined: bool = False
    # The user's long-term memory after the turn (the response's "user" block).
    watchlist: tuple[str, ...] | None = None
    preferences: tuple[tuple[str, str], ...] | None = None
    identified: bool | None = None

    @property
    def remembers(self) -> bool:
        return (
            self.watchlist is not None
            or self.preferences is not None
            or (self.identified is not None)
        )

    @property
    def refusal(self) -> bool:
        return bool(self.error_codes)


@dataclass(frozen=True)
class Turn:
    expect: Expectation
    prompt: str | None = None
    payload: Any = None
    body: str | None = None
    oversize: int | None = None
    # A label for who sends the turn (a runtime user id per run and case; none: no identity)
    # and which of the case's sessions it belongs to (default: the case's one session).
    user: str | None = None
    session: str | None = None

    @property
    def streams(self) -> bool:
        """Turns with a plain prompt are sent with ``stream: true``."""
        return self.prompt is not None


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    turns: tuple[Turn, ...]
    requires: tuple[str, ...] = ()
    note: str = ""
    question: str = ""  # the question this case paraphrases (cases sharing it say it otherwise)

    def missing(self, capabilities: frozenset[str]) -> tuple[str, ...]:
        return tuple(c for c in self.requires if c not in capabilities)


@dataclass(frozen=True)
class GoldenSet:
    path: Path
    sha256: str
    cases: tuple[Case, ...] = field(default_factory=tuple)

    @property
    def version(self) -> str:
        return self.path.stem


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GoldenSetError(f"{where} must be a list of strings, not {value!r}")
    return tuple(value)


def _expectation(raw: Any, where: str) -> Expectation:
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{where}.expect must be an object")
    unknown = set(raw) - _EXPECT_KEYS
    if unknown:
        raise GoldenSetError(
            f"{where}.expect has unknown keys {sorted(unknown)}; allowed: {sorted(_EXPECT_KEYS)}"
        )
    intent = raw.get("intent")
    if intent is not None and intent not in INTENTS:
        raise GoldenSetError(f"{where}.expect.intent={intent!r}; allowed: {', '.join(INTENTS)}")
    error = raw.get("error")
    codes: tuple[str, ...] = ()
    if isinstance(error, str):
        codes = (error,)
    elif error is not None:
        codes = _strings(error, f"{where}.expect.error")
        if not codes:
            raise GoldenSetError(f"{where}.expect.error must name at least one code")
    figure = raw.get("answer_figure")
    answer_figure = None
    if figure is not None:
        if not (isinstance(figure, dict) and set(figure) == {"symbol", "label"}):
            raise GoldenSetError(f"{where}.expect.answer_figure must be {{symbol, label}}")
        answer_figure = (str(figure["symbol"]), str(figure["label"]))

    def opt(key: str) -> tuple[str, ...] | None:
        return None if key not in raw else _strings(raw[key], f"{where}.expect.{key}")

    declined = raw.get("declined", False)
    if not isinstance(declined, bool):
        raise GoldenSetError(f"{where}.expect.declined must be true or false")
    preferences = raw.get("preferences")
    if preferences is not None and not (
        isinstance(preferences, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in preferences.items())
    ):
        raise GoldenSetError(f"{where}.expect.preferences must be an object of strings")
    identified = raw.get("identified")
    if identified is not None and not isinstance(identified, bool):
        raise GoldenSetError(f"{where}.expect.identified must be true or false")
    return Expectation(
        tickers=opt("tickers"),
        intent=intent,
        route=opt("route"),
        results=opt("results"),
        failed=opt("failed"),
        error_codes=codes,
        answer_figure=answer_figure,
        comparison=opt("comparison"),
        figures=_pairs(raw.get("figures", []), ("symbol", "label"), f"{where}.expect.figures"),
        winner=_winner(raw.get("winner"), f"{where}.expect.winner"),
        why=_why(raw.get("why", []), f"{where}.expect.why"),
        advice=opt("advice") or (),
        declined=declined,
        watchlist=opt("watchlist"),
        preferences=None if preferences is None else tuple(sorted(preferences.items())),
        identified=identified,
    )


def _pairs(value: Any, keys: tuple[str, str], where: str) -> tuple[tuple[str, str], ...]:
    """``[{keys[0]: str, keys[1]: str}, ...]`` as pairs; anything else names ``where``."""
    if not isinstance(value, list):
        raise GoldenSetError(f"{where} must be a list of {{{', '.join(keys)}}} objects")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not (
            isinstance(item, dict)
            and set(item) == set(keys)
            and all(isinstance(item[k], str) and item[k] for k in keys)
        ):
            shape = "{" + ", ".join(keys) + "}"
            raise GoldenSetError(f"{where} items must be {shape} strings, not {item!r}")
        pairs.append((item[keys[0]], item[keys[1]]))
    return tuple(pairs)


def _why(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    pairs = _pairs(value, ("symbol", "verdict"), where)
    wrong = [v for _, v in pairs if v not in VERDICTS]
    if wrong:
        raise GoldenSetError(f"{where} verdict {wrong[0]!r}; allowed: {', '.join(VERDICTS)}")
    return pairs


def _winner(value: Any, where: str) -> Winner | None:
    if value is None:
        return None
    if not (isinstance(value, dict) and set(value) == {"aspect", "order", "symbols"}):
        raise GoldenSetError(f"{where} must be {{aspect, order, symbols}}")
    if not isinstance(value["aspect"], str) or not value["aspect"]:
        raise GoldenSetError(f"{where}.aspect must be a figure label or verdict name")
    if value["order"] not in ORDERS:
        raise GoldenSetError(f"{where}.order={value['order']!r}; allowed: {', '.join(ORDERS)}")
    symbols = _strings(value["symbols"], f"{where}.symbols")
    if len(symbols) < 2:
        raise GoldenSetError(f"{where}.symbols must name at least two tickers")
    return Winner(aspect=value["aspect"], order=value["order"], symbols=symbols)


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{where} must be an object")
    given = [k for k in _REQUEST_KEYS if k in raw]
    if len(given) != 1:
        raise GoldenSetError(f"{where} must have exactly one of {', '.join(_REQUEST_KEYS)}")
    unknown = set(raw) - {*_REQUEST_KEYS, *_CALLER_KEYS, "expect"}
    if unknown:
        raise GoldenSetError(f"{where} has unknown keys {sorted(unknown)}")
    for key in _CALLER_KEYS:
        label = raw.get(key)
        if label is not None and not (isinstance(label, str) and _LABEL_RE.fullmatch(label)):
            raise GoldenSetError(f"{where}.{key}={label!r}; expected [a-z0-9-], 1-32 characters")
    prompt = raw.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise GoldenSetError(f"{where}.prompt must be a string")
    body = raw.get("body")
    if body is not None and not isinstance(body, str):
        raise GoldenSetError(f"{where}.body must be a string")
    oversize = raw.get("oversize")
    if oversize is not None and not (isinstance(oversize, int) and 0 < oversize <= 1_000_000):
        raise GoldenSetError(f"{where}.oversize must be an integer in 1..1000000")
    return Turn(
        expect=_expectation(raw.get("expect", {}), where),
        prompt=prompt,
        payload=raw.get("payload"),
        body=body,
        oversize=oversize,
        user=raw.get("user"),
        session=raw.get("session"),
    )


def parse_case(raw: Any, *, where: str) -> Case:
    """One case from its decoded JSON line; :class:`GoldenSetError` names what is wrong."""
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{where} must be a JSON object")
    case_id = raw.get("id")
    if not isinstance(case_id, str) or not _ID_RE.fullmatch(case_id):
        raise GoldenSetError(f"{where}.id={case_id!r}; expected [a-z0-9-], 3-64 characters")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise GoldenSetError(f"{where}.category={category!r}; allowed: {', '.join(CATEGORIES)}")
    requires = _strings(raw.get("requires", []), f"{where}.requires")
    unknown = [c for c in requires if c not in CAPABILITIES]
    if unknown:
        raise GoldenSetError(
            f"{where}.requires names {unknown}; allowed: {', '.join(CAPABILITIES)}"
        )
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise GoldenSetError(f"{where}.turns must be a non-empty list")
    turns = tuple(_turn(t, f"{where}.turns[{i}]") for i, t in enumerate(turns_raw))
    if len(turns) > 1 and "conversation" not in requires:
        raise GoldenSetError(f"{where}: a case of several turns must require 'conversation'")
    question = raw.get("question", "")
    if not isinstance(question, str) or (question and not _ID_RE.fullmatch(question)):
        raise GoldenSetError(f"{where}.question={question!r}; expected [a-z0-9-], 3-64 characters")
    return Case(
        id=case_id,
        category=category,
        turns=turns,
        requires=requires,
        note=str(raw.get("note", "")),
        question=question,
    )


def load_golden_set(path: Path = GOLDEN_SET) -> GoldenSet:
    """Every case of ``path``; blank lines are skipped, ids must be unique."""
    data = path.read_bytes()
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except ValueError as err:
            raise GoldenSetError(f"{where} is not valid JSON: {err}") from None
        case = parse_case(raw, where=where)
        if case.id in seen:
            raise GoldenSetError(f"{where}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return GoldenSet(path=path, sha256=hashlib.sha256(data).hexdigest(), cases=tuple(cases))
