"""The Optimize tab, driven with pytest-qt: search in the background, sortable results, heatmap,
Cancel, and "Use these settings" into the strategy panel (asking first while trading)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt

import research.evaluate as evaluation
from config.settings import load_settings
from research.params import apply_assignment
from tests.optimize_helpers import write_small_sample
from ui import app as ui_app
from ui.main_window import MainWindow
from ui.optimize_tab import SEARCHABLE, OptimizeTab
from ui.strategy_panel import StrategyPanel

TP = "strategy.exit.take_profit_pct"
CENTER = "strategy.signal.centerline"
HANG_GUARD_MS = 300_000  # only stops a hung test; no assertion is about time


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_small_sample(tmp_path_factory.mktemp("sample"))


class Asker:
    def __init__(self, answer: bool):
        self.answer = answer
        self.questions: list[str] = []

    def __call__(self, title: str, question: str) -> bool:
        self.questions.append(question)
        return self.answer


def make_tab(qtbot, sample, trading=False, answer=True):
    settings = load_settings()
    panel = StrategyPanel(settings)
    asker = Asker(answer)
    tab = OptimizeTab(lambda: panel.to_settings("paper"), panel, lambda: trading, asker)
    qtbot.addWidget(panel)
    qtbot.addWidget(tab)
    tab.data_dir.setText(str(sample))
    tab.set_dates(QDate(2023, 2, 1), QDate(2023, 2, 2))
    tab.jobs.setValue(1)
    for key, *_ in SEARCHABLE:
        tab.set_param(key, "", ticked=False)
    tab.set_param(TP, "0.5,2")
    tab.set_param(CENTER, "45,55")
    return tab, panel, asker


def run_search(qtbot, tab) -> None:
    with qtbot.waitSignal(tab.job_finished, timeout=HANG_GUARD_MS):
        qtbot.mouseClick(tab.run_button, Qt.LeftButton)
        assert not tab.run_button.isEnabled() and tab.cancel_button.isEnabled()


def column(tab, name: str) -> int:
    """The column of a results.csv name (the header shows a trader's name; the csv name is its data)."""
    return [tab.table.horizontalHeaderItem(i).data(Qt.UserRole) for i in range(tab.table.columnCount())].index(name)


def test_search_runs_in_the_background_and_fills_a_sortable_table_and_heatmap(qtbot, sample):
    tab, _, _ = make_tab(qtbot, sample)
    run_search(qtbot, tab)
    assert tab.result is not None, tab.message.text()
    assert tab.table.rowCount() == 4 and tab.run_button.isEnabled() and not tab.cancel_button.isEnabled()
    assert tab.progress.value() == tab.progress.maximum()

    pnl = column(tab, "net_pnl")
    tab.table.sortItems(pnl, Qt.DescendingOrder)
    shown = [tab.table.item(r, pnl).data(Qt.DisplayRole) for r in range(4)]
    assert shown == sorted(shown, reverse=True) and len(set(shown)) > 1  # sorted as numbers
    tab.table.sortItems(pnl, Qt.AscendingOrder)
    assert [tab.table.item(r, pnl).data(Qt.DisplayRole) for r in range(4)] == sorted(shown)

    # Heatmap: x = take profit, y = centerline, each cell that setting's net PnL.
    assert (tab.heat_x.currentData(), tab.heat_y.currentData()) == (TP, CENTER)
    z = tab.heatmap.values
    assert z.shape == (2, 2)
    by_setting = {dict(row.assignment)[TP]: {} for row in tab.rows}
    for row in tab.rows:
        by_setting[dict(row.assignment)[TP]][dict(row.assignment)[CENTER]] = row.metrics.net_pnl
    assert z[0, 0] == pytest.approx(by_setting[0.5][45.0]) and z[1, 1] == pytest.approx(by_setting[2.0][55.0])
    assert "Best net_pnl" in tab.message.text()

    # Names a trader reads, the key in the tooltip; no header cut; a loss red, a profit green.
    tp_header = tab.table.horizontalHeaderItem(column(tab, TP))
    assert (tp_header.text(), tp_header.toolTip()) == ("Take profit %", TP)
    assert tab.table.horizontalHeaderItem(pnl).text() == "Net PnL (USDT)"
    assert tab.heat_x.currentText() == "Take profit %"
    header = tab.table.horizontalHeader()
    for index in range(tab.table.columnCount()):
        assert tab.table.columnWidth(index) >= header.sectionSizeFromContents(index).width(), \
            tab.table.horizontalHeaderItem(index).text()
    for row in range(tab.table.rowCount()):
        for name in ("net_pnl", "return_pct"):
            item = tab.table.item(row, column(tab, name))
            value = item.data(Qt.DisplayRole)
            if value:
                assert item.foreground().color().name() == ("#c62828" if value < 0 else "#1b7f2a")
    low, high = tab.heatmap.levels
    assert low == -high  # centred on break-even: every losing cell is on the red side


def test_use_these_settings_puts_the_row_into_the_strategy_panel(qtbot, sample):
    tab, panel, asker = make_tab(qtbot, sample)
    run_search(qtbot, tab)
    tab.table.selectRow(2)
    row = tab.selected_row()
    qtbot.mouseClick(tab.use_button, Qt.LeftButton)
    assert asker.questions == []  # not trading: nothing to ask
    settings = panel.to_settings("paper")
    assert settings.strategy == apply_assignment(load_settings(), row.assignment).strategy
    assert panel.fields[TP].text() == f"{dict(row.assignment)[TP]:g}"


@pytest.mark.parametrize("answer", [False, True])
def test_use_these_settings_asks_first_while_trading(qtbot, sample, answer):
    tab, panel, asker = make_tab(qtbot, sample, trading=True, answer=answer)
    before = panel.to_settings("paper").strategy
    run_search(qtbot, tab)
    chosen = next(n for n, row in enumerate(tab.rows) if apply_assignment(load_settings(), row.assignment).strategy
                  != before)
    tab.table.sortItems(0, Qt.AscendingOrder)
    for line in range(tab.table.rowCount()):
        if tab.table.item(line, 0).data(Qt.UserRole + 1) == chosen:
            tab.table.selectRow(line)
    qtbot.mouseClick(tab.use_button, Qt.LeftButton)
    assert len(asker.questions) == 1 and "trading" in asker.questions[0]
    after = panel.to_settings("paper").strategy
    expected = apply_assignment(load_settings(), tab.rows[chosen].assignment).strategy
    assert after == (expected if answer else before)


def test_cancel_stops_the_search_and_keeps_the_finished_rows(qtbot, sample, monkeypatch):
    tab, _, _ = make_tab(qtbot, sample)
    tab.set_param(TP, "0.5,1,1.5,2,2.5,3")  # 12 settings
    real, calls = evaluation.evaluate, []

    def second_waits_for_cancel(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the 2nd backtest is running when the user cancels
            assert tab._job._stop.wait(HANG_GUARD_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", second_waits_for_cancel)
    with qtbot.waitSignal(tab.job_finished, timeout=HANG_GUARD_MS):
        with qtbot.waitSignal(tab.row_added, timeout=HANG_GUARD_MS):
            qtbot.mouseClick(tab.run_button, Qt.LeftButton)
        qtbot.mouseClick(tab.cancel_button, Qt.LeftButton)
    assert tab.result is None and len(calls) == 2  # nothing ran after the cancel
    assert tab.table.rowCount() == len(tab.rows) == 1  # the finished row is kept
    assert "Cancelled" in tab.message.text()
    assert tab.run_button.isEnabled()


def test_walk_forward_shows_out_of_sample_columns_and_heatmap(qtbot, sample):
    tab, _, _ = make_tab(qtbot, sample)
    tab.set_dates(QDate(2023, 2, 1), QDate(2023, 2, 4))
    tab.walk_forward.setChecked(True)
    tab.train_days.setValue(2)
    tab.test_days.setValue(1)
    run_search(qtbot, tab)
    assert tab.result is not None and len(tab.result.windows) == 2
    assert tab.table.rowCount() == 2 * 4
    assert column(tab, "oos_net_pnl") > column(tab, "is_net_pnl")
    tab.heat_side.setCurrentIndex(tab.heat_side.findData(True))
    assert tab.heatmap.values.shape == (2, 2)
    assert "out-of-sample" in tab.message.text()


def test_a_bad_value_is_refused_before_anything_runs(qtbot, sample):
    tab, _, _ = make_tab(qtbot, sample)
    tab.set_param(TP, "0.5,-1")
    qtbot.mouseClick(tab.run_button, Qt.LeftButton)
    assert not tab.is_running() and tab.run_button.isEnabled()
    assert TP in tab.message.text() and "-1" in tab.message.text()


def test_the_window_has_the_optimize_tab(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    window = MainWindow(ui_app.service_builder(), settings=load_settings())
    qtbot.addWidget(window)
    titles = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]  # "&Optimize": Alt+O
    assert "Optimize" in titles
    assert window.tabs.widget(titles.index("Optimize")) is window.optimize
    assert window.optimize._panel is window.strategy


GUARD_MODE, GUARD_DISTANCE = "exchange.guard_mode", "exchange.guard_distance_pct"


def test_the_guard_is_offered_as_a_searchable_setting_and_searched_like_the_others(qtbot, sample):
    # [E1] The guard's mode and distance are searchable with --param; the tab offers both, unticked,
    # under a trader's name (the key in the tooltip), and "Use these settings" puts them into the panel.
    tab, panel, _ = make_tab(qtbot, sample)
    rows = {tab.params.item(row, 0).data(Qt.UserRole): row for row in range(tab.params.rowCount())}
    assert tab.params.item(rows[GUARD_MODE], 0).text() == "Guard on the exchange"
    assert tab.params.item(rows[GUARD_DISTANCE], 0).text() == "Guard distance %"
    assert tab.params.item(rows[GUARD_DISTANCE], 0).toolTip() == GUARD_DISTANCE
    tab.set_param(TP, "", ticked=False)
    tab.set_param(CENTER, "", ticked=False)
    tab.set_param(GUARD_MODE, "stop,off")
    tab.set_param(GUARD_DISTANCE, "0.5,5")
    assert tab.chosen_params() == (f"{GUARD_MODE}=stop,off", f"{GUARD_DISTANCE}=0.5,5")
    run_search(qtbot, tab)
    assert tab.result is not None, tab.message.text()
    assert sorted(row.assignment for row in tab.rows) == sorted(
        ((GUARD_MODE, mode), (GUARD_DISTANCE, distance)) for mode in ("stop", "off") for distance in (0.5, 5.0))
    by_setting = {row.assignment: row for row in tab.rows}
    # The guard acts in the backtests searched: a stop at 0.5 % trades differently from no guard.
    stop_near = by_setting[((GUARD_MODE, "stop"), (GUARD_DISTANCE, 0.5))].metrics
    off_near = by_setting[((GUARD_MODE, "off"), (GUARD_DISTANCE, 0.5))].metrics
    assert stop_near != off_near
    chosen = next(n for n, row in enumerate(tab.rows) if row.assignment == ((GUARD_MODE, "stop"), (GUARD_DISTANCE, 0.5)))
    for line in range(tab.table.rowCount()):
        if tab.table.item(line, 0).data(Qt.UserRole + 1) == chosen:
            tab.table.selectRow(line)
    qtbot.mouseClick(tab.use_button, Qt.LeftButton)
    settings = panel.to_settings("paper")
    assert (settings.exchange.guard_mode, settings.exchange.guard_distance_pct) == ("stop", 0.5)
    assert settings.strategy.guard.mode == "stop" and settings.strategy.guard.distance_pct == 0.5
    assert "Not in the strategy panel" not in tab.message.text()
