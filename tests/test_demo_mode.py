"""Issue 18, service side: demo trading is the practice mode (an old 'testnet' file or window state
still starts it) and the account-wide hedge-mode switch is asked for first (window and CLI).

Everything runs against the local fake Binance (127.0.0.1) through the real adapter."""
from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from adapters.binance_futures import DEMO_STREAM_URL, HedgeModeOff
from adapters.secrets import ApiCredentials
from config.settings import load_settings
from core.errors import UserError
from live.assemble import build_service, canonical_mode, default_state_dir
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.ui_helpers import MemoryKeyring, fake, home, settings  # noqa: F401
from ui.main_window import MainWindow

KEYS = ApiCredentials(TEST_API_KEY, TEST_API_SECRET)


def saved_testnet_settings(tmp_path, fake):  # noqa: F811 - the fixture's value
    """A settings file saved before issue 18: mode testnet; the hosts point at the local fake."""
    path = tmp_path / "settings.yaml"
    path.write_text(
        "mode: testnet\n"
        "symbols:\n  DOGEUSDT:\n    call_size: 100\n"
        f"exchange:\n  rest_url: {fake.base_url}\n  stream_url: {fake.ws_url}\n"
        f"paths:\n  state_dir: {tmp_path / 'state'}\n  log_dir: {tmp_path / 'logs'}\n", encoding="utf-8")
    return load_settings(path)


def test_a_saved_testnet_file_builds_a_demo_trading_service_on_the_settings_hosts(tmp_path, fake):  # noqa: F811
    settings = saved_testnet_settings(tmp_path, fake)
    assert settings.mode == "demo" and canonical_mode("testnet") == "demo"
    service = build_service(settings, lambda event: None, mode=settings.mode, credentials=KEYS)
    assert service.broker.demo and service.broker.venue == "demo trading"
    assert service.feed.stream_url.startswith(fake.ws_url)  # exchange.stream_url, not Binance's host
    assert service.options.state_dir == tmp_path / "state" / "demo"
    old = build_service(settings, lambda event: None, mode="testnet", credentials=KEYS)  # --mode testnet
    assert old.broker.demo


def test_demo_trading_uses_binance_demo_hosts_without_a_setting(tmp_path):
    from live.live_feed import TESTNET_STREAM_URL
    assert TESTNET_STREAM_URL == DEMO_STREAM_URL == "wss://demo-fstream.binance.com/"
    from adapters.binance_futures import BinanceFuturesAdapter
    adapter = BinanceFuturesAdapter(KEYS, demo=True)
    assert adapter.client.FUTURES_URL.startswith("https://demo-fapi.binance.com")


def test_an_existing_testnet_state_folder_is_kept_for_demo_trading(tmp_path):
    settings = load_settings(overrides=[f"paths.state_dir={tmp_path}"])
    assert default_state_dir(settings, "demo") == tmp_path / "demo"
    (tmp_path / "testnet").mkdir()  # a practice run of before issue 18, maybe with open positions
    assert default_state_dir(settings, "demo") == tmp_path / "testnet"
    assert default_state_dir(settings, "testnet") == tmp_path / "testnet"


def test_cli_accepts_demo_and_the_old_testnet_name():
    from cli.run import add_arguments
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--mode", "demo"]).mode == "demo"
    assert parser.parse_args(["--mode", "testnet"]).mode == "testnet"  # read as demo by run()
    assert parser.parse_args(["--mode", "demo", "--switch-hedge-mode"]).switch_hedge_mode


def test_window_state_saved_as_testnet_restores_demo_trading(qtbot, home, settings):  # noqa: F811
    window = MainWindow(None, None, MemoryKeyring(), settings=settings)
    qtbot.addWidget(window)
    window.api.set_mode("testnet")
    assert window.api.current_mode() == "demo"
    window.banner.set_mode("testnet")
    assert window.banner.mode == "demo" and "DEMO TRADING" in window.banner.text()


# ----- hedge mode is asked for first ----------------------------------------------------------------------


def test_one_way_account_stops_start_up_until_the_switch_is_agreed(tmp_path, fake, settings):  # noqa: F811
    fake.exchange.engine.account.dual_side = False
    with pytest.raises(HedgeModeOff) as caught:
        build_service(settings, lambda event: None, mode="demo", credentials=KEYS, state_dir=tmp_path,
                      base_url=fake.base_url, stream_url=fake.ws_url)
    assert "account-wide" in str(caught.value) and "COIN-M" in str(caught.value)
    assert fake.exchange.engine.account.dual_side is False  # never switched silently
    build_service(settings, lambda event: None, mode="demo", credentials=KEYS, state_dir=tmp_path,
                  base_url=fake.base_url, stream_url=fake.ws_url, switch_hedge_mode=True)
    assert fake.exchange.engine.account.dual_side is True


def test_cli_without_the_flag_names_it_and_switches_nothing(tmp_path, fake, home, monkeypatch):  # noqa: F811
    from cli.run import add_arguments, run
    config = tmp_path / "doge.yaml"
    config.write_text("symbols:\n  DOGEUSDT:\n    call_size: 100\n", encoding="utf-8")
    monkeypatch.setenv("BINANCE_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", TEST_API_SECRET)
    fake.exchange.engine.account.dual_side = False
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--mode", "demo", "--config", str(config), "--state-dir", str(tmp_path / "state"),
                              "--base-url", fake.base_url, "--stream-url", fake.ws_url])
    with pytest.raises(UserError) as caught:
        run(args)
    assert "--switch-hedge-mode" in str(caught.value) and "account-wide" in str(caught.value)
    assert fake.exchange.engine.account.dual_side is False


@pytest.mark.parametrize("answer", [True, False])
def test_window_asks_before_switching_to_hedge_mode(qtbot, home, settings, fake, answer):  # noqa: F811
    def builder(settings, listener, **kwargs):
        return build_service(settings, listener, base_url=fake.base_url, stream_url=fake.ws_url, **kwargs)

    fake.exchange.engine.account.dual_side = False
    window = MainWindow(builder, None, MemoryKeyring(), settings=replace(settings))
    qtbot.addWidget(window)
    asked: list[str] = []
    window.ask = lambda title, question: asked.append(question) or answer  # the QMessageBox's answer
    window.api.mode.setCurrentIndex(window.api.mode.findData("demo"))
    window.api.api_key.setText(TEST_API_KEY)
    window.api.api_secret.setText(TEST_API_SECRET)
    window.start()
    qtbot.waitUntil(lambda: bool(asked), timeout=30_000)
    assert "account-wide" in asked[0] and "COIN-M" in asked[0]
    if answer:
        qtbot.waitUntil(lambda: "DOGEUSDT" in window.status_table.latest, timeout=30_000)
        assert fake.exchange.engine.account.dual_side is True
    else:
        qtbot.waitUntil(lambda: not window.is_running(), timeout=10_000)
        assert fake.exchange.engine.account.dual_side is False
        assert "one-way mode" in window.state_label.text()
    window.close()
    assert not window.is_running() and len(asked) == 1
