"""A liquidated main is marked in the status table and is not "running" in green (issue 20)."""
from __future__ import annotations

from live.events import ForcedCloseEvent, StatusRow, SymbolRunState
from ui.forced_marks import ForcedMarks
from ui.formatting import LOSS_COLOR
from ui.status_table import STATE_COLORS, StatusTable


def row(qty: float) -> StatusRow:
    return StatusRow("ALGOUSDT", "UP", SymbolRunState.RUNNING, "", 0.2, "LONG" if qty else None, qty,
                     0.21 if qty else None, None, None, None, 0.0, None, None, 50)


def test_a_liquidated_main_is_marked_in_the_loss_colour_until_the_next_start(qtbot):
    table = StatusTable()
    qtbot.addWidget(table)
    marks = ForcedMarks(table)
    table.set_symbols(["ALGOUSDT"])
    table.update_row(row(50))
    state = table.item(0, table.columnCount() - 1)
    assert state.foreground().color().name() == STATE_COLORS[SymbolRunState.RUNNING]
    marks.add(ForcedCloseEvent("ALGOUSDT", "LONG", 50, 0.168, "liquidation", 0))
    for update in (None, row(0)):  # the mark stays on the next rows of the service
        if update is not None:
            table.update_row(update)
            marks.apply(update)
        state = table.item(0, table.columnCount() - 1)
        assert state.text().startswith("⚠ LONG liquidated by the exchange") and state.text().count("⚠") == 1
        assert state.foreground().color().name() == LOSS_COLOR
    marks.clear()
    table.update_row(row(0))
    marks.apply(row(0))
    assert "⚠" not in table.item(0, table.columnCount() - 1).text()
