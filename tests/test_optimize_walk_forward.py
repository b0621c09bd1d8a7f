"""Walk-forward: windows are disjoint and consecutive, the choice reads in-sample figures only,
and out-of-sample figures cover the test days only."""
from __future__ import annotations

import numpy as np
import pytest

from config.settings import load_settings
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS
from research.backends import SerialBackend
from research.evaluate import MarketData, evaluate
from research.params import apply_assignment, parse_params
from research.search import Search, SearchPlan
from research.walk_forward import windows
from cli.backtest import parse_time
from research.backtest_data import load_backtest_inputs
from tests.optimize_helpers import write_small_sample

START, END = parse_time("2023-02-01", "--start"), parse_time("2023-02-06", "--end", end=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> MarketData:
    folder = write_small_sample(tmp_path_factory.mktemp("sample"))
    inputs = load_backtest_inputs(folder, ["DOGEUSDT", "ALGOUSDT"])
    return MarketData(inputs.candles_5m, inputs.candles_1d)


def plan_for(base, start=START, end=END, train=2, test=1) -> SearchPlan:
    specs = tuple(parse_params(["strategy.exit.take_profit_pct=0.5,2", "strategy.signal.centerline=45,55"], base))
    return SearchPlan(specs, "net_pnl", "grid", start_ms=start, end_ms=end, windows=tuple(windows(start, end, train, test)))


def run(plan, base, data):
    return Search(plan, base, SerialBackend(base, data)).run()


@pytest.mark.parametrize("train, test", [(1, 1), (2, 1), (3, 2), (120, 30)])
def test_windows_are_disjoint_consecutive_and_inside_the_data(train, test):
    start, end = parse_time("2022-08-01", "s"), parse_time("2023-09-27", "e")
    found = windows(start + 1234, end, train, test)  # a start inside a day moves up to the next midnight
    assert found[0].train_start == start + ONE_DAY_MS
    for window in found:
        assert window.train_end - window.train_start == train * ONE_DAY_MS
        assert window.test_end - window.test_start == test * ONE_DAY_MS
        assert window.train_start < window.train_end <= window.test_start < window.test_end <= end
    for before, after in zip(found, found[1:]):
        assert after.test_start == before.test_end  # test periods chain without gap or overlap
    assert found[-1].test_end + test * ONE_DAY_MS > end  # no whole window was left out


def test_out_of_sample_rows_cover_only_the_test_days(data):
    base = load_settings()
    result = run(plan_for(base), base, data)
    assert len(result.windows) == 4 and len(result.rows) == 4 * 4
    for row in result.rows:
        window = row.window
        settings = apply_assignment(base, row.assignment)
        # Exactly a backtest trading the test days only, and one trading the training days only.
        assert row.oos.row() == evaluate(settings, data, window.test_start, window.test_end).row()
        assert row.metrics.row() == evaluate(settings, data, window.train_start, window.train_end).row()
    times, _ = result.chained.equity
    test_closes = np.concatenate([np.arange(w.window.test_start, w.window.test_end, FIVE_MINUTES_MS) + FIVE_MINUTES_MS
                                  for w in result.windows])
    assert np.isin(times, test_closes).all()  # every out-of-sample point is a test-day bar close
    assert np.all(np.diff(times) > 0)


def _scramble_after(data: MarketData, moment: int) -> MarketData:
    """Prices from ``moment`` on replaced by a different random walk (what a look-ahead would see)."""
    rng = np.random.default_rng(7)
    changed = {}
    for symbol, frame in data.candles_5m.items():
        frame = frame.copy()
        later = frame["open_time"] >= moment
        factor = np.exp(np.cumsum(rng.normal(0, 0.01, int(later.sum()))))
        for column in ("open", "high", "low", "close"):
            frame.loc[later, column] = frame.loc[later, column] * factor
        changed[symbol] = frame
    return MarketData(changed, {})  # daily candles resampled from the changed 5m data


def test_the_choice_of_a_window_never_reads_its_test_days(data):
    base = load_settings()
    plan = plan_for(base)
    first = plan.windows[0]
    original = run(plan, base, MarketData(data.candles_5m, {}))
    scrambled = run(plan, base, _scramble_after(data, first.test_start))
    in_window = lambda result: [row for row in result.rows if row.window == first]  # noqa: E731
    assert [row.metrics.row() for row in in_window(original)] == [row.metrics.row() for row in in_window(scrambled)]
    assert original.windows[0].chosen == scrambled.windows[0].chosen
    assert [row.oos.row() for row in in_window(original)] != [row.oos.row() for row in in_window(scrambled)]  # the test is real


def test_chained_out_of_sample_is_the_chosen_settings_windows_one_after_another(data):
    base = load_settings()
    result = run(plan_for(base), base, data)
    for item in result.windows:
        rows = [row for row in result.rows if row.window == item.window]
        best = max(rows, key=lambda row: row.metrics.net_pnl)
        assert item.chosen == best.assignment and item.out_of_sample.net_pnl == best.oos.net_pnl
    assert result.chained.net_pnl == pytest.approx(sum(w.out_of_sample.net_pnl for w in result.windows))
    assert result.chained.trades == sum(w.out_of_sample.trades for w in result.windows)
    assert result.best == result.windows[-1].chosen
