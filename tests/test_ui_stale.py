"""Stale is visible (issue 19, item 5): once nothing arrived for longer than a bar, a running
symbol's figures carry their age and its state says "no data since HH:MM UTC" instead of
"running"; the next row makes it fresh again. The clock is injected: no waiting."""
from __future__ import annotations

from live.events import StatusRow, SymbolRunState
from ui.status_table import COLUMNS, STALE_MS, StatusTable

T0 = 1_764_853_500_000  # 2025-12-04 13:05 UTC


def row(state: SymbolRunState = SymbolRunState.RUNNING) -> StatusRow:
    return StatusRow("DOGEUSDT", "UP", state, "", 0.31234, "LONG", 100.0, 0.3, 1.234, 4.1,
                     None, 0.0, None, None, 100.0, main_roe_pct=20.5)


def table_at(qtbot, now: list[int]) -> StatusTable:
    table = StatusTable()
    qtbot.addWidget(table)
    table.clock = lambda: now[0]
    return table


def cell(table: StatusTable, column: str) -> str:
    return table.item(0, COLUMNS.index(column)).text()


def test_a_running_row_without_news_for_longer_than_a_bar_shows_its_age_and_since_when(qtbot):
    now = [T0]
    table = table_at(qtbot, now)
    table.update_row(row())
    assert cell(table, "State") == "running" and cell(table, "Price") == "0.31234"
    now[0] = T0 + STALE_MS  # exactly a bar and the grace: still fresh
    table.refresh_ages()
    assert cell(table, "State") == "running"
    now[0] = T0 + 12 * 60_000
    table.refresh_ages()
    assert cell(table, "State") == "no data since 13:05 UTC"
    assert cell(table, "Price") == "0.31234 (12 min old)"
    assert cell(table, "PnL").endswith("(12 min old)") and cell(table, "ROE %") == "+20.50 % (12 min old)"
    now[0] = T0 + 125 * 60_000
    table.refresh_ages()
    assert cell(table, "Price") == "0.31234 (2 h 5 min old)"
    table.update_row(row())  # data again
    assert cell(table, "State") == "running" and cell(table, "Price") == "0.31234"


def test_a_stopped_row_is_not_called_stale(qtbot):
    now = [T0]
    table = table_at(qtbot, now)
    table.update_row(row(SymbolRunState.STOPPED))
    now[0] = T0 + 60 * 60_000
    table.refresh_ages()
    assert "no data" not in cell(table, "State") and cell(table, "Price") == "0.31234"


def test_the_heartbeat_shows_the_clock_offset_to_binance_when_measured(qtbot):
    from live.events import Heartbeat
    from ui.heartbeat import HeartbeatPanel

    panel = HeartbeatPanel()
    qtbot.addWidget(panel)
    panel.set_symbols(["DOGEUSDT"])
    panel.update_heartbeat(Heartbeat("DOGEUSDT", T0, T0 - 300_000, "UP", None, (), 120))
    assert "clock +120 ms vs Binance" in panel.countdown_label.text()
    panel.update_heartbeat(Heartbeat("DOGEUSDT", T0, T0 - 300_000, "UP", None, (), None))  # paper: not measured
    assert "vs Binance" not in panel.countdown_label.text()


# ----- the account strip and the heartbeat carry their age too (issue 19, item 5) -----------------------

def test_the_account_strip_shows_the_age_of_its_figures_while_the_bot_runs(qtbot):
    from live.events import AccountUpdate, PositionRisk
    from ui.account_strip import AccountStrip

    now = [T0]
    strip = AccountStrip()
    qtbot.addWidget(strip)
    strip.clock = lambda: now[0]
    position = PositionRisk("DOGEUSDT", "LONG", 100, 0.3, 0.31, 1.0, 0.2, leverage=5)
    strip.update_account(AccountUpdate(T0, 1000.0, 1001.0, 1.0, 0.0, 0.0, 1.0, (position,)))
    assert strip.text_of("wallet") == "1,000.00 USDT" and "old" not in strip.positions.text()
    now[0] = T0 + STALE_MS  # a bar and the grace: still fresh
    strip.refresh_age()
    assert "old" not in strip.positions.text() and strip.values["equity"].toolTip() == ""
    now[0] = T0 + 12 * 60_000
    strip.refresh_age()
    assert strip.positions.text().startswith("Account figures from 13:05 UTC, 12 min old:")
    assert "DOGEUSDT LONG 100" in strip.positions.text()
    assert strip.values["wallet"].toolTip() == "12 min old" and "#8a5a00" in strip.values["wallet"].styleSheet()
    strip.update_account(AccountUpdate(now[0], 1000.0, 1001.0, 1.0, 0.0, 0.0, 1.0, (position,)))  # fresh again
    assert "old" not in strip.positions.text() and strip.values["wallet"].toolTip() == ""
    now[0] += 60 * 60_000
    strip.stopped()  # the bot stopped: its last figures are not called stale
    assert "old" not in strip.positions.text()


def test_the_heartbeat_shows_its_age_when_no_heartbeat_comes_or_the_feed_froze(qtbot):
    from live.events import Heartbeat, StreamState
    from ui.heartbeat import HeartbeatPanel

    now = [T0]
    panel = HeartbeatPanel()
    qtbot.addWidget(panel)
    panel.clock = lambda: now[0]
    panel.set_symbols(["DOGEUSDT"])
    panel.set_stream(StreamState("connected"))
    panel.update_heartbeat(Heartbeat("DOGEUSDT", T0, T0, "UP", None, (), 120))
    item = panel.table.item(0, 1)
    assert "old" not in item.text() and "no heartbeat" not in panel.countdown_label.text()
    now[0] = T0 + 12 * 60_000  # nothing came for 12 minutes (the service hangs)
    panel.refresh_ages()
    panel._show_countdowns()
    assert item.text().endswith("(12 min old)") and panel.table.item(0, 2).text().endswith("(12 min old)")
    assert "no heartbeat since 13:05 UTC" in panel.countdown_label.text()
    assert "clock +120 ms vs Binance" in panel.countdown_label.text()  # the offset stays on the line
    # heartbeats come again, but the feed froze: no new close was processed for 12 minutes
    panel.update_heartbeat(Heartbeat("DOGEUSDT", T0 + 12 * 60_000, T0, "UP", None, (), 120))
    assert item.text().endswith("(12 min old)") and "no heartbeat" not in panel.countdown_label.text()
    panel.update_heartbeat(Heartbeat("DOGEUSDT", T0 + 12 * 60_000, T0 + 600_000, "UP", None, (), 120))  # a close
    assert "old" not in item.text()
    panel.set_stream(StreamState("stopped"))
    now[0] += 60 * 60_000
    panel.refresh_ages()
    assert "old" not in item.text()  # stopped: not called stale


def test_the_live_chart_says_how_old_its_last_candle_is_when_none_comes(qtbot):
    from core.model import Candle
    from live.events import CandleUpdate
    from ui.live_chart import LiveChart

    now = [T0]
    chart = LiveChart()
    qtbot.addWidget(chart)
    chart.clock = lambda: now[0]
    chart.set_symbols(["DOGEUSDT", "XRPUSDT"], reset=True)
    chart.add_candle(CandleUpdate("DOGEUSDT", Candle(T0 - 300_000, 0.3, 0.3, 0.3, 0.3, 1.0, T0), True, "UP"))
    now[0] = T0 + STALE_MS
    chart.show_age()
    assert chart.age.text() == ""
    now[0] = T0 + 12 * 60_000
    chart.show_age()
    assert chart.age.text() == "last candle update 12 min old"
    chart.symbol.setCurrentText("XRPUSDT")  # no candle of it ever came: nothing to call old
    assert chart.age.text() == ""
    chart.symbol.setCurrentText("DOGEUSDT")
    assert chart.age.text() == "last candle update 12 min old"
    chart.stopped()
    assert chart.age.text() == ""
