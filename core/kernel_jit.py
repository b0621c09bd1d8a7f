"""numba, optional: the one place that knows whether the rules run compiled.

- :func:`jitable` marks a plain-numbers function that compiled code may call. The
  function itself is returned unchanged, so every Python caller (the strategy in
  live, paper and the exact backtest) runs the very same source interpreted;
  numba compiles that source only where a compiled function calls it.
- :func:`compiled` turns a driver loop into a cached ``numba.njit`` function, or
  returns it as it is when numba is missing (e.g. in the EXE, which does not
  bundle numba): the same source then runs interpreted, slower but identical.

numba's on-disk cache only watches the file of the compiled function itself, not
the files of the functions it calls: a changed rule in ``core/decide.py`` would
otherwise go on running its old machine code. :func:`compiled` therefore folds a
digest of every module the driver depends on into the cache's freshness stamp.
"""
from __future__ import annotations

import hashlib
import os
from types import ModuleType
from typing import Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable)

try:  # pragma: no cover - depends on the environment
    if os.environ.get("AUTOHEDGE_NO_NUMBA"):
        raise ImportError("AUTOHEDGE_NO_NUMBA is set")
    import numba
    from numba.extending import register_jitable
except ImportError:  # numba missing (the EXE) or switched off: everything runs interpreted
    numba = None
    register_jitable = None

NUMBA_AVAILABLE = numba is not None


def jitable(function: F) -> F:
    """The function unchanged; compiled functions may call it (numba's ``register_jitable``)."""
    return register_jitable(function) if NUMBA_AVAILABLE else function


def _digest(modules: tuple[ModuleType, ...]) -> str:
    digest = hashlib.sha256()
    for module in modules:
        path = getattr(module, "__file__", None)
        try:
            with open(path, "rb") as handle:  # type: ignore[arg-type]
                digest.update(handle.read())
        except (OSError, TypeError):
            digest.update(module.__name__.encode())
    return digest.hexdigest()


def compiled(function: F, depends_on: tuple[ModuleType, ...] = ()) -> F:
    """``numba.njit(cache=True, nogil=True)(function)`` whose cache is stale when any of ``depends_on`` changes.

    Without numba: ``function`` itself.
    """
    if not NUMBA_AVAILABLE:
        return function
    # nogil: the compiled loop touches no Python object, so the window's event loop (and any other
    # thread) keeps running while a backtest computes in a worker thread.
    dispatcher = numba.njit(cache=True, nogil=True)(function)
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        # The index records this stamp and is ignored when it differs (numba.core.caching).
        cache_file._source_stamp = (cache_file._source_stamp, _digest(depends_on))
    return dispatcher  # type: ignore[return-value]


def loop_input(array: np.ndarray) -> np.ndarray | list:
    """What a :func:`compiled` loop should index: the array itself, or without numba a list
    (indexing a list of Python floats is several times faster than a numpy array in CPython,
    and gives the same IEEE values)."""
    return array if NUMBA_AVAILABLE else array.tolist()


def interpreted(function: Callable) -> Callable:
    """The Python source of a :func:`compiled` function (itself when numba is missing)."""
    return getattr(function, "py_func", function)
