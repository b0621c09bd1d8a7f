"""The History tab inside the window (issue 20): it shows the ledger the trading service wrote."""
from __future__ import annotations

from live.assemble import default_state_dir
from live.journal import FillJournal
from live.ledger import Ledger
from tests.test_ui_window import home, make_window, replay_dir, settings, start_replay  # noqa: F401
from ui.history_link import window_ledger_path


def test_history_tab_rows_equal_the_ledger_after_a_replay(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=0)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    path = window_ledger_path(window.current_settings(), "replay", None)
    assert window.history.tab.ledger_path == path
    window.tabs.setCurrentWidget(window.history.tab)  # shown: read again
    with Ledger(path) as ledger:
        fills, trips = ledger.fills(), ledger.queries.round_trips()
    assert len(fills) > 5 and trips
    tab = window.history.tab
    assert tab.fills.rowCount() == len(fills)
    shown = [(tab.fills.item(row, 1).text(), tab.fills.item(row, 2).text(), tab.fills.item(row, 3).text(),
              tab.fills.item(row, 4).text(), tab.fills.item(row, 5).text()) for row in range(tab.fills.rowCount())]
    assert sorted(shown) == sorted((f.symbol, f.side, f.action, str(f.qty), str(f.price)) for f in fills)
    assert tab.trips.rowCount() == len(trips)


def test_the_window_writes_the_same_trades_csv_as_run(qtbot, home, settings, replay_dir, tmp_path):
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=0)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    state_dir = default_state_dir(window.current_settings(), "replay")
    qtbot.waitUntil(lambda: (state_dir / "trades.csv").exists(), timeout=10_000)  # written when the bot stopped
    written = (state_dir / "trades.csv").read_text(encoding="utf-8")
    FillJournal(state_dir / "fills.jsonl", durable=False).write_trades_csv(tmp_path / "run.csv")  # what `run` writes
    assert written == (tmp_path / "run.csv").read_text(encoding="utf-8")
    assert len(written.splitlines()) > 3


def test_a_reopened_window_shows_the_saved_positions_before_start(qtbot, home, settings):
    from core.model import Side
    from core.model import Regime
    from core.state import PositionState, StateStore, SymbolState

    state = SymbolState("DOGEUSDT", regime=Regime.UP)
    state.positions[Side.LONG] = PositionState(qty=100, entry_price=0.0688, entry_time=1, best_price=0.07)
    state.positions[Side.SHORT] = PositionState(qty=100, entry_price=0.0690, entry_time=2, best_price=0.068)
    StateStore(default_state_dir(settings, "paper")).save(state)
    first = make_window(qtbot, settings)
    first.api.mode.setCurrentIndex(first.api.mode.findData("paper"))  # as the user picks it
    assert first.status_table.latest["DOGEUSDT"].main_qty == 100
    first.save_ui_state()
    first.close()
    window = make_window(qtbot, settings)  # reopened: the last mode, its saved positions, before Start
    assert window.api.current_mode() == "paper" and not window.is_running()
    row = window.status_table.latest["DOGEUSDT"]
    assert (row.main_side, row.main_qty, row.main_entry) == ("LONG", 100, 0.0688)
    assert (row.hedge_side, row.hedge_qty, row.hedge_entry) == ("SHORT", 100, 0.0690)
    assert window.status_table.cell_text("DOGEUSDT", "Qty") == "100"


def test_strip_table_and_close_dialog_agree_on_every_position_after_each_event(qtbot, home, settings, replay_dir,
                                                                            monkeypatch):
    import ui.main_window as main_window_module
    from live.events import AccountUpdate, StatusRow

    checked = {"rows": 0, "accounts": 0}
    original = main_window_module.show_cockpit_event

    def checking(window, event):
        shown = original(window, event)
        if isinstance(event, (StatusRow, AccountUpdate)):
            table = {(r.symbol, side) for r in window.status_table.latest.values()
                     for side, qty in ((r.main_side, r.main_qty), (r.hedge_side, r.hedge_qty)) if qty}
            dialog = {tuple(text.split()[:2]) for text in window.open_positions()}
            assert dialog == table  # the close dialog lists what the table shows
            if window.account_strip.latest is not None and isinstance(event, StatusRow):
                strip = {(p.symbol, p.side) for p in window.account_strip.latest.positions}
                assert {s for s in strip if s[0] == event.symbol} <= table, "the strip lists a side the table closed"
                checked["rows"] += 1
            checked["accounts"] += isinstance(event, AccountUpdate)
        return shown

    monkeypatch.setattr(main_window_module, "show_cockpit_event", checking)
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=0)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert checked["rows"] > 20 and checked["accounts"] > 0
