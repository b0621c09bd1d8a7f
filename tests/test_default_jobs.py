"""Without --jobs: threads (the compiled kernel) always use every core; worker processes only for a
search large enough to pay for their start (issue 21)."""
from __future__ import annotations

import os

import pytest

from research import backends
from research.backends import SMALL_SEARCH_BAR_RUNS, default_jobs


def test_threads_take_every_core_even_for_a_small_search():
    assert default_jobs(27 + 1, 121_740, threads=True) == (os.cpu_count() or 1)


def test_a_small_search_by_worker_processes_runs_in_this_process():
    assert default_jobs(27 + 1, 121_740, threads=False) == 1  # one symbol of the bundled sample, 27 settings


def test_the_readmes_grid_gets_every_core_either_way():
    for threads in (True, False):
        assert default_jobs(100 + 1, 243_480, threads=threads) == (os.cpu_count() or 1)


def test_the_process_threshold_is_on_bars_times_backtests():
    assert default_jobs(1, SMALL_SEARCH_BAR_RUNS - 1, threads=False) == 1
    assert default_jobs(1, SMALL_SEARCH_BAR_RUNS, threads=False) == (os.cpu_count() or 1)


@pytest.mark.parametrize(("engine", "numba", "threads"),
                         [("kernel", True, True), ("kernel", False, False), ("exact", True, False)])
def test_threads_only_for_the_compiled_kernel(monkeypatch, engine, numba, threads):
    import core.kernel_jit

    monkeypatch.setattr(core.kernel_jit, "NUMBA_AVAILABLE", numba)
    assert backends.runs_in_threads(engine) is threads
