"""The mutation runner draws the mutants the scores in bench/mutants.md count."""

from __future__ import annotations

import pytest

from bench import mutants


def _target(name: str) -> mutants.Target:
    return next(t for t in mutants.TARGETS if t.name == name)


def test_deleting_a_loop_or_a_bare_call_is_a_mutant() -> None:
    drawn = {m.description for m in mutants._mutants(_target("contract (response)"))}
    assert "delete the loop over `tickers`" in drawn  # build_response's per-ticker loop
    assert "delete `per_ticker.append((t.symbol, sections))`" in drawn
    assert not any("logger" in d for d in drawn)


def test_a_mutant_of_a_deleted_statement_still_compiles() -> None:
    for mutant in mutants._mutants(_target("contract (response)")):
        if mutant.description.startswith("delete"):
            compile(mutant.source, mutant.key, "exec")


def test_a_target_without_tests_is_refused_rather_than_run_against_the_whole_suite() -> None:
    orphan = mutants.Target("orphan", "contract.py", ("tests/unit/agent/test_nothing_here.py",))
    with pytest.raises(SystemExit, match="none of its tests exist"):
        mutants.run_target(orphan, sample=1, seed=13)
