"""Where a search's backtests run: in this process, a local process pool, or a Dask cluster.

All three run the same :func:`run_job` on the same :class:`Job` records and
return the same :class:`research.evaluate.Metrics`, so where a search runs never
changes its results (a test runs one search on all three and compares them).

``--jobs N`` (N > 1) runs N jobs at a time: N threads of this process with the compiled kernel
(:class:`ThreadBackend`), a pool of N worker processes with the exact engine; ``--jobs 1`` this
process alone, one job after the other. Without
``--jobs``: every core, except for a search so small that starting the workers costs more than
they save (:func:`default_jobs`), which runs in this process. :class:`HybridBackend` (this
process first, workers joining when the work left pays for them) is built and tested but not
the default (see :func:`make_backend`).

The pool uses the ``spawn`` start method everywhere: it is what Windows (and the
frozen EXE) must use, and it never forks a process that has Qt or other threads
running. Each worker receives the settings and the candles once, at start-up, from one temporary
file written by the parent (:class:`_SharedInputs`).
Workers ignore Ctrl-C: the parent catches it and terminates them.
"""
from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import queue
import signal
import tempfile
import threading
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
        from core import kernel

        self.base, self.data = base, data
        self.capacity = 1
        self._queue: deque[Job] = deque()
        self._signals = kernel.SignalMemo()  # each signal series computed once per search

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        from core import kernel

        job = self._queue.popleft()
        with kernel.remembering_signals(self._signals):
            return job, run_job(job, self.base, self.data)

    def close(self, cancel: bool = False) -> None:
        self._queue.clear()
        self._signals = None  # the memo holds the candles' arrays: let them go with the search


class ThreadBackend:
    """``jobs`` threads of this process running jobs side by side (``--jobs N`` with the compiled kernel).

    The compiled kernel releases the GIL (``nogil``), and so do numpy's array operations around it,
    so threads run a search's backtests on every core without what a worker process costs before
    its first job: a new Python importing the project (pandas, numba: 0.6-1.2 s each on the 2-core
    machine), the candles copied into it, numba's machine code loaded again. The threads share this
    process's signal memo (:class:`core.kernel.SignalMemo`, locked), so each signal series is still
    computed once per search. A job runs the same :func:`run_job` as everywhere else: the same
    figures as ``--jobs 1``. (The exact engine, pure Python, holds the GIL: a search of settings
    the kernel cannot reproduce gains little from threads; ``make_backend`` gives it processes.)
    """

    def __init__(self, base: AppSettings, data: MarketData, jobs: int):
        from concurrent.futures import ThreadPoolExecutor

        from core import kernel

        self.base, self.data = base, data
        self.capacity = 2 * jobs  # one waiting behind each running job keeps every core busy
        self._memo = contextlib.ExitStack()
        self._memo.enter_context(kernel.remembering_signals(kernel.SignalMemo()))  # read by every thread
        self._threads = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="optimize")
        self._done: queue.Queue[tuple[Job, Metrics | None, BaseException | None]] = queue.Queue()

    def submit(self, job: Job) -> None:
        self._threads.submit(self._run, job)

    def _run(self, job: Job) -> None:
        try:
            self._done.put((job, run_job(job, self.base, self.data), None))
        except BaseException as error:  # noqa: BLE001 - handed to the search, which raises it
            self._done.put((job, None, error))

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        return _next_from(self._done, timeout)

    def close(self, cancel: bool = False) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._memo.close()



def _next_from(done: "queue.Queue[tuple[Job, Metrics | None, BaseException | None]]",
               timeout: float) -> tuple[Job, Metrics] | None:
    """The next finished job of a backend's queue (None after ``timeout``); a job's error is raised
    here, in the search's thread."""
    try:
        job, metrics, error = done.get(timeout=timeout)
    except queue.Empty:
        return None
    if error is not None:
        raise error
    return job, metrics

# ----- local process pool -------------------------------------------------------------------------

_WORKER: tuple[AppSettings, MarketData] | None = None


class _SharedInputs:
    """The settings and candles of a search, pickled once into a temporary file that every worker
    reads at start-up.

    Handing them to ``Pool(initargs=...)`` made the pool's start serial: the parent writes each new
    worker's arguments into its pipe, and a worker reads them only as it unpickles them, importing
    the project (pandas, numba) midway; so the second worker was not even started until the first
    had imported everything and read its ~20 MB (1.3-1.6 s for two workers on the 2-core machine).
    With only a file name to send, the workers start at once and import side by side."""

    def __init__(self, base: AppSettings, data: MarketData):
        handle = tempfile.NamedTemporaryFile(prefix="autohedge-search-", suffix=".pickle", delete=False)
        self.path = handle.name
        try:
            with handle:
                pickle.dump((base, data), handle, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.path)


def _start_pool(base: AppSettings, data: MarketData, jobs: int):
    """A spawn pool of ``jobs`` workers, each loading the search's inputs from one shared file
    (removed by :func:`_stop_pool`)."""
    shared = _SharedInputs(base, data)
    try:
        pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_init_worker_from_file,
                                                         initargs=(shared.path,))
    except BaseException:
        shared.remove()
        raise
    return pool, shared


def _stop_pool(pool, shared: _SharedInputs, cancel: bool) -> None:
    try:
        if cancel:
            pool.terminate()
        else:
            pool.close()
        pool.join()
    finally:
        shared.remove()


def _init_worker_from_file(path: str) -> None:
    with open(path, "rb") as handle:
        base, data = pickle.load(handle)
    _init_worker(base, data)


def _init_worker(base: AppSettings, data: MarketData) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER = (base, data)
    from core import kernel

    kernel.remember_signals_for_this_process()  # a worker lives for one search: its signals computed once
    _warm_kernel()


def _warm_kernel() -> None:
    """Load the compiled kernel (numba's cache) before the first job arrives."""
    import numpy as np

    from core import kernel
    from core.params import StrategyParams

    times = np.arange(600, dtype=np.int64) * 300_000
    prices = 100.0 + np.sin(np.arange(600) / 7.0)
    codes = kernel.indicators.signal_codes(prices, StrategyParams().signal)
    kernel.run_symbol(times, prices, prices, codes, times[::288] + 86_400_000, codes[::288], times[:0], prices[:0],
                      0, 600, False, 1.0, 0.05, 0.0, 1000.0, StrategyParams())


def _run_in_worker(job: Job) -> Metrics:
    assert _WORKER is not None, "worker not initialised"
    return run_job(job, *_WORKER)


class PoolBackend:
    """A pool of ``jobs`` worker processes on this machine."""

    def __init__(self, base: AppSettings, data: MarketData, jobs: int):
        self._pool, self._shared = _start_pool(base, data, jobs)
        self._done: queue.Queue[tuple[Job, Metrics | None, BaseException | None]] = queue.Queue()
        self.capacity = 2 * jobs  # one waiting behind each running job keeps every core busy

    def submit(self, job: Job) -> None:
        self._pool.apply_async(_run_in_worker, (job,),
                               callback=lambda metrics: self._done.put((job, metrics, None)),
                               error_callback=lambda error: self._done.put((job, None, error)))

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        return _next_from(self._done, timeout)

    def close(self, cancel: bool = False) -> None:
        _stop_pool(self._pool, self._shared, cancel)


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


# ----- this process first, helpers when the work is worth them -------------------------------------

START_HELPERS_AFTER_S = 1.5  # estimated work left, in this process's seconds, that pays for starting workers


class HybridBackend:
    """``--jobs N`` (the default): this process runs jobs at once, and N - 1 worker processes join in
    when the search is big enough to pay for starting them.

    A worker costs about a second before its first job (a new Python, the project's imports, the
    candles sent to it, numba's machine code loaded); a 27-setting search of one symbol takes less
    than that in one process. So the search starts here; after each job run here (from the second),
    the work left (jobs expected minus jobs done, times the quickest job here so far) is estimated, and
    once it exceeds ``start_after_s`` the pool is started in a background thread (its start-up,
    which writes the candles into each new worker, never stalls this process's jobs). From then on
    the workers take jobs from the same queue. Which process ran a job never changes its figures
    (the same :func:`run_job`), so results equal ``--jobs 1``'s exactly.
    """

    def __init__(self, base: AppSettings, data: MarketData, jobs: int, start_after_s: float = START_HELPERS_AFTER_S):
        from core import kernel

        self.base, self.data = base, data
        self.workers = max(1, jobs - 1)
        self.capacity = 2 * (self.workers + 1)  # every process busy and one job waiting behind each
        self.start_after_s = start_after_s
        self._signals = kernel.SignalMemo()
        self._waiting: deque[Job] = deque()
        self._done: queue.Queue[tuple[Job, Metrics | None, BaseException | None]] = queue.Queue()
        self._pool = None
        self._starter: threading.Thread | None = None
        self._in_pool = 0
        self._expected = 0
        self._finished = 0
        self._fastest_local = math.inf  # seconds of the quickest job run here (the first ones also load and warm up)
        self._local_jobs = 0

    @property
    def helpers_started(self) -> bool:
        return self._starter is not None

    def expect(self, jobs: int) -> None:
        """How many jobs the search will submit in all (its estimate of the work left needs it)."""
        self._expected = jobs

    def submit(self, job: Job) -> None:
        self._waiting.append(job)
        self._feed_pool()

    def next_done(self, timeout: float) -> tuple[Job, Metrics] | None:
        finished = self._pool_result(block=False, timeout=0.0)
        if finished is not None:
            return finished
        self._feed_pool()
        if self._waiting:
            from core import kernel

            job = self._waiting.popleft()
            began = time.perf_counter()
            with kernel.remembering_signals(self._signals):
                metrics = run_job(job, self.base, self.data)
            self._fastest_local = min(self._fastest_local, time.perf_counter() - began)
            self._local_jobs += 1
            self._finished += 1
            self._maybe_start_helpers()
            return job, metrics
        return self._pool_result(block=True, timeout=timeout)

    def _pool_result(self, block: bool, timeout: float) -> tuple[Job, Metrics] | None:
        if self._in_pool == 0:  # nothing handed to the workers: nothing can come back
            return None
        try:
            job, metrics, error = self._done.get(block=block, timeout=timeout if block else None)
        except queue.Empty:
            return None
        self._in_pool -= 1
        self._finished += 1
        if error is not None:
            raise error
        return job, metrics

    def _maybe_start_helpers(self) -> None:
        if self._starter is not None or self._local_jobs < 2:  # the first job also loads the kernel: not typical
            return
        if (self._expected - self._finished) * self._fastest_local <= self.start_after_s:
            return
        self._starter = threading.Thread(target=self._start_pool, name="optimize-workers", daemon=True)
        self._starter.start()

    def _start_pool(self) -> None:
        self._pool, self._shared = _start_pool(self.base, self.data, self.workers)

    def _feed_pool(self) -> None:
        pool = self._pool
        if pool is None:
            return
        while self._waiting and self._in_pool < 2 * self.workers:
            job = self._waiting.pop()  # from the back: this process keeps taking from the front
            self._in_pool += 1
            pool.apply_async(_run_in_worker, (job,),
                             callback=lambda metrics, job=job: self._done.put((job, metrics, None)),
                             error_callback=lambda error, job=job: self._done.put((job, None, error)))

    def close(self, cancel: bool = False) -> None:
        self._waiting.clear()
        if self._starter is not None:
            self._starter.join()
        if self._pool is not None:
            _stop_pool(self._pool, self._shared, cancel)
        self._signals = None


# Bars x backtests below which a search run by worker processes runs one backtest at a time when
# --jobs is not given: each worker imports the project for 1-2 s before its first job (issue 21), and
# the 27-setting search of one symbol (3.3M) took 2.2 s alone against 3.3 s with two workers. Threads
# (the compiled kernel's backend) cost nothing to start: a search they run always gets every core (the
# 27-setting search, five runs each, interleaved on the 2-core machine: 1.13-1.37 s with two threads
# against 1.34-1.59 s one at a time).
SMALL_SEARCH_BAR_RUNS = 10_000_000


def default_jobs(backtests: int, bars: int, threads: bool = True) -> int:
    """Backtests at a time for a search of ``backtests`` runs over ``bars`` bars each when --jobs is
    not given: every core; with worker processes (``threads`` False: the exact engine, or the kernel
    without numba) 1 when the whole search is below :data:`SMALL_SEARCH_BAR_RUNS`."""
    if not threads and backtests * bars < SMALL_SEARCH_BAR_RUNS:
        return 1
    return os.cpu_count() or 1


def runs_in_threads(engine: str) -> bool:
    """Whether ``--jobs N`` means threads (the compiled kernel releases Python's lock) rather than
    worker processes."""
    from core.kernel_jit import NUMBA_AVAILABLE

    return engine == "kernel" and NUMBA_AVAILABLE


def make_backend(base: AppSettings, data: MarketData, jobs: int | None, cluster: str | None,
                 engine: str = DEFAULT_ENGINE):
    """``cluster`` -> Dask; else ``jobs`` at a time (default: every core): 1 -> this process only; more ->
    :class:`ThreadBackend` for the compiled kernel (it releases the GIL: no worker process to start),
    a pool of ``jobs`` worker processes for the exact engine or the kernel interpreted (without numba:
    pure Python, which threads would run one at a time). :class:`HybridBackend` (this process first, workers only when the work pays for them) is
    built and tested but not the default: one of its timing runs stalled and the cause was not found
    (issue 21, left open)."""
    if cluster:
        return DaskBackend(base, data, cluster)
    count = jobs if jobs is not None else (os.cpu_count() or 1)
    if count < 1:
        raise UserError(f"--jobs {count}: must be at least 1")
    if count == 1:
        return SerialBackend(base, data)
    if runs_in_threads(engine):  # interpreted, the kernel would hold the GIL: processes then
        return ThreadBackend(base, data, count)
    return PoolBackend(base, data, count)
