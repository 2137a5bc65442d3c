"""JSON from outside, parsed only when it nests no deeper than a fixed limit.

The standard parser recurses once per level of nesting, so how deep a
document may go rests on the interpreter's recursion limit: ``[`` x 5,000
raises ``RecursionError`` on Python 3.11 and parses on 3.13, and ``[`` x
100,000 kills whatever called it. :func:`loads` measures the depth first,
with one regular-expression pass and a counter (no recursion, linear time:
strings are skipped whole, so brackets inside them do not count), and
refuses a document deeper than ``max_depth`` with :class:`JsonTooDeep`, a
``ValueError`` like every other malformed document, so callers that already
handle bad JSON handle this too.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deeper than anything this project sends or stores (a response nests about 8 levels).
MAX_JSON_DEPTH = 64
# A whole string literal (escapes included), or one bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset("[{")


class JsonTooDeep(ValueError):
    """The document nests deeper than the limit; nothing was parsed."""


def json_depth(text: str | bytes, *, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar).

    With ``stop_above``, counting stops as soon as the depth exceeds it. For a
    malformed document (an unterminated string) the count is an estimate;
    the parser rejects such a document anyway.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif token[0] != '"':
            depth -= 1
    return deepest


def check_depth(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` when ``text`` nests deeper than ``max_depth``."""
    if json_depth(text, stop_above=max_depth) > max_depth:
        raise JsonTooDeep(f"the JSON nests deeper than {max_depth} levels")


def loads(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """``json.loads(text, **kwargs)`` after :func:`check_depth`; never a ``RecursionError``."""
    check_depth(text, max_depth=max_depth)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:  # a smaller stack than the limit assumes: still bad input
        raise JsonTooDeep("the JSON nests too deeply for this interpreter") from None
