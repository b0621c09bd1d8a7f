"""Signals [S1-S3] from SPEC section 3 (S4, the entry mode, is read by R2: see test_rules_R.py)."""
from __future__ import annotations

import numpy as np
import pytest

from config.settings import parse_settings
from core.indicators import DOWN, NONE, UP, code_to_signal, last_signal, macd_line, reference_line, rsi, signal_codes
from core.model import Signal
from core.params import SignalParams
from tests.test_indicators import read_real_closes

# RSI(2) of these closes, index 2 onwards, by hand: 50, 83.33..., then falling.
CLOSES = np.array([1.0, 2.0, 1.0, 3.0, 2.9, 1.0])


@pytest.fixture(scope="module")
def doge_closes() -> np.ndarray:
    return read_real_closes("DOGEUSDT_futures")


# ----- S1 reference line -------------------------------------------------------------------------


def test_S1_centerline_reference_is_the_constant_line():
    line = reference_line(CLOSES, SignalParams(reference="centerline", centerline=42.5))
    assert np.all(line == 42.5)


def test_S1_macd_reference_is_the_macd_line_of_the_same_closes():
    params = SignalParams(reference="macd", macd_fast=2, macd_slow=3)
    np.testing.assert_array_equal(reference_line(CLOSES, params), macd_line(CLOSES, 2, 3))


def test_S1_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="centerline, macd"):
        reference_line(CLOSES, SignalParams(reference="ema"))


# ----- S2 up / down / none -----------------------------------------------------------------------


def test_S2_up_above_down_below_none_equal_to_the_centerline():
    values = rsi(CLOSES, 2)
    assert values[2] == pytest.approx(50.0, abs=1e-12)
    assert values[3] > 50.0 and values[5] < 50.0
    codes = signal_codes(CLOSES, SignalParams(centerline=50.0))
    assert codes.tolist() == [NONE, NONE, NONE, UP, int(np.sign(values[4] - 50.0)), DOWN]
    # The same RSI against a higher centerline: 83.3 is still up, 50 is now down.
    codes_70 = signal_codes(CLOSES, SignalParams(centerline=70.0))
    assert codes_70[2] == DOWN and codes_70[3] == UP


@pytest.mark.parametrize(
    "params, scale",
    [(SignalParams(centerline=50.0), 1.0), (SignalParams(reference="macd", macd_fast=3, macd_slow=10), 1e5)],
    ids=["centerline", "macd_on_scaled_prices"],
)
def test_S2_every_code_matches_the_comparison_on_real_closes(doge_closes, params, scale):
    # Scaled prices make the MACD line swing across RSI's 0..100 range, so both signs occur.
    closes = doge_closes[:20000] * scale
    values, reference = rsi(closes, 2), reference_line(closes, params)
    codes = signal_codes(closes, params)
    defined = ~np.isnan(values) & ~np.isnan(reference)
    expected = np.where(values > reference, UP, np.where(values < reference, DOWN, NONE))
    np.testing.assert_array_equal(codes[defined], expected[defined])
    assert np.all(codes[~defined] == NONE)  # warm-up: no signal
    assert {UP, DOWN} <= set(codes.tolist())


def test_S2_last_signal_reads_the_last_closed_candle():
    assert last_signal(CLOSES[:4], SignalParams()) is Signal.UP
    assert last_signal(CLOSES, SignalParams()) is Signal.DOWN
    assert last_signal(CLOSES[:3], SignalParams()) is Signal.NONE
    assert last_signal(np.array([]), SignalParams()) is Signal.NONE
    assert [code_to_signal(c) for c in (UP, DOWN, NONE)] == [Signal.UP, Signal.DOWN, Signal.NONE]


# ----- S3 why MACD(1,1,1) is not the default -----------------------------------------------------


def test_S3_literal_macd_1_1_reference_never_gives_down_on_real_closes(doge_closes):
    literal = signal_codes(doge_closes, SignalParams(reference="macd", macd_fast=1, macd_slow=1))
    assert DOWN not in set(literal.tolist())  # RSI is never below 0: no DOWN regime, no hedge ever
    assert np.mean(literal == UP) > 0.95
    centerline = signal_codes(doge_closes, SignalParams())
    assert np.mean(centerline == DOWN) > 0.3  # the default reference does give down signals


@pytest.mark.parametrize("fast_slow", [(1, 1), (5, 5)])
def test_S3_warning_when_macd_reference_has_fast_equal_slow(fast_slow):
    fast, slow = fast_slow
    [warning] = SignalParams(reference="macd", macd_fast=fast, macd_slow=slow).warnings()
    assert "[S3]" in warning and "identically zero" in warning
    settings = parse_settings({
        "strategy": {"signal": {"reference": "macd", "macd": {"fast": fast, "slow": slow}}},
        "symbols": {"DOGEUSDT": {"call_size": 100}},
    })
    assert settings.warnings() == [warning]


@pytest.mark.parametrize(
    "params",
    [
        SignalParams(reference="macd", macd_fast=12, macd_slow=26),
        SignalParams(reference="centerline", macd_fast=1, macd_slow=1),
        SignalParams(),
    ],
    ids=["macd_12_26", "centerline_with_1_1", "defaults"],
)
def test_S3_no_warning_otherwise(params):
    assert params.warnings() == []
