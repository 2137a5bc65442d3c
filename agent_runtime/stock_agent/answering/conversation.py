"""Which way a turn goes, and answers to follow-up questions, from the records alone.

Routing is deterministic and reads only the *current* prompt plus which
symbols the session remembers; stored prompts are never re-read, so text
planted in an earlier turn cannot steer a later one.

Routes:

``analyze``
    one ticker named (or one company name resolved): the article's pipeline.
``compare``
    two to five tickers; a follow-up that adds tickers ("and MSFT?",
    "compare it with NVDA", "what about NVDA?") compares them with the last
    turn's tickers, whose records are reused.
``question``
    a question about a figure or a verdict ("what is its beta?", "why is
    the technical score low?") whose tickers the session remembers: answered
    from the records, with no new data fetch.
``no_context``
    a follow-up that names nothing and needs a previous turn ("what is its
    beta?", "why is the risk high?") in a session that has none. ("compare
    it with NVDA" there analyses NVDA, with a warning.)
``ask_model``
    no ticker and no known name, but words that may name a company, and a
    model: it is asked once (``no_ticker`` without a model).
``no_ticker`` / ``out_of_scope``
    nothing that names a stock; out of scope when nothing asks for a stock
    analysis either (a polite refusal with a hint, under the ``no_ticker`` code).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import formatting
from ..errors import AgentError
from ..memory.session import SessionRecord
from ..models.types import CallProfile, ModelClient
from ..prompts import answer_turns, narrative_payload
from ..settings import MAX_TICKERS_PER_REQUEST
from ..understanding.parsing import ParsedRequest
from .checked_text import CheckedText, TextRequest, ask_checked_text
from .number_check import allowed_figures

logger = logging.getLogger(__name__)

Route = Literal[
    "analyze", "compare", "question", "out_of_scope", "no_context", "ask_model", "no_ticker"
]

# Phrases a user writes for a figure of formatting.key_figures -> the figure's label.
FIGURE_TOPICS: dict[str, tuple[str, ...]] = {
    "Current Price": ("current price", "share price", "stock price", "price", "trading at"),
    "Market Cap": ("market cap", "market capitalization", "market capitalisation", "worth"),
    "52-Week High": ("52-week high", "52 week high", "year high", "yearly high"),
    "52-Week Low": ("52-week low", "52 week low", "year low", "yearly low"),
    "YTD Return": ("ytd", "year to date", "year-to-date"),
    "1-Year Return": ("1-year return", "one-year return", "one year return", "annual return"),
    "Volatility (Annualized)": ("volatility", "volatile"),
    "Average Volume (3M)": ("volume",),
    "P/E Ratio": ("p/e", "pe ratio", "price to earnings", "price-to-earnings", "earnings multiple"),
    "Forward P/E": ("forward p/e", "forward pe"),
    "Price-to-Book": ("price to book", "price-to-book", "p/b", "book value"),
    "Dividend Yield": ("dividend", "yield"),
    "Revenue (TTM)": ("revenue", "sales"),
    "Profit Margin": ("margin", "profitability", "profitable"),
    "Beta": ("beta",),
    "EPS (TTM)": ("eps", "earnings per share"),
    "50-Day SMA": ("50-day", "50 day", "sma 50", "50-day sma"),
    "200-Day SMA": ("200-day", "200 day", "sma 200", "200-day sma"),
    "1-Month Return": ("1-month", "one month", "1 month", "last month"),
    "3-Month Return": ("3-month", "three month", "3 month", "last quarter"),
}
# Verdicts: topic -> phrases; a "why" question about them is answered from the rationale.
VERDICT_TOPICS: dict[str, tuple[str, ...]] = {
    "technical": ("technical score", "technical", "trend", "momentum", "technicals"),
    "fundamental": ("fundamental score", "fundamental", "valuation", "valued", "fundamentals"),
    "risk": ("risk", "risky", "risk level"),
    "outlook": ("outlook", "recommendation", "verdict", "overall"),
    # How the technical score did when recomputed in the past (the record's Track Record).
    "track_record": (
        "track record",
        "backtest",
        "back-test",
        "backtested",
        "any good",
        "hit rate",
        "signals",
        "last signal",
        "latest signal",
        "past calls",
        "how reliable",
        "historically",
    ),
}
_QUESTION_START = re.compile(
    r"^\s*(what|what's|whats|why|how|which|who|is|are|does|do|did|tell|explain|show|give)\b",
    re.IGNORECASE,
)
_WHY = re.compile(r"\b(why|explain|reason|reasons|because)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(it|its|it's|them|their|they|that one|this one|those|these)\b", re.I)
_ADD_ON = re.compile(r"^\s*(and|also|plus|what about|how about|now)\b", re.IGNORECASE)
# Add-ons that only make sense after an earlier turn ("and MSFT?"); "what about X?" can open.
_ONLY_AFTER = re.compile(r"^\s*(and|also|plus)\b", re.IGNORECASE)
# Words that ask for a stock analysis: without a ticker they get "no_ticker", not a refusal.
_ANALYSIS_WORDS = re.compile(
    r"\b(analy[sz]e|analysis|stocks?|shares?|tickers?|invest(ment|ing)?|valuation|outlook|"
    r"report|portfolio|equity)\b",
    re.IGNORECASE,
)
_COMPARE_WITH = re.compile(
    r"\b(compare|compared|comparing|comparison|versus|vs\.?|against)\b", re.I
)


@dataclass(frozen=True)
class Question:
    """What a follow-up asks: figures by label, verdicts, and whether it asks why."""

    figures: tuple[str, ...]
    verdicts: tuple[str, ...]
    why: bool


@dataclass(frozen=True)
class Understanding:
    """The route of one turn and what it works on."""

    route: Route
    tickers: tuple[str, ...] = ()
    # Tickers whose records come from the session (no new fetch for them).
    reused: tuple[str, ...] = ()
    question: Question | None = None
    # Why the route refuses (no_context, out_of_scope), or a note for the warnings.
    message: str = ""


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text) is not None


def parse_question(prompt: str) -> Question | None:
    """The figures and verdicts ``prompt`` asks about, or ``None`` if it is not a question."""
    text = prompt.lower()
    is_question = "?" in prompt or bool(_QUESTION_START.match(prompt)) or bool(_WHY.search(text))
    if not is_question:
        return None
    figures = []
    for label, phrases in FIGURE_TOPICS.items():
        if any(_contains(text, p) for p in phrases):
            figures.append(label)
    # "forward p/e" also contains "p/e"; "52-week high" contains "high": keep the specific one.
    if "Forward P/E" in figures and not re.search(r"(?<!forward )p/?e\b", text):
        figures.remove("P/E Ratio")
    if any(f.startswith("52-Week") for f in figures) and "Current Price" in figures:
        figures.remove("Current Price")
    verdicts = [
        v for v, phrases in VERDICT_TOPICS.items() if any(_contains(text, p) for p in phrases)
    ]
    why = bool(_WHY.search(text))
    if not figures and not verdicts and not why:
        return None
    return Question(figures=tuple(figures), verdicts=tuple(verdicts), why=why)


def understand(
    prompt: str,
    *,
    parsed: ParsedRequest,
    named: Sequence[str],
    remembered: Iterable[str],
    last: Sequence[str],
    model_available: bool,
) -> Understanding:
    """Route one turn (rules in the module docstring).

    ``named``: tickers the prompt names (parser, then company names);
    ``remembered``: symbols with records in the session; ``last``: the
    previous turn's tickers that are still remembered.
    """
    known = frozenset(remembered)
    tickers = list(dict.fromkeys(named))
    question = parse_question(prompt)
    refers = bool(_REFERENCE.search(prompt))
    adds_on = bool(_ADD_ON.match(prompt))
    compare_cue = bool(_COMPARE_WITH.search(prompt))

    if question is not None and not (compare_cue and tickers and not set(tickers) <= known):
        if tickers and set(tickers) <= known:
            return Understanding(route="question", tickers=tuple(tickers), question=question)
        if not tickers:
            if last:
                return Understanding(route="question", tickers=tuple(last), question=question)
            if refers or question.why or not parsed.company_hints:
                return Understanding(
                    route="no_context",
                    question=question,
                    message=(
                        "this follow-up refers to an earlier analysis, but the session has "
                        "none; start with 'Analyze AAPL' (or name the ticker in the question, "
                        "e.g. 'What is the beta of AAPL?') and send the same session_id"
                    ),
                )

    if tickers:
        follow_up = adds_on or (len(tickers) == 1 and (refers or compare_cue))
        if follow_up and last:
            combined = list(dict.fromkeys([*last, *tickers]))
            if len(combined) > MAX_TICKERS_PER_REQUEST:
                raise AgentError(
                    "too_many_tickers",
                    f"at most {MAX_TICKERS_PER_REQUEST} tickers per comparison; with the "
                    f"previous ones this follow-up names {len(combined)}: " + ", ".join(combined),
                )
            if len(combined) > 1:
                reused = tuple(s for s in combined if s in known and s not in tickers)
                return Understanding(route="compare", tickers=tuple(combined), reused=reused)
        if not last and _ONLY_AFTER.match(prompt):
            return Understanding(
                route="no_context",
                message=(
                    "this follow-up adds to an earlier analysis, but the session has none; "
                    f"name every ticker (e.g. 'Analyze {tickers[0]}') or send the session_id "
                    "of an earlier analysis"
                ),
            )
        if follow_up and not last and len(tickers) == 1 and compare_cue:
            # Nothing earlier to compare with: analyse what was named, and say so. The
            # example names another ticker: "Compare AAPL and AAPL" is what was typed.
            symbol = tickers[0]
            example = f"'Compare {symbol} and {'AAPL' if symbol == 'MSFT' else 'MSFT'}'"
            named_twice = len(re.findall(rf"(?<![\w.]){re.escape(symbol)}(?![\w])", prompt, re.I))
            return Understanding(
                route="analyze",
                tickers=tuple(tickers),
                message=(
                    f"{symbol} is named twice: a comparison needs two different tickers "
                    f"(e.g. {example})"
                    if named_twice > 1
                    else f"nothing earlier in this session to compare {symbol} with; to "
                    f"compare, name every ticker (e.g. {example}) or send the session_id of "
                    "an earlier analysis"
                ),
            )
        # Several tickers get one report each; a comparison is asked for ("compare", "vs").
        route: Route = "compare" if len(tickers) > 1 and compare_cue else "analyze"
        return Understanding(route=route, tickers=tuple(tickers))

    if parsed.company_hints and model_available:
        return Understanding(route="ask_model")
    if _ANALYSIS_WORDS.search(prompt) or _names_a_company(prompt, parsed.company_hints):
        return Understanding(route="no_ticker")
    return Understanding(
        route="out_of_scope",
        message=(
            "this agent analyses listed stocks (prices, fundamentals, risk, PDF reports) and "
            "cannot help with this request. Name a company or a ticker, e.g. 'Analyze AAPL', "
            "'How does Apple compare with Microsoft?' or, after an analysis, 'What is its beta?'"
        ),
    )


def _names_a_company(prompt: str, hints: Sequence[str]) -> bool:
    """A capitalised word other than the one opening the prompt ("How is Foobarco doing?").

    The opening word is capitalised by grammar, not because it is a name, so
    "Write me a poem" or "Apple pie recipe" are out of scope, not unknown tickers.
    """
    first = re.match(r"\W*(\w+)", prompt)
    opening = first.group(1) if first else ""
    return any(h[0].isupper() and h != opening for h in hints)


# ---------------------------------------------------------------------------
# answers from records
# ---------------------------------------------------------------------------


def _verdict_lines(record: SessionRecord, verdict: str, *, why: bool) -> list[str]:
    a = record.analysis
    tech, fund = a.technical, a.fundamental
    if verdict == "technical":
        head = (
            f"Technical score {formatting.fmt_score(tech.score)}: {tech.trend}, "
            f"{tech.momentum} momentum, {tech.volatility_level} volatility."
        )
        return [head, *(f"- {r}" for r in tech.rationale)] if why else [head]
    if verdict == "fundamental":
        head = (
            f"Fundamental score {formatting.fmt_score(fund.score)}: valuation {fund.valuation}, "
            f"profitability {fund.profitability}, income {fund.income}."
        )
        return [head, *(f"- {r}" for r in fund.rationale)] if why else [head]
    if verdict == "risk":
        head = f"Risk level {a.risk_level}."
        return [head, *(f"- {r}" for r in a.risk_factors)] if why or a.risk_factors else [head]
    if verdict == "track_record":
        return _track_record_lines(record)
    head = f"Overall outlook: {a.outlook}."
    if not why:
        return [head]
    return [
        head,
        f"- Technical score {formatting.fmt_score(tech.score)} ({tech.trend}).",
        f"- Fundamental score {formatting.fmt_score(fund.score)} (valuation {fund.valuation}).",
        f"- Risk level {a.risk_level}.",
    ]


def _track_record_lines(record: SessionRecord) -> list[str]:
    """The track record's reading, then its period, edges, 1-month buckets and last signals."""
    track = record.analysis.track_record
    if track is None:
        return ["No track record in this analysis."]

    def wanted(label: str) -> bool:
        bucket = label.startswith("Score ") and "/5 Forward 1-Month" in label
        recent = label in ("Recent Signal 1", "Recent Signal 2", "Recent Signal 3")
        return bucket or recent or label in formatting.TRACK_RECORD_SUMMARY[:3]

    rows = formatting.track_record_figures(track)
    return [track.reading, *(f"- {f.label}: {f.value}" for f in rows if wanted(f.label))]


def deterministic_answer(question: Question, records: dict[str, SessionRecord]) -> str:
    """The answer built from the records alone; every figure is a formatted record value."""
    blocks: list[str] = []
    for symbol, record in records.items():
        snap = record.snapshot
        figures = dict(formatting.key_figures(snap, record.analysis))
        lines = [f"{symbol} ({snap.company_name}), data as of {snap.as_of.isoformat()}:"]
        lines.extend(f"- {label}: {figures[label]}" for label in question.figures)
        verdicts = list(question.verdicts)
        if question.why and not verdicts:
            verdicts = ["outlook"]
        for verdict in verdicts:
            lines.extend(_verdict_lines(record, verdict, why=question.why))
        if len(lines) == 1:  # a question we have no figure for: say what we know
            lines.append(
                f"- Outlook {record.analysis.outlook}, risk level {record.analysis.risk_level}, "
                f"current price {figures['Current Price']}."
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def answer_facts(
    records: dict[str, SessionRecord], *, track_record_detail: bool = False
) -> list[dict[str, Any]]:
    """What the model may use: the same formatted facts as the narrative prompt (with the
    track record's detail when the question is about it)."""
    return [
        narrative_payload(
            snapshot=r.snapshot,
            analysis=r.analysis,
            key_figures=formatting.key_figures(r.snapshot, r.analysis),
            track_record_detail=track_record_detail,
        )
        for r in records.values()
    ]


def allowed_answer_figures(
    records: dict[str, SessionRecord], facts: list[dict[str, Any]]
) -> set[str]:
    allowed: set[str] = set()
    for record, payload in zip(records.values(), facts, strict=True):
        allowed |= allowed_figures(
            snapshot=record.snapshot, analysis=record.analysis, payload=payload
        )
    return allowed


def write_answer(
    *,
    prompt: str,
    question: Question,
    records: dict[str, SessionRecord],
    model: ModelClient,
    profile: CallProfile,
    use_model: bool,
) -> CheckedText:
    """The answer: the model's checked text (the profile's attempts), else the deterministic one.

    The deterministic answer passes the same number check by construction
    (every figure is a formatted record value; a test checks it).
    """
    facts = answer_facts(records, track_record_detail="track_record" in question.verdicts)
    request = TextRequest(
        subject="the answer",
        turns=tuple(answer_turns(prompt, facts)),
        allowed=frozenset(allowed_answer_figures(records, facts)),
        fallback=deterministic_answer(question, records),
    )
    return ask_checked_text(model, profile, request, use_model=use_model)
