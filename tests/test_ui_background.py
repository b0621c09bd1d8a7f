"""The window never freezes, the connection test says the exact reason, and the secret
never reaches a log or a file (issue 6 acceptance).

The connection test and the testnet run go to the local fake Binance server
(tests/fake_binance) through the REAL adapter and the REAL trading service.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QDate, QTimer

from config.settings import load_settings
from live.assemble import build_service
from tests.conftest import FUTURES_DATA
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance
from tests.ui_helpers import START_MS, MemoryKeyring, fake, free_port, home, settings  # noqa: F401
from ui import app as ui_app
from ui.backtest_job import run_backtest_job
from ui.main_window import MainWindow

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def window_for(qtbot, settings, checker=None, store=None, builder=None) -> MainWindow:
    window = MainWindow(builder or ui_app.service_builder(), checker, store or MemoryKeyring(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    return window


def enter_keys(window: MainWindow, key: str, secret: str, mode: str = "demo") -> None:
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
    result = run_connection_test(qtbot, window)
    assert result.startswith("✔ Connected to Binance demo trading") and "Connected" not in result[12:]  # said once
    assert "USDT" in window.api.result.text()

    enter_keys(window, TEST_API_KEY, "a-wrong-secret-0000000000")
    assert run_connection_test(qtbot, window).startswith("✖ ")
    assert "secret" in window.api.result.text().lower() or "refused" in window.api.result.text().lower()

    enter_keys(window, "", "")
    assert "needs an API key and secret" in run_connection_test(qtbot, window)

    offline = window_for(qtbot, settings, ui_app.connection_checker(base_url=f"http://127.0.0.1:{free_port()}"))
    enter_keys(offline, TEST_API_KEY, TEST_API_SECRET)
    unreachable = run_connection_test(qtbot, offline)
    assert unreachable.startswith("✖ Cannot reach Binance demo trading (")
    assert unreachable.lower().count("cannot reach") == 1 and unreachable.count("connection failed") <= 1


def test_event_loop_keeps_turning_during_a_backtest_and_a_connection_test(qtbot, home, settings, fake):
    """Both jobs run in worker threads, never in the GUI thread, and the GUI's event loop
    handles timer events while both are in progress: each job holds until the event loop
    has processed TICKS timer events after both started, which could never happen if either
    job blocked the GUI thread. No wall-clock threshold: a busy machine only makes it slower."""
    ticks_needed = 20
    gui_thread = threading.get_ident()
    started: dict[str, int] = {}  # job -> thread id it ran in
    gate = threading.Event()
    ticks = [0]

    def gated(name, job):
        def run(*args):
            started[name] = threading.get_ident()
            if not gate.wait(120):  # a deadlock guard only: the gate opens within milliseconds normally
                raise RuntimeError(f"{name}: the event loop never turned while it ran")
            return job(*args)
        return run

    checker = gated("connection test", ui_app.connection_checker(base_url=fake.base_url))
    backtest = gated("backtest", run_backtest_job)
    window = MainWindow(ui_app.service_builder(), checker, MemoryKeyring(), backtest, settings=load_settings())
    qtbot.addWidget(window)
    window.show()
    window.backtest.data_dir.setText(str(SAMPLE))
    window.backtest.set_dates(QDate(2023, 3, 1), QDate(2023, 3, 7))
    enter_keys(window, TEST_API_KEY, TEST_API_SECRET)

    def tick() -> None:
        if len(started) == 2:  # both jobs are in progress (each waits at the gate)
            ticks[0] += 1
            if ticks[0] >= ticks_needed:
                gate.set()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    window.backtest.run_button.click()
    window.api.test_button.click()
    # Both results reach the window (through queued signals, after the threads end).
    qtbot.waitUntil(lambda: window.backtest.view is not None and "Connected" in window.api.result.text(),
                    timeout=120_000)
    timer.stop()
    assert gate.is_set() and ticks[0] >= ticks_needed
    assert set(started) == {"connection test", "backtest"}
    assert gui_thread not in started.values()  # the work never ran in the GUI thread


def test_backtest_tab_shows_summary_equity_and_trades(qtbot, home, settings):
    window = window_for(qtbot, load_settings(overrides=[f"paths.state_dir={home / 's'}"]))
    tab = window.backtest
    tab.data_dir.setText(str(SAMPLE))
    tab.set_dates(QDate(2023, 3, 1), QDate(2023, 3, 14))
    tab.run_button.click()
    qtbot.waitUntil(lambda: tab.view is not None and tab.run_button.isEnabled(), timeout=60_000)  # the result shown
    assert tab.progress.value() == tab.progress.maximum()
    names = [tab.summary.item(row, 0).text() for row in range(tab.summary.rowCount())]
    assert names == ["DOGEUSDT", "ALGOUSDT", "TOTAL"]
    fills = len(tab.view.result.trades)
    assert fills > 0 and tab.message.text().startswith(f"Done: {fills:,} fills")
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

    tab.data_dir.setText(str(home / "empty"))
    (home / "empty").mkdir(parents=True)
    qtbot.waitUntil(tab.run_button.isEnabled, timeout=10_000)
    tab.run_button.click()
    qtbot.waitUntil(lambda: tab.run_button.isEnabled() and bool(tab.message.styleSheet()), timeout=10_000)
    assert tab.message.text() and tab.message.styleSheet()  # the error, in red...
    assert tab.view is None and tab.summary.rowCount() == 0  # ...and nothing of the previous run under it
    assert tab.progress.value() == 0 and not tab.equity_chart.equity_plot.getPlotItem().listDataItems()


def test_secret_never_reaches_a_log_or_a_file(qtbot, home, settings, fake, tmp_path, caplog):
    """A testnet session with the REAL service against the fake exchange, keys remembered."""
    caplog.set_level(logging.DEBUG)
    from cli.logging_setup import setup_logging
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

    with FakeBinance(data_dir=FUTURES_DATA, symbols=["DOGEUSDT"], start_ms=START_MS,
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


def test_a_background_failure_reaches_the_user_as_one_sentence_and_the_log_gets_the_traceback(caplog):
    """BackgroundCall and OptimizeJob both report through ui.worker.failure_sentence."""
    from core.errors import UserError
    from ui.worker import failure_sentence

    logger = logging.getLogger("tests.background_failure")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    assert failure_sentence(UserError("No kline file in the folder"), logger, "task failed") == \
        "No kline file in the folder"
    assert caplog.records == []  # the user's own mistake: no traceback
    try:
        raise ValueError("could not convert 'x'")
    except ValueError as exc:
        sentence = failure_sentence(exc, logger, "task failed")
    assert sentence == "ValueError: could not convert 'x'"
    assert [record.getMessage() for record in caplog.records] == ["task failed"]
    assert caplog.records[0].levelno == logging.ERROR and caplog.records[0].exc_info[0] is ValueError
