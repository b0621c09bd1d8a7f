"""A two-week slice of the bundled sample for the optimize tests (small files load and warm up fast)."""
from __future__ import annotations

from pathlib import Path

from adapters import kline_files
from tests.conftest import BUNDLED_DATA

SAMPLE = BUNDLED_DATA / "sample"
SLICE_START_MS = 1_674_604_800_000  # 2023-01-25 00:00 UTC: a week of warm-up before the tests' first day
SLICE_END_MS = 1_675_814_400_000  # 2023-02-08 00:00 UTC


def write_small_sample(folder: Path) -> Path:
    """DOGEUSDT and ALGOUSDT 5m and 1d candles from 2023-01-25 to 2023-02-07, as plain CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    for symbol in ("DOGEUSDT", "ALGOUSDT"):
        for interval in ("5m", "1d"):
            frame = kline_files.load_symbol(SAMPLE, symbol, interval).frame
            keep = (frame["open_time"] >= SLICE_START_MS) & (frame["open_time"] < SLICE_END_MS)
            frame[keep].to_csv(folder / f"{symbol}-{interval}.csv", index=False)
    return folder
