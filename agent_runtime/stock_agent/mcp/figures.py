"""Which figure ``get_figure`` means: the record's labels and the conversation's words for them.

A caller may name a figure by its label as the report prints it ("P/E
Ratio", "RSI (14)", "Beta vs SPY (1Y)") or by a phrase the conversation
understands ("pe ratio", "price to earnings", "dividend"). Labels come from
the record (:func:`stock_agent.formatting.figure_groups`, so a benchmark's
name is in them); the phrases are the conversation's vocabulary, imported
here and nowhere else in this wing, so switching the MCP tool to another
vocabulary is a change to :data:`FIGURE_PHRASES` alone.

Matching ignores case, spacing and punctuation ("52 week high" is "52-Week
High", "rsi14" is "RSI (14)") but is otherwise exact: a phrase names a figure
only when it is the whole of what was asked, never a part of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..answering.conversation import FIGURE_TOPICS
from ..errors import AgentError
from ..formatting import FigureRow

# Label -> the phrases a user writes for it (the conversation's vocabulary).
FIGURE_PHRASES: Mapping[str, Sequence[str]] = FIGURE_TOPICS

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def figure_key(text: str) -> str:
    """``"52-Week High"`` and ``" 52 week high?"`` -> ``"52weekhigh"``."""
    return _NOT_ALNUM.sub("", text.casefold())


def find_figure(asked: str, rows: Sequence[FigureRow], *, symbol: str) -> FigureRow:
    """The row of ``rows`` that ``asked`` names, or ``unknown_figure`` listing the labels."""
    key = figure_key(asked)
    by_label = {figure_key(row["label"]): row for row in rows}
    if key in by_label:
        return by_label[key]
    for label, phrases in FIGURE_PHRASES.items():
        if any(figure_key(p) == key for p in phrases) and figure_key(label) in by_label:
            return by_label[figure_key(label)]
    labels = ", ".join(row["label"] for row in rows)
    raise AgentError(
        "unknown_figure",
        f"{symbol} has no figure {asked[:60]!r}; ask for one of: {labels} "
        "(or the conversation's words for them, e.g. 'pe ratio', 'dividend', 'market cap')",
    )
