"""The reward of a narrative: one pure function shared by training (GRPO) and evaluation.

``reward(narrative, record)`` scores a narrative against the record it was
written from, in ``[0, 1]``, as a weighted sum of three named parts:

``faithfulness`` (weight :data:`WEIGHTS` ``["faithfulness"]``)
    the number check of :mod:`stock_agent.answering.narrative`: the share of numeric
    tokens that are figures of the record, scaled down while fewer than
    :data:`MIN_FIGURES` figures are quoted (a text that quotes nothing cannot
    be faithful to the numbers, and must not out-score one that quotes them).
    A narrative the check would reject for an invented figure keeps only
    :data:`REJECTED_FACTOR` of that; one it rejects for being empty or too
    long scores 0.
``coverage``
    the four points a report must make: trend, valuation, risk, outlook.
    A point counts when the narrative speaks of it and names no label that
    contradicts the record (an "uptrend" for a stock in a downtrend does not
    cover the trend).
``format``
    the share of three rules met: length within
    [:data:`MIN_WORDS`, :data:`MAX_WORDS`] words, no investment-advice
    phrasing, no markdown (the PDF renders plain paragraphs).

``record`` is the run record's ``record`` object (``narrative_input`` plus
``allowed_figures``) or the narrative input alone; either way the allowed
figures are the ones the live check used. What we train for is what we
measure, so the evaluation harness imports this module too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..answering.number_check import check_narrative, invented_figures, payload_figures
from ..formatting import extract_number_tokens

WEIGHTS: Mapping[str, float] = {"faithfulness": 0.5, "coverage": 0.3, "format": 0.2}
REJECTED_FACTOR = 0.5
MIN_FIGURES = 3
MIN_WORDS = 100
MAX_WORDS = 300
REQUIRED_POINTS = ("trend", "valuation", "risk", "outlook")

_TREND_LABELS = {
    "uptrend": re.compile(r"\b(up-?trend|upward trend|trending (?:up|higher))\b", re.I),
    "downtrend": re.compile(r"\b(down-?trend|downward trend|trending (?:down|lower))\b", re.I),
    "sideways": re.compile(r"\b(sideways|range-?bound|flat trend)\b", re.I),
}
_TREND_TOPIC = re.compile(r"\btrend", re.I)
_VALUATION_LABELS = {
    "undervalued": re.compile(r"\b(undervalued|cheap(?:ly valued)?)\b", re.I),
    "fair": re.compile(r"\b(fairly valued|fair valuation|fair value)\b", re.I),
    "expensive": re.compile(r"\b(overvalued|expensive|richly valued)\b", re.I),
}
_VALUATION_TOPIC = re.compile(r"\b(valuation|valued|P/E)\b", re.I)
_RISK_LABELS = {
    "LOW": re.compile(
        r"\blow(?:er)?[- ]risk\b|\brisk (?:level |profile )?(?:is |as )?(?:rated )?low\b", re.I
    ),
    "MEDIUM": re.compile(
        r"\b(?:medium|moderate)[- ]risk\b|\brisk (?:level |profile )?(?:is |as )?(?:rated )?"
        r"(?:medium|moderate)\b",
        re.I,
    ),
    "HIGH": re.compile(
        r"\bhigh(?:er)?[- ]risk\b|\brisk (?:level |profile )?(?:is |as )?(?:rated )?high\b", re.I
    ),
}
_RISK_TOPIC = re.compile(r"\brisk", re.I)
_OUTLOOK_LABELS = {
    label: re.compile(rf"\boutlook\W+(?:\w+\W+){{0,3}}?{label}\b|\b{label} outlook\b", re.I)
    for label in ("positive", "neutral", "negative")
}
_OUTLOOK_TOPIC = re.compile(r"\boutlook\b", re.I)

# Phrases that tell the reader what to do with the stock (the prompt forbids them).
ADVICE_PATTERNS = (
    re.compile(r"\b(we|i) (strongly )?(recommend|advise|suggest)\b", re.I),
    re.compile(r"\byou should\b", re.I),
    re.compile(r"\b(strong )?(buy|sell|hold|accumulate|outperform|underperform) rating\b", re.I),
    re.compile(r"\brat(e|ing) (it|the stock|the shares)? ?(a )?(buy|sell|hold)\b", re.I),
    re.compile(
        r"\b(buy|sell|hold|accumulate|add to|trim) (the |this |these )?(stock|shares)\b", re.I
    ),
    re.compile(r"\b(is|looks like) a (strong )?(buy|sell|hold)\b", re.I),
    re.compile(r"\bprice target\b", re.I),
    re.compile(r"\binvestors should\b", re.I),
    re.compile(r"\b(buy|sell) (it |them )?(now|today|immediately)\b", re.I),
)
# Text that speaks to the model instead of about the stock: an instruction to drop its
# rules, a claim to be a system or developer message, a chat-template token. A narrative
# or a record's text (company name, rationale) with one of these is not training data.
INJECTION_PATTERNS = (
    re.compile(
        r"\b(ignore|disregard|forget|override|bypass)\b\W+(?:\w+\W+){0,4}?"
        r"(instructions?|rules|prompts?|guidelines|directions)\b",
        re.I,
    ),
    re.compile(r"\b(system|developer) (prompt|message|instructions?)\b", re.I),
    re.compile(r"\byou are now\b|\bnew instructions?\b|\bfrom now on\b", re.I),
    re.compile(r"<\|[a-z_]{1,20}\|>"),  # gpt-oss (harmony) and similar special tokens
    re.compile(r"^\s*(system|assistant|developer)\s*:", re.I | re.M),
)
# Markdown a reportlab Paragraph would print literally.
MARKDOWN_PATTERNS = (
    re.compile(r"^\s{0,3}#{1,6}\s", re.M),  # headings
    re.compile(r"^\s*[-*+]\s+\S", re.M),  # bullets
    re.compile(r"^\s*\d+[.)]\s+\S", re.M),  # numbered lists
    re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"),  # bold
    re.compile(r"`"),  # code
    re.compile(r"^\s*\|.*\|\s*$", re.M),  # tables
    re.compile(r"\[[^\]\n]+\]\([^)\n]+\)"),  # links
)


class RewardInputError(ValueError):
    """The record has no narrative input or allowed figures to score against."""


@dataclass(frozen=True)
class RewardParts:
    """The named parts (each in [0, 1]) and their weighted total."""

    faithfulness: float
    coverage: float
    format: float
    total: float
    invented: tuple[str, ...] = ()
    missing_points: tuple[str, ...] = ()
    format_issues: tuple[str, ...] = ()


def _payload_and_allowed(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], frozenset[str]]:
    payload = record.get("narrative_input", record)
    if not isinstance(payload, Mapping) or "key_figures" not in payload:
        raise RewardInputError(
            "record: expected narrative_input (or the input itself) with key_figures"
        )
    listed = record.get("allowed_figures", ())
    if not isinstance(listed, (list, tuple, frozenset, set)):
        raise RewardInputError("record.allowed_figures: expected a list of strings")
    return payload, frozenset(str(a) for a in listed) | payload_figures(payload)


def faithfulness(text: str, allowed: frozenset[str]) -> tuple[float, tuple[str, ...]]:
    """Share of numeric tokens that are allowed; scaled or zeroed as the number check rules."""
    rejection = check_narrative(text, allowed=allowed)
    invented = tuple(invented_figures(text, allowed=allowed))
    if rejection is not None and not invented:  # empty or too long: unusable
        return 0.0, ()
    tokens = extract_number_tokens(text)
    quoted = len(tokens) - len(invented)
    share = 0.0 if not tokens else quoted / len(tokens)
    share *= min(1.0, quoted / MIN_FIGURES)
    return (share * REJECTED_FACTOR if invented else share), invented


def _labels(patterns: Mapping[str, re.Pattern[str]], text: str) -> set[str]:
    return {label for label, pattern in patterns.items() if pattern.search(text)}


def covered_points(text: str, payload: Mapping[str, Any]) -> dict[str, bool]:
    """Whether each required point is made without contradicting the record."""
    technical = payload.get("technical") or {}
    fundamental = payload.get("fundamental") or {}

    def point(topic: re.Pattern[str], labels: Mapping[str, re.Pattern[str]], truth: Any) -> bool:
        named = _labels(labels, text)
        if named - {truth}:
            return False
        return bool(named) or bool(topic.search(text))

    return {
        "trend": point(_TREND_TOPIC, _TREND_LABELS, technical.get("trend")),
        "valuation": point(_VALUATION_TOPIC, _VALUATION_LABELS, fundamental.get("valuation")),
        "risk": point(_RISK_TOPIC, _RISK_LABELS, payload.get("risk_level")),
        "outlook": point(_OUTLOOK_TOPIC, _OUTLOOK_LABELS, payload.get("outlook")),
    }


def gives_advice(text: str) -> bool:
    """``text`` tells the reader what to do with the stock (:data:`ADVICE_PATTERNS`)."""
    return any(p.search(text) for p in ADVICE_PATTERNS)


def speaks_to_the_model(text: str) -> bool:
    """``text`` carries an instruction to a model (:data:`INJECTION_PATTERNS`)."""
    return any(p.search(text) for p in INJECTION_PATTERNS)


def format_issues(text: str) -> tuple[str, ...]:
    """Which format rules ``text`` breaks: ``length``, ``advice``, ``markdown``."""
    issues = []
    words = len(text.split())
    if not MIN_WORDS <= words <= MAX_WORDS:
        issues.append("length")
    if gives_advice(text):
        issues.append("advice")
    if any(p.search(text) for p in MARKDOWN_PATTERNS):
        issues.append("markdown")
    return tuple(issues)


_FORMAT_RULES = 3


def score(narrative: str, record: Mapping[str, Any]) -> RewardParts:
    """Every part of the reward of ``narrative`` against ``record``, with the reasons."""
    if not isinstance(narrative, str):
        raise RewardInputError(f"narrative: expected a string, got {type(narrative).__name__}")
    payload, allowed = _payload_and_allowed(record)
    faithful, invented = faithfulness(narrative, allowed)
    points = covered_points(narrative, payload)
    coverage = sum(points.values()) / len(REQUIRED_POINTS)
    issues = format_issues(narrative)
    fmt = (_FORMAT_RULES - len(issues)) / _FORMAT_RULES
    if not narrative.strip():
        coverage = fmt = 0.0
    total = (
        WEIGHTS["faithfulness"] * faithful
        + WEIGHTS["coverage"] * coverage
        + WEIGHTS["format"] * fmt
    )
    return RewardParts(
        faithfulness=faithful,
        coverage=coverage,
        format=fmt,
        total=min(1.0, max(0.0, total)),
        invented=invented,
        missing_points=tuple(p for p, ok in points.items() if not ok),
        format_issues=issues,
    )


def reward(narrative: str, record: Mapping[str, Any]) -> float:
    """The reward in [0, 1] (see the module docstring for its parts)."""
    return score(narrative, record).total
