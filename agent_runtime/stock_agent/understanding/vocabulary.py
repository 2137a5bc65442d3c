"""The words a user may ask about, built from the labels of the figures the report carries.

One source: :func:`stock_agent.formatting.figure_groups` names every figure a
report shows (:func:`stock_agent.formatting.figure_label_groups` gives their
label keys). The vocabulary is made from those labels (and the group
titles) when it is built, so a figure added to the record is askable in the
next conversation without a line of conversation code. On top of what the
labels say, :data:`ALIASES` adds the words people use for a figure
("drawdown", "fcf", "how much is a share") and :data:`VERDICT_WORDS` the
words for the four verdicts.

Phrases per label (the *derived* ones), from "Sharpe Ratio (1Y)" say:

- the label itself ("sharpe ratio 1y") and without its parentheses
  ("sharpe ratio"), and without a trailing "ratio" ("sharpe");
- a label that names the benchmark is read as its *label key*
  ``Beta vs {benchmark} (1Y)`` and is also named without the "vs ..." part
  ("correlation");
- labels of one group that start alike name all of them by that start
  ("macd" -> MACD Line, Signal and Histogram; "52 week" -> High and Low), and
  labels that end in the same upper-case abbreviation ("sma") likewise;
- a group title of two words or more names every figure of the group
  ("peer comparison"), and so do the title's aliases (:data:`TITLE_ALIASES`:
  "backtest" for the track record);
- a single shared start that the verdicts also use ("score") names nothing
  on its own.

When several labels claim the same phrase, the label that *is* the phrase
wins over an alias, and an alias over a derived phrase ("beta" is Beta, not
"Beta vs SIM_INDEX (1Y)"). Matching is on words, longest phrase first at
each position, a trailing plural "s" forgiven ("betas").

:func:`words` is the tokenizer both this module and the request plan use;
it is a single ``finditer``, and the matcher walks its words with
:func:`~stock_agent.understanding.scan.scan`: neither can loop.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..formatting import BENCHMARK_PLACEHOLDER
from .scan import scan

#: The four verdicts an answer can explain (their points are in the analysis).
VERDICTS = ("technical", "fundamental", "risk", "outlook")

#: The words people describe their risk profile with, to the profile's closed list
#: (:data:`stock_agent.memory.user_profile.PREFERENCES`).
RISK_PROFILE_WORDS: Mapping[str, str] = {
    "conservative": "conservative", "cautious": "conservative", "careful": "conservative",
    "risk-averse": "conservative", "risk averse": "conservative", "low": "conservative",
    "defensive": "conservative",
    "balanced": "balanced", "moderate": "balanced", "medium": "balanced",
    "middle-of-the-road": "balanced",
    "aggressive": "aggressive", "bold": "aggressive", "risk-taking": "aggressive",
    "high": "aggressive", "growth": "aggressive", "adventurous": "aggressive",
}  # fmt: skip

#: Words for the verdicts (a verdict is an aspect like a figure label).
VERDICT_WORDS: Mapping[str, tuple[str, ...]] = {
    "technical": ("technical", "technicals", "technical score", "technical rating", "trend",
                  "momentum", "chart"),
    "fundamental": ("fundamental", "fundamentals", "fundamental score", "fundamental rating",
                    "valuation", "valued", "overvalued", "undervalued", "expensive", "cheap"),
    "risk": ("risk", "risks", "risky", "riskier", "riskiest", "risk level", "risk rating",
             "safe", "safer", "safest"),
    "outlook": ("outlook", "verdict", "overall", "recommendation", "rating"),
}  # fmt: skip

#: Phrases people use for one figure, by label key; active only when the record has the label.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "Current Price": ("price", "share price", "stock price", "trading at", "quote",
                      "how much is a share", "cost per share", "last close"),
    "Market Cap": ("market capitalization", "market capitalisation", "market value", "mkt cap",
                   "size", "how big", "how large"),
    "52-Week High": ("year high", "yearly high", "annual high", "52w high", "12 month high"),
    "52-Week Low": ("year low", "yearly low", "annual low", "52w low", "12 month low"),
    "YTD Return": ("ytd", "year to date", "since january"),
    "1-Year Return": ("one year return", "annual return", "12 month return", "yearly return"),
    "Volatility (Annualized)": ("volatile", "vol", "swings", "swing", "stable"),
    "Average Volume (3M)": ("volume", "trading volume", "liquidity", "liquid"),
    "P/E Ratio": ("pe", "p e", "pe ratio", "price to earnings", "price/earnings",
                  "earnings multiple", "valuation"),
    "Forward P/E": ("forward pe", "fwd p/e", "fwd pe"),
    "Price-to-Book": ("p/b", "book value", "price to book value"),
    "Dividend Yield": ("dividend", "dividends", "yield", "yields", "payout", "pays"),
    "Revenue (TTM)": ("revenue", "revenues", "sales", "turnover", "top line"),
    "Profit Margin": ("margin", "margins", "net margin", "profitability", "profitable",
                      "profit"),
    "Beta": ("market sensitivity",),
    "EPS (TTM)": ("earnings per share", "trailing eps"),
    "50-Day SMA": ("50 day", "sma 50", "50 sma", "50 day moving average", "50 day average",
                   "50dma"),
    "200-Day SMA": ("200 day", "sma 200", "200 sma", "200 day moving average",
                    "200 day average", "200dma"),
    "1-Month Return": ("1 month", "one month", "last month", "past month", "30 days"),
    "3-Month Return": ("3 month", "3 months", "three month", "three months", "last quarter",
                       "past quarter"),
    "RSI (14)": ("relative strength index", "oversold", "overbought"),
    "MACD Histogram": ("macd hist",),
    "Bollinger Position": ("bollinger band", "bollinger bands", "bands", "bb"),
    "Max Drawdown (1Y)": ("drawdown", "maximum drawdown", "worst drop", "worst fall",
                          "biggest drop", "biggest fall", "deepest drop", "peak to trough"),
    "Sharpe Ratio (1Y)": ("risk adjusted return", "risk adjusted"),
    "Correlation vs {benchmark} (1Y)": ("correlated", "moves with the market"),
    "Excess 1-Year Return": ("excess return", "beat the market", "beat the index",
                             "beat the benchmark", "outperform", "outperformed",
                             "underperform", "underperformed", "outperformance", "alpha"),
    "Revenue Growth (3Y, a year)": ("revenue growing", "revenue grow", "sales growth",
                                    "growth rate", "growing", "top line growth"),
    "EPS Growth (3Y, a year)": ("earnings growth", "earnings growing",
                                "earnings per share growth"),
    "Free Cash Flow": ("fcf", "cash flow", "free cash"),
    "FCF Margin": ("free cash flow margin",),
    "Debt-to-Equity": ("d/e", "debt", "leverage", "debt ratio", "gearing", "indebted"),
    "Sector Peers": ("peers", "peer group", "competitors", "rivals", "which companies"),
}  # fmt: skip

#: Phrases for every figure of a group, by the group's title (active when the report has it).
TITLE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "Track Record": ("backtest", "back test", "backtested", "any good", "hit rate", "signals",
                     "past signals", "past calls", "how reliable", "reliable", "historically"),
}  # fmt: skip

#: Phrases that name several figures at once (each active for the labels the record has).
GROUP_ALIASES: Mapping[str, tuple[str, ...]] = {
    "52 week range": ("52-Week High", "52-Week Low"),
    "high and low": ("52-Week High", "52-Week Low"),
    "highs and lows": ("52-Week High", "52-Week Low"),
    "52 week high and low": ("52-Week High", "52-Week Low"),
    "yearly high and low": ("52-Week High", "52-Week Low"),
    "trading range": ("52-Week High", "52-Week Low"),
    "moving averages": ("50-Day SMA", "200-Day SMA"),
    "moving average": ("50-Day SMA", "200-Day SMA"),
    "50 and 200 day": ("50-Day SMA", "200-Day SMA"),
    "50 and 200": ("50-Day SMA", "200-Day SMA"),
}

_VERDICT_TOKENS = frozenset(w for phrases in VERDICT_WORDS.values() for p in phrases
                            for w in p.split())  # fmt: skip

# Priorities: the label that is the phrase, then an alias, then a derived phrase.
EXACT, ALIAS, DERIVED = 0, 1, 2
_MAX_PHRASE_WORDS = 6
_WORD = re.compile(r"[^\W_]+(?:/[^\W_]+)*")
_DOLLAR_WORD = re.compile(r"\$\S+")
_PARENS = re.compile(r"\([^)]*\)")
_VERSUS = re.compile(r"\s+vs\s+\{benchmark\}", re.IGNORECASE)
_GENERIC_TAIL = ("ratio",)
BENCHMARK = BENCHMARK_PLACEHOLDER


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; ``/`` joins ("p/e"), anything else separates.

    A word written with a ``$`` is left out: it names a ticker.

    Letters of every script count (Vietnamese "của" is one word), so a word
    next to an accented letter is never cut in two.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    folded = _DOLLAR_WORD.sub(" ", folded)  # "$FCF" is a ticker, never a figure's name
    return _WORD.findall(folded.replace("'s ", " ").replace("'", " "))


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(words(text.replace(BENCHMARK, "benchmark")))


def _forms(label: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The phrases a label *is* (with and without parentheses) and those derived from it."""
    bare = _PARENS.sub(" ", label)
    exact = [_phrase(label), _phrase(bare)]
    without_versus = _phrase(_VERSUS.sub(" ", bare))
    derived = [without_versus]
    if len(without_versus) > 1 and without_versus[-1] in _GENERIC_TAIL:
        derived.append(without_versus[:-1])
    return [p for p in exact if p], [p for p in derived if p]


def _families(groups: Sequence[tuple[str, Sequence[str]]]) -> dict[tuple[str, ...], set[str]]:
    """Shared starts within a group, shared upper-case endings anywhere, and group titles."""
    families: dict[tuple[str, ...], set[str]] = {}
    for title, labels in groups:
        if len(_phrase(title)) > 1:  # "Analysis" alone is too common a word to name a group
            families.setdefault(_phrase(title), set()).update(labels)
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                pa, pb = _phrase(_PARENS.sub(" ", a)), _phrase(_PARENS.sub(" ", b))
                shared = 0
                for x, y in zip(pa, pb, strict=False):
                    if x != y:
                        break
                    shared += 1
                # One shared word that the verdicts also use ("score") names nothing alone.
                if shared and not (shared == 1 and pa[0] in _VERDICT_TOKENS):
                    families.setdefault(pa[:shared], set()).update((a, b))
    endings: dict[str, set[str]] = {}
    for _, labels in groups:
        for label in labels:
            tail = _PARENS.sub(" ", label).split()[-1:]
            if tail and tail[0].isupper() and len(tail[0]) >= 2:
                endings.setdefault(tail[0].lower(), set()).add(label)
    for ending, sharing in endings.items():
        if len(sharing) > 1:
            families.setdefault((ending,), set()).update(sharing)
    return families


@dataclass(frozen=True)
class Match:
    """Aspects one phrase of the text named, and where (word positions)."""

    start: int
    end: int
    aspects: frozenset[str]


@dataclass(frozen=True)
class Vocabulary:
    """Phrase -> aspects (figure label keys and verdict names), and the words that name them.

    Build it with :func:`build_vocabulary`; :meth:`find` reads a text.
    """

    phrases: Mapping[tuple[str, ...], frozenset[str]]
    labels: tuple[str, ...]  # every figure label key, in report order
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # title -> label keys

    @property
    def aspects(self) -> tuple[str, ...]:
        """Every aspect a plan may name: the figure labels, then the verdicts."""
        return (*self.labels, *VERDICTS)

    @functools.cached_property
    def figure_words(self) -> frozenset[str]:
        """Words that name a figure, upper-cased: never a ticker without a ``$``.

        The one-word phrases of figures, and the abbreviations the labels write in
        capitals ("TTM" of "Revenue (TTM)", "SMA" of "50-Day SMA").
        """
        one_word = {
            p[0].upper()
            for p, aspects in self.phrases.items()
            if len(p) == 1 and p[0].isalnum() and aspects - set(VERDICTS)
        }
        capitals = {
            w for label in self.labels for w in re.findall(r"[A-Za-z]+", label)
            if len(w) >= 2 and w.isupper()
        }  # fmt: skip
        return frozenset(one_word | capitals)

    def find(self, text: str) -> list[Match]:
        """Every phrase of ``text``, left to right, the longest at each position."""
        tokens = words(text)

        def longest_at(start: int) -> Match | None:
            for size in range(min(_MAX_PHRASE_WORDS, len(tokens) - start), 0, -1):
                aspects = self._lookup(tuple(tokens[start : start + size]))
                if aspects:
                    return Match(start, start + size, aspects)
            return None

        return scan(len(tokens), longest_at)

    def _lookup(self, phrase: tuple[str, ...]) -> frozenset[str] | None:
        hit = self.phrases.get(phrase)
        if hit is None and len(phrase[-1]) > 3 and phrase[-1].endswith("s"):
            hit = self.phrases.get((*phrase[:-1], phrase[-1][:-1]))  # "betas", "yields"
        return hit

    def aspects_in(self, text: str) -> tuple[str, ...]:
        """The aspects ``text`` names, in order of mention (a phrase's in report order), once."""
        order = {a: i for i, a in enumerate(self.aspects)}
        return tuple(
            dict.fromkeys(
                a for m in self.find(text) for a in sorted(m.aspects, key=lambda x: order[x])
            )
        )


def build_vocabulary(groups: Iterable[tuple[str, Sequence[str]]]) -> Vocabulary:
    """The vocabulary of figure groups ``[(title, [label key, ...]), ...]`` (plus verdicts)."""
    groups = [(title, tuple(labels)) for title, labels in groups]
    return _build(tuple(groups))


@functools.lru_cache(maxsize=64)
def _build(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> Vocabulary:
    labels = tuple(dict.fromkeys(label for _, ls in groups for label in ls))
    ranked: dict[tuple[str, ...], tuple[int, set[str]]] = {}

    def claim(phrase: tuple[str, ...], priority: int, aspects: Iterable[str]) -> None:
        if not phrase or len(phrase) > _MAX_PHRASE_WORDS:
            return
        held = ranked.get(phrase)
        if held is None or priority < held[0]:
            ranked[phrase] = (priority, set(aspects))
        elif priority == held[0]:
            held[1].update(aspects)

    for label in labels:
        exact, derived = _forms(label)
        for form in exact:
            claim(form, EXACT, [label])
        for form in derived:
            claim(form, DERIVED, [label])
        for alias in ALIASES.get(label, ()):
            claim(_phrase(alias), ALIAS, [label])
    for phrase, family in _families(groups).items():
        claim(phrase, DERIVED, family)
    for alias, members in GROUP_ALIASES.items():
        present = [m for m in members if m in labels]
        if present:
            claim(_phrase(alias), ALIAS, present)
    titled = dict(groups)
    for title, phrases in TITLE_ALIASES.items():
        for alias in phrases if titled.get(title) else ():
            claim(_phrase(alias), ALIAS, titled[title])
    for verdict, phrases in VERDICT_WORDS.items():
        for text in phrases:
            claim(_phrase(text), ALIAS, [verdict])
    return Vocabulary(
        phrases={p: frozenset(a) for p, (_, a) in ranked.items()},
        labels=labels,
        groups={title: ls for title, ls in groups},
    )
