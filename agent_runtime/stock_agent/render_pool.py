"""Render report PDFs in worker processes, so concurrent requests use every core.

Rendering is pure-Python CPU work that holds the GIL: in one server process,
concurrent requests render one at a time on one core however many cores the
host has. A small process pool (one worker per usable core) renders them in
parallel; the PDF bytes come back to the caller, which stores them exactly as
before.

Only the servers start a pool (:func:`start`, :func:`shutdown`, run from the
app's lifespan). Without one (the CLI, tests, library use) :func:`render_report`
renders in this process, taking turns: interleaved under the GIL, concurrent
renders would all finish late together.

A report is never lost to the pool: when the pool cannot start, breaks (a
worker killed, e.g. by the OOM killer), or a render in a worker fails or takes
longer than :data:`RENDER_TIMEOUT_S`, the report is rendered here instead and
the reason is logged. A broken pool is replaced, at most
:data:`MAX_POOL_RESTARTS` times per process.

Workers come from a ``forkserver`` (never ``fork``: the server has threads)
that has already imported reportlab, so a new worker costs a fork, not an
import; each worker is replaced after :data:`MAX_RENDERS_PER_WORKER` renders
so memory stays bounded.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # reportlab loads on the first render, not with the server
    from .records import Narrative, StockAnalysis, StockSnapshot

logger = logging.getLogger(__name__)

RENDER_TIMEOUT_S = 60.0
MAX_RENDERS_PER_WORKER = 500
MAX_POOL_RESTARTS = 3

_TURN = threading.Lock()
_STATE_LOCK = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_workers = 0
_restarts = 0


def usable_cores() -> int:
    """CPUs this process may run on (the container's or cgroup's share, where set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _init_worker() -> None:
    """Workers ignore Ctrl-C (the server handles it and shuts the pool down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _render(
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    generated_at: datetime,
    request_id: str,
) -> bytes:
    from . import report_pdf

    return report_pdf.render_report(
        snapshot=snapshot,
        analysis=analysis,
        narrative=narrative,
        generated_at=generated_at,
        request_id=request_id,
    )


def _warm_up() -> None:
    """Started with the pool, so the forkserver and a first worker exist before a request."""


def _new_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["stock_agent.report_pdf"])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        max_tasks_per_child=MAX_RENDERS_PER_WORKER,
    )


def start(workers: int) -> bool:
    """Render in ``workers`` processes from now on; ``workers < 2`` keeps rendering here.

    Returns whether a pool is running. Never raises: without a pool, reports
    are rendered in this process.
    """
    global _pool, _workers, _restarts
    if workers < 2:
        logger.info("rendering reports in-process", extra={"render_workers": workers})
        return False
    with _STATE_LOCK:
        if _pool is not None:
            return True
        try:
            _pool = _new_pool(workers)
            _pool.submit(_warm_up)
        except Exception as err:  # no pool means slower, not broken
            logger.warning("no render pool (%s); rendering reports in-process", err)
            _pool = None
            return False
        _workers, _restarts = workers, 0
    logger.info("rendering reports in worker processes", extra={"render_workers": workers})
    return True


def shutdown() -> None:
    """Stop the workers (waiting for renders in progress); later renders happen here."""
    global _pool
    with _STATE_LOCK:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def is_running() -> bool:
    return _pool is not None


def _replace_broken(broken: ProcessPoolExecutor) -> None:
    global _pool, _restarts
    with _STATE_LOCK:
        if _pool is not broken:
            return  # another thread already replaced it
        _pool = None
        broken.shutdown(wait=False, cancel_futures=True)
        if _restarts >= MAX_POOL_RESTARTS:
            logger.error("render pool broke %d times; rendering in-process from now on", _restarts)
            return
        _restarts += 1
        try:
            _pool = _new_pool(_workers)
        except Exception as err:
            logger.error("could not restart the render pool (%s); rendering in-process", err)


def render_report(
    *,
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    generated_at: datetime,
    request_id: str,
) -> bytes:
    """:func:`stock_agent.report_pdf.render_report`, in a worker when a pool runs.

    Same bytes either way (rendering is deterministic); the same errors for
    bad input (a worker's error makes the in-process render raise it here).
    """
    args = (snapshot, analysis, narrative, generated_at, request_id)
    pool = _pool
    if pool is not None:
        try:
            return pool.submit(_render, *args).result(RENDER_TIMEOUT_S)
        except BrokenProcessPool as err:
            logger.warning("render pool broken (%s); rendering in-process", err)
            _replace_broken(pool)
        except RuntimeError as err:  # shut down between the check and the submit
            logger.warning("render pool unavailable (%s); rendering in-process", err)
        except Exception as err:
            logger.warning(
                "rendering in a worker failed (%s: %s); rendering in-process",
                type(err).__name__,
                err,
            )
    with _TURN:
        return _render(*args)
