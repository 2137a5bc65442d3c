"""The gate of ``make test``: the deterministic part of the golden set, all of it.

Every case the agent has the capabilities for (80 of them today) runs
against the real app in-process, offline model, simulated data, PDFs read
back; each deterministic criterion must meet its threshold in
``eval/thresholds.toml`` and every planted fault must be caught. The judge
criteria need a judge server and are not part of the gate (``make eval
EVAL_ARGS=--judge-url=...``). Cases waiting for a capability are counted as
pending, never passed.

The set runs in :data:`SHARDS` tests of every SHARDS-th case, so that the
pytest-xdist workers share it (one test of the whole set was the suite's
longest, alone on one core for minutes). Each shard must pass the gate on
its own: with thresholds of 100 % that is the whole set's gate, and for the
95 % ones (latency, conversation classes) it is stricter, never looser.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eval.cases import Case, load_golden_set
from eval.runner import run_golden_set
from eval.sensitivity import clean_turn, run_sensitivity
from eval.targets import InProcessTarget
from eval.thresholds import load_thresholds

pytestmark = pytest.mark.slow

SHARDS = 4
GOLDEN = load_golden_set()
POSITION = {case.id: i for i, case in enumerate(GOLDEN.cases)}


def in_shard(shard: int) -> Callable[[Case], bool]:
    def keep(case: Case) -> bool:
        return POSITION[case.id] % SHARDS == shard

    return keep


def test_the_shards_hold_every_case_once_and_at_least_80_run() -> None:
    shards = [[c.id for c in GOLDEN.cases if in_shard(s)(c)] for s in range(SHARDS)]
    assert sorted(i for ids in shards for i in ids) == sorted(c.id for c in GOLDEN.cases)
    runnable = [c for c in GOLDEN.cases if not c.missing(load_thresholds().capabilities)]
    assert len(runnable) >= 80


@pytest.mark.parametrize("shard", range(SHARDS))
def test_deterministic_golden_set_meets_every_threshold(
    inprocess_target: InProcessTarget, shard: int
) -> None:
    keep = in_shard(shard)
    result = run_golden_set(
        GOLDEN,
        inprocess_target,
        load_thresholds(),
        offline=True,
        case_filter=keep,
    )
    failures = "\n".join(
        f"{c} turn {i + 1} {g.criterion}: {g.detail}" for c, i, g in result.failures()
    )
    mine = [c for c in GOLDEN.cases if keep(c)]
    assert result.outcomes
    assert len(result.outcomes) + sum(len(c.turns) for c, _ in result.pending) == sum(
        len(c.turns) for c in mine
    )
    verdicts = {r.criterion: r.verdict for r in result.rows}
    assert all(v in ("PASS", "PENDING", "SKIPPED") for v in verdicts.values()), (verdicts, failures)
    assert result.gate_passed, failures


def test_every_planted_fault_is_caught(inprocess_target: InProcessTarget) -> None:
    rows = run_sensitivity(clean_turn(inprocess_target))
    assert rows and all(row.caught for row in rows), rows
