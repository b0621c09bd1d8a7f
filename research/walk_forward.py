"""Walk-forward windows: TRAIN_DAYS in-sample, then TEST_DAYS out-of-sample, rolled by TEST_DAYS.

Window k trains on [start + k*test, start + k*test + train) and tests on the
TEST_DAYS right after it, so the test periods follow one another without gap or
overlap and chain into one out-of-sample record. Only whole windows are used.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from core.errors import UserError
from core.model import ONE_DAY_MS


@dataclass(frozen=True)
class Window:
    index: int
    train_start: int  # ms UTC, inclusive
    train_end: int  # exclusive; = test_start
    test_start: int
    test_end: int  # exclusive


def parse_split(text: str) -> tuple[int, int]:
    """'120:30' -> (120, 30) days."""
    try:
        train, test = (int(part) for part in text.split(":"))
    except ValueError:
        raise UserError(f"--walk-forward {text!r}: expected TRAIN_DAYS:TEST_DAYS, e.g. 120:30") from None
    if train < 1 or test < 1:
        raise UserError(f"--walk-forward {text}: both TRAIN_DAYS and TEST_DAYS must be at least 1")
    return train, test


def windows(start_ms: int, end_ms: int, train_days: int, test_days: int) -> list[Window]:
    """Whole windows inside [start_ms, end_ms); start_ms is first moved up to a UTC midnight."""
    first = -(-start_ms // ONE_DAY_MS) * ONE_DAY_MS
    train, test = train_days * ONE_DAY_MS, test_days * ONE_DAY_MS
    found: list[Window] = []
    k = 0
    while first + k * test + train + test <= end_ms:
        train_start = first + k * test
        found.append(Window(k, train_start, train_start + train, train_start + train, train_start + train + test))
        k += 1
    if not found:
        days = max(0, (end_ms - first) // ONE_DAY_MS)
        raise UserError(f"--walk-forward {train_days}:{test_days} needs {train_days + test_days} whole days of data "
                        f"from {day_text(first)}, and there are {days}")
    return found


def day_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
