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
