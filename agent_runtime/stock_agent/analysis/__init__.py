"""Stock Performance Analyzer: indicators, peers and the scoring rules.

- :mod:`.indicators`: RSI, MACD, Bollinger, drawdown, Sharpe, beta (pure math);
- :mod:`.evidence`: the indicators record of one snapshot, with provenance;
- :mod:`.peers`: percentile ranks among sector peers;
- :mod:`.scoring`: the written rules that turn the evidence into scores;
- :mod:`.track_record`: those rules recomputed at past month ends, and what followed;
- :mod:`.intervals`: Student-t intervals for the track record.
"""

from __future__ import annotations

from .evidence import DEFAULT_RISK_FREE_RATE, compute_indicators
from .peers import compare_with_peers, percentile_rank
from .scoring import (
    EXCESS_STRONG,
    FUNDAMENTAL_RULES,
    MOMENTUM_3M,
    OUTLOOK_RULES,
    RISK_RULES,
    SESSIONS_1M,
    SESSIONS_3M,
    TECHNICAL_RULES,
    analyze,
    analyze_fundamental,
    analyze_technical,
    assess_risk,
    outlook_for,
)
from .track_record import (
    MIN_SIGNALS,
    TRACK_RECORD_METHOD,
    compute_track_record,
    track_record_for,
)

__all__ = [
    "DEFAULT_RISK_FREE_RATE",
    "EXCESS_STRONG",
    "FUNDAMENTAL_RULES",
    "MIN_SIGNALS",
    "MOMENTUM_3M",
    "OUTLOOK_RULES",
    "RISK_RULES",
    "SESSIONS_1M",
    "SESSIONS_3M",
    "TECHNICAL_RULES",
    "TRACK_RECORD_METHOD",
    "analyze",
    "analyze_fundamental",
    "analyze_technical",
    "assess_risk",
    "compare_with_peers",
    "compute_indicators",
    "compute_track_record",
    "outlook_for",
    "percentile_rank",
    "track_record_for",
]
