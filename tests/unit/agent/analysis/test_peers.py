"""Percentile ranks among sector peers, at their edges."""

from __future__ import annotations

import dataclasses

from stock_agent.analysis.peers import compare_with_peers, percentile_rank
from stock_agent.records import (
    PeerFigures,
)

from tests.support.records import crafted_snapshot

FLAT = crafted_snapshot([100.0] * 260)


def test_percentile_rank_edges() -> None:
    assert percentile_rank(5.0, [1.0, 2.0, 3.0, 4.0]) == 100.0
    assert percentile_rank(0.5, [1.0, 2.0, 3.0, 4.0]) == 0.0
    assert percentile_rank(2.0, [1.0, 2.0, 3.0, 4.0]) == 37.5  # one below, one tie (half)
    assert percentile_rank(2.0, [None, 1.0, None]) == 100.0  # missing peers do not count
    assert percentile_rank(None, [1.0]) is None
    assert percentile_rank(1.0, [None]) is None
    assert percentile_rank(1.0, []) is None


def test_compare_with_peers_ranks_and_skips_non_positive_pe() -> None:
    peers = (
        PeerFigures("A", 10.0, 0.1, 0.05, 0.2),
        PeerFigures("B", -3.0, 0.3, 0.15, 0.4),  # losses: no P/E rank
        PeerFigures("C", 30.0, None, -0.1, 0.3),
    )
    snap = dataclasses.replace(FLAT, pe_ratio=20.0, profit_margin=0.2, one_year_return=0.1,
                               annualized_volatility=0.3, peers=peers)  # fmt: skip
    comparison, sources = compare_with_peers(snap)
    assert comparison is not None and comparison.sector == "Testing"
    ranks = {r.metric: (r.value, r.percentile, r.peers_with_data) for r in comparison.ranks}
    assert ranks == {
        "P/E": (20.0, 50.0, 2),
        "Profit Margin": (0.2, 50.0, 2),
        "1-Year Return": (0.1, 200 / 3, 3),
        "Volatility": (0.3, 50.0, 3),
    }
    assert sources["peers"].source.startswith("computed: percentile among Testing peers (A, B, C)")
    assert sources["peers"].missing == ""
    loss_maker = dataclasses.replace(snap, pe_ratio=-1.0)
    assert compare_with_peers(loss_maker)[0].ranks[0].percentile is None  # type: ignore[union-attr]
    alone, alone_sources = compare_with_peers(FLAT)
    assert alone is None and alone_sources["peers"].missing == "no Testing peers known to simulated"


def test_a_zero_pe_is_not_ranked() -> None:
    peers = (PeerFigures("A", 0.0, 0.1, 0.0, 0.2), PeerFigures("B", 10.0, 0.1, 0.0, 0.2))
    snap = dataclasses.replace(FLAT, pe_ratio=0.0, peers=peers)
    comparison, _ = compare_with_peers(snap)
    assert comparison is not None
    [pe] = [r for r in comparison.ranks if r.metric == "P/E"]
    assert (pe.value, pe.percentile, pe.peers_with_data) == (None, None, 1)
    snap = dataclasses.replace(snap, pe_ratio=5.0)
    [pe] = [r for r in compare_with_peers(snap)[0].ranks if r.metric == "P/E"]  # type: ignore[union-attr]
    assert (pe.value, pe.percentile, pe.peers_with_data) == (5.0, 0.0, 1)
    # Any positive P/E counts, however small.
    snap = dataclasses.replace(snap, pe_ratio=0.5, peers=(PeerFigures("C", 0.4, None, None, None),))
    [pe] = [r for r in compare_with_peers(snap)[0].ranks if r.metric == "P/E"]  # type: ignore[union-attr]
    assert (pe.value, pe.percentile, pe.peers_with_data) == (0.5, 100.0, 1)
