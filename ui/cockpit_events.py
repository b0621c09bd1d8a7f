"""The service's cockpit events shown in the trading tab's widgets.

The window (ui/main_window.py) receives every event of the service; the ones that only update
a widget (a status row, a heartbeat, a candle, a fill, the account, the stream state, a symbol's
number format, the replay's progress) are routed here, one event type to its widgets. Log lines,
start-up retries and the service's state stay with the window, which words them.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from live.events import (
    AccountConfigEvent, AccountUpdate, CandleUpdate, Event, ExcessQuestion, FillEvent, ForcedCloseEvent, Heartbeat, MarginCallEvent,
    ProgressEvent, StatusRow, StreamState, SymbolFormat,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def show_cockpit_event(window: MainWindow, event: Event) -> bool:
    """Update the widgets ``event`` is for; False when it is not a cockpit event. Never raises:
    an event that cannot be drawn is logged to the file and skipped (issue 18, Build 3)."""
    try:
        return _show(window, event)
    except Exception:  # noqa: BLE001 - drawing an event must never stop the window or trading
        log.exception("event %s could not be shown", type(event).__name__)
        return True


def _show(window: MainWindow, event: Event) -> bool:
    if isinstance(event, ForcedCloseEvent):
        window.forced_marks.add(event)
        return False  # the window words it too (log, alerts)
    if isinstance(event, ExcessQuestion):  # [C3] keep the excess unmanaged, or close it (ui/excess_dialog.py)
        window.excess_questions.ask(event)
        return True
    if isinstance(event, (MarginCallEvent, AccountConfigEvent)):
        # The log line came with it; the status bar keeps the sentence in sight for a while.
        window.statusBar().showMessage(event.text, 60_000)
    elif isinstance(event, StatusRow):
        window.status_table.update_row(event)
        window.forced_marks.apply(event)
        window.account_strip.agree_with(event)  # the strip never lists a side the table shows closed
        window.strategy.symbols.set_price(event.symbol, event.price)
    elif isinstance(event, Heartbeat):
        window.heartbeat.update_heartbeat(event)
        window.live_chart.set_levels(event)
    elif isinstance(event, CandleUpdate):
        window.live_chart.add_candle(event)
    elif isinstance(event, FillEvent):
        window.live_chart.add_fill(event.fill)
        window.history.fill_seen()
    elif isinstance(event, AccountUpdate):
        window.account_strip.update_account(event)
    elif isinstance(event, StreamState):
        window.heartbeat.set_stream(event)
    elif isinstance(event, SymbolFormat):
        window.status_table.set_format(event.symbol, event.tick_size, event.step_size)
        window.account_strip.set_format(event.symbol, event.tick_size, event.step_size)
        window.heartbeat.set_format(event.symbol, event.tick_size)
        window.live_chart.set_format(event.symbol, event.tick_size)
    elif isinstance(event, ProgressEvent):
        window.replay_progress.show_progress(event.done, event.total, event.now_ms, event.first_ms, event.last_ms)
    else:
        return False
    return True


def show_stopped(window: MainWindow) -> None:
    """The bot stopped: the heartbeat says so, and the strip's and the chart's last figures stay
    without being called stale (issue 19, item 5: only a running bot's figures age)."""
    window.heartbeat.set_stream(StreamState("stopped"))
    window.account_strip.stopped()
    window.live_chart.stopped()
