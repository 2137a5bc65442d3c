"""Fail on any checkov finding that is not on the explained allow-list.

``make scan`` synthesizes both stages, runs checkov (CloudFormation
framework, JSON output, soft-fail) in a virtual environment of its own, and
hands the result files to this gate::

    python -m tools.checkov_gate --allowlist scan/allowlist.txt dev.json prod.json

The allow-list (``scan/allowlist.txt``) has one finding per line::

    CHECK_ID | STACK_GLOB | RESOURCE_GLOB | reason

``STACK_GLOB`` matches the template's stack name (``GptOssAgent-prod-Model``),
``RESOURCE_GLOB`` checkov's resource (``AWS::Logs::LogGroup.EndpointLogGroup63A93A8D``);
the reason is mandatory, and ``docs/reliability.md`` repeats every line.
The gate exits 1 when a finding matches no entry (unexplained) or an entry
matches no finding (stale: the list must not explain findings that are
gone), and 2 when an input cannot be read; it prints each case.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("checkov_gate")

MIN_REASON_CHARS = 20
_FIELDS = 4


class AllowListError(ValueError):
    """A malformed allow-list line; the message names the line number and what is wrong."""


class ResultError(ValueError):
    """A checkov result file that is not checkov's JSON report."""


@dataclass(frozen=True)
class AllowedFinding:
    """One explained finding of the allow-list."""

    check_id: str
    stack_glob: str
    resource_glob: str
    reason: str
    line: int

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check_id
            and fnmatch.fnmatchcase(finding.stack, self.stack_glob)
            and fnmatch.fnmatchcase(finding.resource, self.resource_glob)
        )

    def render(self) -> str:
        """The line as written in the allow-list (and mirrored in docs/reliability.md)."""
        return " | ".join((self.check_id, self.stack_glob, self.resource_glob, self.reason))


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one resource of one template."""

    check_id: str
    check_name: str
    stack: str
    resource: str

    def describe(self) -> str:
        return f"{self.check_id} {self.stack} {self.resource} ({self.check_name})"


def parse_allowlist(text: str) -> list[AllowedFinding]:
    """Parse the allow-list; blank lines and ``#`` comments are skipped."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|", _FIELDS - 1)]
        if len(parts) != _FIELDS or not all(parts):
            raise AllowListError(
                f"line {number}: expected 'CHECK_ID | STACK_GLOB | RESOURCE_GLOB | reason', "
                f"got {line!r}"
            )
        check_id, stack_glob, resource_glob, reason = parts
        if not check_id.startswith("CKV_") or " " in check_id:
            raise AllowListError(f"line {number}: {check_id!r} is not a checkov check id")
        if len(reason) < MIN_REASON_CHARS:
            raise AllowListError(
                f"line {number}: the reason {reason!r} is shorter than {MIN_REASON_CHARS} "
                "characters; say why the finding is acceptable"
            )
        entries.append(AllowedFinding(check_id, stack_glob, resource_glob, reason, number))
    return entries


def findings_from_report(report: Any) -> list[Finding]:
    """The failed checks of one checkov JSON report (one framework or a list of them)."""
    reports = report if isinstance(report, list) else [report]
    findings = []
    for one in reports:
        if not isinstance(one, dict):
            raise ResultError(f"expected checkov's JSON report object, got {type(one).__name__}")
        if "results" not in one:
            # checkov writes a summary without results when it found nothing to scan.
            if one.get("passed", 0) == 0 and one.get("failed", 0) == 0:
                raise ResultError("checkov scanned no resources (no templates found?)")
            raise ResultError("checkov report has no 'results'")
        for failed in one["results"].get("failed_checks", []):
            file_path = str(failed.get("file_path", ""))
            findings.append(
                Finding(
                    check_id=str(failed["check_id"]),
                    check_name=str(failed.get("check_name", "")),
                    stack=Path(file_path).name.removesuffix(".template.json"),
                    resource=str(failed["resource"]),
                )
            )
    return findings


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: explained findings, unexplained ones, stale entries."""

    explained: list[tuple[Finding, AllowedFinding]]
    unexplained: list[Finding]
    stale: list[AllowedFinding]

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.stale


def gate(findings: Iterable[Finding], allowlist: Sequence[AllowedFinding]) -> GateResult:
    """Match every finding to the first entry that explains it."""
    explained: list[tuple[Finding, AllowedFinding]] = []
    unexplained: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        entry = next((e for e in allowlist if e.matches(finding)), None)
        if entry is None:
            unexplained.append(finding)
        else:
            explained.append((finding, entry))
            used.add(entry.line)
    stale = [entry for entry in allowlist if entry.line not in used]
    return GateResult(explained=explained, unexplained=unexplained, stale=stale)


def run(report_paths: Sequence[Path], allowlist_path: Path) -> int:
    """Load everything, gate, log the outcome; the process exit code."""
    try:
        allowlist = parse_allowlist(allowlist_path.read_text())
        findings: list[Finding] = []
        for path in report_paths:
            findings += findings_from_report(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, AllowListError, ResultError, KeyError) as error:
        logger.error("checkov gate: cannot read the inputs: %s", error)
        return 2
    result = gate(findings, allowlist)
    for finding, entry in result.explained:
        logger.info("explained  %s: %s", finding.describe(), entry.reason)
    for finding in result.unexplained:
        logger.error("UNEXPLAINED %s", finding.describe())
    for entry in result.stale:
        logger.error("STALE allow-list line %d matches no finding: %s", entry.line, entry.render())
    logger.info(
        "checkov gate: %d finding(s), %d explained, %d unexplained, %d stale allow-list line(s)",
        len(findings),
        len(result.explained),
        len(result.unexplained),
        len(result.stale),
    )
    return 0 if result.ok else 1


def main(argv: Sequence[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--allowlist", type=Path, required=True)
    parser.add_argument("reports", type=Path, nargs="+")
    args = parser.parse_args(argv)
    return run(args.reports, args.allowlist)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
