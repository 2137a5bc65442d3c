"""Deterministic reading of a free-text request: which words are tickers.

What the request asks (its intent, figures, comparisons) is the request plan's
(:mod:`stock_agent.understanding.plan`); this module only tells tickers from words.

The public sample upper-cased the prompt and took the first 2–5 letter word,
so "Can you analyze MSFT" became ``CAN`` and ``BRK.B`` failed. This parser
reads every word and decides, by the rules below, whether it is a ticker.

Rules (in order, per word):

1. ``$AAPL`` (a ``$`` prefix) is always a ticker, in any case, even ``$A``.
2. A word in :data:`STOPWORDS` (English function words and request words
   such as CAN, YOU, ANALYZE, STOCK, COMPARE, REPORT) is never a ticker
   without the ``$``: to analyse Agilent (``A``) write ``$A``. Nor is a word
   that names a figure of the report (``figure_words``: RSI, MACD, FCF, EPS,
   YTD, SMA ...): "and its FCF margin?" asks about a figure; a real ticker
   spelt like one is written ``$FCF``.
3. A word whose canonical form is a symbol the data provider knows
   (``known_symbols``) is a ticker, whatever its case: ``msft``, ``Msft``.
4. Otherwise an UPPER-CASE word is a ticker when it has 2–5 letters
   (``XYZQ``) or a ticker's separators (``BRK.B``, ``BRK-B``, ``SIM_STOCK``).
   Upper-case words with digits (``Q3``, ``H100``) are not.
5. Otherwise a lower/mixed-case word is a ticker only when it is written like
   one: an underscore symbol (``sim_stock``) or a share-class suffix of one
   letter (``brk-b``, ``bf.b``). Plain lower-case words ("and", "it", "a",
   "apple") and ordinary hyphenated words ("long-term") are not; digits alone
   do not make a lower-case word a ticker ("h100", "mp3").

A word is a run of ASCII letters and digits that no other Latin letter
touches: the "v" of the Vietnamese "với" is not a word (it would read as
Visa), while "NVDA" in "NVDAの株" is.

Canonical form: upper case; a share-class or exchange suffix is written with a
dot, so ``BRK-B`` and ``brk.b`` all become ``BRK.B`` (the form the
data providers take; each provider maps it to its own source's spelling).

Tickers are de-duplicated in order of first mention; more than
:data:`~stock_agent.settings.MAX_TICKERS_PER_REQUEST` is an error. When no
ticker is found but words remain that may name a company ("analyze apple"),
:attr:`ParsedRequest.company_hints` holds them: the request plan is then unsure, and a
configured model is asked to fill it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import AgentError
from ..settings import MAX_TICKERS_PER_REQUEST

# Latin letters of any accent (Vietnamese included): a word is never cut out of one of them.
_LATIN = "A-Za-z0-9\u00c0-\u024f\u1e00-\u1eff"
# A word as written: optional $, a letter, then letters/digits, optionally joined by . _ -
# ("P/E" is two words: a slash never joins a ticker.)
_WORD_RE = re.compile(
    rf"(?<![{_LATIN}$])(\$?)([A-Za-z][A-Za-z0-9]*(?:[._\-][A-Za-z0-9]+)*)(?![{_LATIN}])"
)
# Share class / exchange suffix written with a hyphen (BRK-B, RDS-A) -> BRK.B
_CLASS_SUFFIX_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})-([A-Z]{1,2})$")
_CANONICAL_RE = re.compile(r"[A-Z][A-Z0-9]{0,9}(?:[._][A-Z0-9]{1,10}){0,2}")
MAX_SYMBOL_CHARS = 15


def _word_set(text: str) -> frozenset[str]:
    """A set of words written as a block of text (easier to review than a list literal)."""
    return frozenset(text.split())


STOPWORDS: frozenset[str] = _word_set(
    """
    A ABOUT ABOVE AFTER AGAIN AGAINST ALL ALSO AM AN AND ANY ARE AS AT BE BEEN BEFORE BEING
    BELOW BETWEEN BOTH BUT BY CAN COULD DID DO DOES DOING DONE DOWN DURING EACH FEW FOR FROM
    FURTHER GET GIVE GO GOOD HAD HAS HAVE HAVING HE HER HERE HERS HIM HIS HOW I IF IN INTO IS
    IT ITS JUST LET LIKE MAKE ME MORE MOST MUCH MUST MY NEED NO NOR NOT NOW OF OFF OK OKAY ON
    ONCE ONLY OR OTHER OUR OUT OVER OWN PLEASE RE S SAME SHE SHOULD SO SOME SUCH T THAN THANK
    THANKS THAT THE THEIR THEM THEN THERE THESE THEY THIS THOSE THROUGH TO TOO UNDER UNTIL UP
    US USE VERY WANT WAS WE WELL WERE WHAT WHEN WHERE WHICH WHILE WHO WHOM WHY WILL WITH WOULD
    YES YOU YOUR YOURS
    ANALYZE ANALYSE ANALYZING ANALYSING ANALYSIS ANALYSES ANALYST ASSESS ASSESSMENT BUY CHECK
    COMPANY COMPANIES COMPARE COMPARING COMPARISON DATA DETAILED EQUITY EVALUATE EVALUATION
    FULL HOLD INFO INFORMATION INVEST INVESTING INVESTMENT INVESTOR LOOK MARKET NEWS OUTLOOK
    PERFORMANCE PLEASE PORTFOLIO PRICE PRICES PURPOSE PURPOSES QUICK RATE REPORT REPORTS
    RESEARCH REVIEW RISK SELL SHARE SHARES SHORT LONG SHOW STOCK STOCKS SUMMARY SUMMARIZE
    TELL TERM TICKER TICKERS TODAY VALUATION VERSUS VS WEEK YEAR
    AI CEO CFO ETF EPS ESG GDP IPO NASDAQ NYSE PDF PE SEC USD EUR YTD USA UK EU TLDR FYI ASAP
    U.S E.G I.E A.M P.M U.K N.A
    """
)

# Words that show the user wants an analysis; with them, leftover words may name a company.
_INTENT_WORDS = _word_set(
    """ANALYZE ANALYSE ANALYSIS ANALYZING ANALYSING ASSESS COMPARE COMPARING COMPARISON EVALUATE
    INVEST INVESTMENT OUTLOOK PERFORMANCE PRICE REPORT RESEARCH REVIEW SHARE SHARES STOCK
    STOCKS VALUATION"""
)


@dataclass(frozen=True)
class ParsedRequest:
    """What the deterministic parser understood from one prompt."""

    tickers: tuple[str, ...]
    # Where each ticker is first written (characters): the order of mention with names.
    offsets: tuple[int, ...] = ()
    # Words left over that may name a company ("apple"); only used when no ticker was found.
    company_hints: tuple[str, ...] = ()
    # Known symbols written as a stop word ("Analyze T"): the error suggests "$T".
    dollar_hints: tuple[str, ...] = ()


def canonical_ticker(raw: str) -> str | None:
    """The canonical spelling of a ticker-shaped string, or ``None`` if it cannot be one.

    Upper-cases, drops a leading ``$``, and writes a share-class suffix with a
    dot (``brk-b`` → ``BRK.B``).
    """
    text = raw.strip().removeprefix("$").upper()
    text = _CLASS_SUFFIX_RE.sub(r"\1.\2", text)
    if len(text) > MAX_SYMBOL_CHARS or not _CANONICAL_RE.fullmatch(text):
        return None
    return text


def _is_ticker_word(word: str, canon: str, known: frozenset[str]) -> bool:
    """Rules 2–5 of the module docstring (rule 1, the ``$``, is handled by the caller)."""
    if canon in STOPWORDS:
        return False
    if canon in known:
        return True
    has_separator = "." in canon or "_" in canon
    if word.isupper():
        return has_separator or (canon.isalpha() and 2 <= len(canon) <= 5)
    if "_" in canon:
        return True
    if "." in canon:
        root, _, suffix = canon.partition(".")
        return len(suffix) == 1 and root.isalpha() and len(root) <= 5
    return False


def parse_request(
    prompt: str,
    *,
    known_symbols: Iterable[str] = (),
    figure_words: Iterable[str] = (),
    max_tickers: int = MAX_TICKERS_PER_REQUEST,
) -> ParsedRequest:
    """Find the tickers and the intent in ``prompt`` by the module's rules.

    ``figure_words``: upper-case words that name a figure (rule 2). Raises
    :class:`AgentError` ``too_many_tickers`` when more than ``max_tickers``
    distinct tickers are named. Finding none is not an error here: the graph
    decides between asking the model and ``no_ticker``.
    """
    known = frozenset(known_symbols)
    figures = frozenset(figure_words)
    tickers: list[str] = []
    offsets: list[int] = []
    leftovers: list[str] = []
    dollar_hints: list[str] = []
    intent_word = False
    for match in _WORD_RE.finditer(prompt):
        dollar, word = match.group(1), match.group(2)
        upper = word.upper()
        intent_word = intent_word or upper in _INTENT_WORDS
        canon = canonical_ticker(word)
        if not dollar and upper in figures:
            continue  # a figure's name, not a ticker and not a company
        if canon is not None and (dollar or _is_ticker_word(word, canon, known)):
            if canon not in tickers:
                tickers.append(canon)
                offsets.append(match.start())
        elif upper not in STOPWORDS and word.isalpha() and len(word) >= 2:
            leftovers.append(word)
        elif canon is not None and canon in known and word.isupper() and canon not in dollar_hints:
            dollar_hints.append(canon)  # "T" is a stop word and AT&T's ticker
    check_ticker_count(tickers, max_tickers=max_tickers)
    # Leftover words only hint at a company when the user asked for an analysis
    # or capitalised a name ("How is Apple doing?").
    plausible = intent_word or any(w[0].isupper() for w in leftovers)
    hints = tuple(leftovers) if plausible else ()
    return ParsedRequest(
        tickers=tuple(tickers),
        offsets=tuple(offsets),
        company_hints=hints,
        dollar_hints=tuple(dollar_hints),
    )


def check_ticker_count(
    tickers: Sequence[str], *, max_tickers: int = MAX_TICKERS_PER_REQUEST
) -> None:
    """``too_many_tickers`` when ``tickers`` (distinct, canonical) are more than allowed.

    The one wording of the limit, whether the tickers came from a prompt or
    from a tool's ``symbols`` argument.
    """
    if len(tickers) > max_tickers:
        raise AgentError(
            "too_many_tickers",
            f"at most {max_tickers} tickers per request; found {len(tickers)}: "
            + ", ".join(tickers),
        )


def no_ticker_error(
    *,
    prompt_hints: tuple[str, ...] = (),
    model_asked: bool = False,
    dollar_hints: tuple[str, ...] = (),
) -> AgentError:
    """The ``no_ticker`` error, telling the user how to name a ticker.

    When the prompt has a known symbol that is also a stop word ("T", AT&T),
    the message says to write it with a ``$``.
    """
    if dollar_hints:
        written = " and ".join(f"${s}" for s in dollar_hints[:3])
        return AgentError(
            "no_ticker",
            "no stock ticker found in the request: "
            + ", ".join(f"'{s}'" for s in dollar_hints[:3])
            + " is read as an ordinary word; to analyse that ticker write it with a $, "
            f"e.g. 'Analyze {written}'",
        )
    detail = ""
    if prompt_hints and not model_asked:
        detail = (
            f" ('{' '.join(prompt_hints[:3])}' may name a company, but no model is "
            "configured to look up its ticker)"
        )
    elif prompt_hints:
        detail = " (the model could not map the company name to a known ticker)"
    return AgentError(
        "no_ticker",
        "no stock ticker found in the request"
        + detail
        + "; name one, e.g. 'Analyze SIM_STOCK' or 'Compare $AAPL and BRK.B'",
    )
