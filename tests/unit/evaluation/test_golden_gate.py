"""The gate of ``make test``: the deterministic part of the golden set, all of it.

Every case the agent has the capabilities for (80 of them today) runs
against the real app in-process, offline model, simulated data, PDFs read
back; each deterministic criterion must meet its threshold in
``eval/thresholds.toml`` and every planted fault must be caught. The judge
criteria need a judge server and are not part of the gate (``make eval
EVAL_ARGS=--judge-url=...``). Cases waiting for a capability are counted as
pending, never passed.
"""

from __future__ import annotations

import pytest

from eval.cases import load_golden_set
from eval.runner import run_golden_set
from eval.sensitivity import clean_turn, run_sensitivity
from eval.targets import InProcessTarget
from eval.thresholds import load_thresholds

pytestmark = pytest.mark.slow


def test_deterministic_golden_set_meets_every_threshold(inprocess_target: InProcessTarget) -> None:
    golden = load_golden_set()
    result = run_golden_set(golden, inprocess_target, load_thresholds(), offline=True)
    result.sensitivity = run_sensitivity(clean_turn(inprocess_target))
    failures = "\n".join(
        f"{c} turn {i + 1} {g.criterion}: {g.detail}" for c, i, g in result.failures()
    )
    assert len({o.case.id for o in result.outcomes}) >= 80
    assert len(result.outcomes) + sum(len(c.turns) for c, _ in result.pending) == sum(
        len(c.turns) for c in golden.cases
    )
    verdicts = {r.criterion: r.verdict for r in result.rows}
    assert all(v in ("PASS", "PENDING", "SKIPPED") for v in verdicts.values()), (verdicts, failures)
    assert result.gate_passed, failures
