"""What the words of one prompt say, before the session is considered.

:func:`read_signals` reads the aspects a prompt names (through the
:class:`~stock_agent.understanding.vocabulary.Vocabulary`), a comparison and
its direction, a time frame, and the cues the request plan's rules weigh:
why, advice, a forecast, a comparison word, a reference to earlier tickers, an
add-on ("and ..."), a question's shape, words that ask for an analysis. The
words of several languages are here for the cues the golden set's languages
use (Vietnamese, Spanish, French, German). Every pattern is a regular
expression searched once; nothing here loops over the text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .vocabulary import VERDICTS, Vocabulary, words

Operator = Literal["highest", "lowest"]
TimeFrame = Literal["1M", "3M", "YTD", "1Y"]
OPERATORS: tuple[Operator, ...] = ("highest", "lowest")
TIME_FRAMES: tuple[TimeFrame, ...] = ("1M", "3M", "YTD", "1Y")
#: The words a period is written with in the figure labels ("1-Year Return").
PERIOD_WORDS: Mapping[TimeFrame, tuple[str, ...]] = {
    "1M": ("1", "month"),
    "3M": ("3", "month"),
    "YTD": ("ytd",),
    "1Y": ("1", "year"),
}
MAX_ASPECTS = 64

_QUESTION_START = re.compile(
    r"^\s*(what|what's|whats|why|how|which|who|is|are|does|do|did|tell|explain|show|give|"
    r"where|when|can|could|should|would|will)\b",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"\b(why|explain|explains|explained|reason|reasons|because|behind|drives?|driving|"
    r"what makes|went into|go into|goes into|worked out|work out|calculated|computed|"
    r"how come|justif(?:y|ies|ied)|dragging|drags|holding (?:it )?back|pulling (?:it )?down|"
    r"weighs? on|weighing on|hurting|hurts|helping|helps|driven by|"
    r"tại sao|vì sao|por qué|pourquoi|warum)\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"\b(it|its|it's|them|their|they|that one|this one|those|these|both|each|either|"
    r"the two|the three|of them|nó|chúng)\b",
    re.IGNORECASE,
)
# A request that opens by asking for an analysis ("Analyze MSFT and ...").
_REQUESTS_ANALYSIS = re.compile(
    r"^\W*(?:please\s+)?(analy[sz]e|compare|review|research|report on|evaluate|assess|"
    r"give me a report)\b",
    re.IGNORECASE,
)
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
    r"\b(compare|compared|comparing|comparison|versus|vs\.?|against|stack up|"
    r"compara|comparan|comparar|comparer|comparez|vergleiche|vergleichen|vergleich|"
    r"confronta|so sánh)\b|比较|比較",
    re.IGNORECASE,
)
_FORECAST = re.compile(
    r"\b(price targets?|target price|forecasts?|predict(?:ion|ions)?|"
    r"where (?:will|would|is) (?:it|they|\w+) (?:trade|be|go|head|going)|"
    r"will (?:it|they|the stock|the price|\w+) (?:go|be|rise|fall|trade|reach|hit|climb|drop|"
    r"crash|double|recover)|how (?:high|low|far) (?:can|could|will|would)|"
    r"next (?:week|month|quarter|year)|tomorrow|in 20\d\d|going to (?:rise|fall|go|crash)|"
    r"future price|worth in|targets?|upside|"
    r"(?:can|could) (?:it|they|the stock|the price|\w+) (?:hit|reach|get to|go to|go up|go down)|"
    r"where (?:do|would) you see|"
    r"in (?:\d+|one|two|three|four|five|ten|a few) years?)\b",
    re.IGNORECASE,
)
_ADVICE = re.compile(
    r"\b(should (?:i|we) (?:buy|sell|hold|invest|get|keep|dump|add|own)|good buy|"
    r"worth (?:buying|it|owning|a buy)|buy or sell|sell or hold|hold or sell|buy or hold|"
    r"(?:would|do|will) you (?:buy|invest|recommend|sell|hold|own)|"
    r"(?:better|best|good) investment|pick one|invest in (?:it|them|this)|get out|"
    r"time to (?:buy|sell)|is it a (?:buy|sell)|recommend buying|nên mua|đáng mua|nên bán|"
    r"debería comprar|vale la pena|dois-je acheter|soll ich kaufen)\b",
    re.IGNORECASE,
)
_HIGHEST = re.compile(
    r"\b(higher|highest|more|most|bigger|biggest|greater|greatest|larger|largest|better|best|"
    r"stronger|strongest|riskier|riskiest|pricier|priciest|dearer|faster|exceeds?|tốt hơn)\b",
    re.IGNORECASE,
)
_LOWEST = re.compile(
    r"\b(lower|lowest|less|least|smaller|smallest|cheaper|cheapest|worse|worst|weaker|"
    r"weakest|safer|safest|slower)\b",
    re.IGNORECASE,
)
# Comparative words that say which aspect they mean when the prompt names none ("riskier"
# and "safer" are the risk verdict's own words in the vocabulary).
_PRICE_WORDS = re.compile(
    r"\b(cheaper|cheapest|pricier|priciest|dearer|more expensive|less expensive)\b", re.I
)
_PERFORMANCE = re.compile(
    r"\b(returns?|returned|performance|performed|perform|done|doing|gain(?:ed|s)?|"
    r"went (?:up|down)|rose|grew|up more|down more|did (?:\w+ ){1,3}do)\b",
    re.IGNORECASE,
)
_PEER_CONTEXT = re.compile(r"\b(peers?|percentile|rank|ranks|ranked|sector)\b", re.I)
_TIME_FRAMES: tuple[tuple[TimeFrame, re.Pattern[str]], ...] = (
    ("YTD", re.compile(r"\b(ytd|year to date|year-to-date|this year|since january)\b", re.I)),
    (
        "3M",
        re.compile(r"\b(3|three)[ -]months?\b|\b(last|past) quarter\b|\b90 days\b", re.I),
    ),
    (
        "1M",
        re.compile(r"\b(1|one)[ -]month\b|\b(last|past|this) month\b|\b30 days\b", re.I),
    ),
    (
        "1Y",
        re.compile(
            r"\b(1|one)[ -]year\b|\b(last|past) (year|12 months|twelve months)\b|"
            r"\b12[ -]months?\b|\ba year\b|\bannual\b",
            re.I,
        ),
    ),
)


@dataclass(frozen=True)
class Signals:
    """What the words of one prompt say, before the session is considered."""

    aspects: tuple[str, ...]
    operator: Operator | None
    time_frame: TimeFrame | None
    why: bool
    advice: bool
    forecast: bool
    compare_cue: bool
    refers: bool
    adds_on: bool
    only_after: bool
    question_shaped: bool
    analysis_words: bool
    requests_analysis: bool

    @property
    def asks(self) -> bool:
        """The prompt asks something about stocks, beyond "analyse these"."""
        return bool(self.aspects or self.why or self.operator or self.advice)


def _time_frame(text: str) -> TimeFrame | None:
    return next((frame for frame, pattern in _TIME_FRAMES if pattern.search(text)), None)


def _period_of(label: str) -> TimeFrame | None:
    label_words = tuple(words(label))
    for frame, period in PERIOD_WORDS.items():
        span = len(period)
        if any(label_words[i : i + span] == period for i in range(len(label_words))):
            return frame
    return None


def _retarget(label: str, frame: TimeFrame, labels: Collection[str]) -> str:
    """``label`` for the period ``frame`` ("Excess 1-Year Return" -> "Excess YTD Return")."""
    own = _period_of(label)
    if own is None or own == frame:
        return label
    want = [w for w in words(label) if w not in PERIOD_WORDS[own]]
    for other in labels:
        if (
            _period_of(other) == frame
            and [w for w in words(other) if w not in PERIOD_WORDS[frame]] == want
        ):
            return other
    return label


_BENCHMARK_WORDS = frozenset({"benchmark", "index", "market"})


def _return_label(frame: TimeFrame, labels: Sequence[str], said: Collection[str]) -> str | None:
    """The return over ``frame`` the prompt means: a "... Return" label of that period whose
    other words it says ("benchmark", "excess"; "index" and "market" are the benchmark),
    else the stock's own (the shortest)."""
    found = [
        label for label in labels if _period_of(label) == frame and words(label)[-1] == "return"
    ]
    if not found:
        return None
    heard = set(said) | ({"benchmark"} if _BENCHMARK_WORDS & set(said) else set())
    period = PERIOD_WORDS[frame]
    named = [
        label for label in found
        if len(extra := [w for w in words(label)[:-1] if w not in period]) > 0
        and set(extra) <= heard
    ]  # fmt: skip
    return min(named or found, key=len)


def _percentile_labels(aspects: Sequence[str], labels: Sequence[str]) -> list[str]:
    """ "X Percentile" labels whose X is an aspect asked about (ranked among peers)."""
    found: list[str] = []
    for label in labels:
        label_words = words(label)
        if label_words[-1:] != ["percentile"]:
            continue
        metric = label_words[:-1]
        for aspect in aspects:
            if aspect != label and words(aspect)[: len(metric)] == metric:
                found.append(label)
    return found


def read_signals(prompt: str, vocabulary: Vocabulary) -> Signals:
    """Aspects, comparison, time frame and the other cues of ``prompt`` (module docstring)."""
    text = prompt.lower()
    aspects = list(vocabulary.aspects_in(prompt))
    labels = vocabulary.labels
    frame = _time_frame(text)
    if frame is not None:
        aspects = [_retarget(a, frame, labels) for a in aspects]
    high, low = _HIGHEST.search(text), _LOWEST.search(text)
    operator: Operator | None = None
    if high or low:
        first = min((m for m in (high, low) if m is not None), key=lambda m: m.start())
        operator = "highest" if first is high else "lowest"
        if _PRICE_WORDS.search(text) and not [a for a in aspects if a not in VERDICTS]:
            aspects.append("P/E Ratio")
    if _PERFORMANCE.search(text) and (frame is not None or operator is not None):
        said = set(words(prompt))
        meant = _return_label(frame or "1Y", labels, said)
        if meant is not None and not any(_period_of(a) for a in aspects):
            aspects = [a for a in aspects if a != "Benchmark"] + [meant]
    if _PEER_CONTEXT.search(text):
        aspects += _percentile_labels(aspects, labels)
    if operator is not None and not aspects:
        aspects.append("outlook")  # "which is better?": the outlook, then the scores
    known = set(vocabulary.aspects)
    return Signals(
        aspects=tuple(a for a in dict.fromkeys(aspects) if a in known)[:MAX_ASPECTS],
        operator=operator,
        time_frame=frame,
        why=bool(_WHY.search(text)),
        advice=bool(_ADVICE.search(text)),
        forecast=bool(_FORECAST.search(text)),
        compare_cue=bool(_COMPARE_WITH.search(text)),
        refers=bool(_REFERENCE.search(text)),
        adds_on=bool(_ADD_ON.match(text)),
        only_after=bool(_ONLY_AFTER.match(text)),
        question_shaped="?" in prompt or bool(_QUESTION_START.match(text)),
        analysis_words=bool(_ANALYSIS_WORDS.search(text)),
        requests_analysis=bool(_REQUESTS_ANALYSIS.match(text)),
    )
