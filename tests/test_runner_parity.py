"""Issue 5 acceptance: a replay through the live runner equals the backtester [B2].

Replaying a kline folder through the trading service (paper broker, fills at
the decision bar's close, no fees) must produce the same trades.csv as
``backtest --fill close --fee-pct 0`` on the same candles: two weeks of real
bundled data, two symbols. With the guard held on the exchange [E1] on (paper
trading's simulated exchange holds it: live/paper_guard.py) and off, in both of its
modes, so the guard's trades (reason E1) are among those compared.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from adapters import kline_files
from config.settings import load_settings
from core.backtest import BacktestConfig, run_backtest
from core.trades import write_trades_csv
from live.assemble import build_service
from tests.conftest import BUNDLED_DATA

SAMPLE = BUNDLED_DATA / "sample"
SYMBOLS = ["DOGEUSDT", "ALGOUSDT"]


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1000)


def _replay_and_backtest(tmp_path, overrides: list[str], slippage_bps: float = 0.0) -> tuple[list[str], list[str]]:
    settings = load_settings(overrides=overrides)
    start, end = _ms("2023-02-01"), _ms("2023-02-15")

    service = build_service(settings, lambda event: None, mode="replay", replay_dir=SAMPLE, speed=0,
                            state_dir=tmp_path / "state", fee_pct=0, slippage_bps=slippage_bps,
                            start_ms=start, end_ms=end)
    service.run()
    runner_csv = tmp_path / "runner_trades.csv"
    service.journal.write_trades_csv(runner_csv)

    candles_5m = {s: kline_files.load_symbol(SAMPLE, s, "5m").frame for s in SYMBOLS}
    candles_1d = {s: kline_files.load_symbol(SAMPLE, s, "1d").frame for s in SYMBOLS}
    result = run_backtest(candles_5m, settings.strategy, {s: settings.symbols[s].call_size for s in SYMBOLS},
                          BacktestConfig(fill="close", fee_pct=0, slippage_bps=slippage_bps, start_ms=start,
                                         end_ms=end),
                          candles_1d=candles_1d)
    backtest_csv = tmp_path / "backtest_trades.csv"
    write_trades_csv(result.trades, backtest_csv)
    return runner_csv.read_text().splitlines(), backtest_csv.read_text().splitlines()


def _reasons(rows: list[str]) -> list[str]:
    header = rows[0].split(",")
    return [row.split(",")[header.index("reason")] for row in rows[1:]]


@pytest.mark.parametrize("reference", ["centerline", "macd"])
def test_B2_replay_through_runner_equals_backtest_fill_close_guard_off(tmp_path, reference):
    runner_rows, backtest_rows = _replay_and_backtest(
        tmp_path, [f"strategy.signal.reference={reference}", "strategy.signal.macd.slow=3", "exchange.guard_mode=off"])
    assert len(backtest_rows) > 40, "two weeks should trade plenty; the comparison would be empty otherwise"
    assert not [reason for reason in _reasons(backtest_rows) if "E1" in reason]
    assert runner_rows == backtest_rows


@pytest.mark.parametrize("mode, distance", [("hedge", 1.0), ("stop", 1.0), ("hedge", 5.0)])
def test_B2_E1_replay_with_the_guard_equals_backtest_fill_close(tmp_path, mode, distance):
    # Paper trading's simulated exchange holds the guard [E1] as the backtest models it (live/paper_guard.py):
    # the same trades, the guard's among them. 1 % makes it trigger often on two weeks; 5 % is the default.
    runner_rows, backtest_rows = _replay_and_backtest(
        tmp_path, ["strategy.signal.macd.slow=3", f"exchange.guard_mode={mode}",
                   f"exchange.guard_distance_pct={distance}"], slippage_bps=2.0)
    assert len(backtest_rows) > 40, "two weeks should trade plenty; the comparison would be empty otherwise"
    guard_rows = [reason for reason in _reasons(backtest_rows) if "E1" in reason]
    assert len(guard_rows) >= 3, "the guard must trigger for the comparison to cover it"
    assert runner_rows == backtest_rows
