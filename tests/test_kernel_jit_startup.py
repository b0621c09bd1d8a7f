"""core.kernel_jit spares numba what the kernel never uses, and takes nothing from anyone else (issue 21)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CHECK = """
import sys
sys.path.insert(0, {repo!r})
import core.kernel_jit as jit
assert jit.NUMBA_AVAILABLE
import numba.core.entrypoints, numba.core.typing.cffi_utils, numba.np.linalg
assert numba.core.entrypoints._already_initialized      # no scan of every distribution's entry points
assert not numba.core.typing.cffi_utils.SUPPORTED        # numba noted "no CFFI"...
assert "scipy.linalg" not in sys.modules                 # ... and "no BLAS", without importing SciPy
import cffi, scipy.linalg                                # both still importable for anyone else
assert cffi.FFI() is not None and scipy.linalg.det([[2.0]]) == 2.0
from core import kernel, indicators
import numpy as np
prices = 100.0 + np.sin(np.arange(400) / 9.0)
print(int(np.abs(indicators.signal_codes(prices, __import__("core.params").params.StrategyParams().signal)).sum()))
"""


def test_numba_skips_extensions_cffi_and_blas_yet_both_stay_importable():
    done = subprocess.run([sys.executable, "-c", CHECK.format(repo=str(REPO))], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "AUTOHEDGE_NO_NUMBA": ""})
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 0  # the compiled signal function ran


REUSE = """
import resource, sys
sys.path.insert(0, {repo!r})
import numpy as np
import core.kernel_jit as jit
assert jit.keep_freed_memory()
def one_run():  # what a symbol-year of the kernel allocates, touched
    arrays = [np.empty(n) for n in (500_000, 487_000, 487_000, 121_000, 1_200_000)]
    for array in arrays:
        array[:] = 1.0
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    one_run()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator is tuned on Linux only")
def test_memory_freed_by_one_backtest_is_reused_by_the_next_without_page_faults():
    done = subprocess.run([sys.executable, "-c", REUSE.format(repo=str(REPO))], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    first, *later = (int(count) for count in done.stdout.split())
    assert first > 3000  # 22 MB touched the first time: the system maps and zeroes ~5,500 pages
    assert max(later) < 100  # then the same memory again (glibc's default: ~3,900 faults every time)
