"""Compile the suite's heavy imports once, before pytest-xdist starts its workers.

In a fresh clone (or a fresh CI venv) nothing is compiled yet, and every
worker would compile the same modules at the same moment: three workers on
two cores paid that about three times over (a cold collection takes about
25 s of CPU per worker, a warm one about 9 s). Instead the controller
imports them first, in two processes that split the work across cores and
write the bytecode; the workers then read it. When the bytecode is already
there (any run after the first) nothing is started.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Two halves of about equal compile cost: the CDK app (aws-cdk-lib's modules are
# most of it) and the agent with the test-side libraries. Each group names first the
# module whose cached bytecode shows that the group was compiled.
IMPORT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aws_cdk", ("stacks.app_builder",)),
    (
        "pypdf",
        (
            "stock_agent.server.entrypoint",
            "stock_agent.mcp.http",
            "stock_agent.agent",
            "eval.runner",
            "hypothesis",
            "pypdf",
            "moto",
            "boto3",
            "pandas",
            "yfinance",
        ),
    ),
)
TIMEOUT_S = 300.0


def has_bytecode(module: str) -> bool:
    """True when ``module`` (a top-level name: nothing is imported) has cached bytecode."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return True  # nothing to compile (or not installed): never a reason to start
    return Path(importlib.util.cache_from_source(spec.origin)).exists()


@dataclass(frozen=True)
class WarmUp:
    """What :func:`compile_heavy_imports` started: one exit code per group, and how long."""

    codes: list[int]
    seconds: float

    def header(self) -> str | None:
        """The line pytest prints, so that timings of the run can include this step."""
        if not self.codes:
            return None
        return f"bytecode warm-up: {len(self.codes)} import group(s) in {self.seconds:.1f} s"


def compile_heavy_imports() -> WarmUp:
    """Import each group whose sentinel lacks bytecode, in parallel, and wait for them.

    Does nothing when bytecode may not be written (``PYTHONDONTWRITEBYTECODE``).
    A failing import is the workers' to report: it is logged here, not raised.
    """
    if sys.dont_write_bytecode:
        return WarmUp(codes=[], seconds=0.0)
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", "import " + ", ".join(modules)],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for sentinel, modules in IMPORT_GROUPS
        if not has_bytecode(sentinel)
    ]
    codes = [process.wait(timeout=TIMEOUT_S) for process in processes]
    warm_up = WarmUp(codes=codes, seconds=time.monotonic() - started)
    if processes:
        logger.info("%s (exit codes %s)", warm_up.header(), codes)
    return warm_up
