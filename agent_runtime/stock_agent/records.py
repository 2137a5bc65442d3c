"""The one structured record that flows through every stage of the agent.

Numbers are computed once, here-shaped: the data-gathering stage fills a
:class:`StockSnapshot`, the analysis stage derives a :class:`StockAnalysis`
from it (pure functions), the narrative stage writes prose *about* these two,
and the report stage renders them. No stage re-parses another stage's text;
every figure shown to a person is formatted from these records by
:mod:`stock_agent.formatting`.

Conventions (so nobody scales a figure twice):
- returns, yields, margins and volatility are **fractions** (0.0123 == 1.23 %);
- money is in the snapshot's ``currency`` units, not thousands or millions;
- dates are :class:`datetime.date`, timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

TrendLabel = Literal["uptrend", "downtrend", "sideways"]
Level = Literal["low", "moderate", "high"]
RiskLevel = Literal["LOW", "MEDIUM", "HIGH"]
NarrativeSource = Literal["model", "deterministic"]


@dataclass(frozen=True)
class PricePoint:
    """One trading day's close and volume."""

    day: date
    close: float
    volume: int


@dataclass(frozen=True)
class Headline:
    """A real news headline from a provider (never invented)."""

    title: str
    publisher: str
    url: str
    published: str  # ISO-8601 as given by the provider


@dataclass(frozen=True)
class StockSnapshot:
    """Everything the data-gathering stage knows about one ticker.

    Invariants (checked by the providers' tests): ``week52_low <= current_price
    <= week52_high``, both extremes come from ``prices``, ``prices`` is sorted
    oldest first and ends on ``as_of``.
    """

    symbol: str
    company_name: str
    sector: str
    industry: str
    currency: str
    as_of: date
    data_source: str  # "simulated" | "yfinance"
    prices: tuple[PricePoint, ...]
    current_price: float
    market_cap: float
    week52_high: float
    week52_low: float
    ytd_return: float  # since the last close of the previous calendar year
    one_year_return: float  # over the whole price history (about 252 sessions)
    annualized_volatility: float  # stdev of daily log returns * sqrt(252)
    average_volume: int
    pe_ratio: float | None = None
    forward_pe: float | None = None
    price_to_book: float | None = None
    dividend_yield: float | None = None  # fraction, e.g. 0.0123
    revenue_ttm: float | None = None
    profit_margin: float | None = None  # fraction
    beta: float | None = None
    eps: float | None = None
    headlines: tuple[Headline, ...] = ()


@dataclass(frozen=True)
class TechnicalAnalysis:
    """Trend, volatility and momentum derived from the price history."""

    trend: TrendLabel
    sma_50: float
    sma_200: float
    return_1m: float  # fraction over ~21 sessions
    return_3m: float  # fraction over ~63 sessions
    volatility_level: Level
    momentum: Literal["positive", "neutral", "negative"]
    score: int  # 1..5
    rationale: tuple[str, ...]


@dataclass(frozen=True)
class FundamentalAnalysis:
    """Valuation, profitability and income derived from the snapshot's metrics."""

    valuation: Literal["undervalued", "fair", "expensive", "unknown"]
    profitability: Literal["strong", "average", "weak", "unknown"]
    income: Literal["high", "moderate", "low", "none"]
    score: int  # 1..5
    rationale: tuple[str, ...]


@dataclass(frozen=True)
class StockAnalysis:
    """The performance analyzer's verdict: pure function of a snapshot."""

    symbol: str
    technical: TechnicalAnalysis
    fundamental: FundamentalAnalysis
    risk_level: RiskLevel
    risk_factors: tuple[str, ...]
    outlook: Literal["positive", "neutral", "negative"]


@dataclass(frozen=True)
class Narrative:
    """The analyst narrative: model-written or deterministic fallback."""

    text: str
    source: NarrativeSource
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportRef:
    """Where a stored PDF report lives, and how to verify it."""

    uri: str  # s3://bucket/key or file:///abs/path
    key: str  # YYYY/MM/DD/{SYMBOL}_Stock_Report_{YYYYmmdd_HHMMSS}[_{suffix}].pdf
    bytes: int
    sha256: str  # hex digest of the exact bytes stored


@dataclass(frozen=True)
class TickerResult:
    """All stages' output for one ticker."""

    symbol: str
    snapshot: StockSnapshot
    analysis: StockAnalysis
    narrative: Narrative
    report: ReportRef
    generated_at: datetime = field(default_factory=lambda: datetime.now().astimezone())


def to_jsonable(value: Any) -> Any:
    """Convert records (and containers of them) into plain JSON-ready data.

    Dates become ISO strings, tuples become lists. Used for the HTTP response
    and for the LangGraph state the runtime serialises.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
