"""Kline files on disk: CSV, CSV.gz and the exchange's ZIP download format [SPEC B5].

A data folder holds one symbol and interval per file, ``<SYMBOL>-<interval>.csv``,
``.csv.gz`` or ``.zip`` (e.g. ``DOGEUSDT-5m.csv.gz``), or monthly pieces as
data.binance.vision names them (``DOGEUSDT-5m-2024-01.zip``), which are joined.

Accepted rows: at least the six columns ``open_time,open,high,low,close,volume``
(the bundled format) or the exchange's twelve (``...,close_time,quote_volume,
count,taker_buy_volume,taker_buy_quote_volume,ignore``), with or without a
header. ``open_time`` is in ms UTC; microsecond stamps (newer exchange files)
are converted. Rows are sorted and duplicate open times dropped (the last copy
wins: a later download is the better one). Gaps are reported, not filled.

A folder is parsed once: :func:`load_symbol` keeps a checked binary copy of what it
loaded (:mod:`adapters.kline_cache`) and reads that while the files are unchanged.

Every problem a user can fix raises :class:`KlineFileError`, one sentence naming
the file and, where it applies, the line.
"""
from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from adapters import kline_cache
from core.backtest import resample_daily  # noqa: F401  (re-exported: the loader's daily candles [B5])
from core.candle_columns import CandleColumns
from core.errors import UserError
from core.model import ONE_DAY_MS

if TYPE_CHECKING:  # pandas is imported where a file is parsed: a search reading the binary cache never needs it
    import pandas as pd

COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
SUFFIXES = (".csv", ".csv.gz", ".zip")
_INTERVAL_UNITS_MS = {"m": 60_000, "h": 3_600_000, "d": ONE_DAY_MS, "w": 7 * ONE_DAY_MS}
_INTERVAL_PATTERN = re.compile(r"^(\d+)([mhdw])$")
# Stamps above this are microseconds (ms stamps reach 1e13 only in the year 2286).
_MICROSECOND_THRESHOLD = 10**14
FIVE_MINUTES = 5 * 60_000


class KlineFileError(UserError):
    """A kline file is missing, unreadable or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class Gap:
    """``missing`` candles are absent after the candle that opened at ``after_open_time``."""

    after_open_time: int
    missing: int

    def describe(self, interval_ms: int) -> str:
        first = self.after_open_time + interval_ms
        last = first + (self.missing - 1) * interval_ms
        return f"{self.missing} missing from {_iso(first)} to {_iso(last)}"


@dataclass
class KlineSet:
    """One symbol's candles of one interval, as loaded, with what was found wrong."""

    symbol: str
    interval: str
    frame: pd.DataFrame | CandleColumns  # CandleColumns when loaded with ``columns=True``
    sources: list[Path]
    gaps: list[Gap] = field(default_factory=list)
    duplicates_dropped: int = 0

    @property
    def interval_ms(self) -> int:
        return interval_to_ms(self.interval)

    @property
    def missing_candles(self) -> int:
        return sum(gap.missing for gap in self.gaps)

    def gap_summary(self, limit: int = 3) -> str | None:
        """'DOGEUSDT 5m: 16 candles missing in 1 gap (16 missing from ... to ...)', or None."""
        if not self.gaps:
            return None
        shown = "; ".join(gap.describe(self.interval_ms) for gap in self.gaps[:limit])
        more = f"; and {len(self.gaps) - limit} more" if len(self.gaps) > limit else ""
        plural = "gap" if len(self.gaps) == 1 else "gaps"
        return (f"{self.symbol} {self.interval}: {self.missing_candles} candles missing in "
                f"{len(self.gaps)} {plural} ({shown}{more})")


def interval_to_ms(interval: str) -> int:
    """'5m' -> 300000, '1h', '1d', '1w'. Raises KlineFileError for anything else."""
    match = _INTERVAL_PATTERN.match(interval)
    if not match:
        raise KlineFileError(f"interval {interval!r} is not understood; use e.g. 1m, 5m, 1h, 1d")
    return int(match.group(1)) * _INTERVAL_UNITS_MS[match.group(2)]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def no_candles_in_range(symbol: str, folder: Path | str, open_times, start_ms: int | None,
                        end_ms: int | None) -> KlineFileError:
    """The sentence for a date range that holds none of ``symbol``'s 5m candles: which range the data covers."""
    asked_from = f"{_iso(start_ms)} UTC" if start_ms is not None else "the first candle"
    asked_to = f"{_iso(end_ms)} UTC" if end_ms is not None else "the last candle"
    if len(open_times) == 0:
        return KlineFileError(f"{symbol} has no 5m candles in {folder}")
    first, last = int(open_times[0]), int(open_times[-1])
    return KlineFileError(f"{symbol} has no 5m candles from {asked_from} to {asked_to}; "
                          f"the data in {folder} covers {_iso(first)} to {_iso(last + FIVE_MINUTES)} UTC")


def check_range(symbol: str, folder: Path | str, open_times, start_ms: int | None, end_ms: int | None) -> None:
    """Raise :func:`no_candles_in_range` unless a candle opens in [start_ms, end_ms)."""
    times = np.asarray(open_times, dtype=np.int64)
    inside = np.ones(len(times), dtype=bool)
    if start_ms is not None:
        inside &= times >= start_ms
    if end_ms is not None:
        inside &= times < end_ms
    if not inside.any():
        raise no_candles_in_range(symbol, folder, times, start_ms, end_ms)


# ----- finding files ----------------------------------------------------------------------------


def find_kline_files(folder: Path | str, symbol: str, interval: str) -> list[Path]:
    """The files holding ``symbol``'s ``interval`` candles in ``folder`` (may be empty)."""
    folder = Path(folder)
    found = [folder / f"{symbol}-{interval}{suffix}" for suffix in SUFFIXES]
    found = [path for path in found if path.is_file()]
    for suffix in SUFFIXES:
        found.extend(sorted(folder.glob(f"{symbol}-{interval}-*{suffix}")))
    return [path for path in found if path.is_file()]


def available_symbols(folder: Path | str, interval: str = "5m") -> list[str]:
    """Symbols that have ``interval`` files in ``folder``, sorted."""
    folder = Path(folder)
    pattern = re.compile(rf"^([A-Z0-9]+)-{re.escape(interval)}(-.*)?(\.csv|\.csv\.gz|\.zip)$")
    names = {m.group(1) for p in folder.iterdir() if (m := pattern.match(p.name))} if folder.is_dir() else set()
    return sorted(names)


def load_symbol(folder: Path | str, symbol: str, interval: str = "5m", required: bool = True,
                columns: bool = False) -> KlineSet | None:
    """Load and join every file of ``symbol``/``interval`` in ``folder``.

    Returns None when there is none and ``required`` is False; raises
    KlineFileError naming what was looked for when it is True. ``columns``: the candles as
    :class:`CandleColumns` (pandas is then imported only if the files must be parsed).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KlineFileError(f"data folder {folder} does not exist")
    paths = find_kline_files(folder, symbol, interval)
    if not paths:
        if not required:
            return None
        have = ", ".join(available_symbols(folder, interval)) or "none"
        raise KlineFileError(
            f"no {interval} data for {symbol} in {folder} (expected {symbol}-{interval}.csv, .csv.gz or .zip; "
            f"symbols with {interval} data there: {have})"
        )
    key = _cache_key(paths)
    cached = kline_cache.load(folder, symbol, interval, key) if key is not None else None
    if cached is not None:
        stored, dropped = cached
        frame = stored if columns else stored.to_frame()
    else:
        import pandas as pd

        frames = [read_kline_file(path) for path in paths]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        frame, dropped = clean(frame)
        if frame.empty:
            raise KlineFileError(f"{paths[0]} holds no candles")
        if key is not None:
            kline_cache.store(folder, symbol, interval, key, frame, dropped)
        if columns:
            frame = CandleColumns.of_frame(frame)
    gaps = find_gaps(np.asarray(frame["open_time"]), interval_to_ms(interval))
    return KlineSet(symbol, interval, frame, paths, gaps, dropped)


def _cache_key(paths: list[Path]) -> list | None:
    """The binary cache's key of these files (None: a file cannot be read now; parsing will say why)."""
    if not kline_cache.enabled():
        return None
    try:
        return kline_cache.source_key(paths)
    except OSError:
        return None


# ----- reading one file -------------------------------------------------------------------------


def read_kline_file(path: Path | str) -> pd.DataFrame:
    """Parse one file into the six columns, unsorted and unchecked for duplicates."""
    path = Path(path)
    try:
        text = _read_text(path)
    except FileNotFoundError as exc:
        raise KlineFileError(f"kline file {path} does not exist") from exc
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise KlineFileError(f"kline file {path} cannot be read: {exc}") from exc
    return parse_kline_text(text, str(path))


def _read_text(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise KlineFileError(f"{path}: expected exactly one .csv inside the zip, found {len(members)}")
            return archive.read(members[0]).decode("utf-8")
    if name.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    return path.read_text(encoding="utf-8")


def parse_kline_text(text: str, source: str = "<text>") -> pd.DataFrame:
    """Parse CSV text (6 or 12 columns, header optional). ``source`` names the file in errors."""
    import pandas as pd

    first_line = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if not first_line:
        raise KlineFileError(f"{source} is empty")
    has_header = not _looks_numeric(first_line.split(",")[0])
    header_lines = 1 if has_header else 0
    try:
        raw = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), header=None, skiprows=header_lines, dtype=str,
                          skip_blank_lines=True, on_bad_lines="error")
    except pd.errors.ParserError as exc:
        raise KlineFileError(f"{source}: malformed CSV ({_first_sentence(exc)})") from exc
    except pd.errors.EmptyDataError as exc:
        raise KlineFileError(f"{source} has a header but no candles") from exc
    if raw.shape[1] < len(COLUMNS):
        raise KlineFileError(
            f"{source}: line {header_lines + 1} has {raw.shape[1]} columns; expected at least 6 "
            "(open_time,open,high,low,close,volume)"
        )
    frame = pd.DataFrame({name: pd.to_numeric(raw[i].str.strip(), errors="coerce") for i, name in enumerate(COLUMNS)})
    bad = frame.isna().any(axis=1) | (frame[list(PRICE_COLUMNS)] <= 0).any(axis=1) | (frame["volume"] < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        line = _line_number(text, header_lines, row)
        values = ",".join(str(v) for v in raw.iloc[row, : len(COLUMNS)].tolist())
        raise KlineFileError(
            f"{source}: line {line} is not a candle ({values!r}); expected open_time in ms and positive prices"
        )
    times = frame["open_time"].to_numpy(dtype=np.float64)
    if times.size and times.max() >= _MICROSECOND_THRESHOLD:
        times = np.where(times >= _MICROSECOND_THRESHOLD, times // 1000, times)
    frame["open_time"] = times.astype(np.int64)
    for name in COLUMNS[1:]:
        frame[name] = frame[name].astype(np.float64)
    return frame


def _looks_numeric(value: str) -> bool:
    try:
        float(value.strip().strip('"'))
    except ValueError:
        return False
    return True


def _line_number(text: str, header_lines: int, row: int) -> int:
    """1-based file line of data row ``row``, counting blank lines pandas skipped."""
    seen = -1
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if number <= header_lines or not line.strip():
            continue
        seen += 1
        if seen == row:
            return number
    return header_lines + row + 1


def _first_sentence(exc: Exception) -> str:
    return str(exc).strip().splitlines()[-1].replace("Error tokenizing data. C error: ", "")


# ----- cleaning and checks ----------------------------------------------------------------------


def clean(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Sort by open time and drop duplicate open times (last copy wins). Returns (frame, dropped)."""
    before = len(frame)
    frame = frame.sort_values("open_time", kind="stable").drop_duplicates("open_time", keep="last")
    return frame.reset_index(drop=True), before - len(frame)


def find_gaps(open_times: np.ndarray, interval_ms: int) -> list[Gap]:
    """Missing candles between consecutive open times (sorted, unique)."""
    if open_times.size < 2:
        return []
    steps = np.diff(open_times)
    where = np.flatnonzero(steps > interval_ms)
    return [Gap(int(open_times[i]), int(steps[i] // interval_ms) - 1) for i in where if steps[i] // interval_ms > 1]


def slice_time(frame: pd.DataFrame, start_ms: int | None, end_ms: int | None) -> pd.DataFrame:
    """Candles with ``start_ms <= open_time < end_ms`` (either bound optional)."""
    times = frame["open_time"].to_numpy()
    low = 0 if start_ms is None else int(np.searchsorted(times, start_ms, side="left"))
    high = times.size if end_ms is None else int(np.searchsorted(times, end_ms, side="left"))
    return frame.iloc[low:high].reset_index(drop=True)


# ----- funding rates ------------------------------------------------------------------------------

_FUNDING_TIME_COLUMNS = ("funding_time", "fundingtime", "calc_time", "time")
_FUNDING_RATE_COLUMNS = ("funding_rate", "fundingrate", "last_funding_rate", "rate")


def load_funding_csv(path: Path | str) -> dict[str, pd.DataFrame]:
    """Funding rates per symbol from a CSV with a header.

    Columns: ``symbol`` (optional: else the file name's prefix, as in the
    exchange's ``DOGEUSDT-fundingRate-2024-01.csv``), a time column
    (``funding_time`` / ``fundingTime`` / ``calc_time``: ms UTC or ISO-8601) and a
    rate column (``funding_rate`` / ``fundingRate`` / ``last_funding_rate``, a
    fraction: 0.0001 = 0.01 %). Returns symbol -> DataFrame(funding_time, funding_rate).
    """
    import pandas as pd

    path = Path(path)
    try:
        raw = pd.read_csv(io.StringIO(_read_text(path)), dtype=str)
    except FileNotFoundError as exc:
        raise KlineFileError(f"funding file {path} does not exist") from exc
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise KlineFileError(f"funding file {path} cannot be read: {_first_sentence(exc)}") from exc
    columns = {name.strip().lower(): name for name in raw.columns}
    time_column = next((columns[c] for c in _FUNDING_TIME_COLUMNS if c in columns), None)
    rate_column = next((columns[c] for c in _FUNDING_RATE_COLUMNS if c in columns), None)
    if time_column is None or rate_column is None:
        raise KlineFileError(f"funding file {path} needs a header with funding_time and funding_rate columns")
    rates = pd.to_numeric(raw[rate_column], errors="coerce")
    times = pd.to_numeric(raw[time_column], errors="coerce")
    text_times = times.isna()
    if text_times.any():  # ISO-8601 text instead of ms
        parsed = pd.to_datetime(raw.loc[text_times, time_column], utc=True, errors="coerce", format="ISO8601")
        as_ms = pd.Series(parsed.to_numpy(dtype="datetime64[ms]").astype(np.int64), index=parsed.index)
        times = times.astype("float64").where(~text_times, as_ms.where(parsed.notna()))
    bad = rates.isna() | times.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise KlineFileError(f"{path}: line {row + 2} has no valid funding time and rate")
    if "symbol" in columns:
        symbols = raw[columns["symbol"]].str.strip()
    else:
        symbols = pd.Series([path.name.split("-")[0]] * len(raw), index=raw.index)
    frame = pd.DataFrame({"symbol": symbols, "funding_time": times.astype(np.int64), "funding_rate": rates})
    return {symbol: group[["funding_time", "funding_rate"]].sort_values("funding_time").reset_index(drop=True)
            for symbol, group in frame.groupby("symbol")}
