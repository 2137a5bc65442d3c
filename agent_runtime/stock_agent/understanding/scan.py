"""One left-to-right scan over the words of a prompt, shared by the name and figure matchers.

At each position not yet covered, the matcher is asked for the match that
starts there; a match covers its words up to its ``end``, so matches never
overlap and the first (leftmost, then longest, as the matcher chooses) wins.
The loop runs over ``range(count)``: no match and no text can make it go on
forever or step back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar


class Spanning(Protocol):
    """A match that ends before the word at ``end``."""

    @property
    def end(self) -> int: ...


M = TypeVar("M", bound=Spanning)


def scan(count: int, match_at: Callable[[int], M | None]) -> list[M]:
    """The matches of ``match_at`` over positions ``0 .. count - 1``, left to right."""
    found: list[M] = []
    taken_until = 0
    for start in range(count):
        if start < taken_until:
            continue
        match = match_at(start)
        if match is not None:
            found.append(match)
            taken_until = match.end
    return found
