"""The benchmark's output: rows, the markdown table, and ``bench/RESULTS.md``.

Kept apart from the measurements so the smoke test can check the table and the
results file without timing anything, and so a row that could not be measured
(the code it measures has not landed, a registry is unreachable) still shows up
as "not measured" with the reason instead of silently vanishing.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

logger = logging.getLogger(__name__)

# Packages whose versions explain the figures (the agent's runtime stack, the
# CDK toolchain and the test tooling the suite row depends on).
KEY_PACKAGES = (
    "langgraph",
    "langchain-core",
    "bedrock-agentcore",
    "boto3",
    "reportlab",
    "starlette",
    "uvicorn",
    "aws-cdk-lib",
    "cdk-nag",
    "pytest",
)


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure measured against a target.

    ``ok`` is ``None`` when the figure could not be measured; ``note`` then
    says why (and otherwise carries details such as the run count).
    """

    number: str
    what: str
    figure: str
    target: str
    ok: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "✅", False: "❌", None: "⚠️ not measured"}[self.ok]

    @classmethod
    def skipped(cls, *, number: str, what: str, target: str, reason: str) -> Row:
        return cls(number=number, what=what, figure="—", target=target, ok=None, note=reason)


@dataclass
class Results:
    """Everything one benchmark run produced, in the order it is reported."""

    rows: list[Row] = field(default_factory=list)
    comparison: list[str] = field(default_factory=list)  # markdown lines
    details: list[str] = field(default_factory=list)  # markdown lines (e.g. largest packages)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between ranks.

    Written out rather than taken from :mod:`statistics` because
    ``statistics.quantiles`` needs at least two values and picks a different
    interpolation for small samples; the benchmark reports p50/p90 of as few
    as one run in the smoke test.
    """
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q!r} is outside [0, 100]")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def fmt_bytes(size: float) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: Iterable[Row]) -> str:
    """The rows as a GitHub markdown table (pipes in cells escaped)."""
    lines = [
        "| # | what | figure | target | verdict | notes |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.number, row.what, row.figure, row.target, row.verdict, row.note)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _node_version() -> str:
    try:
        done = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "not found"
    return done.stdout.strip() or "not found"


def machine_lines() -> list[str]:
    """Where the figures were taken: they mean little without the machine."""
    uname = platform.uname()
    return [
        f"- machine: `{uname.system} {uname.release} {uname.machine}`, {_cpu_model()}",
        f"- CPUs: {os.cpu_count()}, memory: {_memory_gib()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"Node {_node_version()}",
    ]


def version_lines(packages: Iterable[str] = KEY_PACKAGES) -> list[str]:
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ["- packages: " + ", ".join(found)]


def render_results(
    results: Results, *, changes_md: str, command: str, notes: Sequence[str] = ()
) -> str:
    """The whole ``RESULTS.md`` text."""
    verdicts = [r.ok for r in results.rows]
    summary = (
        f"{verdicts.count(True)} met, {verdicts.count(False)} missed, "
        f"{verdicts.count(None)} not measured"
    )
    parts = [
        "# Benchmark results",
        "",
        "Written by `python -m bench.run` (`make bench`); do not edit by hand. "
        "How each figure is taken: `bench/README.md`.",
        "",
        f"- date: {results.started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        *notes,
        *machine_lines(),
        *version_lines(),
        "",
        f"## Figures ({summary})",
        "",
        render_table(results.rows),
        "",
    ]
    if results.comparison:
        parts += ["## Against the article's design (ReAct loop)", "", *results.comparison, ""]
    if results.details:
        parts += ["## Details", "", *results.details, ""]
    parts += ["## Changes made", "", changes_md.strip(), ""]
    return "\n".join(parts)


_VERDICTS = {"✅": True, "❌": False}


def parse_table(text: str) -> list[Row]:
    """The rows of the figures table in a ``RESULTS.md`` written by :func:`render_results`."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith(("| # ", "|---")):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 6:
            continue
        number, what, figure, target, verdict, note = cells
        rows.append(Row(number, what, figure, target, _VERDICTS.get(verdict), note))
    return rows


def _sections(text: str) -> dict[str, str]:
    """``## title`` -> the section's body."""
    found: dict[str, str] = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        found[title.strip()] = body.strip()
    return found


def merge_results(results: Results, previous: str) -> tuple[Results, list[str]]:
    """``results`` with the rows it did not measure taken from a previous ``RESULTS.md``.

    The measured rows replace every previous row with the same number (``7``:
    all three levels), in the previous order; new numbers go last. Returns
    the merged results and header lines saying which rows are older.
    """
    measured = {r.number for r in results.rows}
    merged: list[Row] = []
    kept: list[str] = []
    placed: set[str] = set()
    sections = _sections(previous)
    figures = next((b for t, b in sections.items() if t.startswith("Figures")), "")
    for row in parse_table(figures):
        if row.number in measured:
            if row.number not in placed:
                merged += [r for r in results.rows if r.number == row.number]
                placed.add(row.number)
        else:
            merged.append(row)
            if row.number not in kept:
                kept.append(row.number)
    merged += [r for r in results.rows if r.number not in placed]
    out = Results(started=results.started, rows=merged)
    out.comparison = results.comparison or _lines(
        sections.get("Against the article's design (ReAct loop)")
    )
    out.details = results.details or _lines(sections.get("Details"))
    header = re.search(r"^- date: (.*)$", previous, flags=re.M)
    command = re.search(r"^- command: (.*)$", previous, flags=re.M)
    notes = []
    if kept:
        notes.append(
            f"- rows {', '.join(kept)} kept from the previous run "
            f"({header.group(1) if header else 'date unknown'}, "
            f"{command.group(1) if command else 'command unknown'})"
        )
    return out, notes


def _lines(body: str | None) -> list[str]:
    return body.splitlines() if body else []


def write_results(
    results: Results,
    *,
    path: Path,
    changes_path: Path | None,
    command: str,
    merge: bool = False,
) -> Path:
    """Write ``RESULTS.md``; the "changes made" text comes from ``changes_path``.

    The change log lives in its own hand-written file because it records
    history (before/after numbers of fixes) that one run cannot re-measure.
    With ``merge``, rows this run did not measure are kept from the file
    already at ``path`` (:func:`merge_results`).
    """
    changes = "(none recorded)"
    if changes_path is not None and changes_path.is_file():
        changes = changes_path.read_text(encoding="utf-8")
    notes: list[str] = []
    if merge and path.is_file():
        results, notes = merge_results(results, path.read_text(encoding="utf-8"))
    text = render_results(results, changes_md=changes, command=command, notes=notes)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    logger.info("wrote %s", path)
    return path
