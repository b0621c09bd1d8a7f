"""Python's cyclic garbage collector runs on the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate: the trading
service's thread (a replay loads thousands of candles), a backtest or the alert thread.
When it frees a cycle holding Qt objects there (chart items the live chart replaced, a
closed window's menus), their C++ destructors run off the GUI thread while the GUI thread
deletes related objects, and both wait for each other: the window freezes (seen as a
deadlock between QObject::~QObject in the service thread and in the GUI thread).

:func:`install` turns automatic collection off and collects on a GUI-thread timer instead
(pyqtgraph's GarbageCollector: generation by generation, with Python's own thresholds).
Reference counting, which frees almost everything, is unaffected.
"""
from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

INTERVAL_S = 1.0
_collector: GarbageCollector | None = None


def install() -> GarbageCollector:
    """Once per process, from the GUI thread (the timer belongs to the thread that makes it)."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=INTERVAL_S)
    return _collector
