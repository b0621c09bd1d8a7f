"""The compiled kernel's cache in a frozen program (core.kernel_jit, assets/rth_numba_cache.py).

A frozen EXE has no source files; numba's own locators then cache nowhere or under the
working directory. These tests run the kernel in fresh processes that call themselves
frozen (``sys.frozen``, a stand-in program file as ``sys.executable``) from a scratch
working directory: the machine code must land in NUMBA_CACHE_DIR, be loaded by the next
process, and be compiled again for another program file.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import kernel_jit
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(not kernel_jit.NUMBA_AVAILABLE, reason="numba is a requirement; without it "
                                                                       "there is nothing compiled to cache")

FROZEN_RUN = """
import json, sys
sys.path.insert(0, {repo!r})
sys.frozen = True
sys.executable = {program!r}
import numpy as np
from core import kernel, kernel_jit
from core.params import StrategyParams
times = np.arange(600, dtype=np.int64) * 300_000
prices = 100.0 + np.sin(np.arange(600) / 7.0)
codes = kernel.signal_codes(prices, StrategyParams().signal)
run = kernel.run_symbol(times, prices, prices, codes, times[::288] + 86_400_000, codes[::288], times[:0], prices[:0],
                        0, 600, False, 1.0, 0.05, 0.0, 1000.0, StrategyParams())
stats = kernel.simulate_compiled.stats
print(json.dumps({{"describe": kernel_jit.describe(), "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()), "equity": run.equity[-1]}}))
"""


def frozen_run(tmp_path: Path, program: Path) -> dict:
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("AUTOHEDGE_NO_NUMBA", None)
    done = subprocess.run([sys.executable, "-c", FROZEN_RUN.format(repo=str(REPO_ROOT), program=str(program))],
                          cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_frozen_program_caches_the_kernel_in_numba_cache_dir_and_loads_it_next_time(tmp_path):
    program = tmp_path / "AutoHedge.exe"
    program.write_bytes(b"build one")
    first = frozen_run(tmp_path, program)
    assert first["describe"] == f"compiled (numba {__import__('numba').__version__}, cache in {tmp_path / 'cache'})"
    assert first["misses"] >= 1 and first["hits"] == 0
    cached = sorted(path.name for path in (tmp_path / "cache" / "core.kernel").iterdir())
    assert any(name.startswith("kernel.simulate-") and name.endswith(".nbi") for name in cached)
    assert not any((tmp_path / "cwd").iterdir()), "nothing may be written into the working directory"

    second = frozen_run(tmp_path, program)
    assert second["hits"] >= 1 and second["misses"] == 0  # loaded, not compiled
    assert second["equity"] == first["equity"]

    program.write_bytes(b"build two, another size")  # an updated EXE: its old machine code is stale
    third = frozen_run(tmp_path, program)
    assert third["misses"] >= 1 and third["hits"] == 0
    assert third["equity"] == first["equity"]


def test_the_runtime_hook_names_the_cache_folder_after_the_program_build(tmp_path, monkeypatch):
    from assets import rth_numba_cache as hook

    program = tmp_path / "AutoHedge.exe"
    program.write_bytes(b"x" * 10)
    os.utime(program, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_000_000))
    assert hook.cache_folder(tmp_path / "home", str(program)) == tmp_path / "home" / "numba-cache" / "b10-1700000000123"

    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "executable", str(program))
    hook.set_cache_folder()  # not frozen: nothing set
    assert "NUMBA_CACHE_DIR" not in os.environ
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    hook.set_cache_folder()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "home" / "numba-cache" / "b10-1700000000123")
    assert Path(os.environ["NUMBA_CACHE_DIR"]).is_dir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    hook.set_cache_folder()  # the user's own choice wins
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
