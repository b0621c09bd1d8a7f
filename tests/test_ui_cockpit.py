"""The trader's cockpit (issue 13): account strip, mode banner, heartbeat, live chart, safe close,
start failures, layout and number formats.

Testnet runs go to the local fake Binance (tests/fake_binance) through the REAL adapter and the
REAL trading service: the fake's market only moves when the test steps it, so a position opened
stays open while the test looks at it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from core.model import FIVE_MINUTES_MS, Candle
from core.params import StrategyParams
from core.strategy import HedgeStrategy
from live.cockpit import preview_decision
from live.events import StatusRow, SymbolRunState
from live.assemble import build_service
from live.symbol_driver import SymbolDriver
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance
from tests.ui_helpers import START_MS, MemoryKeyring, fake, free_port, home, settings  # noqa: F401
from ui import app as ui_app
from ui.banner import BANNER_COLORS
from ui.close_dialog import CANCEL, FLATTEN, KEEP, CloseDialog
from ui.formatting import money, percent, price, quantity
from ui.main_window import MainWindow
from ui.status_table import COLUMNS

def open_testnet_window(qtbot, settings, base_url: str, ws_url: str, key=TEST_API_KEY, secret=TEST_API_SECRET):
    def builder(settings, listener, **kwargs):
        return build_service(settings, listener, base_url=base_url, stream_url=ws_url, **kwargs)

    window = MainWindow(builder, None, MemoryKeyring(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.api.mode.setCurrentIndex(window.api.mode.findData("demo"))
    window.api.api_key.setText(key)
    window.api.api_secret.setText(secret)
    return window


def started(qtbot, window: MainWindow) -> None:
    window.start()
    qtbot.waitUntil(lambda: window.status_table.latest.get("DOGEUSDT") is not None
                    and window.status_table.latest["DOGEUSDT"].state is SymbolRunState.RUNNING, timeout=30_000)
    qtbot.waitUntil(lambda: window.heartbeat.stream_state == "connected", timeout=15_000)


def step_until_a_position(qtbot, window: MainWindow, fake: FakeBinance, limit: int = 300) -> StatusRow:
    """Step the fake market a candle at a time until the bot holds a main position."""
    for _ in range(limit):
        row = window.status_table.latest["DOGEUSDT"]
        if row.main_qty:
            return row
        before = window.heartbeat.latest.get("DOGEUSDT")
        target = (before.last_close_ms if before else 0) + FIVE_MINUTES_MS
        fake.step(candles=1)
        qtbot.waitUntil(lambda: window.heartbeat.latest.get("DOGEUSDT") is not None
                        and window.heartbeat.latest["DOGEUSDT"].last_close_ms >= target, timeout=15_000)
        qtbot.waitUntil(lambda: not window.status_table.latest["DOGEUSDT"].main_qty or bool(fake.state()["positions"]),
                        timeout=5_000)
    raise AssertionError("no position opened")


@pytest.fixture
def trading(qtbot, home, settings, fake):
    """A testnet session against the fake holding a DOGEUSDT main position."""
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.ask_close = lambda positions: KEEP
    started(qtbot, window)
    step_until_a_position(qtbot, window, fake)
    yield window  # pytest-qt closes the window after the test: "keep" stops the bot


# ----- 1. account strip -----------------------------------------------------------------------------


def test_account_strip_figures_equal_the_fake_exchanges_account(qtbot, trading, fake):
    window = trading
    engine = fake.exchange.engine

    def exchange_figures():
        with engine.lock:
            rows = engine.position_rows("DOGEUSDT", only_open=True)
            wallet = float(engine.account.wallet)
            unrealized = float(engine.total_unrealized())
            maint = float(engine.total_maint_margin())
        return wallet, unrealized, maint, rows

    def strip_matches() -> bool:
        latest = window.account_strip.latest
        wallet, unrealized, _, rows = exchange_figures()
        return latest is not None and latest.wallet == pytest.approx(wallet) and len(latest.positions) == len(rows) \
            and latest.unrealized_pnl == pytest.approx(unrealized)

    qtbot.waitUntil(strip_matches, timeout=20_000)
    latest = window.account_strip.latest
    wallet, unrealized, maint, rows = exchange_figures()
    state = fake.state()
    assert latest.equity == pytest.approx(wallet + unrealized)
    assert latest.margin_ratio == pytest.approx(maint / (wallet + unrealized) * 100)
    assert latest.realized_today == pytest.approx(float(state["realized_pnl"]), abs=1e-9)
    assert latest.fees_today == pytest.approx(float(state["fees_paid"]), abs=1e-6)  # the adapter's fee estimate
    for position, row in zip(latest.positions, rows):
        assert position.side == row["positionSide"]
        assert position.liquidation_price == pytest.approx(float(row["liquidationPrice"]))
        assert position.liquidation_price > 0
    # What the trader reads is the same figures, formatted with units and the tick size.
    assert window.account_strip.text_of("wallet") == money(wallet)
    assert window.account_strip.text_of("margin_ratio") == percent(latest.margin_ratio, signed=False)
    assert price(latest.positions[0].liquidation_price, 0.00001) in window.account_strip.positions.text()


# ----- 2. mode banner -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, word", [("replay", "PAPER"), ("paper", "PAPER"), ("demo", "DEMO TRADING"),
                                        ("live", "LIVE")])
def test_the_banner_shows_the_mode_in_its_colour(qtbot, home, settings, mode, word):
    window = MainWindow(ui_app.service_builder(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.ask = lambda title, question: True  # confirm the switch to LIVE
    window.api.mode.setCurrentIndex(window.api.mode.findData(mode))
    assert window.api.current_mode() == mode
    banner = window.banner
    assert banner.text().startswith(word)
    for tab in range(window.tabs.count()):  # always visible, whatever the tab
        window.tabs.setCurrentIndex(tab)
        assert banner.isVisible()
    assert window.replay_progress.isVisibleTo(window) == (mode == "replay")  # no "replay 0%" in testnet or LIVE
    painted = banner.grab().toImage().pixelColor(banner.width() // 2, 2)
    assert painted.name() == BANNER_COLORS[mode][0]
    assert {"replay": "#757575", "paper": "#757575", "demo": "#ffb300", "live": "#c62828"}[mode] == painted.name()


# ----- 3. heartbeat ---------------------------------------------------------------------------------------


def test_heartbeat_follows_a_dropped_stream_and_the_closes(qtbot, home, settings, fake):
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.ask_close = lambda positions: KEEP
    seen: list[str] = []
    original = window.heartbeat.set_stream
    window.heartbeat.set_stream = lambda event: (seen.append(event.state), original(event))
    started(qtbot, window)
    assert "connected" in window.heartbeat.stream_label.text()
    qtbot.waitUntil(lambda: window.state_label.text() == "Running", timeout=5_000)  # not "(starting)" all along

    assert fake.drop_websockets() >= 1
    missed_until = fake.step(candles=2)  # two closes while the bot is disconnected: the stream never sends them
    qtbot.waitUntil(lambda: "reconnecting" in seen, timeout=15_000)
    qtbot.waitUntil(lambda: window.heartbeat.latest["DOGEUSDT"].last_close_ms == missed_until, timeout=15_000)
    after_drop = seen[seen.index("reconnecting"):]
    assert "rest" in after_drop  # the missed closes came over REST (while down, or the backfill on reconnecting)
    qtbot.waitUntil(lambda: "connected" in seen[seen.index("reconnecting"):], timeout=15_000)
    assert window.heartbeat.table.item(0, 1).text() == "2025-03-01 00:10"  # the last close processed

    closed_until = fake.step(candles=1)  # the next close comes over the stream again
    qtbot.waitUntil(lambda: window.heartbeat.latest["DOGEUSDT"].last_close_ms == closed_until, timeout=15_000)
    qtbot.waitUntil(lambda: window.heartbeat.stream_state == "connected", timeout=5_000)
    beat = window.heartbeat.latest["DOGEUSDT"]
    assert window.heartbeat.table.item(0, 1).text() == "2025-03-01 00:15"
    assert beat.preview is not None and beat.preview.price > 0
    assert beat.signal in ("up", "down", "none")
    five, day = window.heartbeat.countdowns()
    assert 0 < five <= FIVE_MINUTES_MS and 0 < day <= 86_400_000
    window.close()
    assert not window.is_running()


def test_the_preview_is_the_strategys_own_decision_on_a_copy():
    """[R2] What the heartbeat previews is exactly what the rules then do on that close, and
    previewing changes nothing."""
    params = StrategyParams()
    driver = SymbolDriver(HedgeStrategy("DOGEUSDT", params, 100), params.signal)
    closes = [0.2 + 0.001 * (i % 7) - 0.0005 * (i % 3) for i in range(1200)]
    t0 = START_MS
    days = [Candle(t0 - (30 - d) * 86_400_000, c, c, c, c, 1, t0 - (29 - d) * 86_400_000) for d, c in
            enumerate([0.1 + 0.002 * d for d in range(30)])]  # rising days: regime UP
    bars = [Candle(t0 + i * FIVE_MINUTES_MS, c, c, c, c, 1, t0 + (i + 1) * FIVE_MINUTES_MS) for i, c in enumerate(closes)]
    driver.load_history(days, bars)
    driver.strategy.state.regime = driver.initial_regime()
    driver.strategy.state.last_bar_close = bars[-1].close_time
    before = driver.strategy.state.to_dict()
    close_time = bars[-1].close_time + FIVE_MINUTES_MS
    for price_now in (0.25, 0.15):  # a jump up and a drop
        preview = preview_decision(driver, price_now, close_time)
        assert driver.strategy.state.to_dict() == before and driver.bars.last_time == bars[-1].close_time
        copy_of = SymbolDriver(HedgeStrategy("DOGEUSDT", params, 100,
                                             type(driver.strategy.state).from_dict(before)), params.signal)
        copy_of.load_history(days, bars)
        intents = copy_of.on_bar(Candle(close_time - FIVE_MINUTES_MS, price_now, price_now, price_now, price_now, 0,
                                        close_time))
        assert preview.rules == tuple(i.reason for i in intents)
    assert preview_decision(driver, 0.25, close_time).rules == ("R2",)  # up in an UP regime, flat: open


# ----- 4. live chart ----------------------------------------------------------------------------------------


def test_chart_markers_equal_the_fills(qtbot, trading, fake):
    window = trading
    step_until_a_position(qtbot, window, fake)
    for _ in range(6):  # a few more closes: hedges and exits
        fake.step(candles=1)
    qtbot.waitUntil(lambda: window.heartbeat.latest["DOGEUSDT"].last_close_ms == fake.now_ms, timeout=15_000)
    orders = [o for o in fake.state()["orders"] if float(o["executedQty"]) > 0]
    qtbot.waitUntil(lambda: len(window.live_chart.trail("DOGEUSDT").fills) == len(orders), timeout=10_000)
    window.live_chart.symbol.setCurrentText("DOGEUSDT")
    window.live_chart.redraw()
    plotted = sorted((round(float(x), 3), float(y)) for item in window.live_chart.chart.marker_items.values()
                     for x, y in zip(*item.getData()))
    expected = sorted((round(o["updateTime"] / 1000, 3), float(o["avgPrice"])) for o in orders)
    assert plotted == expected and plotted
    assert window.live_chart.chart.candles_item is not None and window.live_chart.chart.candles_item.count > 0
    kinds = window.live_chart.chart.marker_items
    assert all(item.opts["symbolBrush"] is None for item in kinds.values())  # hollow: the price shows through
    assert window.live_chart.chart.regime_bands  # the daily regime is shaded


# ----- 5. safe close -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [CANCEL, KEEP, FLATTEN])
def test_closing_with_positions_asks_and_does_what_was_answered(qtbot, trading, fake, answer):
    window = trading
    asked: list[list[str]] = []
    window.ask_close = lambda positions: asked.append(positions) or answer
    window.close()
    assert asked and asked[0][0].startswith("DOGEUSDT ")
    if answer == CANCEL:
        assert window.isVisible() and window.is_running()
        assert fake.state()["positions"]
        window.ask_close = lambda positions: KEEP  # pytest-qt closes (and deletes) the window before teardown
        window.close()
        assert not window.is_running()
        return
    assert not window.is_running()
    if answer == KEEP:
        assert fake.state()["positions"]  # still open on the exchange
    else:
        assert fake.state()["positions"] == []  # flattened before the stop
        assert any("[manual]" in line or "manual" in line for line in window.log_pane.lines())


def test_closing_without_positions_stops_without_asking(qtbot, home, settings, fake):
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.ask_close = lambda positions: pytest.fail("asked although nothing is open")
    started(qtbot, window)
    assert not window.open_positions()
    window.close()
    assert not window.is_running()
    assert "Stopped; state saved" in window.state_label.text()


@pytest.mark.parametrize("button, answer", [("flatten_button", FLATTEN), ("keep_button", KEEP),
                                            ("cancel_button", CANCEL)])
def test_the_close_dialog_has_the_three_answers(qtbot, button, answer):
    dialog = CloseDialog(["DOGEUSDT SHORT 100"])
    qtbot.addWidget(dialog)
    QTimer.singleShot(0, lambda: getattr(dialog, button).click())
    dialog.exec()
    assert dialog.choice() == answer
    assert "DOGEUSDT SHORT 100" in dialog.informativeText()


# ----- 6. start failures ----------------------------------------------------------------------------------------


def test_a_network_failure_at_start_is_one_sentence_and_retried_until_stopped(qtbot, home, settings):
    port = free_port()
    window = open_testnet_window(qtbot, settings, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/")
    window.start_retry_delays = (0.05, 0.1)
    window.start()
    assert window.status_table.cell_text("DOGEUSDT", "Symbol") == "DOGEUSDT"  # listed before the start succeeded
    qtbot.waitUntil(lambda: "attempt 3" in window.state_label.text(), timeout=30_000)
    text = window.state_label.text()
    assert text.startswith("Cannot reach Binance") and "Error" not in text and text.count(".") <= 3
    assert window.status_table.cell_text("DOGEUSDT", "State") == "waiting for the network"
    assert window.is_running()  # still trying
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=10_000)


def test_a_rate_limit_at_start_waits_for_retry_after_and_stop_ends_the_wait(qtbot, home, settings, fake):
    """[O4] The back-off never retries before the Retry-After Binance asked for (a retry inside
    it would be refused again and count toward an IP ban); Stop still ends the wait at once."""
    fake.add_fault(kind="rate_limit", retry_after=600, times=1)
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.start_retry_delays = (0.05, 0.1)
    window.start()
    qtbot.waitUntil(lambda: "attempt 1" in window.state_label.text(), timeout=30_000)
    text = window.state_label.text()
    assert "HTTP 429" in text and "Trying again in 600 s" in text, text
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)
    assert "attempt 2" not in window.state_label.text()


def test_wrong_keys_say_which_and_stop(qtbot, home, settings, fake):
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url, secret="a-wrong-secret-0000000000")
    window.start()
    qtbot.waitUntil(lambda: "API secret does not match the API key" in window.state_label.text(), timeout=30_000)
    assert not window.is_running()
    assert window.status_table.cell_text("DOGEUSDT", "State") == "not started"

    window.api.api_key.setText("an-unknown-key-0000000000")
    window.api.api_secret.setText(TEST_API_SECRET)
    window.start()
    qtbot.waitUntil(lambda: "refused the API key" in window.state_label.text(), timeout=30_000)
    assert not window.is_running() and window.start_button.isEnabled()


# ----- 9. layout and numbers --------------------------------------------------------------------------------------


def test_at_1024_px_every_status_column_is_visible(qtbot, home, settings):
    window = MainWindow(ui_app.service_builder(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    assert window.minimumSizeHint().width() <= 1024
    window.resize(1024, 640)
    table = window.status_table
    table.set_format("DOGEUSDT", 0.00001, 1.0)
    table.update_row(StatusRow("DOGEUSDT", "DOWN", SymbolRunState.PAUSED, "paused by the user: no new entries or hedges",
                               0.123456, "SHORT", 1_234_567.0, 0.12001, -7_123.45678, -2.87, "LONG", 1_234_567.0,
                               0.12399, 1_234.5, 1_234_567.0))
    qtbot.wait(50)
    assert window.width() <= 1024
    visible = table.viewport().width()
    assert sum(table.columnWidth(c) for c in range(len(COLUMNS))) <= visible
    assert not table.horizontalScrollBar().isVisible()
    assert table.cell_text("DOGEUSDT", "Qty") == "1,234,567"
    assert table.cell_text("DOGEUSDT", "Price") == "0.12346"
    assert table.cell_text("DOGEUSDT", "PnL") == "-7,123.46 USDT"
    assert table.cell_text("DOGEUSDT", "State") == "paused by the user: no new entries or hedges"  # said once


def test_numbers_follow_tick_and_step_sizes_with_separators_and_never_an_exponent():
    assert price(97123.4, 0.1) == "97,123.4"
    assert price(1_234_567.0, 0.01) == "1,234,567.00"
    assert price(0.00001234, 0.00000001) == "0.00001234"
    assert price(0.0693) == "0.0693"  # tick unknown: six significant digits
    assert "e" not in price(1.234e-05) and "e" not in price(1.23457e+06)
    assert quantity(1_234_567.0, 1) == "1,234,567" and quantity(0.001, 0.001) == "0.001"
    assert quantity(12.5) == "12.5"
    assert money(-12.5, signed=True) == "-12.50 USDT" and money(0.1234) == "0.1234 USDT"


def test_the_runners_stop_message_is_said_once(qtbot, home, settings):
    from live.events import ServiceStateEvent

    window = MainWindow(ui_app.service_builder(), settings=settings)
    qtbot.addWidget(window)
    window.handle_events([ServiceStateEvent(False, "stopped; state saved")])
    assert window.state_label.text() == "Stopped; state saved"
    window.handle_events([ServiceStateEvent(True, "starting")])
    assert window.state_label.text() == "Starting…"
    window.handle_events([ServiceStateEvent(True, "")])
    assert window.state_label.text() == "Running"


def test_a_fixed_field_drops_its_old_message(qtbot, home, settings):
    window = MainWindow(ui_app.service_builder(), settings=settings)
    qtbot.addWidget(window)
    tp = window.strategy.field("strategy.exit.take_profit_pct")
    tp.setFocus()
    tp.selectAll()
    qtbot.keyClicks(tp, "abc")
    tp.editingFinished.emit()
    assert "kept 1" in window.strategy.messages.text()
    tp.setText("1.5")  # set by a paste, an undo or the program: checked again at once
    assert window.strategy.messages.text() == ""
    tp.editingFinished.emit()
    assert window.strategy.messages.text() == "" and tp.value() == 1.5


# ----- the paper broker's account (paper mode's strip) -------------------------------------------------------


def test_paper_liquidation_price_is_binances_isolated_formula():
    """Worked example, and the defining property: at the liquidation price the position's
    isolated margin plus its PnL equals its maintenance margin."""
    from adapters.paper import isolated_liquidation_price
    from core.model import Side

    assert isolated_liquidation_price(Side.LONG, 100, 0.2, 5, 0.005) == pytest.approx(0.16080402, abs=1e-8)
    assert isolated_liquidation_price(Side.SHORT, 100, 0.2, 5, 0.005) == pytest.approx(0.23880597, abs=1e-8)
    for side in Side:
        for qty, entry, leverage in ((100, 0.2, 5), (0.003, 97_123.4, 20), (1_234_567, 0.00001234, 2)):
            liq = isolated_liquidation_price(side, qty, entry, leverage, 0.005)
            margin = qty * entry / leverage
            assert margin + (liq - entry) * qty * side.direction == pytest.approx(qty * liq * 0.005, rel=1e-9)
            assert (liq - entry) * side.direction < 0  # below a LONG's entry, above a SHORT's
    assert isolated_liquidation_price(Side.LONG, 0, 0.2, 5) is None


def test_paper_wallet_pays_fees_and_receives_realised_pnl():
    from decimal import Decimal

    from adapters.paper import make_paper_broker
    from core.model import Action, Side

    broker = make_paper_broker(fee_pct=0.05, slippage_bps=0, wallet=1000.0, leverage={"DOGEUSDT": 5})
    broker.set_price("DOGEUSDT", 0.2, 0)
    broker.submit_market_order("DOGEUSDT", Side.LONG, Action.OPEN, Decimal("100"), "a")
    snapshot = broker.account_snapshot(["DOGEUSDT"], {"DOGEUSDT": 0.21})
    assert snapshot.wallet == pytest.approx(1000 - 0.01)
    assert snapshot.unrealized_pnl == pytest.approx(1.0) and snapshot.margin_balance == pytest.approx(1000.99)
    assert snapshot.maint_margin == pytest.approx(100 * 0.21 * 0.005)
    assert snapshot.positions[0].liquidation_price == pytest.approx(0.16080402, abs=1e-8)
    broker.set_price("DOGEUSDT", 0.21, 1)
    broker.submit_market_order("DOGEUSDT", Side.LONG, Action.CLOSE, Decimal("100"), "b")
    snapshot = broker.account_snapshot(["DOGEUSDT"], {"DOGEUSDT": 0.21})
    assert snapshot.wallet == pytest.approx(1000 - 0.01 + 1.0 - 0.0105)
    assert snapshot.positions == () and snapshot.unrealized_pnl == 0


def test_a_replay_fills_the_account_strip_from_the_paper_wallet(qtbot, home, settings):
    """Paper mode: after a stop the strip shows wallet = initial capital + realised PnL - fees,
    computed here from the fills themselves."""
    from core.model import Action

    window = MainWindow(ui_app.service_builder(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.api.set_mode("replay")
    window.api.replay_dir.setText(str(Path(__file__).resolve().parent.parent / "data" / "sample"))
    window.api.speed.setValue(0)
    fills = []
    original = window.live_chart.add_fill
    window.live_chart.add_fill = lambda fill: (fills.append(fill), original(fill))
    window.start()
    qtbot.waitUntil(lambda: len(fills) >= 6, timeout=30_000)
    window.stop()
    qtbot.waitUntil(lambda: window.state_label.text() == "Stopped; state saved", timeout=15_000)
    held: dict[tuple[str, str], tuple[float, float]] = {}  # (symbol, side) -> (qty, entry)
    realized = 0.0
    for fill in fills:
        qty, entry = held.get((fill.symbol, fill.side.value), (0.0, 0.0))
        if fill.action is Action.OPEN:
            held[(fill.symbol, fill.side.value)] = (qty + fill.qty, (qty * entry + fill.qty * fill.price) / (qty + fill.qty))
        else:
            realized += (fill.price - entry) * fill.qty * fill.side.direction
            held[(fill.symbol, fill.side.value)] = (qty - fill.qty, entry if qty - fill.qty > 1e-12 else 0.0)
    latest = window.account_strip.latest
    expected = settings.backtest.initial_capital + realized - sum(f.fee for f in fills)
    assert latest is not None and latest.wallet == pytest.approx(expected, abs=1e-9)
    assert len(latest.positions) == sum(1 for qty, _ in held.values() if qty > 1e-12)
    assert window.account_strip.text_of("wallet") == money(expected)


def test_the_preview_prices_the_candle_still_forming():
    """[I3] An ``x: false`` kline is never traded, but the heartbeat previews it: its close is the
    preview's price and the chart gets it as an open candle."""
    import json
    from types import SimpleNamespace

    from adapters.paper import make_paper_broker
    from live.cockpit import CockpitReporter
    from live.events import CandleUpdate, Heartbeat, StreamState
    from live.live_feed import parse_any_kline, parse_kline_message
    from live.service import SymbolSlot

    message = json.dumps({"stream": "dogeusdt@kline_5m", "data": {"e": "kline", "s": "DOGEUSDT", "k": {
        "t": START_MS, "T": START_MS + FIVE_MINUTES_MS - 1, "s": "DOGEUSDT", "o": "0.2", "h": "0.21", "l": "0.19",
        "c": "0.205", "v": "10", "x": False}}})
    assert parse_kline_message(message) is None  # never handed to the strategy
    symbol, forming, closed = parse_any_kline(message)
    assert (symbol, closed, forming.close) == ("DOGEUSDT", False, 0.205)

    params = StrategyParams()
    driver = SymbolDriver(HedgeStrategy("DOGEUSDT", params, 100), params.signal)
    bars = [Candle(START_MS - (300 - i) * FIVE_MINUTES_MS, 0.2, 0.2, 0.2, 0.2 + 0.001 * (i % 5), 1,
                   START_MS - (299 - i) * FIVE_MINUTES_MS) for i in range(300)]
    driver.load_history([], bars)
    slot = SymbolSlot("DOGEUSDT", driver, last_price=bars[-1].close, last_time=bars[-1].close_time)
    events = []
    feed = SimpleNamespace(on_state=None, open_candle=lambda name: forming if name == "DOGEUSDT" else None)
    service = SimpleNamespace(feed=feed, slots={"DOGEUSDT": slot}, broker=make_paper_broker(0.05, 0),
                              clock=lambda: START_MS + 60_000)
    reporter = CockpitReporter(service, events.append, monotonic=lambda: 100.0)
    assert feed.on_state is not None  # the stream's state reaches the window
    feed.on_state("reconnecting", "next try in 1 s")
    reporter.tick()
    beats = [e for e in events if isinstance(e, Heartbeat)]
    assert beats and beats[0].preview.price == 0.205 and beats[0].last_close_ms == START_MS
    assert any(isinstance(e, CandleUpdate) and not e.closed and e.candle == forming for e in events)
    assert any(isinstance(e, StreamState) and e.state == "reconnecting" for e in events)
