"""Incremental indicators (the live runner) equal the batch functions exactly [I1, I2, I3, S2].

Equality is ``==`` on floats, not approximate: the incremental classes perform the batch
functions' operations in the same order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters import kline_files
from core import indicators
from core.indicators import IncrementalEMA, IncrementalRSI, IncrementalSignal, ema, reference_line, rsi, signal_codes
from core.model import Candle
from core.params import SignalParams, StrategyParams
from core.strategy import HedgeStrategy
from live.symbol_driver import SymbolDriver, buffer_length

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
REFERENCES = [
    SignalParams(reference="centerline"),
    SignalParams(reference="macd"),
    SignalParams(reference="macd", rsi_length=14, macd_fast=12, macd_slow=26, centerline=55.0),
]


@pytest.fixture(scope="module", params=["DOGEUSDT", "ALGOUSDT"])
def sample(request) -> tuple[np.ndarray, np.ndarray]:
    frame = kline_files.load_symbol(SAMPLE, request.param, "5m").frame
    return frame["close_time"].to_numpy(np.int64) if "close_time" in frame else \
        frame["open_time"].to_numpy(np.int64) + 300_000, frame["close"].to_numpy(np.float64)


def _run(update, values) -> np.ndarray:
    return np.array([update(float(v)) for v in values])


@pytest.mark.parametrize("length", [1, 2, 3, 14])
def test_I1_incremental_rsi_equals_batch_exactly_on_the_sample(sample, length):
    closes = sample[1][:20_000]
    assert np.array_equal(_run(IncrementalRSI(length).update, closes), rsi(closes, length), equal_nan=True)


@pytest.mark.parametrize("length", [1, 2, 12, 26])
def test_I2_incremental_ema_equals_batch_exactly_on_the_sample(sample, length):
    closes = sample[1][:20_000]
    assert np.array_equal(_run(IncrementalEMA(length).update, closes), ema(closes, length), equal_nan=True)


@pytest.mark.parametrize("params", REFERENCES + [SignalParams(reference="macd", macd_fast=5, macd_slow=5)],
                         ids=["centerline", "macd", "macd-14-12-26", "macd-equal-lengths"])
def test_S2_incremental_signal_equals_batch_codes_exactly_on_the_whole_sample(sample, params):
    closes = sample[1]
    incremental = IncrementalSignal(params)
    codes, references, prev_codes = [], [], []
    for close in closes:
        prev_codes.append(incremental.code)
        codes.append(incremental.update(float(close)))
        references.append(incremental.reference())
        assert incremental.prev_code == prev_codes[-1]
    batch = signal_codes(closes, params)
    assert np.array_equal(np.array(codes), batch)
    assert np.array_equal(np.array(references), reference_line(closes, params), equal_nan=True)
    assert incremental.rsi.value == rsi(closes, params.rsi_length)[-1]


def test_I1_incremental_rsi_equals_batch_on_flat_and_random_paths():
    rng = np.random.default_rng(12)
    for path in (np.full(50, 3.0), np.cumsum(rng.normal(size=3000)) + 100.0, np.round(rng.random(500), 1)):
        for length in (1, 2, 5):
            assert np.array_equal(_run(IncrementalRSI(length).update, path), rsi(path, length), equal_nan=True)


def test_incremental_lengths_below_one_are_refused():
    with pytest.raises(ValueError):
        IncrementalRSI(0)
    with pytest.raises(ValueError):
        IncrementalEMA(0)
    with pytest.raises(ValueError):
        IncrementalSignal(SignalParams(reference="bogus"))


def _candles(times: np.ndarray, closes: np.ndarray) -> list[Candle]:
    return [Candle(open_time=int(t) - 300_000, open=float(c), high=float(c), low=float(c), close=float(c), volume=0.0,
                   close_time=int(t)) for t, c in zip(times, closes)]


def _driver(params: SignalParams) -> SymbolDriver:
    strategy_params = StrategyParams(signal=params)
    return SymbolDriver(HedgeStrategy("DOGEUSDT", strategy_params, 100), params)


@pytest.mark.parametrize("params", REFERENCES, ids=["centerline", "macd", "macd-14-12-26"])
def test_I3_after_a_restart_the_warmed_up_state_equals_a_fresh_batch_computation(sample, params):
    """Warm-up from history (as at start-up), then live closes: at every close the driver's signal
    is the batch signal over the same closes; and a restarted driver, warmed up from the last
    ``buffer_length`` closes, decides on the same signal as the one that kept running."""
    times, closes = sample
    limit = buffer_length(params)
    start = 3 * limit
    running = _driver(params)
    running.load_history([], _candles(times[start - limit:start], closes[start - limit:start]))
    window = closes[start - limit:start]
    assert running.bar_signal.code == signal_codes(window, params)[-1]
    assert running.bar_signal.prev_code == signal_codes(window, params)[-2]
    assert running.bar_signal.rsi.value == rsi(window, params.rsi_length)[-1]
    if running.bar_signal.slow is not None:
        assert running.bar_signal.fast.value == ema(window, params.macd_fast)[-1]
        assert running.bar_signal.slow.value == ema(window, params.macd_slow)[-1]
    candles = _candles(times[start:start + 600], closes[start:start + 600])
    seen = closes[start - limit:start + 600]
    batch = signal_codes(seen, params)
    for index, candle in enumerate(candles[:300]):
        running.on_bar(candle)
        assert running.bar_signal.code == batch[limit + index]
        assert running.bar_signal.prev_code == batch[limit + index - 1]
    # Restart: a fresh driver warmed up from the closes the exchange would return now.
    restart_at = start + 300
    restarted = _driver(params)
    restarted.load_history([], _candles(times[restart_at - limit:restart_at], closes[restart_at - limit:restart_at]))
    fresh = closes[restart_at - limit:restart_at]
    assert restarted.bar_signal.rsi.value == rsi(fresh, params.rsi_length)[-1]
    assert restarted.bar_signal.code == signal_codes(fresh, params)[-1]
    for candle in candles[300:]:
        running.on_bar(candle)
        restarted.on_bar(candle)
        assert restarted.bar_signal.code == running.bar_signal.code
        assert restarted.bar_signal.prev_code == running.bar_signal.prev_code


def test_I3_skipped_bars_still_feed_the_incremental_signal(sample):
    times, closes = sample
    params = SignalParams(reference="macd")
    driver = _driver(params)
    candles = _candles(times[:400], closes[:400])
    driver.load_history([], candles[:200])
    for candle in candles[200:300]:
        driver.skip_bar(candle)
    for candle in candles[300:]:
        driver.on_bar(candle)
    assert driver.bar_signal.code == indicators.signal_codes(closes[:400], params)[-1]
