"""A binary copy of loaded kline files, so a folder is parsed from CSV once, not on every command.

Parsing a year of 5m candles from CSV text takes most of a second; reading the same
columns from a NumPy file takes milliseconds. :func:`adapters.kline_files.load_symbol`
(which every command, the window and the replay feed call) asks :func:`load` first
and :func:`store` after a parse.

The cache is never trusted blindly:

- its key is every source file's name, size, modification time (ns) and SHA-256:
  a file added, removed, rewritten or touched makes a different key, and the files
  are parsed again (and the cache rewritten);
- a cache file is read without pickle, and used only if its format version, key,
  column names, dtypes, shapes and sorted unique open times all check out; any
  problem (truncated, corrupt, foreign, another version) means "no cache": the
  sources are parsed as if it were not there, and it is written again;
- it is written to a temporary name and renamed into place (a reader sees the old
  file or the new one, never half of one);
- writing it never fails a command: a data folder that cannot be written (read-only,
  the EXE's bundled sample) uses a folder in the user's data folder instead, and if
  that fails too the data is simply not cached.

Where: ``<data folder>/.autohedge_cache/<SYMBOL>-<interval>.npz``, else
``<user folder>/cache/klines/<digest of the data folder's path>/``. The bundled
sample of a frozen EXE (in its ``_internal`` folder, which may be read-only and is
replaced by the next version) always uses the user folder: the program folder is
never written to.
``AUTOHEDGE_NO_DATA_CACHE=1`` turns the cache off (parse every time).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from core.candle_columns import CandleColumns

if TYPE_CHECKING:
    import pandas as pd

FORMAT_VERSION = 1  # raise when the stored layout or the parser's output changes
CACHE_FOLDER = ".autohedge_cache"
DISABLE_ENV = "AUTOHEDGE_NO_DATA_CACHE"
_META = "meta"
_DTYPES = {"open_time": np.dtype(np.int64), "open": np.dtype(np.float64), "high": np.dtype(np.float64),
           "low": np.dtype(np.float64), "close": np.dtype(np.float64), "volume": np.dtype(np.float64)}
_HASH_CHUNK = 1 << 20


def enabled() -> bool:
    return not os.environ.get(DISABLE_ENV)


def source_key(paths: Sequence[Path]) -> list[list[Any]]:
    """[name, size, mtime_ns, sha256] of each source file, in load order."""
    key = []
    for path in paths:
        stat = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
        key.append([path.name, stat.st_size, stat.st_mtime_ns, digest.hexdigest()])
    return key


def _inside_bundle(folder: Path) -> bool:
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return False
    try:
        folder.resolve().relative_to(Path(bundle).resolve())
    except ValueError:
        return False
    return True


def _user_cache_folder(folder: Path) -> Path | None:
    try:
        from config.paths import user_home

        home = user_home()
    except Exception:  # noqa: BLE001 - no user folder: no second place to cache in, which is allowed
        return None
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:16]
    return home / "cache" / "klines" / digest


def cache_files(folder: Path, symbol: str, interval: str) -> list[Path]:
    """Where the cache of ``symbol``/``interval`` may be, in the order tried."""
    name = f"{symbol}-{interval}.npz"
    places = [] if _inside_bundle(folder) else [folder / CACHE_FOLDER / name]
    user = _user_cache_folder(folder)
    if user is not None:
        places.append(user / name)
    return places


def _read(path: Path, key: list[list[Any]]) -> tuple[CandleColumns, int] | None:
    """(candles, duplicates dropped) from one cache file, or None if it is missing or fails any check."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(bytes(stored[_META]).decode("utf-8"))
            if meta.get("version") != FORMAT_VERSION or meta.get("key") != key:
                return None
            rows = int(meta["rows"])
            columns = {}
            for name, dtype in _DTYPES.items():
                array = stored[name]
                if array.dtype != dtype or array.shape != (rows,):
                    return None
                columns[name] = array
            dropped = int(meta["duplicates_dropped"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    times = columns["open_time"]
    if rows < 1 or dropped < 0 or not bool(np.all(times[1:] > times[:-1])):
        return None
    return CandleColumns(columns), dropped


def load(folder: Path, symbol: str, interval: str, key: list[list[Any]]) -> tuple[CandleColumns, int] | None:
    """The cached (candles, duplicates dropped) for these sources, or None (parse them)."""
    if not enabled():
        return None
    for path in cache_files(folder, symbol, interval):
        if path.is_file():
            found = _read(path, key)
            if found is not None:
                return found
    return None


def _write(path: Path, frame: pd.DataFrame, dropped: int, key: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"version": FORMAT_VERSION, "key": key, "rows": len(frame), "duplicates_dropped": dropped}
    arrays = {name: np.ascontiguousarray(frame[name].to_numpy(dtype=dtype)) for name, dtype in _DTYPES.items()}
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    handle, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def store(folder: Path, symbol: str, interval: str, key: list[list[Any]], frame: pd.DataFrame,
          dropped: int) -> Path | None:
    """Write the cache in the first place that takes it; returns where, or None (not cached: allowed)."""
    if not enabled():
        return None
    for path in cache_files(folder, symbol, interval):
        try:
            _write(path, frame, dropped, key)
        except OSError:
            continue  # read-only folder, full disk...: try the next place, or do without
        return path
    return None
