"""The window never freezes, the connection test says the exact reason, and the secret
never reaches a log or a file (issue 6 acceptance).

The connection test and the testnet run go to the local fake Binance server
(tests/fake_binance) through the REAL adapter and the REAL trading service.
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QElapsedTimer, QTimer

from adapters.secrets import ApiCredentials
from config.settings import SymbolSettings, load_settings
from runner.factory import build_service
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance
from ui import app as ui_app
from ui.main_window import MainWindow

FUTURES_DATA = Path(__file__).resolve().parent.parent / "data" / "futures"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


class MemoryKeyring:
    """Stands in for the OS keyring (tests must not touch the real one)."""

    def __init__(self):
        self.saved: dict[bool, ApiCredentials] = {}

    def load_credentials(self, testnet: bool) -> ApiCredentials | None:
        return self.saved.get(testnet)

    def save_credentials(self, credentials: ApiCredentials, testnet: bool) -> None:
        self.saved[testnet] = credentials

    def delete_credentials(self, testnet: bool) -> bool:
        return self.saved.pop(testnet, None) is not None


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    return tmp_path / "home"


@pytest.fixture
def settings(tmp_path):
    loaded = load_settings(overrides=[f"paths.state_dir={tmp_path / 'state'}", f"paths.log_dir={tmp_path / 'logs'}"])
    return replace(loaded, symbols={"DOGEUSDT": SymbolSettings(call_size=100)})  # the fake trades DOGEUSDT


@pytest.fixture
def fake():
    with FakeBinance(data_dir=FUTURES_DATA, symbols=["DOGEUSDT"], start_ms=1_740_787_200_000) as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def window_for(qtbot, settings, checker=None, store=None, builder=None) -> MainWindow:
    window = MainWindow(builder or ui_app.service_builder(), checker, store or MemoryKeyring(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    return window


def enter_keys(window: MainWindow, key: str, secret: str, mode: str = "testnet") -> None:
    window.api.mode.setCurrentIndex(window.api.mode.findData(mode))
    window.api.api_key.setText(key)
    window.api.api_secret.setText(secret)


def run_connection_test(qtbot, window: MainWindow) -> str:
    window.api.test_button.click()
    qtbot.waitUntil(lambda: not window.api.is_testing(), timeout=20_000)
    qtbot.waitUntil(lambda: window.api.test_button.isEnabled(), timeout=5_000)
    return window.api.result.text()


def test_connection_test_reports_success_or_the_exact_reason(qtbot, home, settings, fake):
    window = window_for(qtbot, settings, ui_app.connection_checker(base_url=fake.base_url))
    assert not window.api.test_button.isEnabled()  # replay needs no connection
    enter_keys(window, TEST_API_KEY, TEST_API_SECRET)
    assert run_connection_test(qtbot, window).startswith("Connected to Binance testnet")  # said once, not "Connected: Connected"
    assert "USDT" in window.api.result.text()

    enter_keys(window, TEST_API_KEY, "a-wrong-secret-0000000000")
    assert "Connection failed" in run_connection_test(qtbot, window)
    assert "secret" in window.api.result.text().lower() or "refused" in window.api.result.text().lower()

    enter_keys(window, "", "")
    assert "needs an API key and secret" in run_connection_test(qtbot, window)

    offline = window_for(qtbot, settings, ui_app.connection_checker(base_url=f"http://127.0.0.1:{free_port()}"))
    enter_keys(offline, TEST_API_KEY, TEST_API_SECRET)
    assert "Cannot reach Binance testnet" in run_connection_test(qtbot, offline)


def test_event_loop_keeps_turning_during_a_backtest_and_a_connection_test(qtbot, home, settings, fake):
    fake.add_fault(kind="latency", path="*", latency_ms=1500, times=5)  # a slow network
    window = window_for(qtbot, load_settings(), ui_app.connection_checker(base_url=fake.base_url))
    window.backtest.data_dir.setText(str(SAMPLE))  # a year of two symbols: several seconds of work
    enter_keys(window, TEST_API_KEY, TEST_API_SECRET)

    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    window.backtest.run_button.click()
    window.api.test_button.click()
    both_running = window.backtest.is_running() and window.api.is_testing()
    qtbot.waitUntil(lambda: not window.backtest.is_running() and not window.api.is_testing(), timeout=120_000)
    timer.stop()
    assert both_running
    assert window.backtest.view is not None and "Connected" in window.api.result.text()
    elapsed = clock.elapsed()
    assert elapsed > 1000  # the work really took a while...
    assert len(gaps) >= elapsed / 20 * 0.4  # ...and the timer kept firing during it
    print(f"timer: {len(gaps)} ticks in {elapsed} ms, longest gap {max(gaps)} ms")
    assert max(gaps) < 500, f"the event loop stalled for {max(gaps)} ms"


def test_backtest_tab_shows_summary_equity_and_trades(qtbot, home, settings):
    window = window_for(qtbot, load_settings(overrides=[f"paths.state_dir={home / 's'}"]))
    tab = window.backtest
    tab.data_dir.setText(str(SAMPLE))
    tab.set_dates(QDate(2023, 3, 1), QDate(2023, 3, 14))
    tab.run_button.click()
    # The thread ends before its queued result and "finished" slots run: wait for the last one (re-enables Run).
    qtbot.waitUntil(lambda: not tab.is_running() and tab.run_button.isEnabled(), timeout=60_000)
    assert tab.progress.value() == tab.progress.maximum()
    names = [tab.summary.item(row, 0).text() for row in range(tab.summary.rowCount())]
    assert names == ["DOGEUSDT", "ALGOUSDT", "TOTAL"]
    fills = len(tab.view.result.trades)
    assert fills > 0 and tab.message.text().startswith(f"Done: {fills} fills")
    times = tab.view.result.combined.times
    assert times[0] >= 1_677_628_800_000 and times[-1] <= 1_678_838_400_000  # 2023-03-01 .. 2023-03-15 00:00
    curves = tab.equity_chart.equity_plot.getPlotItem().listDataItems()
    plotted_x, plotted_y = curves[0].getData()
    equity = tab.view.result.combined.equity
    assert len(curves) == 1 and plotted_x.size <= 4000 < times.size  # drawn as a min/max envelope...
    assert plotted_y.max() == equity.max() and plotted_y.min() == equity.min()  # ...that keeps every extreme
    assert plotted_x[0] == times[0] / 1000
    markers = tab.price_chart.plot.getPlotItem().listDataItems()[1:]
    assert sum(item.getData()[0].size for item in markers) == sum(
        1 for trade in tab.view.result.trades if trade.symbol == tab.price_symbol.currentText())

    tab.data_dir.setText(str(home / "nowhere"))
    tab.run_button.click()
    qtbot.waitUntil(lambda: not tab.is_running() and tab.run_button.isEnabled(), timeout=10_000)
    assert "does not exist" in tab.message.text()


def test_secret_never_reaches_a_log_or_a_file(qtbot, home, settings, fake, tmp_path, caplog):
    """A testnet session with the REAL service against the fake exchange, keys remembered."""
    caplog.set_level(logging.DEBUG)
    from runner.logging_setup import setup_logging
    setup_logging(tmp_path / "logs", console=False, level=logging.DEBUG)

    def builder(settings, listener, **kwargs):
        return build_service(settings, listener, base_url=fake.base_url, stream_url=fake.ws_url, **kwargs)

    store = MemoryKeyring()
    window = window_for(qtbot, settings, ui_app.connection_checker(base_url=fake.base_url), store, builder)
    enter_keys(window, TEST_API_KEY, TEST_API_SECRET)
    window.api.remember.setChecked(True)
    assert window.api.api_secret.echoMode() == window.api.api_secret.EchoMode.Password
    run_connection_test(qtbot, window)
    window.start()
    qtbot.waitUntil(lambda: "DOGEUSDT" in window.status_table.latest, timeout=30_000)
    fake.step(candles=2)
    time.sleep(0.5)
    window.close()
    assert not window.is_running()
    assert store.saved[True].api_secret == TEST_API_SECRET  # the keyring (here: memory) got it, nothing else

    logging.shutdown()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "autohedge.log" for p in written) and any(p.name == "settings.yaml" for p in written)
    for path in written:
        content = path.read_bytes()
        assert TEST_API_SECRET.encode() not in content, f"the secret was written to {path}"
        assert TEST_API_KEY.encode() not in content, f"the API key was written to {path}"
    assert TEST_API_SECRET not in caplog.text and TEST_API_KEY not in caplog.text
    shown = "\n".join(window.log_pane.lines()) + window.api.result.text() + window.statusBar().currentMessage()
    assert TEST_API_SECRET not in shown and TEST_API_KEY not in shown


def test_a_connection_feeds_the_exchange_symbol_list_and_minimums_to_the_symbols_editor(qtbot, home, settings):
    from decimal import Decimal

    from tests.fake_binance import SymbolSpec

    with FakeBinance(data_dir=FUTURES_DATA, symbols=["DOGEUSDT"], start_ms=1_740_787_200_000,
                     specs={"DOGEUSDT": SymbolSpec(min_notional=Decimal("50"))}) as server:
        window = window_for(qtbot, settings, ui_app.connection_checker(base_url=server.base_url))
        editor = window.strategy.symbols
        editor.set_price("DOGEUSDT", 0.2)  # 100 DOGE = 20 USDT: fine for the usual 5 USDT minimum
        assert not any("DOGEUSDT" in text for text in editor.warnings())

        enter_keys(window, TEST_API_KEY, TEST_API_SECRET)
        assert "Connected" in run_connection_test(qtbot, window)
        qtbot.waitUntil(lambda: any("DOGEUSDT" in text and "50" in text for text in editor.warnings()),
                        timeout=5_000)

        editor.new_symbol.setText("ALGOUSDT")  # a real symbol, but not listed by this exchange
        editor.new_size.setText("10")
        editor.add_button.click()
        assert "ALGOUSDT" not in editor.sizes()
        assert "not traded on the connected exchange" in editor.message.text()
