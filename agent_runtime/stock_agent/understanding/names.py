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
- the match must end the phrase: at the end of the text, before sentence
  punctuation ("walmart, home depot"), at a possessive ("Apple's"), or before
  a function or request word (:data:`stock_agent.understanding.parsing.STOPWORDS`:
  "and", "stock", "compare", ...), a function word of another language
  (:data:`OTHER_LANGUAGE_WORDS`: "y", "và", "mit" ...), a verb that follows a
  name in a question (:data:`AFTER_NAME_VERBS`: "stack up"), a word with letters
  outside ASCII ("Tesla dạo này"), or a word the caller names as a boundary
  (the words of figures: "is Nvidia oversold?"). So "Apple pie recipe" does
  not name Apple: "pie" continues a different noun phrase. Longer names win
  over shorter ones at the same position.
- a company may have several names (:class:`UniverseNames` takes a list per
  symbol: "Exxon Mobil Corporation", "Exxon", "ExxonMobil").

Every loop here runs over a finite range (the words are walked by
:func:`~stock_agent.understanding.scan.scan`; no index is advanced by hand),
so no text can keep the matcher from finishing.

Yahoo Finance is searched once per candidate phrase (at most
:data:`MAX_SEARCHES`), and a quote counts only when it is an equity whose
core name matches the phrase by the rules above; Yahoo's fuzzy ranking
alone never decides.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .parsing import STOPWORDS, canonical_ticker
from .scan import scan

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
# A word followed (after spaces) by sentence punctuation ends a clause.
_TOKEN = re.compile(r"([^\W_]+(?:'s)?)(\s*[,;:.!?()\[\]{}\"/]+)?", re.UNICODE)

#: Function words of other languages that end a name as "and" does ("Apple y Microsoft").
OTHER_LANGUAGE_WORDS = frozenset(
    (
        *("y", "o", "e", "con", "contra", "entre", "del", "el", "la", "los", "las"),  # es
        *("et", "ou", "avec", "du", "des", "le", "les"),  # fr
        *("und", "oder", "mit", "gegen", "von", "der", "die", "das"),  # de
        *("com", "da", "do", "dos"),  # pt
        *("và", "với", "hay", "hoặc", "của", "là", "cho", "giúp"),  # vi
    )
)


def _words(text: str) -> list[str]:
    """Lower-case words; ``&`` and hyphens separate words ("Coca-Cola" → coca, cola)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return _WORD.findall(folded)


@dataclass(frozen=True)
class Token:
    """One word of a prompt, whether sentence punctuation follows it, and where it starts."""

    word: str
    ends_clause: bool
    offset: int = 0


def tokens(text: str) -> list[Token]:
    """The words of ``text`` as :func:`_words` splits them, each with its clause end."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return [Token(m.group(1), bool(m.group(2)), m.start(1)) for m in _TOKEN.finditer(folded)]


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
    offset: int  # where the name starts in the text (characters), for the order of mention


class CompanyNameIndex:
    """Core names → symbols, matched against a prompt's words by the module's rules."""

    def __init__(self, names: Mapping[str, str | Sequence[str]]) -> None:
        """``names`` maps a symbol to its company name (or to several names)."""
        self._by_core: dict[tuple[str, ...], str] = {}
        for symbol, given in names.items():
            for name in [given] if isinstance(given, str) else given:
                core = core_name(name)
                if core:
                    self._by_core.setdefault(core, symbol)
        self._longest = max((len(c) for c in self._by_core), default=0)

    def __len__(self) -> int:
        return len(self._by_core)

    def find(self, text: str, *, boundaries: frozenset[str] = frozenset()) -> list[NameMatch]:
        """Every company name in ``text``, left to right, longest first at each word.

        ``boundaries``: upper-case words that end a name (besides the module's).
        """
        words = tokens(text)
        return scan(len(words), lambda i: self._match_at(words, i, boundaries))

    def _match_at(
        self, words: Sequence[Token], i: int, boundaries: frozenset[str]
    ) -> NameMatch | None:
        for size in range(min(self._longest, len(words) - i), 0, -1):
            window = [t.word for t in words[i : i + size]]
            possessive = window[-1].endswith("'s")
            core = (*window[:-1], window[-1].removesuffix("'s"))
            symbol = self._by_core.get(core)
            if symbol is None or any(t.ends_clause for t in words[i : i + size - 1]):
                continue
            end = i + size
            for following in words[end:]:
                if possessive or words[end - 1].ends_clause:
                    break
                if following.word.removesuffix("'s") not in CORPORATE_SUFFIXES:
                    break
                possessive = following.word.endswith("'s")
                end += 1
            if possessive or _ends_phrase(words, end, boundaries):
                return NameMatch(start=i, end=end, symbol=symbol, offset=words[i].offset)
        return None


#: Verbs that follow a company's name in a question about it ("how does Berkshire stack up").
AFTER_NAME_VERBS = frozenset(
    (
        *("stack", "stacks", "compare", "compares", "rank", "ranks", "fare", "fares"),
        *("look", "looks", "trade", "trades", "trading", "perform", "performs", "performed"),
        *("performing", "doing", "going", "went", "rose", "fell", "gained", "lost"),
    )
)


def _ends_phrase(words: Sequence[Token], end: int, boundaries: frozenset[str]) -> bool:
    """Nothing follows, punctuation or a word that cannot continue a name does."""
    if end >= len(words) or words[end - 1].ends_clause:
        return True
    following = words[end].word.removesuffix("'s")
    return (
        following.upper() in STOPWORDS
        or following.upper() in boundaries
        or following in OTHER_LANGUAGE_WORDS
        or following in AFTER_NAME_VERBS
        or not following.isascii()
    )


def candidate_phrases(
    text: str, *, known_symbols: Iterable[str] = (), boundaries: frozenset[str] = frozenset()
) -> list[str]:
    """Runs of words that may name a company: no function words, no tickers, no figures."""
    known = frozenset(known_symbols) | boundaries
    phrases: list[str] = []
    run: list[str] = []
    # Sentence punctuation ends a phrase ("Alpha, Beta"); hyphens and "&" do not.
    pieces = re.split(r"[,;:.!?()\[\]{}\"/]+", unicodedata.normalize("NFKC", text))
    piece_words = [w for piece in pieces for w in [*_words(piece), ""]]
    for word in piece_words:
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

    def resolve(
        self, text: str, *, boundaries: frozenset[str] = frozenset()
    ) -> list[NameMatch]: ...


class UniverseNames:
    """Names of a fixed universe (the simulated provider's companies), several per symbol."""

    def __init__(self, names: Mapping[str, str | Sequence[str]]) -> None:
        self._index = CompanyNameIndex(names)

    def resolve(self, text: str, *, boundaries: frozenset[str] = frozenset()) -> list[NameMatch]:
        return self._index.find(text, boundaries=boundaries)


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

    def resolve(self, text: str, *, boundaries: frozenset[str] = frozenset()) -> list[NameMatch]:
        found: list[NameMatch] = []
        for phrase in candidate_phrases(text, boundaries=boundaries)[:MAX_SEARCHES]:
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
                offset = max(0, unicodedata.normalize("NFKC", text).lower().find(phrase))
                found.append(dataclasses.replace(matches[0], offset=offset))
        return found


def resolve_names(
    text: str, lookup: NameLookup, *, boundaries: frozenset[str] = frozenset()
) -> list[str]:
    """The symbols of the companies ``text`` names, in order of mention, de-duplicated."""
    return list(dict.fromkeys(m.symbol for m in lookup.resolve(text, boundaries=boundaries)))


def in_order_of_mention(
    tickers: Sequence[tuple[int, str]], names: Sequence[NameMatch]
) -> list[str]:
    """Tickers written as such (with their offsets) and named companies, as the text has them."""
    mentioned = sorted([*tickers, *((m.offset, m.symbol) for m in names)], key=lambda x: x[0])
    return list(dict.fromkeys(symbol for _, symbol in mentioned))


def name_lookup_for(
    provider: str, *, universe_names: Mapping[str, str | Sequence[str]]
) -> NameLookup:
    """The lookup of a data provider: its universe's names, or Yahoo's search."""
    if provider == "yfinance":
        return SearchNames()
    return UniverseNames(universe_names)
