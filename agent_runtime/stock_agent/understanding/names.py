"""Company names to tickers without a model, from what the data provider knows.

"How does Apple compare with Microsoft?" names no ticker, but the simulated
universe knows both companies by name, and Yahoo Finance's search knows
almost every listed company. The model is asked only for names that stay
unknown after this module has looked (:mod:`stock_agent.nodes`).

Matching rules (the same for every provider, so the tests of one hold for all):

- a company's *core name* is its name lower-cased, without punctuation and
  without corporate suffixes ("Apple Inc." → ``apple``, "The Coca-Cola
  Company" → ``coca cola``, "Berkshire Hathaway Inc." → ``berkshire hathaway``);
- the prompt matches a core name when the same words appear in sequence,
  optionally followed by corporate suffixes ("microsoft corp");
- the word after the match must end the phrase: the end of the text,
  punctuation, a possessive ("Apple's"), or a function or request word
  (:data:`stock_agent.understanding.parsing.STOPWORDS`: "and", "stock", "compare", ...).
  So "Apple pie recipe" does not name Apple: "pie" continues a different
  noun phrase. Longer names win over shorter ones at the same position.

Yahoo Finance is searched once per candidate phrase (at most
:data:`MAX_SEARCHES`), and a quote counts only when it is an equity whose
core name matches the phrase by the rules above; Yahoo's fuzzy ranking
alone never decides.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .parsing import STOPWORDS, canonical_ticker

logger = logging.getLogger(__name__)

MAX_SEARCHES = 3
SEARCH_RESULTS = 5

# Words that end a company name without being part of its core.
CORPORATE_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "com",
        "company",
        "companies",
        "ltd",
        "limited",
        "plc",
        "llc",
        "lp",
        "ag",
        "sa",
        "se",
        "nv",
        "holdings",
        "holding",
        "group",
        "the",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:'s)?", re.UNICODE)


def _words(text: str) -> list[str]:
    """Lower-case words; ``&`` and hyphens separate words ("Coca-Cola" → coca, cola)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return _WORD.findall(folded)


def core_name(company_name: str) -> tuple[str, ...]:
    """The words that identify a company: its name without suffixes and punctuation."""
    words = [w.removesuffix("'s") for w in _words(company_name)]
    while words and words[0] == "the":
        words.pop(0)
    while words and words[-1] in CORPORATE_SUFFIXES:
        words.pop()
    # A name like "Meta Platforms, Inc." keeps "platforms"; a short alias ("meta") is
    # ambiguous in English and is not added.
    return tuple(words)


@dataclass(frozen=True)
class NameMatch:
    """One company name found in a prompt: where, which symbol, which words."""

    start: int  # index of the first word
    end: int  # index after the last word (suffixes included)
    symbol: str


class CompanyNameIndex:
    """Core names → symbols, matched against a prompt's words by the module's rules."""

    def __init__(self, names: Mapping[str, str]) -> None:
        """``names`` maps a symbol to its company name."""
        self._by_core: dict[tuple[str, ...], str] = {}
        for symbol, name in names.items():
            core = core_name(name)
            if core:
                self._by_core.setdefault(core, symbol)
        self._longest = max((len(c) for c in self._by_core), default=0)

    def __len__(self) -> int:
        return len(self._by_core)

    def find(self, text: str) -> list[NameMatch]:
        """Every company name in ``text``, left to right, longest first at each word."""
        words = _words(text)
        matches: list[NameMatch] = []
        i = 0
        while i < len(words):
            match = self._match_at(words, i)
            if match is None:
                i += 1
                continue
            matches.append(match)
            i = match.end
        return matches

    def _match_at(self, words: Sequence[str], i: int) -> NameMatch | None:
        for size in range(min(self._longest, len(words) - i), 0, -1):
            window = words[i : i + size]
            possessive = window[-1].endswith("'s")
            core = (*window[:-1], window[-1].removesuffix("'s"))
            symbol = self._by_core.get(core)
            if symbol is None:
                continue
            end = i + size
            while (
                not possessive
                and end < len(words)
                and words[end].removesuffix("'s") in CORPORATE_SUFFIXES
            ):
                possessive = words[end].endswith("'s")
                end += 1
            if possessive or _ends_phrase(words, end):
                return NameMatch(start=i, end=end, symbol=symbol)
        return None


def _ends_phrase(words: Sequence[str], end: int) -> bool:
    """Nothing follows, or a function/request word does (never another noun)."""
    if end >= len(words):
        return True
    return words[end].removesuffix("'s").upper() in STOPWORDS


def candidate_phrases(text: str, *, known_symbols: Iterable[str] = ()) -> list[str]:
    """Runs of words that may name a company: no function words, no tickers."""
    known = frozenset(known_symbols)
    phrases: list[str] = []
    run: list[str] = []
    # Sentence punctuation ends a phrase ("Alpha, Beta"); hyphens and "&" do not.
    pieces = re.split(r"[,;:.!?()\[\]{}\"/]+", unicodedata.normalize("NFKC", text))
    tokens = [w for piece in pieces for w in [*_words(piece), ""]]
    for word in tokens:
        bare = word.removesuffix("'s")
        is_name_word = bool(bare) and bare.upper() not in STOPWORDS and bare.isalpha()
        if is_name_word and (canonical_ticker(bare) or "") not in known:
            run.append(bare)
            if word.endswith("'s"):
                phrases.append(" ".join(run))
                run = []
            continue
        if run:
            phrases.append(" ".join(run))
        run = []
    return [p for p in dict.fromkeys(phrases) if len(p) >= 2]


class NameLookup(Protocol):
    """How a data provider turns company names in a prompt into its symbols."""

    def resolve(self, text: str) -> list[NameMatch]: ...


class UniverseNames:
    """Names of a fixed universe (the simulated provider's companies)."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._index = CompanyNameIndex(names)

    def resolve(self, text: str) -> list[NameMatch]:
        return self._index.find(text)


SearchFunction = Callable[[str], Sequence[Mapping[str, Any]]]


def yfinance_search(query: str) -> Sequence[Mapping[str, Any]]:
    """Yahoo Finance's quote search (``yfinance.Search(...).quotes``); network."""
    import yfinance  # type: ignore[import-not-found,unused-ignore]

    search = yfinance.Search(query, max_results=SEARCH_RESULTS, news_count=0, lists_count=0)
    quotes: Sequence[Mapping[str, Any]] = search.quotes
    return quotes


class SearchNames:
    """Names found through a search API, accepted only when they match the phrase.

    ``search`` returns Yahoo-style quote dicts (``symbol``, ``quoteType``,
    ``longname``/``shortname``); a failing search resolves nothing (the model
    may still be asked) and is logged.
    """

    def __init__(self, search: SearchFunction = yfinance_search) -> None:
        self._search = search

    def resolve(self, text: str) -> list[NameMatch]:
        found: list[NameMatch] = []
        for phrase in candidate_phrases(text)[:MAX_SEARCHES]:
            try:
                quotes = self._search(phrase)
            except Exception as exc:  # the search is a convenience; never fail a request
                logger.warning(
                    "company-name search failed",
                    extra={"phrase_chars": len(phrase), "error": type(exc).__name__},
                )
                continue
            names = {
                str(q["symbol"]): str(q.get("longname") or q.get("shortname") or "")
                for q in quotes
                if isinstance(q, Mapping)
                and q.get("quoteType") == "EQUITY"
                and isinstance(q.get("symbol"), str)
                and canonical_ticker(str(q["symbol"])) is not None
            }
            index = CompanyNameIndex({canonical_ticker(s) or s: n for s, n in names.items() if n})
            matches = index.find(phrase)
            # The whole phrase must be the name: "apple pie recipe" is not Apple.
            if (
                len(matches) == 1
                and matches[0].start == 0
                and matches[0].end == len(_words(phrase))
            ):
                found.append(matches[0])
        return found


def resolve_names(text: str, lookup: NameLookup) -> list[str]:
    """The symbols of the companies ``text`` names, in order of mention, de-duplicated."""
    return list(dict.fromkeys(m.symbol for m in lookup.resolve(text)))


def name_lookup_for(provider: str, *, universe_names: Mapping[str, str]) -> NameLookup:
    """The lookup of a data provider: its universe's names, or Yahoo's search."""
    if provider == "yfinance":
        return SearchNames()
    return UniverseNames(universe_names)
