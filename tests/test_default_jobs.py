"""Without --jobs, a small search runs in this process and a large one on every core (issue 21)."""
from __future__ import annotations

import os

from research.backends import SMALL_SEARCH_BAR_RUNS, default_jobs


def test_a_small_search_runs_in_this_process():
    assert default_jobs(27 + 1, 121_740) == 1  # one symbol of the bundled sample, 27 settings and the best again


def test_the_readmes_grid_gets_every_core():
    assert default_jobs(100 + 1, 243_480) == (os.cpu_count() or 1)


def test_the_threshold_is_on_bars_times_backtests():
    assert default_jobs(1, SMALL_SEARCH_BAR_RUNS - 1) == 1
    assert default_jobs(1, SMALL_SEARCH_BAR_RUNS) == (os.cpu_count() or 1)
