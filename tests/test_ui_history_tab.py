"""The History tab (pytest-qt) against a ledger filled in the test: its rows equal the ledger's,
the filters select by symbol and date, the equity curve is the ledger's, export writes CSV
(keeping an earlier file as .bak), and every text is Korean in Korean."""
from __future__ import annotations

import csv
from decimal import Decimal as D

import pytest
from PySide6.QtCore import QDate

from core.model import ONE_DAY_MS
from live.ledger import Ledger
from live.ledger_records import LedgerFill
from tests.test_ledger import T0, day_of_trading
from tests.test_ui_i18n import korean, untranslated  # noqa: F401
from ui.history_tab import HistoryTab, step_points


@pytest.fixture
def ledger_file(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        day_of_trading(ledger)  # DOGEUSDT over two days (tests/test_ledger.py)
        ledger.record_fill(LedgerFill("ALGOUSDT", "LONG", "OPEN", D(10), D("0.2"), D("0.001"), "USDT", T0 + 9000,
                                      "x", 99))
        ledger.rebuild_round_trips()
    return path


def cells(table) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_rows_equal_the_ledger_and_filters_select(qtbot, ledger_file):
    tab = HistoryTab(ledger_file)
    qtbot.addWidget(tab)
    tab.refresh()
    with Ledger(ledger_file) as ledger:
        assert tab.fills.rowCount() == len(ledger.queries.fills()) == 6
        assert tab.trips.rowCount() == len(ledger.queries.round_trips()) == 3
        curve = ledger.queries.equity_curve()
    long = next(row for row in cells(tab.trips) if row[:2] == ["DOGEUSDT", "LONG"])
    assert long[4:] == ["200", "0.11", "0.125", "+3.0000", "0.0235 USDT", "-0.0042", "+2.9723"]
    short = next(row for row in cells(tab.trips) if row[:2] == ["DOGEUSDT", "SHORT"])
    assert short[8] == "0.000022 BNB"  # never added to the USDT figures
    assert [row[0] for row in cells(tab.days)] == ["2023-12-09", "2023-12-10"]
    assert [row[-1] for row in cells(tab.days)] == ["+2.9718", "+0.5000"]  # the ALGO fee on day one
    x, y = tab.curve.getData()
    assert (list(x), list(y)) == step_points(curve)
    assert y[-1] == pytest.approx(3.4718) and x[-1] == (T0 + ONE_DAY_MS + 7000) / 1000
    assert "net +3.4718 USDT" in tab.totals.text()

    tab.symbol.setCurrentIndex(tab.symbol.findData("ALGOUSDT"))
    assert [row[1] for row in cells(tab.fills)] == ["ALGOUSDT"]
    assert cells(tab.trips)[0][3] == "open"
    tab.symbol.setCurrentIndex(0)
    tab.date_from.setDate(QDate(2023, 12, 10))  # the second day only
    assert [(row[1], row[3]) for row in cells(tab.fills)] == [("DOGEUSDT", "CLOSE")]
    assert tab.funding.rowCount() == 0


def test_export_writes_the_list_on_show_and_keeps_the_previous_file(qtbot, ledger_file, tmp_path):
    tab = HistoryTab(ledger_file)
    qtbot.addWidget(tab)
    tab.refresh()
    tab.lists.setCurrentWidget(tab.funding)
    out = tmp_path / "export.csv"
    tab.export_to(out)
    rows = list(csv.DictReader(out.open()))
    assert [(r["time"], r["amount"]) for r in rows] == [(str(T0 + 3000), "-0.0022"), (str(T0 + 5000), "-0.0015")]
    tab.lists.setCurrentWidget(tab.fills)
    tab.export_to(out)
    assert (tmp_path / "export.csv.bak").read_text().startswith("time,symbol,amount")
    assert len(list(csv.DictReader(out.open()))) == 6


def test_no_ledger_yet_is_one_sentence(qtbot, tmp_path):
    tab = HistoryTab(tmp_path / "missing.sqlite")
    qtbot.addWidget(tab)
    tab.refresh()
    assert tab.status.text().startswith("No trading history yet") and not (tmp_path / "missing.sqlite").exists()


def test_an_unreadable_ledger_is_one_sentence_in_the_tab(qtbot, tmp_path):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database" * 200)
    tab = HistoryTab(path)
    qtbot.addWidget(tab)
    tab.refresh()
    assert "cannot be read" in tab.status.text() and tab.fills.rowCount() == 0


def test_every_text_is_korean(qtbot, korean, ledger_file):  # noqa: F811
    tab = HistoryTab(ledger_file)
    qtbot.addWidget(tab)
    tab.refresh()
    tab.show()
    assert untranslated(tab) == []
