"""numba, optional: the one place that knows whether the rules run compiled.

- :func:`jitable` marks a plain-numbers function that compiled code may call. The
  function itself is returned unchanged, so every Python caller (the strategy in
  live, paper and the exact backtest) runs the very same source interpreted;
  numba compiles that source only where a compiled function calls it.
- :func:`compiled` turns a driver loop into a cached ``numba.njit`` function, or
  returns it as it is when numba is missing (or ``AUTOHEDGE_NO_NUMBA`` is set):
  the same source then runs interpreted, slower but identical. :func:`jitable_inline`
  marks a helper numba itself inlines into its compiled callers.

numba's on-disk cache only watches the file of the compiled function itself, not
the files of the functions it calls: a changed rule in ``core/decide.py`` would
otherwise go on running its old machine code. :func:`compiled` therefore folds a
digest of every module the driver depends on into the cache's freshness stamp.

In the frozen EXE there are no source files, and numba's own cache locators either
find none (no cache: "cannot cache function") or, given a relative source path,
put the cache under the working directory. :class:`FrozenAppCacheLocator` (installed
only when frozen) keeps the machine code in ``NUMBA_CACHE_DIR`` (which the EXE's
runtime hook, assets/rth_numba_cache.py, points at a folder of the user's data
folder named after the program's build) under the module's name, stamped with the
program file's size and time: a new EXE compiles once, then loads its cache.
:func:`describe` says which kernel runs (the selftest prints it).
"""
from __future__ import annotations

import hashlib
import os
import sys
import warnings
from types import ModuleType
from typing import Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable)

try:  # pragma: no cover - depends on the environment
    if os.environ.get("AUTOHEDGE_NO_NUMBA"):
        raise ImportError("AUTOHEDGE_NO_NUMBA is set")
    import numba
    from numba.extending import register_jitable
except ImportError:  # numba missing or switched off (AUTOHEDGE_NO_NUMBA): everything runs interpreted
    numba = None
    register_jitable = None

NUMBA_AVAILABLE = numba is not None
FROZEN = bool(getattr(sys, "frozen", False))
_CACHE_PROBLEMS: list[str] = []  # why a compiled function runs without its on-disk cache


def _install_frozen_cache_locator() -> None:
    """Put :class:`FrozenAppCacheLocator` first among numba's cache locators (frozen programs only)."""
    from numba.core import caching

    class FrozenAppCacheLocator(caching._CacheLocator):
        """The cache of a frozen program's functions: ``NUMBA_CACHE_DIR/<module>``, stamped with the program file."""

        def __init__(self, py_func, py_file):
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(numba.config.CACHE_DIR, py_func.__module__)

        def get_cache_path(self) -> str:
            return self._cache_path

        def get_source_stamp(self):
            program = os.stat(sys.executable)  # a new build is a new program file: its old machine code is stale
            return program.st_size, program.st_mtime_ns

        def get_disambiguator(self) -> str:
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not numba.config.CACHE_DIR:
                return None
            locator = cls(py_func, py_file)
            try:
                locator.ensure_cache_path()
            except OSError:
                return None
            return locator

    locators = caching.CacheImpl._locator_classes
    if not any(locator.__name__ == FrozenAppCacheLocator.__name__ for locator in locators):
        locators.insert(0, FrozenAppCacheLocator)


if NUMBA_AVAILABLE and FROZEN:  # pragma: no cover - runs in the EXE (tests/test_frozen_build.py)
    _install_frozen_cache_locator()


def _load_numpy_support_without_blas() -> None:
    """Import numba's numpy support (``numba.np.arraymath``) with SciPy's BLAS hidden.

    That module asks at import whether SciPy's BLAS is there (for ``np.dot`` and ``np.linalg`` in
    compiled code), which imports ``scipy.linalg``: about 0.2 s of every command's and every search
    worker's start-up (issue 21's fixed costs), for functions the kernel never uses. numba imports
    the module anyway when it first loads or compiles a function; importing it here first, with
    ``scipy.linalg.cython_blas`` answering ImportError for that moment only, makes numba note "no
    BLAS" (``np.dot`` inside a ``@njit`` function of this process would then refuse to compile,
    saying SciPy is needed). SciPy itself stays importable, for anything else that wants it."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return  # already decided, or SciPy's linalg already paid for: nothing to save
    hidden = "scipy.linalg.cython_blas"
    sys.modules[hidden] = None  # type: ignore[assignment] - Python's marker for "import fails"
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(hidden, 0) is None:
            del sys.modules[hidden]


def _skip_numba_extras() -> None:
    """Spare numba two look-ups the kernel never needs, done when it first loads or compiles code.

    - third-party extensions: numba reads the entry points of every installed distribution for
      ``numba_extensions`` (about 30 ms on the development machine); the kernel uses none, so they are
      marked as already loaded (``numba.core.entrypoints._already_initialized``);
    - CFFI support: numba imports ``cffi`` and makes an ``FFI()`` for calling CFFI functions from
      compiled code (about 15 ms); its module is imported here with ``cffi`` answering ImportError for
      that moment only (numba then notes "no CFFI"; ``cffi`` itself stays importable for others).
    Together about 5 % of the 27-setting search command (issue 21). Skipped when the modules are
    already loaded: nothing left to save."""
    import numba.core.entrypoints

    numba.core.entrypoints._already_initialized = True
    if "numba.core.typing.cffi_utils" in sys.modules or "cffi" in sys.modules:
        return
    sys.modules["cffi"] = None  # type: ignore[assignment] - Python's marker for "import fails"
    try:
        import numba.core.typing.cffi_utils  # noqa: F401
    finally:
        if sys.modules.get("cffi", 0) is None:
            del sys.modules["cffi"]


if NUMBA_AVAILABLE:
    _load_numpy_support_without_blas()
    _skip_numba_extras()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 64 << 20


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep up to 64 MiB of freed memory for the next backtest instead of
    handing it back to the system at once (Linux only; True when applied).

    One symbol-year of the kernel allocates about 30 MB (the equity curve, the fill columns, the
    signals) and frees it when its results are read. By default glibc gives blocks that large to the
    system on free (each one ``mmap``-ed, or the heap's top trimmed), so the next run's first touch of
    every page faults and the system zeroes it again: 18 % of a run's time in the kernel's bench,
    in the operating system rather than in the kernel (issue 21: 7.1 → 5.9 ms a run). Keeping the
    memory costs at most that much resident memory after a backtest, never more. Other systems'
    allocators are left as they are."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): its own allocator, left alone
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Blocks below 32 MiB come from the heap (not mmap), and its top is trimmed only beyond 64 MiB free.
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


keep_freed_memory()


def describe() -> str:
    """Which kernel this program runs, for the selftest: 'compiled (numba X, cache in DIR)' or 'interpreted (...)'."""
    if not NUMBA_AVAILABLE:
        reason = "switched off by AUTOHEDGE_NO_NUMBA" if os.environ.get("AUTOHEDGE_NO_NUMBA") else "numba is not installed"
        return f"interpreted ({reason})"
    where = numba.config.CACHE_DIR or "__pycache__ beside the sources"
    cache = f"cache in {where}" if not _CACHE_PROBLEMS else f"no on-disk cache: {_CACHE_PROBLEMS[0]}"
    return f"compiled (numba {numba.__version__}, {cache})"


def jitable(function: F) -> F:
    """The function unchanged; compiled functions may call it (numba's ``register_jitable``)."""
    return register_jitable(function) if NUMBA_AVAILABLE else function


def jitable_inline(function: F) -> F:
    """:func:`jitable`, inlined by numba into each compiled caller (``inline="always"``): for a
    helper too big for LLVM to inline that runs on most bars. A call to it passes every array
    it touches as a structure of seven values each (``_fill``: about 150 arguments), which cost
    more than the work inside (the kernel's loop ran a quarter faster inlined)."""
    if not NUMBA_AVAILABLE:
        return function
    # numba's inliner trips its own "internal pedantic check" on these helpers' loop variables
    # (NumbaIRAssumptionWarning, "variable ... is not in scope"): a note for numba's developers,
    # not for a trader compiling the kernel once; the equality tests check the compiled result.
    warnings.filterwarnings("ignore", category=numba.core.errors.NumbaIRAssumptionWarning)
    return register_jitable(inline="always")(function)


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
    try:
        dispatcher = numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:  # no cache folder numba can use ("cannot cache function"): compile per process
        _CACHE_PROBLEMS.append(str(exc))
        return numba.njit(nogil=True)(function)  # type: ignore[return-value]
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
