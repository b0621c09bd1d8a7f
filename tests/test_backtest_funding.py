"""Funding in the backtest: read from the data folder's <SYMBOL>-fundingRate.csv (what
``download`` writes), charged on the held sides, written out per trade in trades.csv, and one
line when it is not there. Scenario A (tests/backtest_helpers.py), fills at the close, no fees."""
from __future__ import annotations

import csv

import pytest

from core.backtest import BacktestConfig, run_backtest
from core.params import StrategyParams
from core.trades import TRADES_HEADER, write_trades_csv
from research.backtest_data import load_backtest_inputs
from tests.backtest_helpers import SCENARIO_A_CLOSES, SIZE, SYMBOL, T0, candles, close_time, daily


def data_folder(tmp_path, funding_rows: list[tuple[int, float]] | None):
    candles(SCENARIO_A_CLOSES).to_csv(tmp_path / f"{SYMBOL}-5m.csv", index=False)
    daily([1, 2, 3]).to_csv(tmp_path / f"{SYMBOL}-1d.csv", index=False)  # regime UP [G2]
    if funding_rows is not None:
        lines = ["funding_time,symbol,funding_rate,mark_price"]
        lines += [f"{time},{SYMBOL},{rate},0" for time, rate in funding_rows]
        (tmp_path / f"{SYMBOL}-fundingRate.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def backtest(folder):
    inputs = load_backtest_inputs(folder, [SYMBOL])
    config = BacktestConfig(fill="close", fee_pct=0.0, slippage_bps=0.0, funding=inputs.funding)
    return inputs, run_backtest(inputs.candles_5m, StrategyParams(), {SYMBOL: SIZE}, config, inputs.candles_1d)


def test_funding_in_the_data_folder_is_charged_and_written_per_trade(tmp_path):
    # Rates due at the closes of bars 4, 6 and 7. Bar 4 (close 101): LONG 10 and SHORT 10 held ->
    # the long pays 10 x 101 x 0.001 = 1.01, the short receives 1.01, net 0. Bar 6 (close 104.5):
    # the LONG alone (the short closed at bar 5) pays 10 x 104.5 x 0.001 = 1.045, before its X1 close
    # at that close. Bar 7: flat, nothing.
    folder = data_folder(tmp_path, [(close_time(T0, bar), 0.001) for bar in (4, 6, 7)])
    inputs, result = backtest(folder)
    assert inputs.notes[-1] == f"funding charged from {folder}: {SYMBOL} (3 payments)"
    assert result.funding_modelled and result.total.funding == pytest.approx(1.045)
    assert result.total.net_pnl == pytest.approx(-5.0 - 1.045)
    out = tmp_path / "trades.csv"
    write_trades_csv(result.trades, out)
    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0]) == TRADES_HEADER[:8] + ("fee_asset", "realized_pnl", "funding")
    closes = [(r["side"], r["reason"], float(r["realized_pnl"]), float(r["funding"])) for r in rows
              if r["action"] == "CLOSE"]
    assert closes == [
        ("SHORT", "R1", pytest.approx(-20.0), pytest.approx(1.01)),         # opened 101, closed 103; received
        ("LONG", "X1", pytest.approx(25.0), pytest.approx(-1.01 - 1.045)),  # opened 102, closed 104.5; paid twice
        ("SHORT", "R1", pytest.approx(-20.0), pytest.approx(0.0)),          # opened 103, closed 105; no funding due
    ]
    assert all(r["realized_pnl"] == "0" and r["fee_asset"] == "USDT" for r in rows if r["action"] == "OPEN")
    assert sum(float(r["funding"]) for r in rows) == pytest.approx(-1.045)  # the summary's figure, sign flipped


def test_without_a_funding_file_one_line_says_so_and_the_column_is_empty(tmp_path):
    inputs, result = backtest(data_folder(tmp_path, None))
    funding_lines = [note for note in inputs.notes if note.startswith("funding")]
    assert funding_lines == [f"funding NOT charged: no <SYMBOL>-fundingRate.csv in {tmp_path} "
                             "(python main.py download fetches it, or give --funding)"]
    assert not result.funding_modelled and result.total.funding == 0.0
    assert {trade.funding for trade in result.trades} == {""}
