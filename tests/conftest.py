"""Repository-wide pytest setup.

* Puts the repository root on ``sys.path`` so tests import ``stacks`` and
  ``tests.support`` the same way ``app.py`` does (pytest itself only adds
  the test folders).
* One cache folder per run (``tests.support.run_cache``): expensive results
  such as synthesized templates are computed once and shared by the
  pytest-xdist workers.
* In a fresh venv, the heavy imports are compiled once before the workers
  start, instead of by every worker at once (``tests.support.precompile``).
* ``--snapshot-update``: rewrite the CDK template snapshots under
  ``tests/snapshots/`` instead of comparing against them (``make
  snapshot-update``); review the diff before committing.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import pytest

from tests.support.precompile import WarmUp, compile_heavy_imports
from tests.support.run_cache import end_run_cache, start_run_cache

# Fixtures every folder may use: the loopback model fakes (``vllm``, ``runtime``).
pytest_plugins = ("tests.support.model_clients",)

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
_RUN_CACHE = pytest.StashKey[Path]()
_WARM_UP = pytest.StashKey[WarmUp]()


def pytest_configure(config: pytest.Config) -> None:
    """One cache folder per run, made before pytest-xdist starts its workers; with
    workers, the heavy imports compiled once first (``tests.support.precompile``)."""
    if not hasattr(config, "workerinput"):
        config.stash[_RUN_CACHE] = start_run_cache()
        if config.getoption("numprocesses", None):
            config.stash[_WARM_UP] = compile_heavy_imports()


def pytest_report_header(config: pytest.Config) -> str | None:
    """The warm-up ran before pytest's clock: say how long it took, so that a timing of
    the run (the setup benchmark) can add it."""
    warm_up = config.stash.get(_WARM_UP, None)
    return warm_up.header() if warm_up is not None else None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's cache folder; print the CPU the run used (the setup benchmark
    reads it: on a shared machine CPU time depends far less on the neighbours)."""
    folder = config.stash.get(_RUN_CACHE, None)
    if folder is not None:
        end_run_cache(folder)
        own = resource.getrusage(resource.RUSAGE_SELF)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_s, workers_s = own.ru_utime + own.ru_stime, workers.ru_utime + workers.ru_stime
        sys.stdout.write(
            f"pytest CPU: {own_s + workers_s:.1f} s (this process {own_s:.1f} s, "
            f"its workers and subprocesses {workers_s:.1f} s)\n"
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="rewrite tests/snapshots/ from the current synthesized templates",
    )


@pytest.fixture(scope="session")
def snapshot_update(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite snapshots (``--snapshot-update``)."""
    return bool(request.config.getoption("--snapshot-update"))
