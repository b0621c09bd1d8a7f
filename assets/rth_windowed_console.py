"""PyInstaller runtime hook (see autohedge.spec): console streams for the windowed Windows EXE.

A windowed EXE starts with ``sys.stdout`` and ``sys.stderr`` set to None, so the
command-line sub-commands (``AutoHedge.exe selftest``, ``backtest`` ...) would
print nothing, and code that writes to a stream directly (the backtest progress
bar) would crash with a traceback dialog. This hook runs before main.py: when
the EXE was started from a console (cmd, PowerShell) it attaches to that console
so the lines appear there; when it was double-clicked, output goes nowhere
instead of failing. It changes nothing when the streams exist (console builds,
Linux, macOS, running from source).
"""
from __future__ import annotations

import os
import sys
from typing import Callable, TextIO

ATTACH_PARENT_PROCESS = -1


def _attach_parent_console() -> TextIO | None:
    """The parent process's console as a text stream, or None when there is none."""
    try:
        import ctypes

        if not ctypes.windll.kernel32.AttachConsole(ATTACH_PARENT_PROCESS):  # type: ignore[attr-defined]
            return None
        return open("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)
    except (OSError, AttributeError):
        return None


def fix_streams(platform: str = sys.platform,
                attach: Callable[[], TextIO | None] = _attach_parent_console) -> None:
    if platform != "win32" or (sys.stdout is not None and sys.stderr is not None):
        return
    stream = attach() or open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream


fix_streams()
