"""Row 8: from a fresh clone to a report (``make demo``) and to a green suite (``make test``).

Each run clones the repository's committed ``HEAD`` (or ``--setup-ref``) into a
scratch folder and runs the README's two commands there, timed from the
outside, as a newcomer would:

- cold: the uv, pip and npm caches point at empty folders, and uv is taken
  off ``PATH``, so the Makefile fetches uv and every package from the
  registries;
- warm: a second fresh clone, reusing the caches the cold run filled.

``make test`` runs in the cold clone after its ``make demo``; the pytest wall
time is pytest's own summary line from that run (``-n`` cores + 1: every core).
The load average before and after each command goes into the notes: the
machine is shared, and a busy neighbour slows every figure here. So does the
CPU time the command's processes used (user + system, from ``getrusage``),
which depends far less on the neighbours: on an otherwise idle 2-core machine
the wall time of a CPU-bound command is about half of it to all of it.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .report import Row

logger = logging.getLogger(__name__)

DEMO_TARGET_S = 60.0
TEST_TARGET_S = 90.0
PYTEST_TARGET_S = 50.0
COMMAND_TIMEOUT_S = 1200.0
_PYTEST_SUMMARY = re.compile(r"=+ (?:(\d+) failed, )?(\d+) passed.*? in ([\d.]+)s")
# Printed by tests/conftest.py when the heavy imports were compiled before pytest's clock.
_WARM_UP = re.compile(r"^bytecode warm-up: \d+ import group\(s\) in ([\d.]+) s$", re.M)
_FAILED_TEST = re.compile(r"^FAILED (\S+)", re.M)
# Printed by tests/conftest.py at the end of the run.
_PYTEST_CPU = re.compile(r"^pytest CPU: ([\d.]+) s", re.M)
#: How many test files the notes name as the largest costs of the suite.
TOP_FILES = 6
# Variables of the calling shell that would change what the clone's make does.
_DROPPED_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "PYTHONPATH", "UV")


@dataclass(frozen=True)
class Timed:
    seconds: float
    output: str
    load_before: float
    load_after: float
    cpu_s: float  # user + system of every process the command waited for
    returncode: int = 0

    @property
    def load(self) -> str:
        return (
            f"CPU {self.cpu_s:.0f} s (user+sys of the command's processes); "
            f"load {self.load_before:.1f} → {self.load_after:.1f}"
        )


def clean_env(caches: Path) -> dict[str, str]:
    """This environment with the caches in ``caches`` and no uv on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("UV_")}
    path = [d for d in env.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    env.update(
        PATH=os.pathsep.join(path),
        UV_CACHE_DIR=str(caches / "uv"),
        PIP_CACHE_DIR=str(caches / "pip"),
        npm_config_cache=str(caches / "npm"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a newcomer's shell does not set it
    return env


def fresh_clone(repo: Path, dest: Path, ref: str) -> None:
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", ref], check=True)


def timed(command: list[str], *, cwd: Path, env: dict[str, str], may_fail: bool = False) -> Timed:
    """Run ``command`` to completion; a failure raises with the output's tail.

    With ``may_fail`` a non-zero exit is returned instead (a test run that
    fails still took its time; the row then reports the failures).
    """
    load_before = os.getloadavg()[0]
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    output = done.stdout + done.stderr
    if done.returncode != 0 and not may_fail:
        tail = " / ".join(output.strip().splitlines()[-4:])
        raise RuntimeError(f"`{' '.join(command)}` exited {done.returncode}: {tail}"[:400])
    return Timed(seconds, output, load_before, os.getloadavg()[0], cpu_s, done.returncode)


def pytest_seconds(output: str) -> tuple[int, float]:
    """(tests passed, seconds) from pytest's last summary line, plus the bytecode
    warm-up pytest ran before its own clock started (when it printed one)."""
    found = _PYTEST_SUMMARY.findall(output)
    if not found:
        raise RuntimeError("no pytest summary line in the output of make test")
    _, passed, seconds = found[-1]
    warm_up = sum(float(s) for s in _WARM_UP.findall(output))
    return int(passed), round(float(seconds) + warm_up, 2)


def pytest_cpu_seconds(output: str) -> float | None:
    """The CPU seconds the pytest run printed (itself, its workers and their subprocesses)."""
    found = _PYTEST_CPU.findall(output)
    return float(found[-1]) if found else None


def seconds_per_file(junit_xml: Path) -> dict[str, float]:
    """Test file -> the sum of its tests' times (setup, call and teardown), from JUnit XML."""
    import xml.etree.ElementTree as ET

    totals: dict[str, float] = {}
    for case in ET.parse(junit_xml).iter("testcase"):
        parts = (case.get("classname") or "?").split(".")
        modules = [i for i, part in enumerate(parts) if part.startswith("test_")]
        name = "/".join(parts[: modules[-1] + 1]) + ".py" if modules else parts[0]
        totals[name] = totals.get(name, 0.0) + float(case.get("time") or 0.0)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def failed_tests(output: str) -> list[str]:
    """The node ids pytest's short summary lists as FAILED."""
    return _FAILED_TEST.findall(output)


def measure_setup(*, repo: Path, ref: str = "HEAD") -> list[Row]:
    """Rows 8a-8d for the commit ``ref`` of ``repo``."""
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        root = Path(tmp)
        env = clean_env(root / "caches")
        fresh_clone(repo, root / "cold", ref)
        demo_cold = timed(["make", "demo"], cwd=root / "cold", env=env)
        logger.info("row 8: cold make demo %.1f s", demo_cold.seconds)
        junit = root / "suite.xml"
        test = timed(
            ["make", "test"],
            cwd=root / "cold",
            env={**env, "PYTEST_ARGS": f"--junitxml={junit}"},
            may_fail=True,
        )
        per_file = seconds_per_file(junit) if junit.exists() else {}
        logger.info("row 8: make test %.1f s", test.seconds)
        shutil.rmtree(root / "cold", ignore_errors=True)
        fresh_clone(repo, root / "warm", ref)
        demo_warm = timed(["make", "demo"], cwd=root / "warm", env=env)
        logger.info("row 8: warm make demo %.1f s", demo_warm.seconds)
    passed, pytest_s = pytest_seconds(test.output)
    cpu_s = pytest_cpu_seconds(test.output)
    total = sum(per_file.values())
    top = "; ".join(
        f"{name.removeprefix('tests/')} {seconds:.0f} s"
        for name, seconds in list(per_file.items())[:TOP_FILES]
    )
    where = f"; test time {total:.0f} s over the workers, largest: {top}" if per_file else ""
    failed = failed_tests(test.output)
    at = f"commit {commit}"
    failures = (
        f"; make test FAILED ({len(failed)}: {', '.join(f.split('::')[-1] for f in failed)})"
        if test.returncode
        else ""
    )
    return [
        Row(
            number="8a",
            what="`make demo` from a fresh clone, cold caches",
            figure=f"{demo_cold.seconds:.0f} s",
            target=f"≤ {DEMO_TARGET_S:.0f} s",
            ok=demo_cold.seconds <= DEMO_TARGET_S,
            note=f"{at}; empty uv/pip/npm caches, no uv on PATH; {demo_cold.load}",
        ),
        Row(
            number="8b",
            what="`make demo` from a fresh clone, warm caches",
            figure=f"{demo_warm.seconds:.0f} s",
            target=f"≤ {DEMO_TARGET_S:.0f} s",
            ok=demo_warm.seconds <= DEMO_TARGET_S,
            note=f"{at}; the caches of 8a, a new clone; {demo_warm.load}",
        ),
        Row(
            number="8c",
            what="`make test` from a fresh clone, after `make demo`",
            figure=f"{test.seconds:.0f} s",
            target=f"≤ {TEST_TARGET_S:.0f} s",
            ok=test.seconds <= TEST_TARGET_S and not test.returncode,
            note=f"{at}; lint (cold mypy cache) + pytest; {test.load}{failures}",
        ),
        Row(
            number="8d",
            what="pytest wall time, every core",
            figure=f"{pytest_s:.0f} s" + (f", CPU {cpu_s:.0f} s" if cpu_s is not None else ""),
            target=f"≤ {PYTEST_TARGET_S:.0f} s",
            ok=pytest_s <= PYTEST_TARGET_S and not test.returncode,
            note=f"{at}; {passed} passed, {len(failed)} failed; pytest's own figure within 8c "
            "plus its bytecode warm-up, "
            f"{os.cpu_count()} CPUs; CPU: pytest, its workers and their subprocesses{where}",
        ),
    ]
