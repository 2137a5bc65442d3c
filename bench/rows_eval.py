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
