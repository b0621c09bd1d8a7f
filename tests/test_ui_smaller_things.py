"""Issue 20's smaller items that live in the window's widgets (pytest-qt, offscreen)."""
from __future__ import annotations

from live.events import StatusRow, SymbolRunState
from ui.status_table import StatusTable


def status(symbol: str, state: SymbolRunState, detail: str = "") -> StatusRow:
    return StatusRow(symbol, "UP", state, detail, 0.1, None, 0.0, None, None, None, None, 0.0, None, None, 100.0)


def menu_texts(table: StatusTable, symbol: str) -> list[str]:
    return [action.text() for action in table.menu_for(symbol).actions()]


def test_the_row_menu_offers_pause_or_resume_by_the_rows_state_never_both(qtbot):
    table = StatusTable()
    qtbot.addWidget(table)
    table.update_row(status("DOGEUSDT", SymbolRunState.RUNNING))
    table.update_row(status("ALGOUSDT", SymbolRunState.PAUSED, "paused by the user"))
    table.update_row(status("XRPUSDT", SymbolRunState.ERROR, "margin is insufficient"))
    assert menu_texts(table, "DOGEUSDT") == ["Pause DOGEUSDT", "Flatten DOGEUSDT…"]
    assert menu_texts(table, "ALGOUSDT") == ["Resume ALGOUSDT", "Flatten ALGOUSDT…"]
    assert menu_texts(table, "XRPUSDT") == ["Resume XRPUSDT", "Flatten XRPUSDT…"]
    table.update_row(status("ALGOUSDT", SymbolRunState.RUNNING))
    assert menu_texts(table, "ALGOUSDT") == ["Pause ALGOUSDT", "Flatten ALGOUSDT…"]


def test_the_alerts_dialog_says_why_desktop_notifications_are_greyed_out(qtbot):
    from config.settings import AlertSettings
    from ui.alerts_dialog import AlertsDialog

    without = AlertsDialog(AlertSettings(), desktop_available=False, load_urls=lambda: [],
                           save_urls=lambda urls: None)
    qtbot.addWidget(without)
    without.show()
    assert not without.desktop.isEnabled()
    assert without.desktop_note.isVisible() and "no system tray" in without.desktop_note.text()
    with_tray = AlertsDialog(AlertSettings(), desktop_available=True, load_urls=lambda: [],
                             save_urls=lambda urls: None)
    qtbot.addWidget(with_tray)
    with_tray.show()
    assert with_tray.desktop.isEnabled() and not with_tray.desktop_note.isVisible()


def test_the_default_replay_speed_plays_a_day_in_a_minute():
    from ui.replay_progress import DEFAULT_REPLAY_SPEED

    bars_per_day = 288
    seconds_per_bar = 300 / DEFAULT_REPLAY_SPEED  # the replay feed sleeps (close gap) / speed between closes
    assert bars_per_day * seconds_per_bar == 60.0


def test_the_replay_progress_bar_shows_tenths_of_a_percent(qtbot):
    from ui.replay_progress import ReplayProgress

    bar = ReplayProgress()
    qtbot.addWidget(bar)
    bar.show_progress(244, 243_480)  # one progress step of the bundled sample's 13 months
    assert bar.text() == "replay 0.1 %"
    bar.show_progress(30_435, 243_480)
    assert bar.text() == "replay 12.5 %"
    assert "30,435 of 243,480" in bar.toolTip()


def test_the_replay_bar_is_the_replayed_day_passing_and_counts_the_days(qtbot):
    """Issue 20: at a day a minute the bar must be seen to move: over a year's replay it fills over
    the replayed UTC day and the text counts days (the whole share stays in tenths of a percent)."""
    from cli.backtest import parse_time
    from ui.replay_progress import ReplayProgress

    bar = ReplayProgress()
    qtbot.addWidget(bar)
    first = parse_time("2022-08-01T00:00", "--start")  # the first candle's open
    last = parse_time("2022-08-11T00:00", "--end")  # the last candle's close: 10 days
    bar.show_progress(288 * 2 * 2 + 72 * 2, 288 * 2 * 10, parse_time("2022-08-03T06:00", "--start"), first, last)
    assert bar.text() == "replay day 3 of 10 · 22.5 %"
    assert (bar.minimum(), bar.maximum(), bar.value()) == (0, 288, 72)  # a quarter of 2022-08-03 has passed
    assert "2022-08-03 06:00 UTC" in bar.toolTip() and "1,296 of 5,760" in bar.toolTip()
    bar.show_progress(288 * 2 * 3, 288 * 2 * 10, parse_time("2022-08-04T00:00", "--start"), first, last)
    assert bar.text() == "replay day 3 of 10 · 30.0 %" and bar.value() == 288  # the close at 00:00 ends day 3
    bar.show_progress(288 * 2 * 10, 288 * 2 * 10, last, first, last)
    assert bar.text() == "replay day 10 of 10 · 100.0 %"
    bar.restart()
    assert bar.text() == "replay 0.0 %" and bar.value() == 0


def test_the_optimize_settings_list_shows_names_with_the_key_in_a_tooltip(qtbot):
    from PySide6.QtCore import Qt

    from config.settings import load_settings
    from ui.optimize_tab import OptimizeTab

    tab = OptimizeTab(lambda: load_settings(), None, lambda: False, lambda title, question: True)
    qtbot.addWidget(tab)
    names = {tab.params.item(row, 0).data(Qt.UserRole): tab.params.item(row, 0) for row in range(tab.params.rowCount())}
    take_profit = names["strategy.exit.take_profit_pct"]
    assert take_profit.text() == "Take profit %" and take_profit.toolTip() == "strategy.exit.take_profit_pct"
    assert not any(item.text().startswith("strategy.") for item in names.values())
    tab.set_param("strategy.exit.take_profit_pct", "1,2")
    assert "strategy.exit.take_profit_pct=1,2" in tab.chosen_params()


def test_a_losing_result_is_red_on_the_heatmap_even_when_all_results_lose(qtbot):
    import numpy as np

    from ui.optimize_tab import HeatMap, heat_levels, money_color

    all_losing = np.array([[-400.0, -250.0], [-120.0, -60.0]])  # the best of them still lost 6 %
    low, high = heat_levels(all_losing, "net_pnl")
    middle = (low + high) / 2
    assert middle == 0.0 and (all_losing < middle).all()  # all on the red half, none green
    assert heat_levels(np.array([[0.5, 0.8]]), "profit_factor")[0] + heat_levels(np.array([[0.5, 0.8]]),
                                                                               "profit_factor")[1] == 2.0
    heatmap = HeatMap()
    qtbot.addWidget(heatmap)
    heatmap.show_grid([0.5, 1], [45, 55], all_losing, "strategy.exit.take_profit_pct",
                      "strategy.signal.centerline", "net PnL", "net_pnl")
    assert heatmap.levels == (-400.0, 400.0)
    assert money_color("return_pct", -40.0) == "#c62828" and money_color("oos_net_pnl", 3.0) == "#1b7f2a"
    assert money_color("trades", -1) is None


def _doge_candles():
    from core.model import Candle

    start = 1_677_628_800_000  # 2023-03-01 00:00 UTC
    closes = [0.0805, 0.08081, 0.08096, 0.08071]
    return [Candle(start + i * 300_000, start + (i + 1) * 300_000, c, c + 0.0001, c - 0.0001, c, 1000.0)
            for i, c in enumerate(closes)]


def _level_labels(chart) -> list[str]:
    import pyqtgraph as pg

    return [item.label.textItem.toPlainText() for item in chart.plot.getPlotItem().items
            if isinstance(item, pg.InfiniteLine) and item.label is not None]


def test_chart_level_labels_carry_the_symbols_tick_decimals_not_seven(qtbot):
    from ui.chart import PriceChart

    chart = PriceChart()
    qtbot.addWidget(chart)
    candles = _doge_candles()
    chart.show_live("DOGEUSDT", candles, [], [], {"take_profit": 0.0813050050}, [])
    assert _level_labels(chart) == ["TP 0.08131"]  # the candles' own decimals (tick not known yet)
    chart.show_live("DOGEUSDT", candles, [], [], {"take_profit": 0.0813050050}, [], tick=0.000001)
    assert _level_labels(chart) == ["TP 0.081305"]  # the exchange's tick size, once known


def test_the_live_chart_uses_the_tick_size_it_is_given(qtbot):
    from live.events import CandleUpdate, Heartbeat
    from ui.live_chart import LiveChart

    live = LiveChart()
    qtbot.addWidget(live)
    live.set_symbols(["DOGEUSDT"])
    for candle in _doge_candles():
        live.add_candle(CandleUpdate("DOGEUSDT", candle, True, "UP"))
    live.set_levels(Heartbeat("DOGEUSDT", 0, 0, "UP", None, (("take_profit", 0.0813050050),)))
    live.set_format("DOGEUSDT", 0.001)
    live.redraw()
    assert _level_labels(live.chart) == ["TP 0.081"]


def test_the_charts_date_axis_names_days_and_months_in_the_windows_language(monkeypatch):
    from datetime import datetime, timezone

    from pyqtgraph.graphicsItems import DateAxisItem as pg_dates

    from ui import date_axis, i18n

    wednesday = datetime(2023, 3, 1, tzinfo=timezone.utc)
    assert date_axis.tick_text(wednesday, "%a %d", "ko") == "1일 (수)"
    assert date_axis.tick_text(wednesday, "%b", "ko") == "3월"
    assert date_axis.tick_text(wednesday, "%a %d", "en") == "Wed 01"
    axis = date_axis.LocalizedDateAxis()
    axis.zoomLevel = pg_dates.DAY_HOUR_ZOOM_LEVEL
    monkeypatch.setattr(i18n, "current_language", lambda: "ko")
    assert axis.tickStrings([wednesday.timestamp()], 1.0, pg_dates.DAY_SPACING) == ["1일 (수)"]
    assert axis.tickStrings([wednesday.timestamp() + 3600 * 5], 1.0, pg_dates.HOUR_SPACING) == ["05:00"]
    monkeypatch.setattr(i18n, "current_language", lambda: "en")
    assert axis.tickStrings([wednesday.timestamp()], 1.0, pg_dates.DAY_SPACING) == ["Wed 01"]


def test_while_trading_the_strategy_fields_are_locked_and_a_line_says_when_changes_apply(qtbot):
    from config.settings import load_settings
    from ui.strategy_panel import StrategyPanel

    panel = StrategyPanel(load_settings())
    qtbot.addWidget(panel)
    panel.show()
    macd_fast = panel.fields["strategy.signal.macd.fast"]
    assert not macd_fast.isEnabled()  # centerline reference: the MACD lengths do not apply
    assert not panel.running_note.isVisible()
    panel.set_running(True)
    assert panel.running_note.isVisible()
    assert "next order" in panel.running_note.text() and "next Start" in panel.running_note.text()
    locked = [key for key, field in panel.fields.items() if field.isEnabled()]
    assert locked == [] and not panel.reference.isEnabled() and not panel.entry.isEnabled()
    assert panel.symbols.table.isEnabled()  # CALL_SIZE stays editable: it applies to the next order
    panel.set_running(False)
    assert not panel.running_note.isVisible()
    assert panel.fields["strategy.exit.take_profit_pct"].isEnabled() and not macd_fast.isEnabled()


def test_leverage_is_a_spin_box_and_each_symbol_can_have_its_own_saved_in_the_settings(qtbot, tmp_path):
    from dataclasses import replace

    from config.settings import SymbolSettings, load_settings, save_settings
    from ui.strategy_panel import StrategyPanel

    base = load_settings()
    base = replace(base, symbols={"DOGEUSDT": SymbolSettings(call_size=100),
                                  "ALGOUSDT": SymbolSettings(call_size=50, leverage=3)})
    panel = StrategyPanel(base)
    qtbot.addWidget(panel)
    assert (panel.leverage.minimum(), panel.leverage.maximum(), panel.leverage.value()) == (1, 125, 5)
    assert panel.symbols.leverages() == {"DOGEUSDT": None, "ALGOUSDT": 3}
    panel.leverage.setValue(10)
    editor = panel.symbols
    editor.table.item(0, 4).setText("20")  # DOGEUSDT's own leverage
    editor.table.item(1, 4).setText("")  # ALGOUSDT back to the default
    editor.table.item(0, 4).setText("abc")  # refused, 20 kept
    assert "kept 20" in editor.message.text() and editor.table.item(0, 4).text() == "20"
    settings = panel.to_settings("paper")
    assert settings.exchange.leverage == 10
    assert settings.leverage_for("DOGEUSDT") == 20 and settings.leverage_for("ALGOUSDT") == 10
    path = tmp_path / "settings.yaml"
    save_settings(settings, path)
    again = load_settings(path)
    assert again.symbols["DOGEUSDT"].leverage == 20 and again.symbols["ALGOUSDT"].leverage is None
    panel.set_running(True)
    assert not panel.leverage.isEnabled()
    from PySide6.QtCore import Qt
    assert not editor.table.item(0, 4).flags() & Qt.ItemIsEditable
    assert editor.table.item(0, 1).flags() & Qt.ItemIsEditable  # CALL_SIZE still editable


def test_the_live_question_shows_leverage_margin_type_notional_and_fee_drag():
    from dataclasses import replace

    from config.settings import SymbolSettings, load_settings
    from live.accounts import ApiCredentials
    from ui.live_confirm import live_question

    settings = load_settings()
    settings = replace(settings, symbols={"DOGEUSDT": SymbolSettings(call_size=100),
                                          "ALGOUSDT": SymbolSettings(call_size=50, leverage=2)})
    text = live_question(ApiCredentials("AKEY1234567890", "secret"), settings, "Start", {"DOGEUSDT": 0.0805})
    assert text.startswith("Start LIVE trading with REAL MONEY on the Binance USDT-M futures account of API key")
    assert "secret" not in text and "AKEY1234567890" not in text
    # 100 x 0.0805 = 8.05 USDT; margin at 5x 1.61; two taker fills of 0.05 % = 0.00805 USDT
    assert ("DOGEUSDT: CALL_SIZE 100, 5x ISOLATED, notional 8.05 USDT (margin 1.61 USDT), "
            "fees about 0.0081 USDT per round trip") in text
    assert "ALGOUSDT: CALL_SIZE 50, 2x ISOLATED, notional unknown until the first price" in text
    assert "0.05 % of the notional per fill at the taker rate, so 0.1 % per round trip" in text
