"""PyInstaller runtime hook (see autohedge.spec): where the EXE's compiled backtest kernel is kept.

numba compiles the kernel (core/kernel.py) on first use and keeps the machine code
on disk. Run from source, that is ``__pycache__`` beside the sources; the EXE has no
source files (its Python code is in the program file itself), its program folder may
be read-only and is replaced by the next version, and numba's default would follow
the working directory. This hook runs before main.py
and before numba is imported, and sets ``NUMBA_CACHE_DIR`` to
``<user folder>/numba-cache/<build>`` (the user folder of config.paths: AUTOHEDGE_HOME,
else %LOCALAPPDATA%\\AutoHedge), ``<build>`` naming this program file by its size and
time (the one-folder launcher carries all of the program's Python code, so each build is
another file), so a new version never reads an old version's machine code, and an update
compiles once (a few seconds) on its first backtest. A ``NUMBA_CACHE_DIR`` set by the
user wins. If the folder cannot be made, nothing is set and the kernel compiles in
every process instead (core.kernel_jit says so in the selftest).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def build_name(executable: str) -> str:
    """'b<size>-<mtime in ms>' of the program file: another build, another name."""
    stat = os.stat(executable)
    return f"b{stat.st_size}-{stat.st_mtime_ns // 1_000_000}"


def cache_folder(home: Path, executable: str) -> Path:
    return home / "numba-cache" / build_name(executable)


def set_cache_folder() -> None:
    if not getattr(sys, "frozen", False) or os.environ.get("NUMBA_CACHE_DIR"):
        return
    try:
        from config.paths import user_home

        folder = cache_folder(user_home(), sys.executable)
        folder.mkdir(parents=True, exist_ok=True)
    except Exception:  # noqa: BLE001 - a start-up hook must never stop the program; the kernel still runs
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)


set_cache_folder()
