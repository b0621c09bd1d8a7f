"""A search does each piece of work once: signals per signal group (core.kernel.SignalMemo), and a
backend that starts workers only when the work pays for them (research.backends.HybridBackend; not
the default yet).
Neither may change a single figure."""
from __future__ import annotations

import os

import numpy as np
import pytest

from config.settings import load_settings
from core import indicators, kernel
from core.params import SignalParams
from research.backends import HybridBackend, PoolBackend, SerialBackend, ThreadBackend, make_backend
from research.evaluate import MarketData
from research.params import parse_params
from research.search import Search, SearchPlan
from tests.optimize_helpers import write_small_sample
from adapters import kline_files

SIGNALS = [SignalParams(rsi_length=2, centerline=50.0), SignalParams(rsi_length=2, centerline=55.0),
           SignalParams(rsi_length=3, centerline=50.0), SignalParams(reference="macd", macd_fast=3, macd_slow=8),
           SignalParams(reference="macd", macd_fast=3, macd_slow=8, entry="cross"),
           SignalParams(reference="macd", macd_fast=2, macd_slow=8)]


def test_remembered_signals_equal_the_indicators_bit_for_bit_and_are_computed_once_per_group():
    closes = 100.0 + np.cumsum(np.random.default_rng(4).normal(0.0, 0.5, 3000))
    memo = kernel.SignalMemo()
    with kernel.remembering_signals(memo):
        for _ in range(3):
            for params in SIGNALS:
                assert kernel.signal_codes(closes, params).tobytes() == indicators.signal_codes(closes, params).tobytes()
                assert kernel.signal_codes(closes[:1000], params).tobytes() == \
                    indicators.signal_codes(closes[:1000], params).tobytes()  # a shorter view: another series
    # 5 signal groups (the entry mode does not change the codes) x 2 series, each computed once
    assert memo.computed == 10
    assert kernel._SIGNAL_MEMO is None  # off again outside the block


def test_a_series_changed_in_place_is_computed_afresh():
    closes = 100.0 + np.cumsum(np.random.default_rng(5).normal(0.0, 0.5, 500))
    with kernel.remembering_signals() as memo:
        first = kernel.signal_codes(closes, SIGNALS[0]).copy()
        closes[-1] += 50.0
        changed = kernel.signal_codes(closes, SIGNALS[0])
    assert changed.tobytes() == indicators.signal_codes(closes, SIGNALS[0]).tobytes()
    assert changed[-1] != first[-1] and memo.computed == 2


@pytest.fixture(scope="module")
def search_inputs(tmp_path_factory):
    folder = write_small_sample(tmp_path_factory.mktemp("sample"))
    data = MarketData({s: kline_files.load_symbol(folder, s, "5m").frame for s in ("DOGEUSDT", "ALGOUSDT")},
                      {s: kline_files.load_symbol(folder, s, "1d").frame for s in ("DOGEUSDT", "ALGOUSDT")})
    base = load_settings()
    specs = tuple(parse_params(["strategy.exit.take_profit_pct=0.5,1,2", "strategy.signal.centerline=45,55"], base))
    plan = SearchPlan(specs, start_ms=1_675_209_600_000, end_ms=1_675_641_600_000)  # 2023-02-01 .. 02-06
    return base, data, plan


def rows_of(result):
    return [(row.assignment, row.metrics.row(), row.metrics.dsr, row.metrics.pbo) for row in result.rows]


def test_the_hybrid_backend_with_its_workers_equals_one_process(search_inputs):
    base, data, plan = search_inputs
    alone = Search(plan, base, SerialBackend(base, data)).run()
    helped_backend = HybridBackend(base, data, jobs=2, start_after_s=0.0)  # workers as soon as it can
    helped = Search(plan, base, helped_backend).run()
    assert helped_backend.helpers_started
    assert rows_of(helped) == rows_of(alone)
    assert helped.best == alone.best and helped.best_metrics.row() == alone.best_metrics.row()


def test_the_hybrid_backend_keeps_a_small_search_in_this_process(search_inputs):
    base, data, plan = search_inputs
    backend = HybridBackend(base, data, jobs=2, start_after_s=3600.0)
    result = Search(plan, base, backend).run()
    assert not backend.helpers_started  # never worth a worker's start-up
    assert rows_of(result) == rows_of(Search(plan, base, SerialBackend(base, data)).run())


def test_threads_and_worker_processes_equal_one_process(search_inputs):
    """``--jobs 2`` runs the kernel in two threads of this process, the exact engine in two worker
    processes (reading the search's inputs from one temporary file, removed afterwards)."""
    base, data, plan = search_inputs
    alone = rows_of(Search(plan, base, SerialBackend(base, data)).run())
    threads = make_backend(base, data, 2, None, "kernel")
    assert isinstance(threads, ThreadBackend)
    assert rows_of(Search(plan, base, threads).run()) == alone
    processes = PoolBackend(base, data, 2)
    shared = processes._shared.path
    assert rows_of(Search(plan, base, processes).run()) == alone
    assert not os.path.exists(shared)
