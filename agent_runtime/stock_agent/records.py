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
from collections.abc import Mapping
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
class FigureSource:
    """Where one figure came from and how fresh it is.

    ``source`` names the provider and field (``yfinance Ticker.info['trailingPE']``)
    or the computation (``computed: RSI(14), Wilder, from 261 daily closes``);
    ``as_of`` is the date the underlying data describes (a fiscal year end for
    statement figures, the last session for price figures). ``missing`` says
    why the figure is n/a, when it is.
    """

    source: str
    as_of: date
    missing: str = ""


@dataclass(frozen=True)
class Benchmark:
    """The index a stock is measured against, with its own daily history."""

    symbol: str
    name: str
    prices: tuple[PricePoint, ...]


@dataclass(frozen=True)
class PeerFigures:
    """The few figures of one sector peer that the peer comparison ranks."""

    symbol: str
    pe_ratio: float | None
    profit_margin: float | None
    one_year_return: float | None
    annualized_volatility: float | None


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
    # From the close a year earlier; None when the history is shorter than a year.
    one_year_return: float | None
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
    # Statements (three fiscal years back) and the figures derived from them.
    revenue_growth_3y: float | None = None  # compound annual growth, fraction
    eps_growth_3y: float | None = None  # compound annual growth, fraction
    free_cash_flow: float | None = None  # operating cash flow - capital expenditure
    fcf_margin: float | None = None  # free cash flow / revenue, fraction
    debt_to_equity: float | None = None  # total debt / shareholders' equity, a multiple
    fiscal_year_end: date | None = None  # the statements' latest fiscal year
    benchmark: Benchmark | None = None
    peers: tuple[PeerFigures, ...] = ()
    # Field name -> provenance, for every figure above that has one.
    sources: Mapping[str, FigureSource] = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodReturn:
    """A stock's return over one period, the benchmark's and the difference."""

    period: str  # "1M" | "3M" | "YTD" | "1Y"
    start: date  # the session the return is measured from
    stock: float | None
    benchmark: float | None
    excess: float | None  # stock - benchmark


@dataclass(frozen=True)
class Indicators:
    """Indicators and risk measures computed from the daily closes.

    ``None`` marks a figure the history was too short for; the reason is in
    :attr:`StockAnalysis.sources`.
    """

    rsi_14: float | None
    macd_line: float | None
    macd_signal: float | None
    macd_histogram: float | None
    bollinger_upper: float | None
    bollinger_lower: float | None
    bollinger_position: float | None  # 0 at the lower band, 1 at the upper
    max_drawdown_1y: float | None  # fraction in [0, 1]
    drawdown_peak_day: date | None
    drawdown_trough_day: date | None
    sharpe_1y: float | None
    risk_free_rate: float  # annual, fraction
    benchmark_symbol: str | None
    beta_1y: float | None
    correlation_1y: float | None
    returns: tuple[PeriodReturn, ...] = ()


@dataclass(frozen=True)
class PeerRank:
    """Where the ticker ranks among its sector peers on one figure."""

    metric: str  # "P/E" | "Profit Margin" | "1-Year Return" | "Volatility"
    value: float | None
    percentile: float | None  # 0..100: share of peers below, ties count half
    peers_with_data: int


@dataclass(frozen=True)
class PeerComparison:
    """The ticker against its sector peers."""

    sector: str
    peers: tuple[PeerFigures, ...]
    ranks: tuple[PeerRank, ...]


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
class TrackSignal:
    """One month-end signal, recomputed from the closes up to that day, and what followed.

    ``technical_score`` and its factors are what the technical rules gave on
    ``day`` from the closes known then; ``risk_level`` and ``outlook`` are the
    price-only versions (no P/E, earnings or leverage; fundamental score held
    at neutral). Forward returns run from ``day``'s close to the last session
    of the next month (1M) and of the third month on (3M); ``None`` while that
    session lies beyond the data (pending) or the month has no session.
    """

    day: date
    close: float
    technical_score: int
    trend: TrendLabel
    momentum: Literal["positive", "neutral", "negative"]
    volatility_level: Level
    risk_level: RiskLevel
    outlook: Literal["positive", "neutral", "negative"]
    end_1m: date | None = None
    return_1m: float | None = None
    excess_1m: float | None = None
    end_3m: date | None = None
    return_3m: float | None = None
    excess_3m: float | None = None


@dataclass(frozen=True)
class BucketStats:
    """How the signals of one bucket (a score, an outlook) did over one horizon.

    The figures are ``None`` when fewer than the record's ``min_signals``
    signals have a forward return; ``missing`` then says how many there were.
    ``mean``, ``median``, ``hit_rate`` and the interval are of the forward
    excess return over the benchmark (the plain return where there is none).
    """

    signal: Literal["technical score", "price-only outlook"]
    bucket: str  # "1".."5" | "positive" | "neutral" | "negative"
    horizon: Literal["1M", "3M"]
    signals: int
    mean: float | None = None
    median: float | None = None
    hit_rate: float | None = None  # share with a forward excess above 0
    ci_low: float | None = None
    ci_high: float | None = None
    effective_signals: float | None = None  # after the overlap of forward windows
    missing: str = ""


@dataclass(frozen=True)
class EdgeTest:
    """High scores (4-5) against low ones (1-2): the difference of mean forward excess."""

    horizon: Literal["1M", "3M"]
    high_signals: int
    low_signals: int
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    verdict: Literal["edge", "worse than chance", "within chance", "n/a"] = "n/a"
    missing: str = ""


@dataclass(frozen=True)
class TrackRecord:
    """How the agent's own technical score has done on this ticker, point in time.

    Only price-based verdicts are recomputed: neither provider gives
    statements or ratios as of a past date, so the fundamental score is left
    out (``not_point_in_time`` says so) and the outlook is the price-only one.
    ``source`` carries the provenance (and ``missing`` when the history could
    not be had); ``reading`` is the one-sentence reading the report prints.
    """

    symbol: str
    data_source: str
    benchmark_symbol: str | None
    measure: str  # what the statistics are of, e.g. "forward excess return over SIM_INDEX"
    min_signals: int
    interval: str
    signals: int  # month-end signals scored in the period
    measured_1m: int  # of which with a 1-month forward return
    first_signal: date | None
    last_signal: date | None
    buckets: tuple[BucketStats, ...]
    edges: tuple[EdgeTest, ...]
    recent: tuple[TrackSignal, ...]
    reading: str
    not_point_in_time: str
    source: FigureSource


@dataclass(frozen=True)
class StockAnalysis:
    """The performance analyzer's verdict: pure function of a snapshot.

    ``track_record`` is the exception: it is computed from the provider's
    longer history (the technical score recomputed at past month ends), when
    the analysis stage has a provider to ask.
    """

    symbol: str
    technical: TechnicalAnalysis
    fundamental: FundamentalAnalysis
    risk_level: RiskLevel
    risk_factors: tuple[str, ...]
    outlook: Literal["positive", "neutral", "negative"]
    indicators: Indicators | None = None
    peer_comparison: PeerComparison | None = None
    # Figure name -> provenance of the computed figures (indicators, peers).
    sources: Mapping[str, FigureSource] = field(default_factory=dict)
    track_record: TrackRecord | None = None


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
