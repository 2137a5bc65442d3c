"""Relevance graders: does the answer answer the question that was asked?

The deterministic graders check routes, tickers and that every number traces
to a record; none of them notices an answer that talks around the question.
These do, each from the session's own records (the results of the earlier
turns and of this one), never from numbers written into a case:

- :func:`grade_figures`: each asked figure's value as the record formats it
  (``n/a`` where the record has none), the ticker, and the data's as-of date;
- :func:`grade_winner`: the ticker that wins the comparison is the first of
  the compared tickers the answer names, every ticker's value is quoted, and a
  tie at the displayed values is called a tie (a unique winner is not);
- :func:`grade_why`: every scoring factor that moved the verdict, named with
  its points, and the verdict itself;
- :func:`grade_advice`: each ticker's outlook with its two scores and risk
  level, the not-investment-advice statement, and no buy/sell call;
- :func:`grade_declined`: a price target or forecast declined in at most two
  sentences that say what is available instead;
- :func:`grade_remembers`: the user's long-term memory after the turn (the
  response's ``user`` block) is what the case's earlier turns stored: its
  watchlist, every ticker of it named by a personal answer, the stated
  preferences; and without an identity the answer says why nothing is kept.

"Winner first" is the convention the agent's answers follow (the answer leads
with the answer); a model that buries the winner fails it on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from stock_agent import formatting

from ..cases import Expectation, Winner
from ..targets import Observation
from . import Grade
from .deterministic import answer_of, results_of

FIGURES = "answer_gives_figures"
WINNER = "answer_names_winner"
WHY = "answer_explains_why"
ADVICE = "answer_outlook_not_advice"
DECLINED = "answer_declines_forecast"
REMEMBERS = "answer_remembers_user"

RELEVANCE_CRITERIA = (FIGURES, WINNER, WHY, ADVICE, DECLINED, REMEMBERS)
_NO_IDENTITY = re.compile(r"\bno identity\b|\bidentify\b", re.IGNORECASE)

RISK_ORDER = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
OUTLOOK_ORDER = {"negative": 0, "neutral": 1, "positive": 2}
_TIE = re.compile(r"\b(tie|tied|same|equal|identical|level with)\b", re.IGNORECASE)
_CLAIMED_TIE = re.compile(r"\b(tie|tied)\b", re.IGNORECASE)
#: Words that make a sentence a comparison ("MSFT has the higher beta").
_COMPARATIVE = re.compile(
    r"\b(?:higher|lower|highest|lowest|more|less|most|least|greater|smaller|bigger|larger|"
    r"better|worse|best|worst|riskier|safer|cheaper|dearer|exceeds?|above|below|leads?|"
    r"ahead|beats?|outperform(?:s|ed)?|tops?|wins?|\w+er than)\b",
    re.IGNORECASE,
)
_NOT_ADVICE = re.compile(r"\bnot (?:personal |personalised |personalized )?"
                         r"(?:investment|financial) advice\b", re.IGNORECASE)  # fmt: skip
#: A buy/sell/hold call, in the words an answer would make one.
_CALL = re.compile(
    r"\b(?:you should|i would|i'd|i recommend|we recommend|my advice is to|go ahead and)\s+"
    r"(?:definitely\s+)?(?:buy|sell|hold|invest|get out|short|dump|load up)"
    r"|\b(?:it is|it's|this is|that is)\s+(?:a\s+)?(?:strong\s+)?(?:buy|sell)\b"
    r"|\bstrong (?:buy|sell)\b",
    re.IGNORECASE,
)
_DECLINE = re.compile(
    r"\b(?:cannot|can't|can not|do not|don't|does not|doesn't|won't|will not|unable|not able)\b",
    re.IGNORECASE,
)
_OFFER = re.compile(
    r"\b(?:report|outlook|52-week|returns?|figures?|analysis|volatility|trend|scores?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_POINTS = re.compile(r":\s*([+-]\d+)\.$|\(([+-]\d+)\)\.?$")
_NUMBERISH = re.compile(r"^[+\-−]?[$€£¥]?\d[\d.,]*%?$")


# ---------------------------------------------------------------------------
# the session's records, as the earlier turns returned them
# ---------------------------------------------------------------------------


def session_results(
    history: Sequence[dict[str, Any]], obs: Observation
) -> dict[str, dict[str, Any]]:
    """Symbol -> its latest result in the session (this turn's results win)."""
    latest: dict[str, dict[str, Any]] = {}
    for result in [*history, *results_of(obs)]:
        latest[str(result.get("symbol"))] = result
    return latest


def benchmark_of(result: dict[str, Any]) -> str:
    indicators = (result.get("analysis") or {}).get("indicators") or {}
    return str(indicators.get("benchmark_symbol") or "benchmark")


def figure_value(result: dict[str, Any], label: str) -> str | None:
    """The figure ``label`` as the record formats it (``{benchmark}`` expanded), or None."""
    label = label.replace("{benchmark}", benchmark_of(result))
    value = (result.get("key_figures") or {}).get(label)
    return None if value is None else str(value)


def _tokens(text: str) -> set[str]:
    return {formatting.normalize_number_token(t) for t in formatting.extract_number_tokens(text)}


def quotes(answer: str, value: str) -> bool:
    """``answer`` states ``value``: n/a as n/a, words as written, numbers at any spelling."""
    if value == formatting.NA:
        return formatting.NA in answer.lower()
    if value in answer:
        return True
    wanted = _tokens(value)
    if not wanted or not re.search(r"\d", value):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        return bool(parts) and all(_names(answer, p) for p in parts)
    return wanted <= _tokens(answer)


def _names(text: str, symbol: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(symbol)}(?![\w])", text) is not None


def _first_named(text: str, symbols: Sequence[str]) -> str | None:
    found = [
        (m.start(), s)
        for s in symbols
        for m in [re.search(rf"(?<![\w.]){re.escape(s)}(?![\w])", text)]
        if m is not None
    ]
    return min(found)[1] if found else None


# ---------------------------------------------------------------------------
# graders
# ---------------------------------------------------------------------------


def grade_figures(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """Every asked figure's recorded value, its ticker and the as-of date are in the answer."""
    if not expect.figures:
        return Grade.not_applicable(FIGURES)
    answer = answer_of(obs)
    if not answer:
        return Grade.failed(FIGURES, "the response has no answer")
    records = session_results(history, obs)
    problems: list[str] = []
    for symbol, label in expect.figures:
        result = records.get(symbol)
        if result is None:
            problems.append(f"no record of {symbol} in the session")
            continue
        value = figure_value(result, label)
        if value is None:
            problems.append(f"{symbol}'s record has no figure {label!r}")
            continue
        if not quotes(answer, value):
            problems.append(f"does not give {symbol} {label} = {value}")
        if not _names(answer, symbol):
            problems.append(f"does not name {symbol}")
        as_of = str((result.get("data") or {}).get("as_of", ""))
        if as_of and as_of not in answer:
            problems.append(f"does not give the as-of date {as_of} of {symbol}")
    return (
        Grade.failed(FIGURES, "; ".join(dict.fromkeys(problems)))
        if problems
        else (Grade.passed(FIGURES))
    )


def aspect_standing(result: dict[str, Any], aspect: str) -> tuple[Any, str] | None:
    """``(sort key, what the answer must say)`` of one ticker on ``aspect``; None when n/a.

    The key of a figure is its *displayed* value, so figures that read the same
    are a tie.
    """
    analysis = result.get("analysis") or {}
    if aspect == "Risk Level":
        level = str(analysis.get("risk_level"))
        return RISK_ORDER.get(level, -1), level
    if aspect in ("Outlook", "Overall"):
        outlook = str(analysis.get("outlook"))
        rank = OUTLOOK_ORDER.get(outlook, -1)
        if aspect == "Outlook":
            return rank, outlook
        scores = int((analysis.get("technical") or {}).get("score", 0)) + int(
            (analysis.get("fundamental") or {}).get("score", 0)
        )
        return (rank, scores), outlook
    value = figure_value(result, aspect)
    if value is None or value == formatting.NA:
        return None
    tokens = formatting.extract_number_tokens(value)
    if not tokens:
        return None
    canonical = formatting.normalize_number_token(tokens[0])
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(canonical[-1:], 1.0)
    number = float(canonical.rstrip("KMBT"))
    return number * scale, value


def grade_winner(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """The winner by the records is named first, each value is quoted, a tie is called one."""
    winner: Winner | None = expect.winner
    if winner is None:
        return Grade.not_applicable(WINNER)
    answer = answer_of(obs)
    if not answer:
        return Grade.failed(WINNER, "the response has no answer")
    records = session_results(history, obs)
    missing = [s for s in winner.symbols if s not in records]
    if missing:
        return Grade.failed(WINNER, f"no record of {missing} in the session")
    standings = {s: aspect_standing(records[s], winner.aspect) for s in winner.symbols}
    problems: list[str] = []
    for symbol, standing in standings.items():
        shown = formatting.NA if standing is None else standing[1]
        if not (quotes(answer, shown) or shown.lower() in answer.lower()):
            problems.append(f"does not give {symbol} {winner.aspect} = {shown}")
    ranked = {s: st[0] for s, st in standings.items() if st is not None}
    if ranked:
        best = (max if winner.order == "highest" else min)(ranked.values())
        leaders = [s for s, key in ranked.items() if key == best]
        if len(leaders) > 1:
            if not _TIE.search(answer):
                problems.append(f"{' and '.join(leaders)} tie on {winner.aspect}; not said")
        else:
            first = _first_named(answer, winner.symbols)
            if first != leaders[0]:
                problems.append(
                    f"{winner.order} {winner.aspect} is {leaders[0]}, but the answer names "
                    f"{first} first"
                )
            elif not any(
                _names(chunk, leaders[0]) and _COMPARATIVE.search(chunk)
                for chunk in _chunks(answer, lower=False)
            ):
                problems.append(f"no sentence says that {leaders[0]} is the {winner.order}")
            if _CLAIMED_TIE.search(answer):
                problems.append(f"calls a tie where {leaders[0]} wins")
    return Grade.failed(WINNER, "; ".join(problems)) if problems else Grade.passed(WINNER)


def factor_name(line: str) -> str:
    """The words that name a scoring factor: before its first ``:`` or ``(``, no numbers."""
    head = re.split(r"[:(]", line, maxsplit=1)[0]
    words = [w for w in head.split() if not _NUMBERISH.match(w)]
    return " ".join(words).strip().lower()


def moving_factors(lines: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, points)`` of the rationale lines whose points are not zero."""
    found: list[tuple[str, str]] = []
    for line in lines:
        match = _POINTS.search(line.strip())
        if match is None:
            continue
        points = match.group(1) or match.group(2)
        if int(points) != 0:
            found.append((factor_name(line), points))
    return found


def _chunks(answer: str, *, lower: bool = True) -> list[str]:
    """Lines and sentences of the answer (a factor and its points share one)."""
    chunks = [c for line in answer.splitlines() for c in re.split(r"(?<=[.!?])\s+", line)]
    return [c.lower() for c in chunks] if lower else chunks


def _verdict_facts(analysis: dict[str, Any], verdict: str) -> tuple[list[str], list[str]]:
    """(what the answer must state, the rationale lines behind the verdict)."""
    tech, fund = analysis.get("technical") or {}, analysis.get("fundamental") or {}
    if verdict == "technical":
        return [f"{tech.get('score')}/5"], list(tech.get("rationale") or [])
    if verdict == "fundamental":
        return [f"{fund.get('score')}/5"], list(fund.get("rationale") or [])
    if verdict == "risk":
        return [str(analysis.get("risk_level"))], list(analysis.get("risk_factors") or [])
    return [
        str(analysis.get("outlook")),
        f"{tech.get('score')}/5",
        f"{fund.get('score')}/5",
        str(analysis.get("risk_level")),
    ], []


def grade_why(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """The verdict and every factor that moved it, with its points, are in the answer."""
    if not expect.why:
        return Grade.not_applicable(WHY)
    answer = answer_of(obs)
    if not answer:
        return Grade.failed(WHY, "the response has no answer")
    records = session_results(history, obs)
    chunks = _chunks(answer)
    problems: list[str] = []
    for symbol, verdict in expect.why:
        result = records.get(symbol)
        if result is None:
            problems.append(f"no record of {symbol} in the session")
            continue
        facts, lines = _verdict_facts(result.get("analysis") or {}, verdict)
        problems += [
            f"{symbol} {verdict}: does not state {fact}"
            for fact in facts
            if fact.lower() not in answer.lower()
        ]
        for name, points in moving_factors(lines):
            if not any(name in chunk and points in chunk for chunk in chunks):
                problems.append(f"{symbol} {verdict}: factor {name!r} ({points}) not given")
    return Grade.failed(WHY, "; ".join(problems)) if problems else Grade.passed(WHY)


def grade_advice(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """Outlook, scores and risk per ticker, the not-investment-advice statement, no call."""
    if not expect.advice:
        return Grade.not_applicable(ADVICE)
    answer = answer_of(obs)
    if not answer:
        return Grade.failed(ADVICE, "the response has no answer")
    records = session_results(history, obs)
    problems: list[str] = []
    for symbol in expect.advice:
        result = records.get(symbol)
        if result is None:
            problems.append(f"no record of {symbol} in the session")
            continue
        facts, _ = _verdict_facts(result.get("analysis") or {}, "outlook")
        if not _names(answer, symbol):
            problems.append(f"does not name {symbol}")
        text = answer.lower()
        problems += [f"{symbol}: does not state {f}" for f in facts if f.lower() not in text]
    if not _NOT_ADVICE.search(answer):
        problems.append("no not-investment-advice statement")
    call = _CALL.search(answer)
    if call:
        problems.append(f"makes a call: {call.group(0)!r}")
    return Grade.failed(ADVICE, "; ".join(problems)) if problems else Grade.passed(ADVICE)


def grade_declined(expect: Expectation, obs: Observation) -> Grade:
    """A forecast or price target is declined briefly, saying what is available instead."""
    if not expect.declined:
        return Grade.not_applicable(DECLINED)
    answer = answer_of(obs)
    if not answer:
        return Grade.failed(DECLINED, "the response has no answer (a refusal is not a decline)")
    problems: list[str] = []
    if not _DECLINE.search(answer):
        problems.append("does not decline")
    if not _OFFER.search(answer):
        problems.append("does not say what is available instead")
    sentences = len(_SENTENCE_END.findall(answer.strip())) or 1
    if sentences > 2:
        problems.append(f"{sentences} sentences; a decline takes one or two")
    return Grade.failed(DECLINED, "; ".join(problems)) if problems else Grade.passed(DECLINED)


def grade_relevance(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> list[Grade]:
    """Every relevance grader on one turn, in :data:`RELEVANCE_CRITERIA` order."""
    return [
        grade_figures(expect, obs, history=history),
        grade_winner(expect, obs, history=history),
        grade_why(expect, obs, history=history),
        grade_advice(expect, obs, history=history),
        grade_declined(expect, obs),
        grade_remembers(expect, obs),
    ]


def grade_remembers(expect: Expectation, obs: Observation) -> Grade:
    """The user's memory after the turn, and a personal answer that says it (module doc)."""
    if not expect.remembers:
        return Grade.not_applicable(REMEMBERS)
    if not obs.succeeded:
        return Grade.failed(REMEMBERS, f"the turn failed (HTTP {obs.status})")
    response = obs.response or {}
    user = response.get("user")
    if not isinstance(user, dict):
        return Grade.failed(REMEMBERS, "the response has no 'user' block")
    answer = answer_of(obs) or ""
    personal = response.get("intent") == "personal"
    problems: list[str] = []
    if expect.identified is not None and bool(user.get("identified")) != expect.identified:
        problems.append(f"identified={user.get('identified')!r}, expected {expect.identified}")
    if expect.identified is False and personal and not _NO_IDENTITY.search(answer):
        problems.append("the answer does not say that memory needs an identity")
    if expect.watchlist is not None:
        held = user.get("watchlist")
        if held != list(expect.watchlist):
            problems.append(f"watchlist {held!r}, expected {list(expect.watchlist)}")
        missing = [t for t in expect.watchlist if personal and not _names(answer, t)]
        if missing:
            problems.append(f"the answer does not name {', '.join(missing)}")
        if personal and not expect.watchlist and "empty" not in answer.lower():
            problems.append("the answer does not say the watchlist is empty")
    if expect.preferences is not None:
        stated = user.get("preferences")
        if stated != dict(expect.preferences):
            problems.append(f"preferences {stated!r}, expected {dict(expect.preferences)}")
    if problems:
        return Grade.failed(REMEMBERS, "; ".join(problems))
    return Grade.passed(REMEMBERS)
