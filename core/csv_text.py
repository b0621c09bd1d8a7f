"""The text of a backtest's big CSV columns, built with whole-array numpy calls.

equity.csv has a row per bar (105k for a year): an ISO-8601 UTC time and a few numbers
written with ``%.6f``. Python formats each number in about 0.2 us and numpy's
``datetime_as_string`` is no faster per row; here each column becomes a matrix of ASCII
bytes (one row per value, 0 where a shorter value has nothing) and a file's rows are those
matrices side by side, the zeros dropped: the same text, a fifth of the time.

Every function gives exactly what Python's formatting gives, or None when a value is outside
what it handles (the caller then formats as before):

- :func:`iso_seconds` = ``np.datetime_as_string(ms.astype("datetime64[ms]"), unit="s")`` + "Z",
  for times from 1970 to 9999;
- :func:`fixed6` = ``"%.6f" % value``, for finite values below 1e8 in size. The value times
  10^6 is rounded in floating point; where that product lies within 0.05 of a half, the exact
  product might round the other way (or be a tie, which %.6f rounds to even): those few values
  are formatted by Python itself.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_DIGITS3 = np.array([list(b"%03d" % n) for n in range(1000)], dtype=np.uint8)  # "000".."999"
_LAST_DAY = 2_932_896  # 9999-12-31 as days since 1970-01-01
_FIXED6_LIMIT = 1e8
FIXED6_WIDTH = 17  # sign, 9 integer digits, point, 6 decimals


def iso_seconds(times_ms: np.ndarray) -> np.ndarray | None:
    """(n, 20) bytes 'YYYY-MM-DDTHH:MM:SSZ' of ms UTC times (seconds truncated), or None."""
    times = np.asarray(times_ms, dtype=np.int64)
    seconds = times // 1000
    days = seconds // 86_400
    if times.size and (int(days.min()) < 0 or int(days.max()) > _LAST_DAY):
        return None
    of_day = seconds - days * 86_400
    text = np.empty((times.size, 20), dtype=np.uint8)
    first = int(days.min()) if times.size else 0
    span = int(days.max()) - first + 1 if times.size else 0
    if span <= times.size:  # the usual case, many times a day: each day's date written once
        year, month, day = _civil_from_days(np.arange(first, first + span, dtype=np.int64))
        dates = np.empty((span, 10), dtype=np.uint8)
        dates[:, 0:4], dates[:, 5:7], dates[:, 8:10] = _four_digits(year), _DIGITS3[month, 1:], _DIGITS3[day, 1:]
        text[:, 0:10] = dates[days - first]
    else:
        year, month, day = _civil_from_days(days)
        text[:, 0:4] = _four_digits(year)
        text[:, 5:7] = _DIGITS3[month, 1:]
        text[:, 8:10] = _DIGITS3[day, 1:]
    text[:, 11:13] = _DIGITS3[of_day // 3600, 1:]
    text[:, 14:16] = _DIGITS3[of_day // 60 % 60, 1:]
    text[:, 17:19] = _DIGITS3[of_day % 60, 1:]
    text[:, [4, 7]] = ord("-")
    text[:, 10] = ord("T")
    text[:, [13, 16]] = ord(":")
    text[:, 19] = ord("Z")
    return text


def _four_digits(values: np.ndarray) -> np.ndarray:
    return np.concatenate([_DIGITS3[values // 1000, 2:], _DIGITS3[values % 1000]], axis=1)


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (>= 0): H. Hinnant's civil_from_days."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def fixed6(values: np.ndarray) -> np.ndarray | None:
    """(n, FIXED6_WIDTH) bytes of ``"%.6f" % value`` (0 bytes where it has nothing), or None."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and not (np.isfinite(values).all() and float(np.abs(values).max()) < _FIXED6_LIMIT):
        return None
    scaled = np.abs(values) * 1e6  # below 1e14, one rounding from the exact product
    units = np.rint(scaled)
    # The exact product is within half a unit of the last place (np.spacing) of ``scaled``: farther than
    # that from a half, it rounds as ``scaled`` does. For the others (a third of a backtest's equity
    # values, whose decimals end in 5 at the 7th place) the product's rounding error is found exactly
    # (Dekker's product: |value| split in two halves of 26 bits, 10^6 has 14) and the side of the half
    # it lies on decides; on an exact tie, %.6f rounds to even.
    near = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(scaled))
    if near.size:
        size, product = np.abs(values[near]), scaled[near]
        split = 134_217_729.0 * size
        high_half = split - (split - size)
        error = (high_half * 1e6 - product) + (size - high_half) * 1e6  # exact product = product + error
        floor = np.floor(product)
        beyond_half = (product - floor - 0.5) + error  # its sign is exact
        units[near] = floor + ((beyond_half > 0) | ((beyond_half == 0) & (floor % 2 == 1)))
    units = units.astype(np.int64)
    whole, part = units // 1_000_000, units % 1_000_000
    high, middle, low = whole // 1_000_000, whole // 1000 % 1000, whole % 1000
    text = np.empty((values.size, FIXED6_WIDTH), dtype=np.uint8)
    text[:, 0] = np.where(np.signbit(values), ord("-"), 0)  # the 0 bytes between sign and digits are dropped
    text[:, 1:4] = _LEADING3[0][high]
    text[:, 4:7] = _LEADING3[(high > 0).view(np.uint8), middle]
    text[:, 7:10] = _LEADING3[(whole >= 1000).view(np.uint8) + 2, low]
    text[:, 10] = ord(".")
    text[:, 11:14] = _DIGITS3[part // 1000]
    text[:, 14:17] = _DIGITS3[part % 1000]
    return text


def _leading3() -> np.ndarray:
    """[k][n]: three digits of n < 1000 where k says which zeros show: 0 none (the first group,
    0 -> nothing), 1 all, 2 none but the last (the last group: 0 -> '0'), 3 all."""
    tables = np.zeros((4, 1000, 3), dtype=np.uint8)
    tables[1] = tables[3] = _DIGITS3
    for n in range(1000):
        text = str(n).encode("ascii") if n else b""
        tables[0, n, 3 - len(text):] = np.frombuffer(text, dtype=np.uint8)
        text = str(n).encode("ascii")
        tables[2, n, 3 - len(text):] = np.frombuffer(text, dtype=np.uint8)
    return tables


_LEADING3 = _leading3()


def csv_rows(fields: Sequence[np.ndarray]) -> bytes:
    """The rows of byte matrices side by side, joined by commas, each ended by a newline, 0 bytes dropped."""
    rows = fields[0].shape[0] if fields else 0
    parts: list[np.ndarray] = []
    for n, field in enumerate(fields):
        parts.append(field)
        parts.append(np.full((rows, 1), ord(",") if n < len(fields) - 1 else ord("\n"), dtype=np.uint8))
    table = np.concatenate(parts, axis=1).ravel()
    return table[table != 0].tobytes()
