"""Company names resolve to tickers without a model, and only when they really name one.

The simulated universe's names are matched offline; the yfinance provider's
search is replayed from recorded ``yfinance.Search(...).quotes`` results
(``tests/fixtures/yfinance_search``), so no test touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from stock_agent.context import Dependencies
from stock_agent.market_data import SIMULATED_UNIVERSE
from stock_agent.settings import AgentSettings
from stock_agent.understanding.names import (
    MAX_SEARCHES,
    CompanyNameIndex,
    SearchNames,
    UniverseNames,
    candidate_phrases,
    core_name,
    name_lookup_for,
    resolve_names,
)

from tests.support.paths import FIXTURES

RECORDED = json.loads((FIXTURES / "yfinance_search" / "quotes.json").read_text())
UNIVERSE = UniverseNames({s: p.name for s, p in SIMULATED_UNIVERSE.items()})


class RecordedSearch:
    """Replays recorded quote searches; unknown queries find nothing (as Yahoo would)."""

    def __init__(self, fail: bool = False) -> None:
        self.queries: list[str] = []
        self.fail = fail

    def __call__(self, query: str) -> Sequence[Mapping[str, Any]]:
        self.queries.append(query)
        if self.fail:
            raise ConnectionError("yahoo is down")
        return list(RECORDED.get(query, []))


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Apple", ["AAPL"]),
        ("Analyze Apple for investment purposes", ["AAPL"]),
        ("microsoft corp", ["MSFT"]),
        ("Microsoft Corporation's margins", ["MSFT"]),
        ("Berkshire Hathaway", ["BRK.B"]),
        ("berkshire hathaway inc.", ["BRK.B"]),
        ("Alphabet", ["GOOGL"]),
        ("How does Apple compare with Microsoft?", ["AAPL", "MSFT"]),
        ("Apple's outlook", ["AAPL"]),
        ("compare coca-cola and the home depot", ["KO", "HD"]),
        ("Johnson & Johnson stock", ["JNJ"]),
        ("Amazon", ["AMZN"]),  # "Amazon.com, Inc.": ".com" is a suffix too
        ("apple, apple and APPLE", ["AAPL"]),  # de-duplicated
        # names that must not resolve: another noun follows, or no company is named
        ("Apple pie recipe", []),
        ("apple juice prices", []),
        ("Berkshire", []),  # a part of a name is not the name
        ("Microsoftware", []),
        ("the alphabet song", []),
        ("", []),
    ],
)
def test_universe_names(prompt: str, expected: list[str]) -> None:
    assert resolve_names(prompt, UNIVERSE) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Analyze apple", ["AAPL"]),
        ("microsoft corp", ["MSFT"]),
        ("Berkshire Hathaway", ["BRK.B"]),  # BRK-B from Yahoo, canonical BRK.B
        ("Alphabet", ["GOOGL"]),  # the first of two equal names
        ("Apple pie recipe", []),  # Yahoo suggests AAPL; the phrase is not its name
        ("Vanguard", []),  # an ETF, not an equity
        ("Foobarco", []),  # Yahoo knows nothing
    ],
)
def test_yfinance_search_names_from_recorded_responses(prompt: str, expected: list[str]) -> None:
    search = RecordedSearch()
    assert resolve_names(prompt, SearchNames(search)) == expected
    assert len(search.queries) <= MAX_SEARCHES


def test_search_sends_one_query_per_phrase_at_most_three() -> None:
    search = RecordedSearch()
    resolve_names("Compare Alpha, Beta, Gamma and Delta", SearchNames(search))
    assert search.queries == ["alpha", "beta", "gamma"]


def test_a_failing_search_resolves_nothing_and_does_not_raise() -> None:
    assert resolve_names("Analyze apple", SearchNames(RecordedSearch(fail=True))) == []


def test_core_names_drop_suffixes_and_punctuation() -> None:
    assert core_name("The Coca-Cola Company") == ("coca", "cola")
    assert core_name("Berkshire Hathaway Inc.") == ("berkshire", "hathaway")
    assert core_name("Amazon.com, Inc.") == ("amazon",)
    assert candidate_phrases("How does Apple compare with Microsoft Corp?") == [
        "apple",
        "microsoft corp",
    ]


def test_the_provider_chooses_the_lookup() -> None:
    simulated = Dependencies.from_settings(AgentSettings())
    assert resolve_names("Apple", simulated.names) == ["AAPL"]
    assert isinstance(name_lookup_for("yfinance", universe_names={}), SearchNames)
    assert isinstance(name_lookup_for("simulated", universe_names={}), UniverseNames)


AGENT_NAMES = Dependencies.from_settings(AgentSettings()).names  # registered and common names
FIGURE_WORDS = frozenset({"OVERSOLD", "RSI", "BETA", "P/E"})


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # several names in one sentence, punctuation ending each one
        ("compare walmart, home depot and coca-cola", ["WMT", "HD", "KO"]),
        ("Walmart; Home Depot. Coca-Cola!", ["WMT", "HD", "KO"]),
        # the names people use, in any case
        ("how are exxon and pfizer doing", ["XOM", "PFE"]),
        ("berkshire vs jpmorgan", ["BRK.B", "JPM"]),
        ("compare berkshire hathaway with jp morgan", ["BRK.B", "JPM"]),
        ("how does Berkshire stack up against JPMorgan?", ["BRK.B", "JPM"]),
        # next to a figure word, which the caller names as a boundary
        ("is Nvidia oversold?", ["NVDA"]),
        ("nvidia rsi", ["NVDA"]),
        # inside sentences of other languages
        ("So sánh Apple và Microsoft", ["AAPL", "MSFT"]),
        ("Tesla dạo này thế nào?", ["TSLA"]),
        ("Compara Coca-Cola y Procter & Gamble", ["KO", "PG"]),
        ("Vergleiche Apple mit Microsoft", ["AAPL", "MSFT"]),
        # still not a name: another noun follows
        ("Apple pie recipe", []),
        ("exxon valdez", []),
        ("home improvement ideas", []),  # "home" alone names nobody
    ],
)
def test_names_in_sentences(prompt: str, expected: list[str]) -> None:
    assert resolve_names(prompt, AGENT_NAMES, boundaries=FIGURE_WORDS) == expected


def test_a_figure_word_ends_a_name_only_when_named_as_a_boundary() -> None:
    assert resolve_names("is Nvidia oversold?", AGENT_NAMES) == []
    assert resolve_names("is Nvidia oversold?", AGENT_NAMES, boundaries=FIGURE_WORDS) == ["NVDA"]


def test_a_name_never_spans_a_comma_and_a_suffix_stops_at_one() -> None:
    index = UniverseNames({"HD": "The Home Depot, Inc.", "AAPL": "Apple Inc."})
    assert resolve_names("home, depot", index) == []
    assert resolve_names("Apple, Inc. and home depot", index) == ["AAPL", "HD"]
    assert resolve_names("apple inc's margins", index) == ["AAPL"]


def test_search_phrases_leave_out_figure_words() -> None:
    assert candidate_phrases("is Nvidia oversold", boundaries=frozenset({"OVERSOLD"})) == ["nvidia"]


def test_a_name_ends_where_its_clause_does() -> None:
    """The suffix after a comma or a possessive is not part of the name's span."""
    index = CompanyNameIndex({"AAPL": "Apple Inc."})
    assert [(m.start, m.end) for m in index.find("Apple, Inc")] == [(0, 1)]
    assert [(m.start, m.end) for m in index.find("apple's inc")] == [(0, 1)]
    assert [(m.start, m.end) for m in index.find("x, apple inc")] == [(1, 3)]
    assert [(m.start, m.end) for m in index.find("apple inc, co")] == [(0, 2)]


def test_a_search_result_counts_only_as_an_equity_with_a_ticker_shaped_symbol() -> None:
    def search(query: str) -> list[dict[str, object]]:
        return [
            {"symbol": "SPDR", "quoteType": "ETF", "longname": "Spider"},
            {"symbol": "not a ticker!", "quoteType": "EQUITY", "longname": "Spider"},
            {"symbol": 7, "quoteType": "EQUITY", "longname": "Spider"},
            "junk",
        ]

    assert resolve_names("analyze spider", SearchNames(search)) == []
    assert resolve_names(
        "analyze spider",
        SearchNames(lambda q: [{"symbol": "SPDR", "quoteType": "EQUITY", "longname": "Spider"}]),
    ) == ["SPDR"]


def test_name_offsets_give_the_order_of_mention_with_written_tickers() -> None:
    from stock_agent.understanding.names import in_order_of_mention

    text = "compare Walmart, home depot, AMD and Apple"
    found = AGENT_NAMES.resolve(text)
    assert [(m.offset, m.symbol) for m in found] == [
        (text.index("Walmart"), "WMT"),
        (text.index("home"), "HD"),
        (text.index("Apple"), "AAPL"),
    ]
    # a ticker written at 29 sits between them, whatever the alphabet says
    assert in_order_of_mention([(text.index("AMD"), "AMD")], found) == ["WMT", "HD", "AMD", "AAPL"]
    assert in_order_of_mention([(0, "ZZ"), (9, "AA")], []) == ["ZZ", "AA"]


def test_search_phrases_are_two_letters_or_more() -> None:
    assert candidate_phrases("analyze ab") == ["ab"]
    assert candidate_phrases("analyze x") == []


def test_the_yahoo_search_asks_for_a_few_equities_and_no_news(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    from stock_agent.understanding.names import SEARCH_RESULTS, yfinance_search

    asked: dict[str, object] = {}

    class Search:
        def __init__(self, query: str, **kwargs: object) -> None:
            asked.update(query=query, **kwargs)
            self.quotes = [{"symbol": "AAPL"}]

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(Search=Search))
    assert yfinance_search("apple") == [{"symbol": "AAPL"}]
    assert asked == {"query": "apple", "max_results": 5, "news_count": 0, "lists_count": 0}
    assert SEARCH_RESULTS == 5


def test_a_name_at_the_end_of_the_text_ends_with_it() -> None:
    """The longest window at a position is what is left of the text, never more."""
    found = AGENT_NAMES.resolve("buy advanced micro devices")
    assert [(m.start, m.end) for m in found] == [(1, 4)]
    assert [(m.start, m.end) for m in AGENT_NAMES.resolve("buy apple")] == [(1, 2)]
