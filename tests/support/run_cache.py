"""Expensive results computed once per test run, shared by every pytest-xdist worker.

Synthesizing the CDK app costs seconds of CPU per stage; with the suite spread
over several worker processes each would synthesize the same stage again. The
root ``conftest.py`` creates one folder per run (:data:`RUN_CACHE_ENV` names it;
workers inherit the variable) and removes it at the end. :func:`computed_once`
takes a per-key file lock in it, so the first worker computes and the others
wait for that result instead of redoing it; different keys proceed in parallel.
Without the variable (a helper used outside pytest) it simply computes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RUN_CACHE_ENV = "STOCK_AGENT_TEST_RUN_CACHE"


def start_run_cache() -> Path:
    """Create this run's cache folder and export it to the workers started later."""
    folder = Path(tempfile.mkdtemp(prefix="pytest-run-cache-"))
    os.environ[RUN_CACHE_ENV] = str(folder)
    return folder


def end_run_cache(folder: Path) -> None:
    os.environ.pop(RUN_CACHE_ENV, None)
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def computed_once(key: str, compute: Callable[[Path], Any]) -> tuple[Path, Any]:
    """``compute(folder)`` once per run for ``key``; returns the folder and its JSON result.

    ``compute`` writes whatever files it likes into ``folder`` (treat them as
    read-only afterwards) and returns a JSON-serializable value. A failure
    leaves nothing behind, so the next caller computes again and sees the
    same error.
    """
    root = os.environ.get(RUN_CACHE_ENV)
    if not root:
        folder = Path(tempfile.mkdtemp(prefix="run-cache-"))
        return folder, compute(folder)
    entry = Path(root) / hashlib.sha256(key.encode()).hexdigest()[:20]
    result_path = entry / "result.json"
    with _locked(entry.with_suffix(".lock")):
        if result_path.exists():
            return entry / "data", json.loads(result_path.read_text())
        shutil.rmtree(entry, ignore_errors=True)
        (entry / "data").mkdir(parents=True)
        result = compute(entry / "data")
        partial = entry / "result.json.partial"
        partial.write_text(json.dumps(result))
        partial.replace(result_path)
        return entry / "data", result
