"""Issue 5 acceptance: a replay through the live runner equals the backtester [B2].

Replaying a kline folder through the trading service (paper broker, fills at
the decision bar's close, no fees) must produce the same trades.csv as
``backtest --fill close --fee-pct 0`` on the same candles: two weeks of real
bundled data, two symbols.
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


@pytest.mark.parametrize("reference", ["centerline", "macd"])
def test_B2_replay_through_runner_equals_backtest_fill_close(tmp_path, reference):
    # Paper trading holds no guard on an exchange [E1], the backtest models it: compared without it.
    settings = load_settings(overrides=[f"strategy.signal.reference={reference}",
                                        "strategy.signal.macd.slow=3", "exchange.guard_mode=off"])
    start, end = _ms("2023-02-01"), _ms("2023-02-15")

    service = build_service(settings, lambda event: None, mode="replay", replay_dir=SAMPLE, speed=0,
                            state_dir=tmp_path / "state", fee_pct=0, slippage_bps=0,
                            start_ms=start, end_ms=end)
    service.run()
    runner_csv = tmp_path / "runner_trades.csv"
    service.journal.write_trades_csv(runner_csv)

    candles_5m = {s: kline_files.load_symbol(SAMPLE, s, "5m").frame for s in SYMBOLS}
    candles_1d = {s: kline_files.load_symbol(SAMPLE, s, "1d").frame for s in SYMBOLS}
    result = run_backtest(candles_5m, settings.strategy, {s: settings.symbols[s].call_size for s in SYMBOLS},
                          BacktestConfig(fill="close", fee_pct=0, slippage_bps=0, start_ms=start, end_ms=end),
                          candles_1d=candles_1d)
    backtest_csv = tmp_path / "backtest_trades.csv"
    write_trades_csv(result.trades, backtest_csv)

    runner_rows = runner_csv.read_text().splitlines()
    backtest_rows = backtest_csv.read_text().splitlines()
    assert len(backtest_rows) > 40, "two weeks should trade plenty; the comparison would be empty otherwise"
    assert runner_rows == backtest_rows
