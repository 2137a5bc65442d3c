"""Rows 5 and 6: the runtime image's dependency footprint, ``cdk synth`` and the test suite.

These run external tools (uv against the package registry, the CDK CLI,
pytest) in subprocesses and time them from the outside, the way a developer
or CI experiences them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .report import Row, fmt_bytes

logger = logging.getLogger(__name__)

FOOTPRINT_TARGET_BYTES = 250_000_000
SYNTH_TARGET_S = 30.0
SUITE_TARGET_S = 300.0

# The AgentCore Runtime runs linux/arm64 containers; uv accepts every manylinux
# wheel up to glibc 2.28 for this platform (manylinux2014 is glibc 2.17).
ARM64_PLATFORM = "aarch64-manylinux_2_28"


@dataclass(frozen=True)
class Footprint:
    total_bytes: int
    by_distribution: dict[str, int]  # "name version" -> bytes, "(not in any RECORD)" for the rest


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln for ln in text.strip().splitlines() if not ln.startswith("WARNING: Location")]
    return " / ".join(kept[-lines:])[:300]


def measure_tree(target: Path) -> Footprint:
    """Total size of ``target`` and each installed distribution's share of it.

    A distribution's files are those its ``*.dist-info/RECORD`` lists, so a
    package that installs several top-level folders (or a ``.libs`` folder of
    vendored shared objects, like pillow) is counted as one.
    """
    sizes: dict[Path, int] = {}
    for root, _dirs, files in os.walk(target):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                sizes[path.resolve()] = path.stat().st_size
    by_dist: dict[str, int] = {}
    claimed: set[Path] = set()
    for dist_info in sorted(target.glob("*.dist-info")):
        label = dist_info.name.removesuffix(".dist-info").replace("-", " ", 1)
        total = 0
        record = dist_info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                rel = line.rsplit(",", 2)[0]
                path = (target / rel).resolve()
                if path in sizes and path not in claimed:
                    claimed.add(path)
                    total += sizes[path]
        by_dist[label] = total
    rest = sum(size for path, size in sizes.items() if path not in claimed)
    if rest:
        by_dist["(not in any RECORD: bytecode, scripts)"] = rest
    return Footprint(total_bytes=sum(sizes.values()), by_distribution=by_dist)


def find_uv(repo: Path) -> str:
    """The uv the Makefile uses: ``$UV``, else the bootstrapped ``.uv/bin/uv``, else PATH."""
    for candidate in (os.environ.get("UV"), str(repo / ".uv" / "bin" / "uv"), shutil.which("uv")):
        if candidate and (os.sep not in candidate or Path(candidate).exists()):
            return candidate
    raise RuntimeError("no uv: run `make setup` (it bootstraps .uv/) or set UV")


def runtime_lock(repo: Path, dest: Path) -> Path:
    """The image's lock without its build backend, which the Dockerfile uninstalls again."""
    build = {
        line.split("==", 1)[0].strip().lower()
        for line in (repo / "agent_runtime" / "build-requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    kept: list[str] = []
    skipping = False
    for line in (repo / "agent_runtime" / "requirements.lock").read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            skipping = re.split(r"[=\s;\[]", line, maxsplit=1)[0].lower() in build
        if not skipping:
            kept.append(line)
    dest.write_text("\n".join(kept) + "\n")
    return dest


def install_arm64_runtime(*, repo: Path, target: Path, timeout_s: float = 900) -> None:
    """``uv pip install --target`` of the image's lock as linux/arm64 wheels, hashes checked.

    Compiled to bytecode as the Dockerfile does (``UV_COMPILE_BYTECODE``).

    Raises :class:`RuntimeError` with uv's last lines when a pin has no
    arm64 wheel or the registry cannot be reached.
    """
    lock = runtime_lock(repo, target.parent / f"{target.name}-requirements.lock")
    cmd = [find_uv(repo), "pip", "install", "--quiet", "--target", str(target)]
    cmd += ["--python-platform", ARM64_PLATFORM, "--python-version", "3.11"]
    cmd += ["--only-binary", ":all:", "--compile-bytecode", "--require-hashes", "-r", str(lock)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"uv exited {done.returncode}: {_tail(done.stderr)}")


def measure_image_footprint(*, repo: Path) -> tuple[Row, list[str]]:
    """Row 5 and the markdown lines listing the 10 largest distributions."""
    what = "runtime image footprint (deps, linux/arm64)"
    target_text = "≤ 250 MB"
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        started = time.perf_counter()
        try:
            install_arm64_runtime(repo=repo, target=Path(tmp) / "site-packages")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            reason = f"install failed: {exc}"
            logger.warning("row 5: %s", reason)
            return Row.skipped(number="5", what=what, target=target_text, reason=reason), []
        install_s = time.perf_counter() - started
        footprint = measure_tree(Path(tmp) / "site-packages")
    largest = sorted(footprint.by_distribution.items(), key=lambda kv: -kv[1])[:10]
    details = [
        "### Runtime dependencies for linux/arm64: the 10 largest distributions",
        "",
        "| distribution | size |",
        "|---|---|",
        *(f"| {name} | {fmt_bytes(size)} |" for name, size in largest),
        "",
        f"Total {fmt_bytes(footprint.total_bytes)} in "
        f"{len(footprint.by_distribution)} distributions (installed in {install_s:.0f} s). "
        "The Python base image (`python:3.11.14-slim-bookworm`, arm64) comes on top of this.",
    ]
    top3 = ", ".join(f"{name.split()[0]} {fmt_bytes(size)}" for name, size in largest[:3])
    row = Row(
        number="5",
        what=what,
        figure=fmt_bytes(footprint.total_bytes),
        target=target_text,
        ok=footprint.total_bytes <= FOOTPRINT_TARGET_BYTES,
        note=f"largest: {top3}; base image not included",
    )
    return row, details


def _cdk_env() -> dict[str, str]:
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    return env


def measure_synth(*, repo: Path, stage: str = "dev", timeout_s: float = 300) -> Row:
    """Row 6a: wall time of ``npx cdk synth --all`` (cdk-nag on) into a scratch folder."""
    what = f"`cdk synth --all -c stage={stage}` with cdk-nag"
    target_text = "≤ 30 s"
    if not (repo / "app.py").is_file() or not (repo / "cdk.json").is_file():
        return Row.skipped(number="6a", what=what, target=target_text, reason="app.py not yet")
    with tempfile.TemporaryDirectory(prefix="bench-cdkout-") as out:
        cmd = [
            "npx",
            "cdk",
            "synth",
            "--all",
            "-c",
            f"stage={stage}",
            "--quiet",
            "--no-notices",
            "--output",
            out,
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                cmd,
                cwd=repo,
                env=_cdk_env(),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Row(
                number="6a",
                what=what,
                figure=f"> {timeout_s:.0f} s",
                target=target_text,
                ok=False,
                note="timed out",
            )
        seconds = time.perf_counter() - started
        templates = len(list(Path(out).glob("*.template.json")))
    if done.returncode != 0:
        return Row(
            number="6a",
            what=what,
            figure=f"{seconds:.1f} s",
            target=target_text,
            ok=False,
            note=f"synth failed (exit {done.returncode}): {_tail(done.stderr)}",
        )
    return Row(
        number="6a",
        what=what,
        figure=f"{seconds:.1f} s",
        target=target_text,
        ok=seconds <= SYNTH_TARGET_S,
        note=f"{templates} templates",
    )


# pytest -q ends with e.g. "1 failed, 711 passed, 1 warning in 120.52s (0:02:00)".
_SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|error).*?) in [\d.]+s")


def pytest_summary(stdout: str) -> str:
    """pytest's final counts, plus the first failing test ids (the table's note)."""
    summary = "no summary line"
    for line in reversed(stdout.splitlines()):
        match = _SUMMARY.search(line)
        if match:
            summary = match.group(1)
            break
    failed = [ln.split()[1] for ln in stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    if failed:
        summary += "; failing: " + ", ".join(failed[:5]) + (" …" if len(failed) > 5 else "")
    return summary


def measure_suite(*, repo: Path, timeout_s: float = 900) -> Row:
    """Row 6b: wall time of the whole pytest suite, as ``make test`` runs it."""
    what = "whole test suite (`pytest -q`)"
    target_text = "≤ 5 min"
    cmd = [str(repo / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd,
            cwd=repo,
            env=_cdk_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Row(
            number="6b",
            what=what,
            figure=f"> {timeout_s:.0f} s",
            target=target_text,
            ok=False,
            note="timed out",
        )
    seconds = time.perf_counter() - started
    summary = pytest_summary(done.stdout)
    note = summary if done.returncode == 0 else f"pytest exit {done.returncode}: {summary}"
    return Row(
        number="6b",
        what=what,
        figure=f"{seconds:.0f} s",
        target=target_text,
        ok=seconds <= SUITE_TARGET_S,
        note=note,
    )
