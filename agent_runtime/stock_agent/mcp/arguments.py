"""A tool call's arguments, checked by the rules the HTTP contract applies to a prompt.

A tool's arguments come from another program (often a model), so they are
checked as strictly as a payload: an object with exactly the tool's
arguments (``invalid_payload`` names a missing or unknown one), text through
:func:`stock_agent.contract.checked_text` (empty, control or invisible
characters: the same codes and wording as a prompt), a ticker through the
parser's :func:`~stock_agent.understanding.parsing.canonical_ticker` and the
ticker limit through
:func:`~stock_agent.understanding.parsing.check_ticker_count`. Whether the
provider knows the ticker is the data-gathering tool's to say
(``unknown_ticker``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..contract import checked_text
from ..errors import AgentError
from ..settings import MAX_TICKERS_PER_REQUEST
from ..understanding.parsing import MAX_SYMBOL_CHARS, canonical_ticker, check_ticker_count

# A comparison needs two tickers at least; the most is the request limit.
MIN_COMPARE_SYMBOLS = 2
# The longest figure name accepted ("Correlation vs SIM_INDEX (1Y)" is 29 characters).
MAX_FIGURE_CHARS = 80


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def checked_arguments(
    arguments: Any, *, tool: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    """``arguments`` as a dict, with every ``required`` name and nothing unknown."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise AgentError(
            "invalid_payload",
            f"the arguments of {tool} must be a JSON object, not {_type_name(arguments)}",
        )
    known = (*required, *optional)
    unknown = sorted(str(name)[:40] for name in arguments if name not in known)
    if unknown:
        raise AgentError(
            "invalid_payload",
            f"{tool} has no argument {', '.join(repr(n) for n in unknown[:5])}; "
            f"it takes {', '.join(repr(n) for n in known)}",
        )
    for name in required:
        if name not in arguments:
            raise AgentError("invalid_payload", f"the arguments of {tool} have no '{name}'")
    return dict(arguments)


def symbol_argument(value: Any, *, name: str = "symbol") -> str:
    """The canonical ticker of ``value`` (``brk-b`` -> ``BRK.B``, ``$msft`` -> ``MSFT``)."""
    text = checked_text(value, name=name)
    symbol = canonical_ticker(text)
    if symbol is None:
        raise AgentError(
            "no_ticker",
            f"'{name}' is not a stock ticker: {text[:40]!r} (letters and digits, at most "
            f"{MAX_SYMBOL_CHARS} characters, parts joined by '.' or '_', e.g. AAPL, BRK.B, "
            "SIM_STOCK)",
        )
    return symbol


def symbols_argument(value: Any, *, name: str = "symbols") -> tuple[str, ...]:
    """Two to :data:`~stock_agent.settings.MAX_TICKERS_PER_REQUEST` distinct tickers, in order."""
    if not isinstance(value, list):
        raise AgentError(
            "invalid_payload",
            f"'{name}' must be an array of ticker strings, not {_type_name(value)}",
        )
    symbols = list(
        dict.fromkeys(symbol_argument(item, name=f"{name}[{i}]") for i, item in enumerate(value))
    )
    check_ticker_count(symbols, max_tickers=MAX_TICKERS_PER_REQUEST)
    if len(symbols) < MIN_COMPARE_SYMBOLS:
        found = f": {', '.join(symbols)}" if symbols else ""
        raise AgentError(
            "invalid_payload",
            f"'{name}' needs {MIN_COMPARE_SYMBOLS} to {MAX_TICKERS_PER_REQUEST} distinct "
            f"tickers to compare; found {len(symbols)}{found}",
        )
    return tuple(symbols)


def flag_argument(value: Any, *, name: str) -> bool:
    """A boolean argument (``true``/``false``, nothing else)."""
    if not isinstance(value, bool):
        raise AgentError(
            "invalid_payload", f"'{name}' must be true or false, not {_type_name(value)}"
        )
    return value


def figure_argument(value: Any, *, name: str = "figure") -> str:
    """The figure name asked for, as text (which figure it is, :mod:`.figures` decides)."""
    return checked_text(value, name=name, max_chars=MAX_FIGURE_CHARS)
