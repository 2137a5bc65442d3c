"""Graders: pure functions from what a turn expected and what it observed to a :class:`Grade`.

Deterministic graders live in :mod:`eval.graders.deterministic`, the
LLM-as-judge graders in :mod:`eval.graders.judge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["pass", "fail", "n/a"]


@dataclass(frozen=True)
class Grade:
    """One criterion's verdict on one turn; ``n/a`` when the criterion does not apply."""

    criterion: str
    outcome: Outcome
    detail: str = ""

    @classmethod
    def passed(cls, criterion: str, detail: str = "") -> Grade:
        return cls(criterion, "pass", detail)

    @classmethod
    def failed(cls, criterion: str, detail: str) -> Grade:
        return cls(criterion, "fail", detail)

    @classmethod
    def not_applicable(cls, criterion: str, detail: str = "") -> Grade:
        return cls(criterion, "n/a", detail)
