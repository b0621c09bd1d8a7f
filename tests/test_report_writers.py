"""The faster writers of a backtest's files give the same bytes and records as the plain ones (issue 21)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.model import Action, Fill, Side, frozen_record
from core.trades import (FillColumns, TradeRecord, iso_utc, iso_utc_many, realized_and_funding, trade_records,
                         write_trades_csv)
from research.backtest_report import _first_max_per_bucket, write_equity_csv


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
    assert iso_utc_many(times) == [iso_utc(ms) for ms in times]  # a time before 1970: numpy's path
    later = [ms for ms in times if ms >= 0]  # core.csv_text's path
    assert iso_utc_many(later) == [iso_utc(ms) for ms in later] and iso_utc_many([]) == []


def test_frozen_record_equals_the_dataclass_built_by_its_init():
    values = ("ah-DOGEUSDT-1-2", "DOGEUSDT", Side.SHORT, Action.CLOSE, 100.0, 0.0712, 0.00356, 1_000, "R3",
              900, "ah-DOGEUSDT-1-2")
    fast, slow = frozen_record(Fill, values), Fill(*values)
    assert fast == slow and hash(fast) == hash(slow) and fast.journal_key == slow.journal_key
    with pytest.raises(AttributeError):
        fast.qty = 1.0  # still frozen
    row = ("2022-09-01T00:05:00Z", "DOGEUSDT", "LONG", "OPEN", "100", "0.0712", "0.00356", "R2", "USDT", "0", "")
    assert frozen_record(TradeRecord, row) == TradeRecord(*row)


def _fills(seed: int, count: int, symbols=("DOGEUSDT", "ALGOUSDT")) -> list[Fill]:
    """Random opens and closes of two symbols in time order, partial closes included."""
    rng = np.random.default_rng(seed)
    held = {}
    fills = []
    for n in range(count):
        symbol, side = symbols[int(rng.integers(len(symbols)))], (Side.LONG, Side.SHORT)[int(rng.integers(2))]
        qty = float(rng.choice([50.0, 100.0, 33.3]))
        action = Action.CLOSE if held.get((symbol, side), 0.0) >= qty and rng.random() < 0.5 else Action.OPEN
        held[(symbol, side)] = held.get((symbol, side), 0.0) + (qty if action is Action.OPEN else -qty)
        price = float(np.round(0.05 + rng.random() / 10, 6))
        decision = 1_661_990_700_000 + n * 300_000
        fills.append(frozen_record(Fill, (f"ah-{symbol}-{n}-1", symbol, side, action, qty, price,
                                          price * qty * 0.0005, decision + 300_000, "R3", decision, f"ah-{symbol}-{n}-1")))
    return fills


@pytest.mark.parametrize("funded", [False, True])
def test_fill_columns_write_the_bytes_of_the_trade_records(tmp_path, funded):
    fills = _fills(7, 3_000)
    charges = None
    if funded:
        charges = {symbol: [(1_661_990_700_000 + k * 8 * 3_600_000, 0.0001 * (k % 5 - 2) * 0.07) for k in range(40)]
                   for symbol in ("DOGEUSDT", "ALGOUSDT")}
    columns = FillColumns.from_records(fills)
    assert columns.records() == fills
    assert trade_records(columns, charges) == trade_records(fills, charges)
    write_trades_csv(trade_records(fills, charges), tmp_path / "records.csv")
    columns.write_csv(tmp_path / "columns.csv", charges)
    assert (tmp_path / "columns.csv").read_bytes() == (tmp_path / "records.csv").read_bytes()
    assert len((tmp_path / "columns.csv").read_text().splitlines()) == 3_001


def test_fill_columns_let_csv_quote_what_needs_quoting(tmp_path):
    fills = [frozen_record(Fill, (*fill.__dict__.values(),)) for fill in _fills(3, 50, symbols=("A,B", 'C"D'))]
    columns = FillColumns.from_records(fills)
    write_trades_csv(trade_records(fills), tmp_path / "records.csv")
    columns.write_csv(tmp_path / "columns.csv")
    assert (tmp_path / "columns.csv").read_bytes() == (tmp_path / "records.csv").read_bytes()
    assert '"A,B"' in (tmp_path / "columns.csv").read_text()


def test_kernel_fill_columns_number_orders_as_the_strategy_does():
    columns = FillColumns(symbol=["DOGEUSDT", "SOMEVERYLONGSYMBOLUSDT"], side=[Side.LONG, Side.SHORT],
                          action=[Action.OPEN, Action.OPEN], reason=["R2", "R3"], decision_time=[1_000_999, 2_000],
                          time=[1_300_000, 302_000], qty=[1.0, 2.0], price=[0.1, 0.2], fee=[0.0, 0.0], seq=[4, 5])
    first, second = columns.records()
    assert (first.client_id, first.order_id) == ("ah-DOGEUSDT-1000-4", "ah-DOGEUSDT-1000-4")
    assert second.client_id == "ah-SOMEVERYLONG-2-5" and second.journal_key == second.client_id


@pytest.mark.parametrize("size", [4_501, 10_000, 123_457])
@pytest.mark.parametrize("kind", ["walk", "ties", "signed zeros", "nan"])
def test_first_max_per_bucket_equals_argmax_per_bucket(size, kind):
    rng = np.random.default_rng(size)
    values = np.cumsum(rng.normal(size=size))
    if kind == "ties":
        values = np.round(values)
    elif kind == "signed zeros":
        values = np.where(rng.random(size) < 0.5, 0.0, -0.0)
    elif kind == "nan":
        values[rng.integers(size, size=20)] = np.nan
    edges = np.linspace(0, size, 1501).astype(np.int64)
    expected = edges[:-1] + np.array([np.argmax(values[a:b]) for a, b in zip(edges[:-1], edges[1:])])
    assert np.array_equal(_first_max_per_bucket(values, edges), expected)


def test_joined_fill_columns_keep_every_client_id():
    kernel = FillColumns(symbol=["DOGEUSDT"], side=[Side.LONG], action=[Action.OPEN], reason=["R2"],
                         decision_time=[5_000], time=[6_000], qty=[1.0], price=[2.0], fee=[0.1], seq=[3])
    executor = FillColumns.from_records(_fills(5, 3))
    joined = FillColumns.joined([kernel, executor])
    assert joined.records() == kernel.records() + executor.records()
    assert FillColumns.joined([kernel, kernel]).records() == kernel.records() * 2


def test_realized_pnl_without_funding_equals_the_general_loop_bit_for_bit():
    columns = FillColumns.from_records(_fills(11, 5_000))
    fast, none = realized_and_funding(columns, None)
    general, funding = realized_and_funding(columns, {})  # funding modelled, nothing charged: the general loop
    assert none is None and set(funding) == {0.0}
    assert [value.hex() for value in fast] == [value.hex() for value in general]
    assert any(value != 0.0 for value in fast)
