"""The benchmark's yardsticks are the same rules as the kernel: a target measured against a
simpler strategy would say nothing (tools/plain_rules.py, tools/plain_kernel.c, issue 21)."""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO_ROOT
from tools import bench_targets, plain_rules

DATA = REPO_ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def arrays():
    return bench_targets._kernel_arrays(DATA)


def test_plain_python_ends_with_the_kernels_fills_and_cash(arrays):
    assert bench_targets.check_plain_python(DATA, arrays) is None


@pytest.mark.parametrize("setting", [{}, {"take_profit_pct": 0.5, "trailing_pct": 1.0, "centerline": 60.0},
                                     {"cross": True}, {"fill_at_close": True, "slippage_bps": 2.0}])
def test_plain_python_fills_equal_the_kernels_one_by_one(arrays, setting):
    """Every fill (time, side, action, rule, quantity, price, fee, order number), not only the totals."""
    plain = plain_rules.run(DATA, bench_targets.SYMBOL, None, None, [setting])[0]
    run = bench_targets._kernel_run(arrays, setting)
    kernel_fills = list(zip(run.fill_decision_time.tolist(), run.fill_time.tolist(), run.fill_side.tolist(),
                            run.fill_action.tolist(), run.fill_reason.tolist(), run.fill_qty.tolist(),
                            run.fill_price.tolist(), run.fill_fee.tolist(), run.fill_seq.tolist()))
    assert plain["fills"] == kernel_fills
    assert plain["equity"] == run.equity.tolist()


@pytest.mark.skipif(not any(shutil.which(name) for name in ("cc", "gcc", "clang")), reason="no C compiler")
def test_the_c_version_ends_with_the_kernels_fills_and_cash(arrays, tmp_path):
    plain_c = bench_targets.PlainC(str(tmp_path))
    for setting in ({}, {"take_profit_pct": 2.0, "trailing_pct": 0.3, "centerline": 40.0}):
        run = bench_targets._kernel_run(arrays, setting)
        assert plain_c.run(arrays, setting) == (int(run.fill_count), float(run.cash), int(run.trades))
