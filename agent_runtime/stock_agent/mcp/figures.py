"""Which figure ``get_figure`` means: the record's labels and the conversation's words for them.

A caller may name a figure by its label as the report prints it ("P/E
Ratio", "RSI (14)", "Beta vs SPY (1Y)") or by a phrase the conversation
understands ("pe ratio", "price to earnings", "dividend"). Labels come from
the record (:func:`stock_agent.formatting.figure_groups`, so a benchmark's
name is in them); the phrases are the conversation's vocabulary
(:func:`stock_agent.understanding.vocabulary.build_vocabulary` over those
labels), used here through :func:`figure_named` alone.

Matching ignores case, spacing and punctuation ("52 week high" is "52-Week
High", "rsi14" is "RSI (14)") but is otherwise exact: a phrase names a figure
only when it is the whole of what was asked, never a part of it, and only
when it names one figure ("macd" names three: not enough for one row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import AgentError
from ..formatting import FigureRow, label_key
from ..understanding.vocabulary import build_vocabulary, words

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
    label = figure_named(asked, [(row["group"], row["label"]) for row in rows])
    if label is not None:
        return by_label[figure_key(label)]
    labels = ", ".join(row["label"] for row in rows)
    raise AgentError(
        "unknown_figure",
        f"{symbol} has no figure {asked[:60]!r}; ask for one of: {labels} "
        "(or the conversation's words for them, e.g. 'pe ratio', 'dividend', 'market cap')",
    )


def figure_named(asked: str, labels: Sequence[tuple[str, str]]) -> str | None:
    """The one label the whole of ``asked`` names in the conversation's vocabulary, or None.

    ``labels``: ``(group, label)`` of every figure, as the report groups them.
    """
    benchmark = next((lab.split(" vs ", 1)[1].split(" (")[0] for _, lab in labels
                      if lab.startswith("Beta vs ")), None)  # fmt: skip
    keys: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for group, label in labels:
        key = label_key(label, benchmark)
        keys[key] = label
        groups.setdefault(group, []).append(key)
    matches = build_vocabulary(groups.items()).find(asked)
    if len(matches) != 1 or (matches[0].start, matches[0].end) != (0, len(words(asked))):
        return None
    named = [keys[a] for a in matches[0].aspects if a in keys]
    return named[0] if len(named) == 1 else None
