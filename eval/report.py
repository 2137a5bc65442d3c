"""``eval/RESULTS.md``: the table of one run, with the date, commit, model and golden set."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from .runner import RunResult

MAX_FAILURES_LISTED = 60


def git_commit(repo: Path) -> str:
    """HEAD's short sha, ``+changes`` when the work tree differs; ``unknown`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH
            cwd=repo, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=repo, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+changes" if dirty else sha


def _rate(row_rate: float | None) -> str:
    return "—" if row_rate is None else f"{row_rate:.1%}"


def render(
    result: RunResult, *, commit: str, when: datetime | None = None, elapsed_s: float
) -> str:
    when = when or datetime.now(UTC)
    executed = {o.case.id for o in result.outcomes}
    pending_by_capability = Counter(c for _, missing in result.pending for c in missing)
    lines = [
        "# Evaluation results",
        "",
        f"- date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: `{commit}`",
        f"- target: {result.target}",
        f"- model: {result.model}",
        f"- judge: {result.judge or 'none configured (judge criteria SKIPPED)'}",
        f"- golden set: `{result.golden.path.name}` (sha256 `{result.golden.sha256[:12]}`), "
        f"{len(result.golden.cases)} cases: {len(executed)} run ({len(result.outcomes)} turns), "
        f"{len(result.pending)} pending capability",
        f"- wall time: {elapsed_s:.1f} s",
        f"- gate: **{'PASS' if result.gate_passed else 'FAIL'}**",
        "",
        "| criterion | passed / graded | pass rate | threshold | verdict | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in result.rows:
        lines.append(
            f"| {row.criterion} | {row.passed} / {row.applicable} | {_rate(row.rate)} | "
            f"{row.threshold:.0%} | {row.verdict} | {row.note} |"
        )
    lines += [
        f"| pending capability | {len(result.pending)} cases | — | — | PENDING | "
        + ", ".join(f"{c}: {n}" for c, n in sorted(pending_by_capability.items()))
        + " |",
        "",
    ]
    for row in result.rows:
        if row.verdict == "NOT CHECKED":
            lines += [
                f"> **Notice:** {row.criterion} was **not checked**: {row.note}. The figures "
                "were graded for agreement with the agent's own records only; they were not "
                "compared with the data.",
                "",
            ]
    if result.judge is None:
        lines += [
            "> **Notice:** no judge configured: helpfulness, analytical soundness and "
            "no-personal-advice were **not graded** (run with `--judge-url`).",
            "",
        ]
    elif result.agreement:
        lines += ["## Judge calibration (agreement with the labelled set)", ""]
        lines += ["| criterion | agreed / labelled | rate |", "|---|---|---|"]
        for criterion, agreement in result.agreement.items():
            lines.append(
                f"| {criterion} | {agreement.agreed} / {agreement.total} | {agreement.rate:.0%} |"
            )
        lines += ["", f"Turns judged: {result.judged_turns}.", ""]
    if result.sensitivity:
        lines += [
            "## Sensitivity: planted faults",
            "",
            "A clean turn (`Analyze AAPL`) is graded, then each fault is planted in a copy of it.",
            "",
            "| fault | must be caught by | clean | faulted | caught | also failed |",
            "|---|---|---|---|---|---|",
        ]
        for f in result.sensitivity:
            lines.append(
                f"| {f.fault} | {f.criterion} | {f.clean} | {f.faulted} | "
                f"{'yes' if f.caught else '**NO**'} | {', '.join(f.also_failed) or '—'} |"
            )
        lines.append("")
    if result.classes:
        lines += [
            "## Conversation classes",
            "",
            "A case passes when every grade of every one of its turns passes.",
            "",
            "| class | cases passed / run | pass rate | threshold | verdict |",
            "|---|---|---|---|---|",
        ]
        for klass in result.classes:
            lines.append(
                f"| {klass.category} | {klass.passed} / {klass.run} | {_rate(klass.rate)} | "
                f"{klass.threshold:.0%} | {klass.verdict} |"
            )
        total_run = sum(r.run for r in result.classes)
        total_passed = sum(r.passed for r in result.classes)
        lines += [
            f"| **all classes** | {total_passed} / {total_run} | "
            f"{_rate(total_passed / total_run if total_run else None)} | — | — |",
            "",
        ]
    categories = Counter(c.category for c in result.golden.cases)
    lines += ["## Cases per category", "", "| category | cases | pending |", "|---|---|---|"]
    pending_categories = Counter(c.category for c, _ in result.pending)
    for category, count in sorted(categories.items()):
        lines.append(f"| {category} | {count} | {pending_categories.get(category, 0)} |")
    lines.append("")
    if result.pending:
        lines += ["## Pending capability (not run, not passed)", ""]
        for case, missing in result.pending:
            lines.append(f"- `{case.id}`: needs {', '.join(missing)}")
        lines.append("")
    failures = result.failures()
    lines += ["## Failures", ""]
    if not failures:
        lines.append("None.")
    for case_id, index, grade in failures[:MAX_FAILURES_LISTED]:
        lines.append(f"- `{case_id}` turn {index + 1}, {grade.criterion}: {grade.detail}")
    if len(failures) > MAX_FAILURES_LISTED:
        lines.append(f"- … and {len(failures) - MAX_FAILURES_LISTED} more")
    return "\n".join(lines) + "\n"


def write(result: RunResult, path: Path, *, repo: Path, elapsed_s: float) -> str:
    text = render(result, commit=git_commit(repo), elapsed_s=elapsed_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text
