"""core.csv_text writes what Python and numpy write, value for value (issue 21: equity.csv's text)."""
from __future__ import annotations

import numpy as np
import pytest

from core.backtest import BacktestConfig, run_backtest
from config.settings import load_settings
from core import csv_text
from research.backtest_data import load_backtest_inputs
from research.backtest_report import equity_columns, write_equity_csv, write_equity_file
from tests.conftest import BUNDLED_DATA


def _text(matrix: np.ndarray) -> list[str]:
    return [bytes(row).replace(b"\0", b"").decode("ascii") for row in matrix]


def test_iso_seconds_equals_numpy_datetime_as_string():
    rng = np.random.default_rng(0)
    times = np.concatenate([rng.integers(0, 253_402_300_799_999, 50_000), np.arange(0, 10**10, 299_999),
                            [0, 999, 1_000, 951_782_400_000, 4_107_542_400_000, 253_402_300_799_999]])
    dense = np.arange(946_684_800_000 - 10**9, 946_684_800_000 + 10**10, 299_999)  # many a day: one date per day
    for sample in (times, dense, dense[::-1]):
        expected = np.char.add(np.datetime_as_string(sample.astype("datetime64[ms]"), unit="s"), "Z").tolist()
        assert _text(csv_text.iso_seconds(sample)) == expected  # leap years, 2000 and 2100 included


@pytest.mark.parametrize("times", [[-1], [253_402_300_800_000]])
def test_iso_seconds_declines_times_outside_1970_to_9999(times):
    assert csv_text.iso_seconds(np.array(times, dtype=np.int64)) is None


def test_fixed6_equals_percent_formatting():
    rng = np.random.default_rng(1)
    values = np.concatenate([
        rng.normal(1000, 300, 50_000), rng.normal(0, 1, 20_000), -rng.random(20_000) * 50,
        np.arange(-4000, 4000) / 128.0,  # exact ties at the 7th decimal: %.6f rounds them to even
        np.round(rng.normal(800, 100, 20_000), 6) + 5e-7, np.round(rng.normal(800, 100, 20_000), 7),
        rng.random(20_000) * 1e7 * np.where(rng.random(20_000) < 0.5, -1, 1),
        [0.0, -0.0, 1e-7, -1e-7, 5e-7, -5e-7, 4.9999999e-7, 99_999_999.9999999, -99_999_999.99999, 1.0000005,
         2.5e-6, 123.4564999999, 0.1, 0.7, 999.9999995, 5e-324, -5e-324]])
    assert _text(csv_text.fixed6(values)) == ["%.6f" % value for value in values.tolist()]


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e8, -1e8])
def test_fixed6_declines_what_it_does_not_handle(value):
    assert csv_text.fixed6(np.array([1.0, value])) is None


def test_csv_rows_join_fields_and_drop_the_padding():
    fields = [csv_text.iso_seconds(np.array([0, 300_000])), csv_text.fixed6(np.array([1.5, -0.25]))]
    assert csv_text.csv_rows(fields) == b"1970-01-01T00:00:00Z,1.500000\n1970-01-01T00:05:00Z,-0.250000\n"
    assert csv_text.csv_rows([csv_text.iso_seconds(np.array([], dtype=np.int64))]) == b""


@pytest.mark.parametrize("symbols", [["DOGEUSDT"], ["DOGEUSDT", "ALGOUSDT"]])
def test_equity_file_equals_the_plain_writer(tmp_path, symbols):
    inputs = load_backtest_inputs(BUNDLED_DATA / "sample", symbols)
    settings = load_settings(None, [])
    result = run_backtest(inputs.candles_5m, settings.strategy, {s: settings.symbols[s].call_size for s in symbols},
                          BacktestConfig(start_ms=1_672_531_200_000, end_ms=1_675_209_600_000), inputs.candles_1d)
    write_equity_file(result, tmp_path / "fast.csv")
    write_equity_csv(equity_columns(result), tmp_path / "plain.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert (tmp_path / "fast.csv").read_text().count("\n") == result.combined.times.size + 1
