"""The one left-to-right scan: covered words are skipped, and no matcher can make it loop."""

from __future__ import annotations

from dataclasses import dataclass

from stock_agent.understanding.scan import scan


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def test_a_match_covers_its_words_and_the_next_starts_after_it() -> None:
    spans = {0: Span(0, 2), 1: Span(1, 3), 2: Span(2, 3), 4: Span(4, 5)}
    asked: list[int] = []

    def match_at(i: int) -> Span | None:
        asked.append(i)
        return spans.get(i)

    assert scan(6, match_at) == [Span(0, 2), Span(2, 3), Span(4, 5)]
    assert asked == [0, 2, 3, 4, 5]  # 1 is covered by the first match, never asked


def test_nothing_to_scan_and_nothing_found() -> None:
    assert scan(0, lambda i: Span(i, i + 1)) == []
    assert scan(3, lambda i: None) == []


def test_a_matcher_that_ends_before_it_starts_cannot_make_the_scan_loop() -> None:
    found = scan(4, lambda i: Span(i, 0))
    assert found == [Span(0, 0), Span(1, 0), Span(2, 0), Span(3, 0)]  # one per position
