"""The render pool: real worker processes, the same PDF bytes, and no report ever lost.

Each test starts a real ``forkserver`` pool and breaks it the way production
can (a worker killed, the pool shut down, a start that fails) and checks the
report still comes back, rendered in-process, with the reason in the log.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psutil
import pytest
from pypdf import PdfReader
from stock_agent.analysis import analyze
from stock_agent.market_data import SimulatedProvider
from stock_agent.records import Narrative
from stock_agent.reports import pdf as report_pdf
from stock_agent.reports import render_pool

pytestmark = pytest.mark.slow

SNAPSHOT = SimulatedProvider().snapshot("SIM_STOCK", as_of=date(2025, 9, 4))
ARGS: dict[str, Any] = {
    "snapshot": SNAPSHOT,
    "analysis": analyze(SNAPSHOT),
    "narrative": Narrative(text="## Summary\nSteady.", source="model", model_calls=1),
    "generated_at": datetime(2025, 9, 4, 23, 11, 55, tzinfo=UTC),
    "request_id": "req-pool",
}


@pytest.fixture(scope="module")
def expected_pdf() -> bytes:
    return report_pdf.render_report(**ARGS)


@pytest.fixture
def pool() -> Iterator[None]:
    assert render_pool.start(2, wait=True)
    yield
    render_pool.shutdown()
    assert not render_pool.is_running()


def _worker_pids() -> set[int]:
    """The pool's worker processes (children of the forkserver, which lives on)."""
    pool = render_pool._pool
    assert pool is not None
    return set(pool._processes)  # type: ignore[attr-defined]


def test_pool_renders_the_same_bytes_as_in_process(pool: None, expected_pdf: bytes) -> None:
    assert render_pool.is_running()
    assert render_pool.render_report(**ARGS) == expected_pdf
    assert _worker_pids(), "no worker process was started"
    assert "SIM_STOCK" in PdfReader(io.BytesIO(expected_pdf)).pages[0].extract_text()


def test_render_happens_in_a_worker_not_here(
    pool: None, expected_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the in-process path made to fail, the bytes can only come from a worker."""
    render_pool.render_report(**ARGS)  # the workers exist before the patch below

    def not_here(**_: object) -> bytes:
        raise AssertionError("rendered in the server process")

    monkeypatch.setattr(report_pdf, "render_report", not_here)
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_a_killed_worker_loses_no_report_and_the_pool_is_replaced(
    pool: None, expected_pdf: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    render_pool.render_report(**ARGS)
    broken = render_pool._pool
    assert broken is not None
    with pytest.raises(Exception, match="terminated abruptly"):
        broken.submit(os._exit, 1).result(timeout=30)
    with caplog.at_level(logging.WARNING, logger="stock_agent.reports.render_pool"):
        assert render_pool.render_report(**ARGS) == expected_pdf
    assert "render pool broken" in caplog.text and "rendering in-process" in caplog.text
    assert render_pool.is_running() and render_pool._pool is not broken
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_the_pool_is_replaced_at_most_max_restarts_times(
    pool: None,
    expected_pdf: bytes,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render_pool, "MAX_POOL_RESTARTS", 1)

    def break_pool() -> None:
        current = render_pool._pool
        assert current is not None
        with pytest.raises(Exception, match="terminated abruptly"):
            current.submit(os._exit, 1).result(timeout=30)

    break_pool()
    assert render_pool.render_report(**ARGS) == expected_pdf
    assert render_pool.is_running()  # restart 1 of 1
    break_pool()
    with caplog.at_level(logging.ERROR, logger="stock_agent.reports.render_pool"):
        assert render_pool.render_report(**ARGS) == expected_pdf
    assert not render_pool.is_running()
    assert "rendering in-process from now on" in caplog.text
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_bad_input_raises_the_renderers_own_error(pool: None) -> None:
    naive = {**ARGS, "generated_at": datetime(2025, 9, 4, 23, 11, 55)}
    with pytest.raises(ValueError, match="generated_at"):
        report_pdf.render_report(**naive)
    with pytest.raises(ValueError, match="generated_at"):
        render_pool.render_report(**naive)


def test_shutdown_stops_the_workers_and_rendering_continues_here(expected_pdf: bytes) -> None:
    assert render_pool.start(2, wait=True)
    render_pool.render_report(**ARGS)
    workers = [psutil.Process(pid) for pid in _worker_pids()]
    assert workers
    render_pool.shutdown()
    assert not render_pool.is_running()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, alive
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_start_returns_at_once_and_renders_here_until_the_pool_is_up(
    expected_pdf: bytes,
) -> None:
    """The server's start-up must not wait for the forkserver to import reportlab."""
    assert render_pool.start(2)
    try:
        assert render_pool.render_report(**ARGS) == expected_pdf  # pool or not: same bytes
        assert render_pool.start(2, wait=True) and render_pool.is_running()
    finally:
        render_pool.shutdown()


def test_shutdown_while_starting_leaves_no_pool() -> None:
    assert render_pool.start(2)
    render_pool.shutdown()
    starting = render_pool._starting
    if starting is not None:
        starting.join(timeout=60)
    assert not render_pool.is_running()


@pytest.mark.parametrize("workers", [0, 1])
def test_fewer_than_two_workers_means_in_process(workers: int, expected_pdf: bytes) -> None:
    assert not render_pool.start(workers)
    assert not render_pool.is_running()
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_a_pool_that_cannot_start_degrades_to_in_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, expected_pdf: bytes
) -> None:
    def no_processes(workers: int) -> None:
        raise OSError("fork: resource temporarily unavailable")

    monkeypatch.setattr(render_pool, "_new_pool", no_processes)
    with caplog.at_level(logging.WARNING, logger="stock_agent.reports.render_pool"):
        assert not render_pool.start(2, wait=True)
    assert not render_pool.is_running()
    assert "no render pool" in caplog.text and "resource temporarily unavailable" in caplog.text
    assert render_pool.render_report(**ARGS) == expected_pdf


def test_usable_cores_is_this_process_affinity() -> None:
    assert render_pool.usable_cores() == len(os.sched_getaffinity(0)) >= 1
