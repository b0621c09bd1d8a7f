"""Where a search's backtests run: in this process, a local process pool, or a Dask cluster.

All three run the same :func:`run_job` on the same :class:`Job` records and
return the same :class:`research.evaluate.Metrics`, so where a search runs never
changes its results (a test runs one search on all three and compares them).

The pool uses the ``spawn`` start method everywhere: it is what Windows (and the
frozen EXE) must use, and it never forks a process that has Qt or other threads
running. Each worker receives the settings and the candles once, at start-up.
Workers ignore Ctrl-C: the parent catches it and terminates them.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Hashable

from config.settings import AppSettings
from core.backtest import DEFAULT_ENGINE
from core.errors import UserError
from research import evaluate as evaluation
from research.evaluate import MarketData, Metrics
from research.params import Assignment, apply_assignment

DASK_INSTALL_HINT = 'pip install "dask[distributed]==2026.8.0"'


@dataclass(frozen=True)
class Job:
    """One backtest of a search: ``assignment`` put into the base settings, traded over [start, end)."""

    tag: Hashable  # the caller's key for this job (e.g. its row number)
    assignment: Assignment
    start_ms: int | None
    end_ms: int | None
    keep_equity: bool = False
    engine: str = DEFAULT_ENGINE


def run_job(job: Job, base: AppSettings, data: MarketData) -> Metrics:
    settings = apply_assignment(base, job.assignment)
    return evaluation.evaluate(settings, data, job.start_ms, job.end_ms, job.keep_equity, job.engine)


class SerialBackend:
    """Runs each job in this process when asked for a result (``--jobs 1``; tests)."""

    def __init__(self, base: AppSettings, data: MarketData):
        self.base, self.data = base, data
        self.capacity = 1
        self._queue: deque[Job] = deque()

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        job = self._queue.popleft()
        return job, run_job(job, self.base, self.data)

    def close(self, cancel: bool = False) -> None:
        self._queue.clear()


# ----- local process pool -------------------------------------------------------------------------

_WORKER: tuple[AppSettings, MarketData] | None = None


def _init_worker(base: AppSettings, data: MarketData) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER = (base, data)


def _run_in_worker(job: Job) -> Metrics:
    assert _WORKER is not None, "worker not initialised"
    return run_job(job, *_WORKER)


class PoolBackend:
    """A pool of ``jobs`` worker processes on this machine."""

    def __init__(self, base: AppSettings, data: MarketData, jobs: int):
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(jobs, initializer=_init_worker, initargs=(base, data))
        self._done: queue.Queue[tuple[Job, Metrics | None, BaseException | None]] = queue.Queue()
        self.capacity = 2 * jobs  # one waiting behind each running job keeps every core busy

    def submit(self, job: Job) -> None:
        self._pool.apply_async(_run_in_worker, (job,),
                               callback=lambda metrics: self._done.put((job, metrics, None)),
                               error_callback=lambda error: self._done.put((job, None, error)))

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        try:
            job, metrics, error = self._done.get(timeout=timeout)
        except queue.Empty:
            return None
        if error is not None:
            raise error
        return job, metrics

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


# ----- Dask distributed ---------------------------------------------------------------------------


def _run_remote(job: Job, base: AppSettings, data: MarketData) -> Metrics:
    return run_job(job, base, data)


class DaskBackend:
    """The same jobs on a Dask distributed cluster (``--cluster tcp://host:8786``).

    The workers must run this program's source (same version) with its requirements;
    the candles are sent to every worker once (``scatter(broadcast=True)``).
    """

    def __init__(self, base: AppSettings, data: MarketData, address: str):
        try:
            import distributed
        except ImportError:
            raise UserError(f"--cluster needs Dask distributed, which is not installed; install it with "
                            f"{DASK_INSTALL_HINT}") from None
        try:
            self._client = distributed.Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        threads = sum(self._client.nthreads().values()) or 1  # every worker thread busy, one job queued behind each
        self.capacity = 2 * threads
        self._base = base
        self._data = self._client.scatter(data, broadcast=True, hash=False)
        self._futures: dict[Any, Job] = {}

    def submit(self, job: Job) -> None:
        future = self._client.submit(_run_remote, job, self._base, self._data, pure=False)
        self._futures[future] = job

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        # Polled, not distributed.wait(): that one needs a process-wide default client.
        deadline = time.monotonic() + timeout
        while True:
            future = next((f for f in self._futures if f.done()), None)
            if future is not None:
                job = self._futures.pop(future)
                return job, future.result()
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self._client.cancel(list(self._futures))
        self._futures.clear()
        self._client.close()


def make_backend(base: AppSettings, data: MarketData, jobs: int | None, cluster: str | None):
    """``cluster`` -> Dask; else ``jobs`` processes (default: every core); 1 -> this process."""
    if cluster:
        return DaskBackend(base, data, cluster)
    count = jobs if jobs is not None else (os.cpu_count() or 1)
    if count < 1:
        raise UserError(f"--jobs {count}: must be at least 1")
    return SerialBackend(base, data) if count == 1 else PoolBackend(base, data, count)
