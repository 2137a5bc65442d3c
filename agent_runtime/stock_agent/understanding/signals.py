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

from .vocabulary import RISK_PROFILE_WORDS, VERDICTS, Vocabulary, words

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


# ---------------------------------------------------------------------------
# what the prompt asks of the user's long-term memory
# ---------------------------------------------------------------------------

MemoryAction = Literal[
    "watch",
    "unwatch",
    "show_watchlist",
    "review",
    "mine",
    "prefer",
    "show_profile",
    "forget_preferences",
    "forget_everything",
]
MEMORY_ACTIONS: tuple[MemoryAction, ...] = (
    "watch",
    "unwatch",
    "show_watchlist",
    "review",
    "mine",
    "prefer",
    "show_profile",
    "forget_preferences",
    "forget_everything",
)

_LIST = r"(?:watch\s?-?lists?|lists?|stocks|tickers|names|holdings|portfolio|companies|shares)"
# "which of my stocks ...": the watchlist. Not "my shares" or "my holdings": "should I sell
# my shares?" after an analysis is about that ticker.
_MY_LIST = re.compile(r"\bmy\s+(?:watch\s?-?lists?|lists?|stocks|tickers)\b", re.I)
_WATCH = re.compile(
    r"^\W*(?:please\s+)?(?:can you\s+|could you\s+)?(?P<verb>add|put|include|track|follow|watch|"
    r"start (?:watching|tracking|following)|keep an eye on)\b",
    re.I,
)
_TO_LIST = re.compile(rf"\b(?:to|on|in|into|onto)\s+(?:my|the)\s+{_LIST}\b", re.I)
_UNWATCH = re.compile(
    r"^\W*(?:please\s+)?(?:can you\s+|could you\s+)?(?P<verb>drop|remove|delete|unwatch|take|"
    r"stop (?:watching|tracking|following)|forget about)\b",
    re.I,
)
_FROM_LIST = re.compile(rf"\b(?:from|off|out of)\s+(?:my|the)\s+{_LIST}\b", re.I)
_SHOW_LIST = re.compile(
    rf"\b(?:what(?:'s| is| are)?|which(?: stocks| tickers)?(?: are)?|who(?:'s| is)?)\s+(?:\w+\s+)?"
    rf"(?:on|in)\s+my\s+{_LIST}\b|"
    rf"\b(?:show|list|see|read|display|give)\s+(?:me\s+)?(?:back\s+)?my\s+{_LIST}\b|"
    r"\bwhat (?:am i|do i) (?:watching|watch|following|follow|tracking|track)\b|"
    r"\bwhich (?:stocks|tickers|companies) (?:am i|do i) (?:watching|watch|following|follow|"
    r"tracking|track)\b",
    re.I,
)
_REVIEW = re.compile(
    rf"\bhow(?:'s| is| are| has| have)\s+(?:\w+\s+)?my\s+{_LIST}\s+(?:doing|done|performing|"
    r"going|looking|holding up)\b|"
    rf"\b(?:review|compare|check(?: on)?|analy[sz]e|update me on|report on|rundown of)\s+"
    rf"(?:all\s+)?my\s+{_LIST}\b|"
    rf"\bhow(?:'s| is| are)\s+(?:everything|the stocks|the tickers)\s+(?:on|in)\s+my\s+{_LIST}\b",
    re.I,
)
_SHOW_PROFILE = re.compile(
    r"\bwhat (?:do|did) you (?:remember|know|keep|store|have|recall) (?:about|on|of) me\b|"
    r"\bwhat have you (?:stored|saved|kept|remembered|got) (?:about|on) me\b|"
    r"\b(?:show|list|what are|tell me)\s+(?:me\s+)?my\s+(?:preferences|settings|profile)\b|"
    r"\bwhat do you know about my (?:preferences|settings)\b",
    re.I,
)
_FORGET_PREFERENCES = re.compile(
    r"\b(?:forget|reset|clear|delete|erase|drop|remove|wipe)\s+(?:all\s+)?(?:of\s+)?my\s+"
    r"(?:preferences|settings)\b",
    re.I,
)
_FORGET_EVERYTHING = re.compile(
    r"\bforget (?:everything|all(?: of it)?|all about me|me)\b|"
    r"\b(?:delete|erase|wipe|clear|remove)\s+(?:all\s+(?:of\s+)?)?(?:my (?:data|profile|memory|"
    r"information|info)|everything (?:about me|you (?:know|remember|have)))\b",
    re.I,
)
_BRIEF = re.compile(
    r"\bkeep (?:(?:the |your |my )?(?:answers?|responses?|replies|it|them|things) )?"
    r"(?:brief|short|concise|shorter)\b|\bbe (?:brief|concise|short)\b|"
    r"\b(?:brief|short|shorter|concise) (?:answers|responses|replies)\b|\bless detail\b",
    re.I,
)
_DETAILED = re.compile(
    r"\b(?:detailed|longer|full|complete) (?:answers|responses|replies)\b|"
    r"\bbe (?:detailed|thorough)\b|\bmore detail(?:s|ed)?\b|\bthe full (?:details|report) again\b",
    re.I,
)
_PDF_OFF = re.compile(
    r"\b(?:skip|no|without|drop|stop(?: sending| making)?|don'?t (?:send|need|want|make|attach)|"
    r"leave out|omit)\s+(?:me\s+)?(?:the\s+|any\s+)?(?:comparison\s+)?pdfs?\b",
    re.I,
)
_PDF_ON = re.compile(
    r"\b(?:send|attach|include|give me|make|want|need)\s+(?:me\s+)?(?:the\s+)?(?:comparison\s+)?"
    r"pdfs?\s+(?:again|back|from now on)\b|\bpdfs? (?:again|back) please\b|"
    r"\bturn (?:the\s+)?pdfs? (?:back\s+)?on\b",
    re.I,
)
_RISK_WORD = "|".join(re.escape(w) for w in sorted(RISK_PROFILE_WORDS, key=len, reverse=True))
_RISK_PROFILE = re.compile(
    rf"\b(?:i'?m|i am|as)\s+(?:an?\s+|quite\s+an?\s+|more\s+of\s+an?\s+)?(?P<word>{_RISK_WORD})"
    r"(?:\s+[\w-]+)?\s+investor\b|"
    rf"\bmy risk (?:profile|tolerance|appetite) is (?:\w+\s+)?(?P<level>{_RISK_WORD})\b",
    re.I,
)
_SUBSCRIBE = re.compile(
    rf"\b(?:include|put|add|use)\s+my\s+{_LIST}\s+(?:in|into|for|on)\s+(?:the\s+)?scheduled\b|"
    r"\b(?:send|give) me (?:the )?scheduled (?:reports?|runs?)\b|"
    r"\b(?:opt|sign)\s+(?:me\s+)?(?:in(?:to)?|up)\b[^.?!]*\bschedul|"
    r"\bsubscribe me\b[^.?!]*\bschedul",
    re.I,
)
_UNSUBSCRIBE = re.compile(
    r"\b(?:stop|cancel|no more|opt (?:me )?out of|unsubscribe (?:me )?from|leave me out of|"
    r"remove me from|take me off)\s+(?:the\s+|my\s+)?scheduled\b",
    re.I,
)


@dataclass(frozen=True)
class MemoryAsk:
    """What the prompt asks of the user's long-term memory (``None`` when nothing)."""

    action: MemoryAction
    preferences: tuple[tuple[str, str], ...] = ()


def _stated_preferences(text: str) -> tuple[tuple[str, str], ...]:
    stated: dict[str, str] = {}
    if _BRIEF.search(text):
        stated["answer_length"] = "brief"
    elif _DETAILED.search(text):
        stated["answer_length"] = "detailed"
    if _PDF_OFF.search(text):
        stated["comparison_pdfs"] = "off"
    elif _PDF_ON.search(text):
        stated["comparison_pdfs"] = "on"
    risk = _RISK_PROFILE.search(text)
    if risk:
        word = (risk.group("word") or risk.group("level") or "").lower()
        stated["risk_profile"] = RISK_PROFILE_WORDS[word]
    if _UNSUBSCRIBE.search(text):
        stated["scheduled_watchlist"] = "off"
    elif _SUBSCRIBE.search(text):
        stated["scheduled_watchlist"] = "on"
    return tuple(stated.items())


def read_memory_ask(prompt: str, *, names_tickers: bool) -> MemoryAsk | None:
    """The memory action ``prompt`` asks for, or ``None`` (then it is an ordinary request).

    ``names_tickers``: the prompt names tickers (parser or company names). A
    preference stated beside tickers ("analyze AAPL, keep it short") is not
    stored: the request is the analysis.
    """
    if _FORGET_EVERYTHING.search(prompt) and not names_tickers:
        return MemoryAsk("forget_everything")
    if _FORGET_PREFERENCES.search(prompt):
        return MemoryAsk("forget_preferences")
    if _SHOW_PROFILE.search(prompt):
        return MemoryAsk("show_profile")
    watch, unwatch = _WATCH.match(prompt), _UNWATCH.match(prompt)
    if unwatch and (_FROM_LIST.search(prompt) or names_tickers):
        return MemoryAsk("unwatch")
    if _FROM_LIST.search(prompt) and re.search(r"\b(?:remove|delete|drop|take)\b", prompt, re.I):
        return MemoryAsk("unwatch")
    if watch and (_TO_LIST.search(prompt) or (names_tickers and watch.group("verb").lower() not in
                                               ("add", "put", "include"))):  # fmt: skip
        return MemoryAsk("watch")
    if _TO_LIST.search(prompt) and re.search(r"\b(?:add|put|include)\b", prompt, re.I):
        return MemoryAsk("watch")
    if names_tickers:
        return None
    comparative = _HIGHEST.search(prompt) or _LOWEST.search(prompt)
    if _SHOW_LIST.search(prompt) and not comparative:  # "which stock on my list is safest?"
        return MemoryAsk("show_watchlist")
    if _REVIEW.search(prompt):
        return MemoryAsk("review")
    preferences = _stated_preferences(prompt)
    if preferences:
        return MemoryAsk("prefer", preferences)
    if _MY_LIST.search(prompt):
        return MemoryAsk("mine")
    return None
