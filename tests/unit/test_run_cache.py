"""The per-run cache computes each key once across worker processes, and keeps no failure."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from tests.support import run_cache


def _count_and_sleep(counter: Path, folder: Path) -> dict[str, int]:
    import time

    with counter.open("a") as handle:
        handle.write("x")
    (folder / "artifact.txt").write_text("made once")
    time.sleep(0.3)  # long enough for the other process to arrive while this one holds the lock
    return {"pid": os.getpid()}


def _worker(root: str, counter: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.environ[run_cache.RUN_CACHE_ENV] = root
    folder, value = run_cache.computed_once(
        "same key", lambda out: _count_and_sleep(Path(counter), out)
    )
    results.put((str(folder), value, (folder / "artifact.txt").read_text()))


def test_two_processes_compute_a_key_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    counter = tmp_path / "computations"
    procs = [
        context.Process(target=_worker, args=(str(tmp_path / "cache"), str(counter), results))
        for _ in range(2)
    ]
    (tmp_path / "cache").mkdir()
    for proc in procs:
        proc.start()
    got = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert counter.read_text() == "x"
    assert got[0] == got[1]
    assert got[0][2] == "made once"


def test_a_failed_computation_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(run_cache.RUN_CACHE_ENV, str(tmp_path))
    calls: list[int] = []

    def fail(_: Path) -> int:
        calls.append(1)
        raise RuntimeError("synth broke")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="synth broke"):
            run_cache.computed_once("k", fail)
    assert len(calls) == 2
    folder, value = run_cache.computed_once("k", lambda out: 7)
    assert value == 7 and folder.is_dir()
    assert run_cache.computed_once("k", fail) == (folder, 7)
    assert len(calls) == 2


def test_without_a_run_folder_it_just_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(run_cache.RUN_CACHE_ENV, raising=False)
    first = run_cache.computed_once("k", lambda out: 1)
    second = run_cache.computed_once("k", lambda out: 2)
    assert (first[1], second[1]) == (1, 2)
    assert first[0] != second[0]
