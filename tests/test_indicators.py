"""Indicators [I1-I3] against TA-Lib on real Binance 5m closes, and by hand.

TA-Lib (PyPI ``ta-lib``) is a test-only dependency: the reference implementation
SPEC I1/I2 name.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from core.indicators import ema, macd_line, rsi, signal_codes
from core.params import SignalParams
from tests.conftest import BUNDLED_DATA

# Real Binance 5m closes bundled with the repository (data/README.md says where each comes from).
REAL_FILES = {
    "DOGEUSDT_futures": "futures/DOGEUSDT-5m.csv.gz",
    "ALGOUSDT_spot": "sample/ALGOUSDT-5m.csv.gz",
}
TOLERANCE = 1e-9


def read_real_closes(name: str) -> np.ndarray:
    """Real Binance 5m closes from the repository's data folder."""
    path = BUNDLED_DATA / REAL_FILES[name]
    closes = pd.read_csv(path, usecols=["close"])["close"].to_numpy(dtype=np.float64)
    assert closes.size > 100_000
    return closes


@pytest.fixture(scope="module", params=list(REAL_FILES))
def real_closes(request) -> np.ndarray:
    return read_real_closes(request.param)


def assert_same_series(ours: np.ndarray, reference: np.ndarray) -> None:
    """Same length, NaN in the same places (warm-up), equal to TOLERANCE elsewhere."""
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    defined = ~np.isnan(reference)
    assert defined.any()
    assert np.max(np.abs(ours[defined] - reference[defined])) <= TOLERANCE


# ----- I1 RSI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 3, 14])
def test_I1_rsi_equals_talib_on_real_closes(real_closes, length):
    assert_same_series(rsi(real_closes, length), talib.RSI(real_closes, timeperiod=length))


def test_I1_rsi_by_hand_wilder_seed_and_smoothing():
    # changes +1, -1, +2: seed gain (1+0)/2 = 0.5, loss (0+1)/2 = 0.5 -> 50;
    # then gain (0.5*1 + 2)/2 = 1.25, loss (0.5*1 + 0)/2 = 0.25 -> 100*1.25/1.5.
    values = rsi(np.array([1.0, 2.0, 1.0, 3.0]), 2)
    assert np.isnan(values[:2]).all()
    assert values[2] == pytest.approx(50.0, abs=1e-12)
    assert values[3] == pytest.approx(100.0 * 1.25 / 1.5, abs=1e-12)


@pytest.mark.parametrize(
    "closes, expected",
    [([5.0] * 6, 50.0), ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 100.0), ([6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 0.0)],
    ids=["flat_is_50", "only_gains_is_100", "only_losses_is_0"],
)
def test_I1_rsi_edge_values(closes, expected):
    values = rsi(np.array(closes), 2)
    assert np.all(values[2:] == expected)


def test_I1_rsi_warm_up_and_bad_input():
    assert np.isnan(rsi(np.array([1.0, 2.0]), 2)).all()
    assert rsi(np.array([]), 2).size == 0
    with pytest.raises(ValueError):
        rsi(np.array([1.0, 2.0, 3.0]), 0)
    with pytest.raises(ValueError):
        rsi(np.ones((3, 2)), 2)


# ----- I2 EMA and MACD line ----------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 12, 26])
def test_I2_ema_equals_talib_on_real_closes(real_closes, length):
    assert_same_series(ema(real_closes, length), talib.EMA(real_closes, timeperiod=length))


def test_I2_ema_by_hand_seeded_with_simple_mean():
    # seed mean(1, 2) = 1.5 at index 1; alpha = 2/3: 1.5 + (3 - 1.5)*2/3 = 2.5; 2.5 + (4 - 2.5)*2/3 = 3.5
    values = ema(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    assert np.isnan(values[0])
    np.testing.assert_allclose(values[1:], [1.5, 2.5, 3.5], atol=1e-12)


def test_I2_macd_line_is_fast_ema_minus_slow_ema(real_closes):
    expected = talib.EMA(real_closes, timeperiod=12) - talib.EMA(real_closes, timeperiod=26)
    assert_same_series(macd_line(real_closes, 12, 26), expected)


@pytest.mark.parametrize("length", [1, 3])
def test_I2_macd_line_with_fast_equal_slow_is_all_zeros_after_warm_up(real_closes, length):
    line = macd_line(real_closes, length, length)
    assert np.isnan(line[: length - 1]).all()
    assert np.all(line[length - 1:] == 0.0)


# ----- I3 no look-ahead --------------------------------------------------------------------------


def _indicator_set(closes: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "rsi2": rsi(closes, 2),
        "rsi14": rsi(closes, 14),
        "ema12": ema(closes, 12),
        "macd12_26": macd_line(closes, 12, 26),
        "signal_centerline": signal_codes(closes, SignalParams()).astype(np.float64),
        "signal_macd": signal_codes(closes, SignalParams(reference="macd", macd_fast=3, macd_slow=8))
        .astype(np.float64),
    }


def test_I3_value_at_i_from_prefix_equals_value_from_whole_series(real_closes):
    closes = real_closes[:4000]
    whole = _indicator_set(closes)
    rng = np.random.default_rng(20250101)
    for i in sorted(rng.choice(closes.size, size=60, replace=False)) + [0, 1, 2, 13, 14, 25, 26]:
        prefix = _indicator_set(closes[: i + 1])
        for name, series in whole.items():
            np.testing.assert_equal(prefix[name][i], series[i], err_msg=f"{name} at {i}")


def test_I3_changing_later_closes_never_changes_earlier_values(real_closes):
    closes = real_closes[:4000].copy()
    before = _indicator_set(closes)
    rng = np.random.default_rng(7)
    for i in rng.choice(np.arange(30, closes.size - 1), size=10, replace=False):
        altered = closes.copy()
        altered[i + 1:] *= rng.uniform(0.5, 1.5, size=altered.size - i - 1)
        after = _indicator_set(altered)
        for name in before:
            np.testing.assert_array_equal(after[name][: i + 1], before[name][: i + 1], err_msg=name)
