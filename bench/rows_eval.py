"""Row E: ``make eval`` offline, as a user runs it: the whole golden set, in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .report import Row

TARGET_S = 120.0
WHAT = "`make eval` offline (golden set, in-process agent, PDFs read back)"
TARGET = "≤ 2 min"


def measure_eval(*, repo: Path, timeout_s: float = 600) -> Row:
    """Wall time of ``python -m eval`` into a scratch results file; the gate verdict in the note."""
    if not (repo / "eval" / "__main__.py").is_file():
        return Row.skipped(number="E", what=WHAT, target=TARGET, reason="eval/ not in this tree")
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as scratch:
        output = Path(scratch) / "RESULTS.md"
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "eval", "--output", str(output)],
                cwd=repo,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Row.skipped(
                number="E", what=WHAT, target=TARGET, reason=f"timed out after {timeout_s:.0f} s"
            )
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 1) or not output.is_file():
            reason = f"exit {done.returncode}: {(done.stderr or done.stdout)[-200:]}"
            return Row.skipped(number="E", what=WHAT, target=TARGET, reason=reason)
        text = output.read_text(encoding="utf-8")
    gate = "PASS" if "gate: **PASS**" in text else "FAIL"
    return Row(
        number="E",
        what=WHAT,
        figure=f"{elapsed:.1f} s",
        target=TARGET,
        ok=elapsed <= TARGET_S,
        note=f"gate {gate}",
    )


GATE_WHAT = (
    "promotion gate on the whole golden set: `python -m eval --baseline … --candidate …` "
    "against two loopback model servers"
)
GATE_TARGET = "inventing model refused on numeric faithfulness; equal models not better"


def _compare(repo: Path, baseline_url: str, candidate_url: str, output: Path, timeout_s: float):
    """One comparison in a fresh process, as a user runs it; (exit status, stderr, seconds)."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "eval",
            "--baseline", f"model:model@{baseline_url}",
            "--candidate", f"model:model@{candidate_url}",
            "--output", str(output),
        ],
        cwd=repo, capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr, time.perf_counter() - started


def measure_promotion_gate(*, repo: Path, timeout_s: float = 900) -> Row:
    """Two scenarios on every case: a model that invents a figure in one narrative in ten
    against an honest one, then two equal models. The verdicts are the figure."""
    if not (repo / "eval" / "promote.py").is_file():
        return Row.skipped(
            number="G", what=GATE_WHAT, target=GATE_TARGET, reason="no eval/promote.py"
        )
    from .rows_agent import _repo_on_path

    _repo_on_path(repo)
    from tests.support.analyst_model import AnalystModel
    from tests.support.fake_vllm import FakeVLLM

    with tempfile.TemporaryDirectory(prefix="bench-gate-") as scratch:
        with FakeVLLM.start() as honest, FakeVLLM.start() as inventive:
            honest.default_response = AnalystModel()
            inventive.default_response = model = AnalystModel(invent_every=10)
            worse = _compare(repo, honest.url, inventive.url, Path(scratch) / "w.md", timeout_s)
        with FakeVLLM.start() as first, FakeVLLM.start() as second:
            first.default_response = AnalystModel()
            second.default_response = AnalystModel()
            equal = _compare(repo, first.url, second.url, Path(scratch) / "e.md", timeout_s)
    refusal = next(
        (line for line in worse[1].splitlines() if "first_answer_faithful WORSE" in line), ""
    )
    refused = worse[0] == 1 and bool(refusal)
    not_better = equal[0] == 1 and "verdict NOT BETTER" in equal[1] and "WORSE" not in equal[1]
    drop = refusal.split("(", 1)[1].split(";", 1)[0] if "(" in refusal else "?"
    return Row(
        number="G",
        what=GATE_WHAT,
        figure=f"{'refused' if refused else 'NOT refused'} ({drop}) / "
        f"{'not better' if not_better else 'NOT not-better'}",
        target=GATE_TARGET,
        ok=refused and not_better,
        note=f"{len(model.invented_for)} of {model.narratives} first narratives invented; "
        f"{worse[2]:.0f} s and {equal[2]:.0f} s, exit {worse[0]} and {equal[0]}",
    )
