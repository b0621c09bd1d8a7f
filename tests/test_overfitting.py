"""research.overfitting: PBO by CSCV and the deflated Sharpe ratio, on returns whose answer is known."""
from __future__ import annotations

import csv
import math
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest

import main
from research import overfitting
from research.overfitting import SharpeStats, assess, deflated_sharpe, expected_max_sharpe, pbo_cscv, sharpe_stats
from tests.optimize_helpers import write_small_sample

SEEDS = (0, 1, 2, 3, 4)


def noise(seed: int, days: int = 1000, settings: int = 50) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, (days, settings))


def test_pure_noise_gives_a_pbo_around_one_half():
    found = [pbo_cscv(noise(seed)).pbo for seed in SEEDS]
    assert all(0.2 < value < 0.9 for value in found)
    assert 0.4 < float(np.mean(found)) < 0.7  # choosing among luck is a coin flip (or worse)


def test_a_planted_edge_gives_a_pbo_near_zero():
    for seed in SEEDS:
        returns = noise(seed)
        returns[:, 7] += 0.004  # one setting really earns: in-sample best and out-of-sample best together
        assert pbo_cscv(returns).pbo < 0.02


def test_a_setting_that_wins_in_one_half_and_loses_in_the_other_is_always_overfit():
    """Hand-checkable: 4 blocks of 2 days, 2 settings. Setting 0 earns in blocks 0-1 and loses in 2-3,
    setting 1 the other way round, each with the same spread. Every split that puts blocks 0 and 1
    in-sample picks setting 0, which then ranks last out-of-sample; and so on for each split."""
    up, down = [0.02, 0.01], [-0.01, -0.02]
    first = np.array(up + up + down + down)
    returns = np.column_stack([first, first[::-1]])
    found = pbo_cscv(returns, blocks=4)
    assert found.blocks == 4 and found.combinations == 6
    # Splits {0,1} and {2,3}: the winner ranks last (logit < 0); mixed splits ({0,2}, {0,3}, {1,2}, {1,3}):
    # both settings tie in- and out-of-sample, the first is chosen and ties at the median (logit 0).
    assert found.pbo == 1.0
    assert sorted(np.round(found.logits, 12)) == pytest.approx([math.log(1 / 2), math.log(1 / 2), 0, 0, 0, 0])


def test_pbo_follows_the_definition_on_a_small_matrix():
    """The vectorised CSCV equals a direct, loop-by-loop reading of the paper's steps."""
    returns = noise(11, days=48, settings=5)
    blocks = 6
    parts = np.array_split(np.arange(48), blocks)
    logits = []
    for chosen in combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[b] for b in chosen])
        outside = np.concatenate([parts[b] for b in range(blocks) if b not in chosen])
        sharpe_in = returns[inside].mean(0) / returns[inside].std(0, ddof=1)
        sharpe_out = returns[outside].mean(0) / returns[outside].std(0, ddof=1)
        best = int(np.argmax(sharpe_in))
        rank = 1 + int(np.sum(sharpe_out < sharpe_out[best]))
        omega = rank / (5 + 1)
        logits.append(math.log(omega / (1 - omega)))
    found = pbo_cscv(returns, blocks=blocks)
    assert found.logits == pytest.approx(logits, abs=1e-9)
    assert found.pbo == np.mean(np.array(logits) <= 0)


def test_too_few_settings_or_days_give_no_pbo():
    assert pbo_cscv(noise(0, days=100, settings=1)) is None
    assert pbo_cscv(noise(0, days=3, settings=4)) is None
    assert pbo_cscv(noise(0, days=10, settings=4)).blocks == 4  # fewer blocks for a short record


def test_the_deflated_sharpe_of_the_papers_worked_example():
    """Bailey & López de Prado (2014), section 5: 100 trials, annualised variance of their Sharpe 0.5,
    the best at an annualised 2.5 over 5 years of daily data (1,250 days), skewness -3, kurtosis 10:
    SR0 = 0.1132 per day (1.79 annualised) and DSR = 0.9004."""
    per_day = math.sqrt(250)
    assert expected_max_sharpe(100, 0.5 / 250) * per_day == pytest.approx(1.7894, abs=1e-3)
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=1e-4)
    assert deflated_sharpe(SharpeStats(2.5 / per_day, -3.0, 10.0, 1250), 100, 0.5 / 250) == pytest.approx(
        0.9004, abs=5e-4)


def test_the_deflated_sharpe_against_a_hand_computation():
    # 10 trials, variance 0.01, Sharpe 0.3 over 101 days, normal moments:
    # SR0 = 0.1 * (0.422784 * Z(0.9) + 0.577216 * Z(1 - 1/(10e))) = 0.1 * (0.422784 * 1.281552 + 0.577216 * 1.789242)
    #     = 0.157460 (normal quantiles from tables); DSR = Z((0.3 - 0.157460) * 10 / sqrt(1 + (3 - 1)/4 * 0.09))
    #     = Z(1.394375) = 0.918398
    assert expected_max_sharpe(10, 0.01) == pytest.approx(0.157460, abs=2e-6)
    assert deflated_sharpe(SharpeStats(0.3, 0.0, 3.0, 101), 10, 0.01) == pytest.approx(0.918398, abs=5e-6)
    # One trial: nothing to deflate, the probabilistic Sharpe against 0.
    assert deflated_sharpe(SharpeStats(0.3, 0.0, 3.0, 101), 1, 0.01) == pytest.approx(
        NormalDist().cdf(3.0 / math.sqrt(1.045)))


def test_sharpe_moments_of_a_known_series():
    stats = sharpe_stats(np.array([1.0, -1.0, 1.0, -1.0, 2.0]))
    values = np.array([1.0, -1.0, 1.0, -1.0, 2.0])
    centred = values - values.mean()
    assert stats.sharpe == pytest.approx(0.4 / np.std(values, ddof=1))
    assert stats.skewness == pytest.approx(np.mean(centred ** 3) / np.mean(centred ** 2) ** 1.5)
    assert stats.kurtosis == pytest.approx(np.mean(centred ** 4) / np.mean(centred ** 2) ** 2)
    assert sharpe_stats(np.zeros(30)) == SharpeStats(0.0, 0.0, 3.0, 30)  # never traded


def test_assess_deflates_the_luckiest_of_many_noise_settings_and_keeps_a_real_edge():
    returns = noise(3, days=730, settings=40)
    lucky = assess(list(returns.T))
    best = int(np.argmax([sharpe_stats(series).sharpe for series in returns.T]))
    assert lucky.trials == 40 and lucky.dsr[best] < 0.5  # the best of 40 coin flips is not evidence
    returns[:, 5] += 0.003
    real = assess(list(returns.T))
    assert real.dsr[5] > 0.95 and real.pbo < 0.05
    partial = assess([*returns.T[:3], None])  # a setting without returns counts in N, not in the PBO
    assert partial.trials == 4 and math.isnan(partial.dsr[3])


def test_every_search_writes_pbo_and_the_deflated_sharpe(tmp_path, capsys):
    sample = write_small_sample(tmp_path / "sample")
    out = tmp_path / "out"
    assert main.main(["optimize", "--data", str(sample), "--start", "2023-02-01", "--end", "2023-02-07",
                      "--out", str(out), "--jobs", "1", "--param", "strategy.exit.take_profit_pct=0.5,1,2",
                      "--param", "strategy.signal.centerline=45,55"]) == 0
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert len({row["pbo"] for row in rows}) == 1 and 0.0 <= float(rows[0]["pbo"]) <= 1.0
    assert all(0.0 <= float(row["dsr"]) <= 1.0 for row in rows)
    printed = capsys.readouterr().out
    assert "overfitting: PBO" in printed and "deflated Sharpe of the best" in printed
    assert overfitting.MEANING in printed
    report = (out / "report.html").read_text()
    assert "Is the best row luck?" in report and "PBO" in report


def test_the_optimize_tab_shows_pbo_and_the_deflated_sharpe_with_what_they_mean(qtbot, tmp_path):
    from PySide6.QtCore import QDate

    from tests.test_optimize_tab import column, make_tab, run_search

    tab, _, _ = make_tab(qtbot, write_small_sample(tmp_path / "sample"))
    tab.set_dates(QDate(2023, 2, 1), QDate(2023, 2, 7))
    run_search(qtbot, tab)
    assert tab.result is not None, tab.message.text()
    found = tab.result.overfitting
    assert found is not None and 0.0 <= found.pbo <= 1.0
    pbo, dsr = column(tab, "pbo"), column(tab, "dsr")
    assert tab.table.rowCount() == 4
    for line in range(4):  # filled in once the search finished
        assert tab.table.item(line, pbo).data(0) == pytest.approx(round(found.pbo, 4))
        assert 0.0 <= tab.table.item(line, dsr).data(0) <= 1.0
    assert f"(PBO): {found.pbo:.2f}" in tab.message.text() and "deflated Sharpe" in tab.message.text()
