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
so memory stays bounded. The forkserver starts without OpenTelemetry's
auto-instrumentation (the container runs under ``opentelemetry-instrument``,
whose ``sitecustomize`` every child interpreter would otherwise load): the
workers only render, and exporter threads in them would print into the
server's output and could hold up their exit. Each worker also watches the
server process and exits when it is gone, so a server killed without a
graceful shutdown (``SIGKILL``, the OOM killer) leaves no process behind.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # reportlab loads on the first render, not with the server
    from ..records import Narrative, StockAnalysis, StockSnapshot

logger = logging.getLogger(__name__)

RENDER_TIMEOUT_S = 60.0
MAX_RENDERS_PER_WORKER = 500
MAX_POOL_RESTARTS = 3
SHUTDOWN_TIMEOUT_S = 10.0
_AUTO_INSTRUMENTATION = os.path.join("opentelemetry", "instrumentation", "auto_instrumentation")

_TURN = threading.Lock()
_STATE_LOCK = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_starting: threading.Thread | None = None
_stopped = False  # shutdown() ran while the pool was still starting
_workers = 0
_restarts = 0


def usable_cores() -> int:
    """CPUs this process may run on (the container's or cgroup's share, where set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _init_worker(server_pid: int) -> None:
    """Ignore Ctrl-C (the server handles it and shuts the pool down); die with the server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_when_gone, args=(server_pid,), name="server-watch", daemon=True
    ).start()


def _exit_when_gone(server_pid: int) -> None:
    try:
        pidfd = os.pidfd_open(server_pid)
        select.select([pidfd], [], [])  # readable once the process has exited
    except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll instead
        while _alive(server_pid):
            time.sleep(1.0)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _without_auto_instrumentation() -> Iterator[None]:
    """While the forkserver starts: no OTel ``sitecustomize`` on its path, SDK disabled."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "OTEL_SDK_DISABLED")}
    paths = (saved["PYTHONPATH"] or "").split(os.pathsep)
    kept = [p for p in paths if p and not p.rstrip(os.sep).endswith(_AUTO_INSTRUMENTATION)]
    os.environ["PYTHONPATH"] = os.pathsep.join(kept)
    os.environ["OTEL_SDK_DISABLED"] = "true"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _render(
    snapshot: StockSnapshot,
    analysis: StockAnalysis,
    narrative: Narrative,
    generated_at: datetime,
    request_id: str,
) -> bytes:
    from . import pdf as report_pdf

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
    context.set_forkserver_preload(["stock_agent.reports.pdf"])
    with _without_auto_instrumentation():
        multiprocessing.forkserver.ensure_running()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(os.getpid(),),
        max_tasks_per_child=MAX_RENDERS_PER_WORKER,
    )


def start(workers: int, *, wait: bool = False) -> bool:
    """Render in ``workers`` processes from now on; ``workers < 2`` keeps rendering here.

    The pool starts in a background thread (the forkserver imports reportlab
    first, which must not delay the server's first ``/ping``); until it is up,
    reports render in-process. ``wait`` blocks until it is up (tests). Returns
    whether a pool is (being) started. Never raises: without a pool, reports
    are rendered in this process.
    """
    global _starting, _stopped
    if workers < 2:
        logger.info("rendering reports in-process", extra={"render_workers": workers})
        return False
    with _STATE_LOCK:
        if _pool is not None or _starting is not None:
            thread = _starting
        else:
            _stopped = False
            thread = _starting = threading.Thread(
                target=_start_pool, args=(workers,), name="render-pool-start", daemon=True
            )
            thread.start()
    if wait and thread is not None:
        thread.join()
        return _pool is not None
    return True


def _start_pool(workers: int) -> None:
    global _pool, _workers, _restarts, _starting, _stopped
    try:
        pool = _new_pool(workers)
        pool.submit(_warm_up).result(RENDER_TIMEOUT_S)
    except Exception as err:  # no pool means slower, not broken
        logger.warning("no render pool (%s); rendering reports in-process", err)
        with _STATE_LOCK:
            _starting = None
        return
    with _STATE_LOCK:
        _starting = None
        if _stopped:
            _stopped = False
            pool.shutdown(wait=False, cancel_futures=True)
            return
        _pool, _workers, _restarts = pool, workers, 0
    logger.info("rendering reports in worker processes", extra={"render_workers": workers})


def shutdown(timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
    """Stop the workers; later renders happen here.

    Renders in progress finish (their callers get their PDFs); a worker still
    running after ``timeout_s`` is killed, so a server always stops.
    """
    global _pool, _stopped
    with _STATE_LOCK:
        pool, _pool = _pool, None
        _stopped = _starting is not None
    if pool is None:
        return
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.warning("render worker %s did not stop; killing it", process.pid)
            process.kill()
            process.join(1.0)


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
    """:func:`stock_agent.reports.pdf.render_report`, in a worker when a pool runs.

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
