"""The ticker among its sector peers: percentile ranks on four figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..records import FigureSource, PeerComparison, PeerFigures, PeerRank, StockSnapshot

#: Figure label -> how to read it from a peer's figures.
PEER_METRICS: tuple[tuple[str, Callable[[PeerFigures], float | None]], ...] = (
    ("P/E", lambda p: p.pe_ratio if p.pe_ratio is not None and p.pe_ratio > 0 else None),
    ("Profit Margin", lambda p: p.profit_margin),
    ("1-Year Return", lambda p: p.one_year_return),
    ("Volatility", lambda p: p.annualized_volatility),
)


def percentile_rank(value: float | None, others: Sequence[float | None]) -> float | None:
    """Percent of ``others`` below ``value``, ties counting half (0..100).

    ``None`` when ``value`` is missing or no other value is known.
    """
    known = [o for o in others if o is not None]
    if value is None or not known:
        return None
    below = sum(1 for o in known if o < value)
    equal = sum(1 for o in known if o == value)
    return 100.0 * (below + 0.5 * equal) / len(known)


def compare_with_peers(
    snapshot: StockSnapshot,
) -> tuple[PeerComparison | None, dict[str, FigureSource]]:
    """Percentile ranks among ``snapshot.peers``; ``None`` when there are no peers."""
    own = PeerFigures(
        symbol=snapshot.symbol,
        pe_ratio=snapshot.pe_ratio,
        profit_margin=snapshot.profit_margin,
        one_year_return=snapshot.one_year_return,
        annualized_volatility=snapshot.annualized_volatility,
    )
    names = ", ".join(p.symbol for p in snapshot.peers) or "none"
    source = FigureSource(
        f"computed: percentile among {snapshot.sector} peers ({names}), ties count half",
        snapshot.as_of,
        "" if snapshot.peers else f"no {snapshot.sector} peers known to {snapshot.data_source}",
    )
    if not snapshot.peers:
        return None, {"peers": source}
    ranks = []
    for metric, read in PEER_METRICS:
        others = [read(p) for p in snapshot.peers]
        ranks.append(
            PeerRank(
                metric=metric,
                value=read(own),
                percentile=percentile_rank(read(own), others),
                peers_with_data=sum(1 for o in others if o is not None),
            )
        )
    comparison = PeerComparison(sector=snapshot.sector, peers=snapshot.peers, ranks=tuple(ranks))
    return comparison, {"peers": source}
