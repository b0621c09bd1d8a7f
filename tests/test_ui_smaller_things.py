"""Issue 20's smaller items that live in the window's widgets (pytest-qt, offscreen)."""
from __future__ import annotations

from runner.events import StatusRow, SymbolRunState
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
