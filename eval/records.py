"""The agent's records rebuilt from a response, so graders check figures against them.

A response carries each ticker's snapshot (``data``, its price history
summarised) and analysis in full. The graders rebuild the typed records and
call the agent's own formatting and number check on them: one definition of
"this figure is in the record", shared with the agent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from stock_agent.records import (
    FundamentalAnalysis,
    Headline,
    StockAnalysis,
    StockSnapshot,
    TechnicalAnalysis,
)

_SNAPSHOT_FIELDS = frozenset(StockSnapshot.__dataclass_fields__) - {"prices", "headlines", "as_of"}


def snapshot_from_data(data: dict[str, Any]) -> StockSnapshot:
    """A :class:`StockSnapshot` from a result's ``data`` (no price history: it is not sent)."""
    values = {k: data[k] for k in _SNAPSHOT_FIELDS if k in data}
    headlines = tuple(Headline(**h) for h in data.get("headlines") or ())
    return StockSnapshot(
        **values, as_of=date.fromisoformat(str(data["as_of"])), prices=(), headlines=headlines
    )


def analysis_from_json(analysis: dict[str, Any]) -> StockAnalysis:
    """A :class:`StockAnalysis` from a result's ``analysis``."""
    technical = dict(analysis["technical"])
    fundamental = dict(analysis["fundamental"])
    return StockAnalysis(
        symbol=analysis["symbol"],
        technical=TechnicalAnalysis(**{**technical, "rationale": tuple(technical["rationale"])}),
        fundamental=FundamentalAnalysis(
            **{**fundamental, "rationale": tuple(fundamental["rationale"])}
        ),
        risk_level=analysis["risk_level"],
        risk_factors=tuple(analysis["risk_factors"]),
        outlook=analysis["outlook"],
    )


def records_of(result: dict[str, Any]) -> tuple[StockSnapshot, StockAnalysis]:
    """Both records of one result; ``KeyError``/``TypeError``/``ValueError`` when malformed."""
    return snapshot_from_data(result["data"]), analysis_from_json(result["analysis"])
