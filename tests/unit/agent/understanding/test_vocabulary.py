"""The vocabulary of aspects comes from the report's figure labels, and no text can hang it.

The labels are a real report's (the simulated reference ticker, analysed by
the real code); made-up groups show a label nobody wrote an alias for is
askable by its own words.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stock_agent.context import reference_figure_groups
from stock_agent.market_data import SIMULATED_UNIVERSE
from stock_agent.understanding.names import CompanyNameIndex
from stock_agent.understanding.parsing import parse_request
from stock_agent.understanding.vocabulary import (
    ALIASES,
    VERDICTS,
    Vocabulary,
    build_vocabulary,
    words,
)

REPORT = build_vocabulary(reference_figure_groups())


@pytest.mark.parametrize(
    ("text", "aspects"),
    [
        # a label's own words, with and without its parentheses and "ratio"
        ("what is the sharpe ratio", ("Sharpe Ratio (1Y)",)),
        ("sharpe?", ("Sharpe Ratio (1Y)",)),
        ("RSI (14)", ("RSI (14)",)),
        ("eps", ("EPS (TTM)",)),
        # the label that IS the phrase beats one derived from another label
        ("beta", ("Beta",)),
        ("correlation", ("Correlation vs {benchmark} (1Y)",)),
        # labels of one group that start alike, and a shared upper-case ending
        ("the macd", ("MACD Line", "MACD Signal", "MACD Histogram")),
        ("52 week figures", ("52-Week High", "52-Week Low")),
        ("sma levels", ("50-Day SMA", "200-Day SMA")),
        # the longest phrase at a position wins, and is not read again in parts
        ("forward p/e", ("Forward P/E",)),
        ("fcf margin", ("FCF Margin",)),
        ("52-week high", ("52-Week High",)),
        # aliases, a plural, and verdict words
        ("worst drop this year", ("Max Drawdown (1Y)",)),  # a period is the plan's to read
        ("their betas", ("Beta",)),
        ("why is the risk high", ("risk",)),
        ("is it expensive", ("fundamental",)),
        (
            "a group title: peer comparison",
            (
                "Sector Peers",
                "P/E Percentile",
                "Profit Margin Percentile",
                "1-Year Return Percentile",
                "Volatility Percentile",
            ),
        ),
        # a word several labels share but the verdicts use too names nothing alone
        ("the score", ()),
        ("its return", ()),  # the returns differ by period: the plan reads the period
        ("p/e", ("P/E Ratio",)),  # not the Forward P/E, although that label ends in P/E
        # a plural is forgiven from four letters on
        ("smas", ("50-Day SMA", "200-Day SMA")),
        ("pes", ()),
        # an alias and a verdict word of equal rank name both
        ("valuation", ("P/E Ratio", "fundamental")),
        # a one-word qualifier may come first
        ("ttm revenue", ("Revenue (TTM)",)),
        ("annualized volatility", ("Volatility (Annualized)",)),
        # nothing that names a figure
        ("write me a poem", ()),
        ("Analysis please", ()),  # a one-word group title is too common a word
        ("Give me a report on BRK-B", ()),  # a share class letter is no figure
        ("", ()),
    ],
)
def test_a_report_vocabulary_reads_labels_aliases_and_families(
    text: str, aspects: tuple[str, ...]
) -> None:
    assert REPORT.aspects_in(text) == aspects


def test_a_label_nobody_aliased_is_askable_by_its_own_words() -> None:
    vocab = build_vocabulary([("Solvency", ["Altman Z-Score", "Interest Coverage (TTM)"])])
    assert vocab.aspects_in("what's the altman z score?") == ("Altman Z-Score",)
    assert vocab.aspects_in("interest coverage") == ("Interest Coverage (TTM)",)
    assert vocab.aspects_in("beta") == ()  # no such figure in this report: no alias either
    assert vocab.aspects == ("Altman Z-Score", "Interest Coverage (TTM)", *VERDICTS)


def test_the_label_that_is_the_phrase_beats_an_alias_and_an_alias_beats_a_derived_one() -> None:
    exact = build_vocabulary([("G", ["Max Drawdown (1Y)", "Drawdown"])])
    assert exact.aspects_in("drawdown") == ("Drawdown",)  # a label, over another's alias
    alias = build_vocabulary([("G", ["Max Drawdown (1Y)", "Drawdown Ratio"])])
    assert alias.aspects_in("drawdown") == ("Max Drawdown (1Y)",)  # an alias, over "... Ratio"
    assert alias.aspects_in("drawdown ratio") == ("Drawdown Ratio",)


def test_derived_phrases_at_their_edges() -> None:
    vocab = build_vocabulary(
        [
            ("Coverage", ["Debt Service Coverage Ratio", "Interest Ratio"]),
            ("Averages", ["Short Term EMA", "Long Term EMA", "Fast MA", "Slow MA"]),
            ("Long", ["One Two Three Four Five Six", "Uno Dos Tres Cuatro Cinco Seis Siete"]),
        ]
    )
    assert [(m.start, m.end) for m in vocab.find("debt service coverage")] == [(0, 3)]
    assert vocab.aspects_in("ema") == ("Short Term EMA", "Long Term EMA")
    assert vocab.aspects_in("ma") == ("Fast MA", "Slow MA")  # two letters are enough
    assert vocab.aspects_in("one two three four five six") == ("One Two Three Four Five Six",)
    assert vocab.aspects_in("uno dos tres cuatro cinco seis siete") == ()  # past six words
    assert vocab.aspects_in("ratio") == ()  # the word dropped is not a name by itself


def test_capitals_of_a_label_are_figure_words_from_two_letters() -> None:
    vocab = build_vocabulary([("Value", ["EV to EBITDA", "Price (x)"])])
    assert {"EV", "EBITDA"} <= vocab.figure_words and "X" not in vocab.figure_words


def test_a_phrase_for_several_figures_names_only_those_the_report_has() -> None:
    without = build_vocabulary([("Market Data", ["Current Price", "Market Cap"])])
    assert without.aspects_in("52 week range") == ()
    assert REPORT.aspects_in("trading range") == ("52-Week High", "52-Week Low")


def test_an_alias_counts_only_for_a_label_the_report_carries() -> None:
    without = build_vocabulary(
        [(t, [label for label in ls if label != "Max Drawdown (1Y)"])
         for t, ls in reference_figure_groups()]
    )  # fmt: skip
    assert "Max Drawdown (1Y)" in ALIASES
    assert REPORT.aspects_in("drawdown") == ("Max Drawdown (1Y)",)
    assert without.aspects_in("drawdown") == ()


def test_figure_words_are_the_one_word_figure_names_in_upper_case() -> None:
    assert {"RSI", "MACD", "FCF", "EPS", "YTD", "SMA", "BETA", "PE"} <= REPORT.figure_words
    assert "TTM" in REPORT.figure_words  # a label's capitals, though only "ttm revenue" is a phrase
    assert "RISK" not in REPORT.figure_words  # a verdict word: "risk" is no ticker anyway
    assert "AAPL" not in REPORT.figure_words
    assert all(" " not in w and len(w) >= 2 for w in REPORT.figure_words)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What's the P/E?", ["what", "the", "p/e"]),
        ("Apple's RSI(14)", ["apple", "rsi", "14"]),
        ("Hệ số beta của Apple", ["hệ", "số", "beta", "của", "apple"]),
        ("52-week high", ["52", "week", "high"]),
        ("Analyze $FCF and its FCF", ["analyze", "and", "its", "fcf"]),
        ("", []),
    ],
)
def test_words_keep_slashes_and_letters_of_every_script(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_the_vocabulary_of_the_same_labels_is_built_once() -> None:
    assert build_vocabulary(reference_figure_groups()) is REPORT
    assert isinstance(REPORT, Vocabulary)


# --------------------------------------------------------------------------- no text hangs


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (rather than hang) when the body runs longer than ``seconds`` of wall time."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


NAMES = CompanyNameIndex({s: p.name for s, p in SIMULATED_UNIVERSE.items()})
# Pieces that exercise every branch: names and their suffixes, tickers, figure words,
# punctuation that ends a clause, possessives, letters of other scripts.
PIECES = st.sampled_from(
    [*"aAbBcCeEpPsStT $.,-_/'&?!()\n", "và", "ệ", "の", "apple", "inc", "co", "RSI", "'s",
     "home depot", "berkshire hathaway", "$AAPL", "BRK-B", "p/e", "52-week", "sma"]
)  # fmt: skip
PROMPTS = st.lists(PIECES, max_size=120).map("".join) | st.text(max_size=200)


@settings(max_examples=300, deadline=None)
@given(PROMPTS)
def test_no_text_makes_the_tokenizers_loop(text: str) -> None:
    """Every loop over a prompt finishes: the vocabulary, the names, the parser."""
    with time_limit(2.0):
        matches = REPORT.find(text)
        names = NAMES.find(text)
        parsed = parse_request(text, known_symbols=SIMULATED_UNIVERSE, max_tickers=10**6)
    count = len(words(text))
    assert all(0 <= m.start < m.end <= count for m in matches)
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    assert all(a.end <= b.start for a, b in itertools.pairwise(names))
    assert len(parsed.tickers) == len(set(parsed.tickers))


def test_the_time_limit_stops_a_loop_that_never_ends() -> None:
    with pytest.raises(TimeoutError), time_limit(0.2):
        while True:
            pass
