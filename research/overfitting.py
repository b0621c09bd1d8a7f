"""How likely is the best row of a search luck? Two statistics from the settings a search tried.

**PBO, the probability of backtest overfitting**, estimated by combinatorially
symmetric cross-validation (CSCV): D. H. Bailey, J. M. Borwein, M. López de Prado,
Q. J. Zhu, "The Probability of Backtest Overfitting", Journal of Computational
Finance 20(4), 2017 (SSRN 2326253, 2015). The T×N matrix of the N settings' daily
returns is cut into S blocks of consecutive days; for each of the C(S, S/2) ways of
calling half of the blocks "in-sample" and the other half "out-of-sample", the
setting with the best in-sample Sharpe is found and its out-of-sample Sharpe is
ranked among all N (relative rank ω = rank / (N + 1), logit λ = ln(ω / (1 − ω))).
PBO is the share of splits where the in-sample winner ranks at or below the median
out-of-sample (λ ≤ 0). Pure noise gives about 0.5; a real edge that persists gives
about 0; above 0.5 the choice does worse than a coin.

**DSR, the deflated Sharpe ratio**: D. H. Bailey, M. López de Prado, "The Deflated
Sharpe Ratio: Correcting for Selection Bias, Backtest Overfitting and Non-Normality",
Journal of Portfolio Management 40(5), 2014, 94–107. The probability that a
setting's true Sharpe ratio is above the best one N settings of pure luck would
show, given the variance V of the N tried settings' Sharpe ratios:

    SR0 = sqrt(V) · ((1 − γ) · Z⁻¹(1 − 1/N) + γ · Z⁻¹(1 − 1/(N·e)))      (γ: Euler–Mascheroni)
    DSR = Z( (SR − SR0) · sqrt(T − 1) / sqrt(1 − γ3 · SR + (γ4 − 1)/4 · SR²) )

with SR, skewness γ3 and (non-excess) kurtosis γ4 of that setting's T daily returns,
all per day (not annualised). DSR near 1: unlikely to be luck; 0.5 or below: as
good as the best of N coin flips.

Choices where the papers leave room: the performance measure is the Sharpe ratio of
the daily returns (the one the backtest summary annualises); S = 16 blocks (the
papers' example), fewer when there are under 32 days; ties in-sample go to the
setting proposed first (as the search's own choice) and ties out-of-sample take the
average rank; N counts every setting tried, although neighbouring settings of a grid
are correlated, which makes SR0 larger and the DSR conservative (the paper's
effective number of trials would need a clustering of the settings).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
DEFAULT_BLOCKS = 16
_NORMAL = NormalDist()
_CHUNK_CELLS = 4_000_000  # combinations x settings evaluated at once (memory bound)

MEANING = ("PBO is the probability that the search's best in-sample setting does worse than the median "
           "setting on days it was not chosen on (about 0.5 for pure luck, near 0 for a real edge); the "
           "deflated Sharpe (DSR) is the probability that a setting's Sharpe ratio is not just the luck of "
           "trying this many settings (near 1 is good, 0.5 or less is what luck alone gives).")


@dataclass(frozen=True)
class PBOResult:
    pbo: float  # share of the splits with logit <= 0
    logits: np.ndarray  # one per split
    blocks: int  # S
    combinations: int  # C(S, S/2)


@dataclass(frozen=True)
class SharpeStats:
    """Per-period (daily) Sharpe ratio of one return series, with the moments the DSR needs."""

    sharpe: float
    skewness: float
    kurtosis: float  # non-excess: 3 for a normal distribution
    observations: int


def sharpe_stats(returns: np.ndarray) -> SharpeStats:
    """Mean / sample standard deviation, and the sample's skewness and kurtosis (population moments).

    A series without spread (a setting that never trades) has Sharpe 0 and a normal's moments."""
    values = np.asarray(returns, dtype=np.float64)
    count = values.size
    if count < 2:
        return SharpeStats(0.0, 0.0, 3.0, count)
    spread = float(np.std(values, ddof=1))
    if not (spread > 0.0 and math.isfinite(spread)):
        return SharpeStats(0.0, 0.0, 3.0, count)
    centred = values - values.mean()
    second = float(np.mean(centred ** 2))
    skewness = float(np.mean(centred ** 3)) / second ** 1.5
    kurtosis = float(np.mean(centred ** 4)) / second ** 2
    return SharpeStats(float(values.mean()) / spread, skewness, kurtosis, count)


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the Sharpe ratio the best of ``trials`` settings without skill is expected to show
    (Bailey & López de Prado 2014, eq. for E[max SR_n] with the False Strategy theorem)."""
    if trials < 2 or not variance > 0.0:
        return 0.0
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / trials)
                                  + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e)))


def probabilistic_sharpe(stats: SharpeStats, benchmark: float) -> float:
    """PSR: the probability that the true Sharpe ratio exceeds ``benchmark`` (per period),
    given the estimate's length, skewness and kurtosis (Bailey & López de Prado 2012/2014)."""
    if stats.observations < 2:
        return math.nan
    sharpe = stats.sharpe
    spread = 1.0 - stats.skewness * sharpe + (stats.kurtosis - 1.0) / 4.0 * sharpe ** 2
    if not spread > 0.0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(stats.observations - 1) / math.sqrt(spread))


def deflated_sharpe(stats: SharpeStats, trials: int, sharpe_variance: float) -> float:
    """DSR of one setting, given the number of settings tried and the variance of their Sharpe ratios."""
    return probabilistic_sharpe(stats, expected_max_sharpe(trials, sharpe_variance))


def _blocks_for(days: int, wanted: int) -> int:
    """S: even, at most ``wanted``, with at least two days per block; 0 when the record is too short."""
    blocks = min(wanted, days // 2)
    blocks -= blocks % 2
    return blocks if blocks >= 2 else 0


def pbo_cscv(returns: np.ndarray, blocks: int = DEFAULT_BLOCKS) -> PBOResult | None:
    """PBO of choosing, among the columns of ``returns`` (T days × N settings), the best Sharpe.

    None when there are fewer than two settings or four days. Blocks are consecutive days
    (``np.array_split``: when S does not divide T the first blocks hold one day more)."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        return None
    days, settings = matrix.shape
    blocks = _blocks_for(days, blocks)
    if not blocks:
        return None
    edges = np.cumsum([0] + [len(part) for part in np.array_split(np.arange(days), blocks)])
    sums = np.add.reduceat(matrix, edges[:-1], axis=0)  # S x N
    squares = np.add.reduceat(matrix * matrix, edges[:-1], axis=0)
    counts = np.diff(edges).astype(np.float64)  # S
    chosen = np.array(list(combinations(range(blocks), blocks // 2)), dtype=np.int64)
    masks = np.zeros((len(chosen), blocks), dtype=np.float64)
    masks[np.arange(len(chosen))[:, None], chosen] = 1.0
    logits = np.empty(len(chosen), dtype=np.float64)
    step = max(1, _CHUNK_CELLS // settings)
    for begin in range(0, len(chosen), step):
        in_mask = masks[begin:begin + step]
        out_mask = 1.0 - in_mask
        in_sharpe = _sharpe_of(in_mask @ sums, in_mask @ squares, in_mask @ counts)
        out_sharpe = _sharpe_of(out_mask @ sums, out_mask @ squares, out_mask @ counts)
        best = np.argmax(in_sharpe, axis=1)  # the first on a tie, as the search chooses
        winner = out_sharpe[np.arange(len(best)), best][:, None]
        below = np.sum(out_sharpe < winner, axis=1)
        level = np.sum(out_sharpe == winner, axis=1)  # includes the winner itself
        rank = below + (level + 1) / 2.0  # 1 = worst .. N = best; ties share their average rank
        omega = rank / (settings + 1.0)
        logits[begin:begin + step] = np.log(omega / (1.0 - omega))
    return PBOResult(float(np.mean(logits <= 0.0)), logits, blocks, len(chosen))


def _sharpe_of(total: np.ndarray, squares: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Sharpe ratio (mean / sample standard deviation) from sums; 0 where there is no spread."""
    count = count[:, None]
    mean = total / count
    variance = (squares - total * mean) / (count - 1.0)
    spread = np.sqrt(np.maximum(variance, 0.0))
    # Rounding leaves a tiny variance for a constant series: treat spreads at that level as none.
    flat = spread <= 1e-12 * np.maximum(np.abs(mean), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flat | (spread == 0.0), 0.0, mean / np.where(spread == 0.0, 1.0, spread))


@dataclass(frozen=True)
class Overfitting:
    """A search's two statistics, and each setting's DSR (NaN where its daily returns are unknown)."""

    pbo: float  # NaN when it cannot be estimated (fewer than 2 settings with returns, or under 4 days)
    blocks: int
    combinations: int
    trials: int  # N: every setting tried
    sharpe_variance: float  # V[SR_n], per day
    expected_max_sharpe: float  # SR0, per day
    dsr: tuple[float, ...]  # per setting, in the order given

    def describe(self, dsr: float) -> str:
        """One line for a trader, with ``dsr`` the chosen setting's (English; the window has its own sentence)."""
        pbo = "n/a (too few settings or days)" if math.isnan(self.pbo) else f"{self.pbo:.2f}"
        dsr_text = "n/a" if math.isnan(dsr) else f"{dsr:.2f}"
        splits = f" ({self.combinations:,} CSCV splits of {self.blocks} blocks)" if self.blocks else ""
        return f"overfitting: PBO {pbo} over {self.trials} settings{splits}; deflated Sharpe of the best {dsr_text}"


def assess(daily_returns: list[np.ndarray | None], sharpes: list[float] | None = None,
           blocks: int = DEFAULT_BLOCKS) -> Overfitting:
    """PBO over the settings whose daily returns are known (all on the same days), and every setting's DSR.

    ``daily_returns``: one series per setting tried (None: not known, e.g. a trial resumed from an
    Optuna study, which still counts in N); ``sharpes`` (per day) of settings without returns may be
    given so they count in V too."""
    trials = len(daily_returns)
    stats = [sharpe_stats(series) if series is not None else None for series in daily_returns]
    per_day = [s.sharpe if s is not None else (sharpes[i] if sharpes is not None else math.nan)
               for i, s in enumerate(stats)]
    known = np.array([value for value in per_day if math.isfinite(value)], dtype=np.float64)
    variance = float(np.var(known, ddof=1)) if known.size >= 2 else 0.0
    benchmark = expected_max_sharpe(trials, variance)
    dsr = tuple(probabilistic_sharpe(s, benchmark) if s is not None else math.nan for s in stats)
    series = [np.asarray(r, dtype=np.float64) for r in daily_returns if r is not None]
    result = None
    if len(series) >= 2 and len({s.size for s in series}) == 1:
        result = pbo_cscv(np.column_stack(series), blocks)
    if result is None:
        return Overfitting(math.nan, 0, 0, trials, variance, benchmark, dsr)
    return Overfitting(result.pbo, result.blocks, result.combinations, trials, variance, benchmark, dsr)
