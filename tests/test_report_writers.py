"""The faster writers of a backtest's files give the same bytes and records as the plain ones (issue 21)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.model import Action, Fill, Side, frozen_record
from core.trades import TradeRecord, iso_utc, iso_utc_many
from research.backtest_report import write_equity_csv


def _columns(rows: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    times = (1_661_990_400_000 + np.arange(rows, dtype=np.int64) * 300_000).astype("datetime64[ms]")
    equity = 1000.0 + np.cumsum(rng.normal(0.0, 3.0, rows))
    return {"time": np.char.add(np.datetime_as_string(times, unit="s"), "Z"), "DOGEUSDT": equity,
            "total": equity - 1000.0 + 1000.0, "drawdown_pct": np.round(rng.random(rows), 7) * -0.0}


@pytest.mark.parametrize("rows", [0, 1, 2_000])
@pytest.mark.parametrize("hole", [False, True])
def test_equity_csv_equals_pandas_to_csv(tmp_path, rows, hole):
    columns = _columns(rows, rows)
    if hole and rows:
        columns["total"][rows // 2] = np.nan  # pandas writes an empty cell: the writer must too
    write_equity_csv(columns, tmp_path / "fast.csv")
    pd.DataFrame(columns).to_csv(tmp_path / "pandas.csv", index=False, float_format="%.6f", lineterminator="\n")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_iso_utc_many_equals_iso_utc():
    times = [0, 1, 999, 1_000, 1_661_990_699_999, 1_693_526_400_000, 253_402_300_799_000, -1, -1_500]
    assert iso_utc_many(times) == [iso_utc(ms) for ms in times]


def test_frozen_record_equals_the_dataclass_built_by_its_init():
    values = ("ah-DOGEUSDT-1-2", "DOGEUSDT", Side.SHORT, Action.CLOSE, 100.0, 0.0712, 0.00356, 1_000, "R3",
              900, "ah-DOGEUSDT-1-2")
    fast, slow = frozen_record(Fill, values), Fill(*values)
    assert fast == slow and hash(fast) == hash(slow) and fast.journal_key == slow.journal_key
    with pytest.raises(AttributeError):
        fast.qty = 1.0  # still frozen
    row = ("2022-09-01T00:05:00Z", "DOGEUSDT", "LONG", "OPEN", "100", "0.0712", "0.00356", "R2", "USDT", "0", "")
    assert frozen_record(TradeRecord, row) == TradeRecord(*row)
