"""Indicators on closed-candle closes: numpy in, numpy out [SPEC I].

Every function takes a 1-D float array and returns an array of the same length,
NaN during warm-up. Each output value at index i depends only on inputs 0..i,
so computing over a whole history and reading index i is the same as computing
over the first i+1 candles [I3] — the backtester may compute once, the live
runner on its buffer, and both get the same numbers.
"""
from __future__ import annotations

import numpy as np

from core.kernel_jit import NUMBA_AVAILABLE, compiled, jitable, loop_input
from core.model import Signal
from core.params import SignalParams

# Signal codes in arrays: +1 up, -1 down, 0 none (including warm-up).
UP, DOWN, NONE = 1, -1, 0
_CODE_TO_SIGNAL = {UP: Signal.UP, DOWN: Signal.DOWN, NONE: Signal.NONE}


def _as_float_array(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D array of closes, got shape {array.shape}")
    return array


def rsi(closes: np.ndarray, length: int = 2) -> np.ndarray:
    """Wilder's RSI [I1], as ``talib.RSI``.

    Average gain/loss are seeded with the simple mean of the first ``length``
    changes, then smoothed ``avg = (avg*(n-1) + x)/n``. RSI is 100 when only
    gains, 50 when neither gains nor losses. First value at index ``length``.
    """
    if length < 1:
        raise ValueError(f"RSI length must be >= 1, got {length}")
    closes = _as_float_array(closes)
    out = np.full(closes.shape, np.nan)
    if closes.size <= length:
        return out
    changes = np.diff(closes[:length + 1])
    gains = np.where(changes > 0, changes, 0.0)
    losses = np.where(changes < 0, -changes, 0.0)
    avg_gain = float(gains.mean())  # numpy's (pairwise) mean: the seed is computed here, not compiled
    avg_loss = float(losses.mean())
    out[length] = _rsi_value(avg_gain, avg_loss)
    _wilder_rsi_tail(loop_input(closes), length, avg_gain, avg_loss, out)
    return out


def _wilder_rsi_loop(closes: np.ndarray, length: int, avg_gain: float, avg_loss: float, out: np.ndarray) -> None:
    """out[i + 1] for i >= length: Wilder's smoothing from the seeded averages [I1], each
    change's gain and loss taken as ``np.diff`` and ``np.where`` would (one pass over the
    closes instead of three arrays first).

    The recursion is sequential; it runs compiled when numba is there (the same
    float operations in the same order, so the values are identical either way).
    """
    for i in range(length, len(closes) - 1):
        change = closes[i + 1] - closes[i]
        avg_gain = _wilder_step(avg_gain, change if change > 0 else 0.0, length)
        avg_loss = _wilder_step(avg_loss, -change if change < 0 else 0.0, length)
        out[i + 1] = _rsi_value(avg_gain, avg_loss)


@jitable
def _wilder_step(average: float, value: float, length: int) -> float:
    """Wilder's smoothing, one input on [I1]: ``(avg*(n-1) + x)/n``."""
    return (average * (length - 1) + value) / length


@jitable
def _ema_step(current: float, value: float, alpha: float) -> float:
    """The EMA recursion, one input on [I2]."""
    return (value - current) * alpha + current


@jitable
def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    total = avg_gain + avg_loss
    if total == 0.0:
        return 50.0
    # 100*g/(g+l) equals 100 - 100/(1+g/l) and is how TA-Lib evaluates it.
    return 100.0 * avg_gain / total


def ema(values: np.ndarray, length: int) -> np.ndarray:
    """EMA [I2] with alpha = 2/(n+1), seeded with the mean of the first n values (index n-1)."""
    if length < 1:
        raise ValueError(f"EMA length must be >= 1, got {length}")
    values = _as_float_array(values)
    out = np.full(values.shape, np.nan)
    if values.size < length:
        return out
    alpha = 2.0 / (length + 1)
    current = float(values[:length].mean())
    out[length - 1] = current
    if length == 1:
        # alpha == 1: EMA(1) is the series itself.
        out[:] = values
        return out
    _ema_tail(loop_input(values), length, alpha, current, out)
    return out


def _ema_loop(values: np.ndarray, length: int, alpha: float, current: float, out: np.ndarray) -> None:
    """out[i] for i >= length from the seed ``current`` [I2] (compiled when numba is there)."""
    for i in range(length, len(values)):
        current = _ema_step(current, values[i], alpha)
        out[i] = current


def macd_line(closes: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """MACD line = EMA(fast) - EMA(slow) [I2]; NaN until both EMAs exist."""
    closes = _as_float_array(closes)
    if fast == slow:
        line = ema(closes, fast)
        return line - line  # exactly 0 where defined, NaN in warm-up [S3]
    return ema(closes, fast) - ema(closes, slow)


def reference_line(closes: np.ndarray, params: SignalParams) -> np.ndarray:
    """The line RSI is compared with [S1]: a constant centerline or the MACD line."""
    closes = _as_float_array(closes)
    if params.reference == "centerline":
        return np.full(closes.shape, float(params.centerline))
    if params.reference == "macd":
        return macd_line(closes, params.macd_fast, params.macd_slow)
    raise ValueError(f"unknown signal reference {params.reference!r}; allowed: centerline, macd")


_wilder_rsi_tail = compiled(_wilder_rsi_loop)
_ema_tail = compiled(_ema_loop)


def signal_codes(closes: np.ndarray, params: SignalParams) -> np.ndarray:
    """+1 up / -1 down / 0 none per candle [S2]; 0 while RSI or the reference is warming up."""
    return codes_from(rsi(closes, params.rsi_length), reference_line(closes, params))


def codes_from(rsi_values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """[S2] per candle: +1 where RSI is above the reference, -1 below, 0 equal or warming up (NaN).
    One compiled pass when numba is there (a search computes this per signal group), else numpy's masks."""
    rsi_values = np.asarray(rsi_values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    codes = np.zeros(rsi_values.shape, dtype=np.int8)
    if NUMBA_AVAILABLE and rsi_values.ndim == 1 and reference.shape == rsi_values.shape:
        _codes_tail(rsi_values, reference, codes)
        return codes
    with np.errstate(invalid="ignore"):
        codes[rsi_values > reference] = UP
        codes[rsi_values < reference] = DOWN
    return codes


def _codes_loop(rsi_values: np.ndarray, reference: np.ndarray, codes: np.ndarray) -> None:
    """:func:`codes_from`'s masks as one loop (a NaN compares false both ways: 0)."""
    for i in range(len(codes)):
        if rsi_values[i] > reference[i]:
            codes[i] = UP
        elif rsi_values[i] < reference[i]:
            codes[i] = DOWN


_codes_tail = compiled(_codes_loop)


def code_to_signal(code: int) -> Signal:
    return _CODE_TO_SIGNAL[int(code)]


def last_signal(closes: np.ndarray, params: SignalParams) -> Signal:
    """The signal of the last closed candle in ``closes``."""
    codes = signal_codes(closes, params)
    return code_to_signal(codes[-1]) if codes.size else Signal.NONE


# ----- incremental forms (the live runner) ---------------------------------------------------
#
# One closed candle at a time, carrying the recursion's state forward. Each class performs the
# same float operations in the same order as the batch function above (seed with numpy's mean
# of the first ``length`` inputs, then the same recurrence), so after n updates its value is
# exactly (==) the batch function's value at index n-1 over the same inputs [I1, I2, I3].


class IncrementalRSI:
    """Wilder's RSI [I1] updated per close; ``value`` is :func:`rsi` at the last close (NaN in warm-up)."""

    def __init__(self, length: int = 2):
        if length < 1:
            raise ValueError(f"RSI length must be >= 1, got {length}")
        self.length = length
        self.value = float("nan")
        self._prev: float | None = None
        self._seed_gains: list[float] = []
        self._seed_losses: list[float] = []
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self._seeded = False

    def update(self, close: float) -> float:
        prev, self._prev = self._prev, float(close)
        if prev is None:
            return self.value
        change = self._prev - prev  # as np.diff
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        if self._seeded:
            self._avg_gain = _wilder_step(self._avg_gain, gain, self.length)
            self._avg_loss = _wilder_step(self._avg_loss, loss, self.length)
            self.value = _rsi_value(self._avg_gain, self._avg_loss)
            return self.value
        self._seed_gains.append(gain)
        self._seed_losses.append(loss)
        if len(self._seed_gains) == self.length:
            self._avg_gain = float(np.asarray(self._seed_gains).mean())  # the batch seed, numpy's mean
            self._avg_loss = float(np.asarray(self._seed_losses).mean())
            self._seed_gains, self._seed_losses = [], []
            self._seeded = True
            self.value = _rsi_value(self._avg_gain, self._avg_loss)
        return self.value


class IncrementalEMA:
    """EMA [I2] updated per value; ``value`` is :func:`ema` at the last value (NaN in warm-up)."""

    def __init__(self, length: int):
        if length < 1:
            raise ValueError(f"EMA length must be >= 1, got {length}")
        self.length = length
        self.value = float("nan")
        self._alpha = 2.0 / (length + 1)
        self._seed: list[float] = []
        self._seeded = False

    def update(self, value: float) -> float:
        value = float(value)
        if self._seeded:
            if self.length == 1:
                self.value = value  # EMA(1) is the series itself
            else:
                self.value = _ema_step(self.value, value, self._alpha)
            return self.value
        self._seed.append(value)
        if len(self._seed) == self.length:
            self.value = value if self.length == 1 else float(np.asarray(self._seed).mean())
            self._seed = []
            self._seeded = True
        return self.value


class IncrementalSignal:
    """The signal code of each new close [S1, S2], as :func:`signal_codes` would give at that index.

    ``code`` is the last close's code, ``prev_code`` the one before (NONE before two closes).
    """

    def __init__(self, params: SignalParams):
        if params.reference not in ("centerline", "macd"):
            raise ValueError(f"unknown signal reference {params.reference!r}; allowed: centerline, macd")
        self.params = params
        self.rsi = IncrementalRSI(params.rsi_length)
        self._macd = params.reference == "macd"
        self._centerline = float(params.centerline)
        self.fast = IncrementalEMA(params.macd_fast) if self._macd else None
        self.slow = IncrementalEMA(params.macd_slow) if self._macd and params.macd_slow != params.macd_fast else None
        self.code = NONE
        self.prev_code = NONE

    def reference(self) -> float:
        """The line RSI is compared with at the last close, as :func:`reference_line` (NaN in warm-up)."""
        if not self._macd:
            return self._centerline
        assert self.fast is not None
        if self.slow is None:
            return self.fast.value - self.fast.value  # exactly 0 where defined [S3]
        return self.fast.value - self.slow.value

    def update(self, close: float) -> int:
        rsi_value = self.rsi.update(close)
        if self.fast is not None:
            self.fast.update(close)
        if self.slow is not None:
            self.slow.update(close)
        reference = self.reference()
        self.prev_code = self.code
        self.code = UP if rsi_value > reference else DOWN if rsi_value < reference else NONE
        return self.code

    def signal(self) -> Signal:
        return _CODE_TO_SIGNAL[self.code]

    def prev_signal(self) -> Signal:
        return _CODE_TO_SIGNAL[self.prev_code]
