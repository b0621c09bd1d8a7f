"""A search reads its candles as NumPy columns (core.candle_columns), never importing pandas when the
binary cache has them, with the same results as from DataFrames (issue 21)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters import kline_files
from config.settings import load_settings
from core.backtest import BacktestConfig, resample_daily, run_backtest
from core.candle_columns import CandleColumns
from research.backtest_data import load_backtest_inputs
from research.evaluate import MarketData, evaluate

REPO = Path(__file__).resolve().parent.parent
T = 1_704_067_200_000  # 2024-01-01 00:00 UTC
STEP = 300_000


def write_candles(folder: Path, symbol: str, closes: list[float]) -> None:
    lines = ["open_time,open,high,low,close,volume"]
    lines += [f"{T + k * STEP},{c},{c + 1},{c - 1},{c},10" for k, c in enumerate(closes)]
    (folder / f"{symbol}-5m.csv").write_text("\n".join(lines) + "\n")


def wavy_closes(bars: int) -> list[float]:
    return [round(100 + 5 * np.sin(k / 40) + 0.01 * (k % 7), 4) for k in range(bars)]


def test_columns_equal_the_frame_from_a_parse_and_from_the_cache(tmp_path):
    write_candles(tmp_path, "AAAUSDT", wavy_closes(600))
    for _ in range(2):  # the first load parses (and writes the cache), the second reads the cache
        frame = kline_files.load_symbol(tmp_path, "AAAUSDT", "5m").frame
        columns = kline_files.load_symbol(tmp_path, "AAAUSDT", "5m", columns=True).frame
        assert isinstance(frame, pd.DataFrame) and isinstance(columns, CandleColumns)
        assert columns.columns == tuple(frame.columns) and len(columns) == len(frame) == 600
        for name in frame.columns:
            assert columns[name].dtype == frame[name].dtype
            assert np.array_equal(columns[name], frame[name].to_numpy())
        assert columns.to_frame().equals(frame)


def test_daily_candles_resampled_from_columns_equal_the_frames(tmp_path):
    write_candles(tmp_path, "AAAUSDT", wavy_closes(288 * 3 + 100))  # three whole days and a partial one
    frame = kline_files.load_symbol(tmp_path, "AAAUSDT", "5m").frame
    from_columns = resample_daily(CandleColumns.of_frame(frame))
    from_frame = resample_daily(frame)
    assert isinstance(from_columns, CandleColumns) and isinstance(from_frame, pd.DataFrame)
    assert len(from_frame) == 3  # the partial day is left out [I3]
    assert from_columns.to_frame().equals(from_frame)
    empty = resample_daily(CandleColumns.of_frame(frame.iloc[0:0]))
    assert len(empty) == 0 and empty.columns == ("open_time", "open", "high", "low", "close", "volume")


def test_a_backtest_and_a_search_row_from_columns_equal_the_frames(tmp_path):
    write_candles(tmp_path, "AAAUSDT", wavy_closes(288 * 20))
    settings = load_settings(None)
    frames = load_backtest_inputs(tmp_path, ["AAAUSDT"])
    columns = load_backtest_inputs(tmp_path, ["AAAUSDT"], columns=True)
    assert not columns.candles_1d and "no 1d file" in " ".join(columns.notes)  # daily candles resampled [B5]
    config = BacktestConfig()
    sizes = {"AAAUSDT": 10.0}
    a = run_backtest(frames.candles_5m, settings.strategy, sizes, config, records=False)
    b = run_backtest(columns.candles_5m, settings.strategy, sizes, config, records=False)
    assert a.total.trades > 0
    assert a.total == b.total
    assert np.array_equal(a.combined.equity, b.combined.equity)
    settings.symbols.setdefault("AAAUSDT", settings.symbols[next(iter(settings.symbols))])
    row_frames = evaluate(settings, MarketData(frames.candles_5m), None, None)
    row_columns = evaluate(settings, MarketData(columns.candles_5m), None, None)
    assert row_frames == row_columns
    assert MarketData(columns.candles_5m).span_ms() == MarketData(frames.candles_5m).span_ms()


BLOCK_PANDAS = """
import sys
class NoPandas:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas was imported")
sys.meta_path.insert(0, NoPandas())
sys.argv = ["main.py", *sys.argv[1:]]
sys.path.insert(0, {repo!r})
import main
sys.exit(main.main())
"""


@pytest.mark.parametrize("command", [
    ["optimize", "--param", "strategy.exit.take_profit_pct=1,2"],
    ["backtest"],
])
def test_a_command_reading_the_cache_never_imports_pandas(tmp_path, command):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("DOGEUSDT-5m.csv.gz", "DOGEUSDT-1d.csv.gz"):
        shutil.copy(REPO / "data" / "sample" / name, data / name)
    command = [*command, "--data", str(data), "--symbols", "DOGEUSDT", "--start", "2023-01-01", "--end", "2023-02-01"]
    first = subprocess.run([sys.executable, str(REPO / "main.py"), *command, "--out", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr  # parses the files (with pandas) and writes the cache
    script = tmp_path / "no_pandas.py"
    script.write_text(BLOCK_PANDAS.format(repo=str(REPO)))
    second = subprocess.run([sys.executable, str(script), *command, "--out", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    written = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "trades.csv" in written or "results.csv" in written
    for name in written:
        if name.endswith((".csv", ".json", ".yaml", ".svg")):
            assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name
