"""``eval/thresholds.toml``: the pass-rate threshold of every criterion, and the budgets.

Validated when loaded; an error names the key, the value and what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import CAPABILITIES
from .graders.deterministic import CRITERIA, Budgets
from .graders.judge import JUDGE_CRITERIA
from .graders.relevance import RELEVANCE_CRITERIA

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.toml"
ALL_CRITERIA = (*CRITERIA, *RELEVANCE_CRITERIA, *JUDGE_CRITERIA)


class ThresholdsError(ValueError):
    """The thresholds file holds a value the harness cannot use."""


@dataclass(frozen=True)
class Thresholds:
    criteria: dict[str, float]
    budgets_offline: Budgets
    budgets_model: Budgets
    min_judge_agreement: float
    max_judged_turns: int
    capabilities: frozenset[str]
    # A conversation class passes when this share of its cases passes every grade.
    min_class_pass_rate: float = 0.95

    def budgets(self, *, offline: bool) -> Budgets:
        return self.budgets_offline if offline else self.budgets_model


def _number(section: dict[str, Any], key: str, where: str, *, low: float, high: float) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ThresholdsError(
            f"{where}.{key}={value!r} is invalid: expected a number in [{low}, {high}]"
        )
    return float(value)


def parse_thresholds(raw: dict[str, Any]) -> Thresholds:
    criteria_raw = raw.get("criteria", {})
    missing = [c for c in ALL_CRITERIA if c not in criteria_raw]
    unknown = [c for c in criteria_raw if c not in ALL_CRITERIA]
    if missing or unknown:
        raise ThresholdsError(
            f"criteria: missing {missing}, unknown {unknown}; expected exactly {list(ALL_CRITERIA)}"
        )
    criteria = {c: _number(criteria_raw, c, "criteria", low=0.0, high=1.0) for c in ALL_CRITERIA}
    budgets = raw.get("budgets", {})
    counts = {
        k: int(_number(budgets, k, "budgets", low=0, high=20))
        for k in ("model_calls_per_ticker", "model_calls_per_lookup", "model_calls_per_answer")
    }
    offline = Budgets(
        **counts, latency_ms=_number(budgets, "latency_ms_offline", "budgets", low=1, high=3.6e6)
    )
    model = Budgets(
        **counts, latency_ms=_number(budgets, "latency_ms_model", "budgets", low=1, high=3.6e6)
    )
    judge = raw.get("judge", {})
    enabled = raw.get("capabilities", {}).get("enabled", [])
    if not isinstance(enabled, list) or any(c not in CAPABILITIES for c in enabled):
        raise ThresholdsError(
            f"capabilities.enabled={enabled!r} is invalid: "
            f"expected a list from {list(CAPABILITIES)}"
        )
    return Thresholds(
        criteria=criteria,
        budgets_offline=offline,
        budgets_model=model,
        min_judge_agreement=_number(judge, "min_agreement", "judge", low=0.0, high=1.0),
        max_judged_turns=int(_number(judge, "max_judged_turns", "judge", low=0, high=10_000)),
        capabilities=frozenset(enabled),
        min_class_pass_rate=_number(
            {"min_pass_rate": 0.95, **raw.get("classes", {})},
            "min_pass_rate",
            "classes",
            low=0.0,
            high=1.0,
        ),
    )


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ThresholdsError(f"{path.name} is not valid TOML: {err}") from None
    return parse_thresholds(raw)
