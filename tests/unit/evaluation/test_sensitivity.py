"""Planted faults: every one is caught by the grader named for it, on real agent output."""

from __future__ import annotations

import dataclasses

import pytest

from eval.cases import load_golden_set
from eval.runner import RunResult, summarise
from eval.sensitivity import FAULTS, clean_turn, run_sensitivity
from eval.targets import InProcessTarget
from eval.thresholds import load_thresholds


@pytest.fixture(scope="module")
def rows(inprocess_target: InProcessTarget) -> list:
    return run_sensitivity(clean_turn(inprocess_target))


def test_the_clean_turn_passes_and_each_planted_fault_fails_its_grader(rows: list) -> None:
    assert [r.fault for r in rows] == [f.name for f in FAULTS]
    assert {r.criterion for r in rows} == {
        "text_pdf_agreement",
        "disclaimer_present",
        "ticker_accuracy",
        "numeric_faithfulness",
        "trajectory",
        "ground_truth",
    }
    for row in rows:
        assert row.clean == "pass", row
        assert row.faulted == "fail", row
        assert row.caught and row.detail, row


def test_an_uncaught_fault_fails_the_gate(rows: list) -> None:
    result = RunResult(golden=load_golden_set(), target="t", model="m", sensitivity=list(rows))
    summarise(result, load_thresholds())
    rows_ok = all(r.verdict in ("PASS", "SKIPPED", "PENDING", "NO DATA") for r in result.rows)
    assert rows_ok
    missed = dataclasses.replace(rows[0], faulted="pass")
    result.sensitivity = [missed, *rows[1:]]
    assert not missed.caught
    assert not result.gate_passed
