"""Alerts (issue 13 item 7): which events alert, delivery to local fake receivers, failures, secrets.

The receivers are real servers on 127.0.0.1: an aiohttp app standing in for a JSON
webhook (apprise ``json://``) and an aiosmtpd SMTP server (apprise ``mailto://``).
Both are always stopped in ``finally``.
"""
from __future__ import annotations

import asyncio
import json
from decimal import Decimal
import logging
import socket
import threading
from pathlib import Path

import keyring
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from adapters.alert_urls import load_alert_urls, save_alert_urls
from config.settings import AlertSettings, load_settings, read_settings_file
from core.model import Action, Fill, Side
from live import alerts as alerts_module
from live.alerts import AlertDispatcher, AlertWatch, AppriseSink, alert_for, alerting_builder, display_url
from live.events import (
    FillEvent, ForcedCloseEvent, LogEvent, PositionDifference, ServiceStateEvent, StatusRow, StreamState,
    SymbolRunState,
)
from tests.test_secrets import MemoryKeyring

TOKEN = "AAHsecretBotToken0123456789abcdef"  # stands for a Telegram bot token / webhook secret


def a_fill(reason: str = "R2") -> Fill:
    return Fill("c1", "DOGEUSDT", Side.LONG, Action.OPEN, 100.0, 0.0712, 0.0036, 1_700_000_000_000, reason,
                1_700_000_000_000)


EVENTS = {
    "fill": FillEvent(a_fill()),
    "error": LogEvent(1, "ERROR", "DOGEUSDT stopped trading: exchange error -2019: Margin is insufficient.",
                      "DOGEUSDT"),
    "liquidation": ForcedCloseEvent("DOGEUSDT", "LONG", 100.0, 0.0652, "liquidation", 1_700_000_000_000),
    "stopped": ServiceStateEvent(False, "stopped; state saved"),
}


class Recorder:
    name = "recorder"

    def __init__(self):
        self.alerts = []

    def send(self, alert):
        self.alerts.append(alert)


# ----- which events alert ------------------------------------------------------------------------

def test_each_event_kind_gives_its_alert_and_ordinary_events_none():
    kinds = {name: alert_for(event).kind for name, event in EVENTS.items()}
    assert kinds == {"fill": "fills", "error": "errors", "liquidation": "liquidations", "stopped": "stopped"}
    assert "[R2] DOGEUSDT OPEN LONG 100 @ 0.0712" in alert_for(EVENTS["fill"]).body
    assert alert_for(LogEvent(1, "INFO", "[R2] DOGEUSDT OPEN LONG 100", "DOGEUSDT")) is None
    assert alert_for(LogEvent(1, "WARNING", "kline stream disconnected")) is None
    assert alert_for(ServiceStateEvent(True, "starting")) is None
    row = StatusRow("DOGEUSDT", "UP", SymbolRunState.RUNNING, "", 0.07, None, 0, None, None, None, None, 0, None,
                    None, 100)
    assert alert_for(row) is None
    assert alert_for(LogEvent(1, "WARNING", "[O7] DOGEUSDT LONG: state holds 100, the exchange 0")) is None


def test_a_lost_price_stream_alerts_once_and_again_when_it_is_back():
    watch = AlertWatch()
    states = ["connected", "reconnecting", "reconnecting", "reconnecting", "rest", "connected", "reconnecting",
              "connected"]
    alerts = [watch.alert(StreamState(state, "ConnectionError; next try in 2 s" if state == "reconnecting" else ""))
              for state in states]
    titles = [a.title if a else None for a in alerts]
    assert titles == [None, "AutoHedge: price stream lost", None, None, "AutoHedge: price stream back", None,
                      "AutoHedge: price stream lost", "AutoHedge: price stream back"]
    assert {a.kind for a in alerts if a} == {"stopped"}
    assert "ConnectionError" in alerts[1].body


def test_O7_a_position_smaller_on_the_exchange_alerts_unless_the_stream_said_it_was_a_liquidation():
    watch = AlertWatch()
    t0 = 1_700_000_000_000
    reduced = watch.alert(PositionDifference("DOGEUSDT", "LONG", 100.0, 0.0, t0))
    assert reduced.kind == "liquidations" and "the exchange holds 0, the bot held 100" in reduced.body
    assert watch.alert(PositionDifference("DOGEUSDT", "LONG", 0.0, 100.0, t0)) is None  # grown: not a liquidation
    forced = watch.alert(ForcedCloseEvent("DOGEUSDT", "SHORT", 100.0, 0.07, "liquidation", t0))
    assert forced.title == "AutoHedge: DOGEUSDT SHORT liquidated"
    assert watch.alert(PositionDifference("DOGEUSDT", "SHORT", 100.0, 0.0, t0 + 60_000)) is None  # its echo
    assert watch.alert(PositionDifference("DOGEUSDT", "SHORT", 50.0, 0.0, t0 + 120_000)) is not None  # a new one
    adl = watch.alert(ForcedCloseEvent("DOGEUSDT", "LONG", 40.0, 0.07, "adl", t0))
    assert adl.kind == "liquidations" and "auto-deleveraged" in adl.title


@pytest.mark.parametrize("switched_off", ["fills", "errors", "liquidations", "stopped"])
def test_a_kind_switched_off_is_not_sent_and_the_others_are(switched_off):
    recorder = Recorder()
    settings = AlertSettings(**{switched_off: False})
    downstream = []
    dispatcher = AlertDispatcher(settings, [recorder])
    listen = dispatcher.listener(downstream.append)
    dispatcher_events = list(EVENTS.values())
    for event in dispatcher_events:
        listen(event)
    assert downstream == dispatcher_events  # the window / console still gets every event
    assert dispatcher.wait_until_sent(30)
    assert sorted(a.kind for a in recorder.alerts) == sorted({"fills", "errors", "liquidations", "stopped"}
                                                             - {switched_off})


def test_a_replay_sends_no_alerts_and_other_modes_do():
    recorder = Recorder()
    seen = {}

    def builder(settings, listener, *, mode, **kwargs):
        seen[mode] = listener
        return object()

    build = alerting_builder(builder, lambda settings: [recorder])
    settings = load_settings()
    plain = lambda event: None  # noqa: E731
    build(settings, plain, mode="replay")
    build(settings, plain, mode="testnet")
    assert seen["replay"] is plain and seen["testnet"] is not plain
    dispatcher_listener = seen["testnet"]
    dispatcher_listener(EVENTS["error"])
    dispatcher_listener(EVENTS["stopped"])
    dispatcher = next(d for d in alerts_module._live if recorder in d.sinks)
    assert dispatcher.wait_until_sent(30)
    assert [a.kind for a in recorder.alerts] == ["errors", "stopped"]


def test_the_alert_thread_ends_with_the_service_and_comes_back_for_a_later_alert():
    recorder = Recorder()
    dispatcher = AlertDispatcher(AlertSettings(), [recorder])
    dispatcher.offer(EVENTS["fill"])
    dispatcher.offer(EVENTS["stopped"])
    assert dispatcher.wait_until_sent(30)
    thread = dispatcher._thread
    if thread is not None:
        thread.join(30)
    assert dispatcher._thread is None  # ended: nothing left behind
    dispatcher.offer(EVENTS["error"])
    assert dispatcher.wait_until_sent(30)
    assert [a.kind for a in recorder.alerts] == ["fills", "stopped", "errors"]
    dispatcher.close()


def test_the_desktop_notifier_shows_alerts_sent_from_another_thread(qtbot):
    from PySide6.QtWidgets import QMainWindow
    from live.alerts import Alert
    from ui.tray import TrayNotifier

    window = QMainWindow()
    qtbot.addWidget(window)
    notifier = TrayNotifier(window)  # offscreen has no tray to draw in; the notification path is the same
    sender = threading.Thread(target=notifier.send, args=(Alert("fills", "AutoHedge: DOGEUSDT fill", "body"),))
    sender.start()
    sender.join(10)
    qtbot.waitUntil(lambda: notifier.shown == [("AutoHedge: DOGEUSDT fill", "body")], timeout=10_000)


# ----- local fake receivers ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebhookReceiver:
    """An aiohttp server on 127.0.0.1 recording every JSON body posted to /hook/<anything>."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _hook(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{rest:.*}", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


class MailBox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def dispatch(sinks, events, settings=AlertSettings()) -> AlertDispatcher:
    dispatcher = AlertDispatcher(settings, sinks)
    for event in events:
        dispatcher.offer(event)
    assert dispatcher.wait_until_sent(60)
    return dispatcher


def test_a_webhook_receives_fill_and_error_alerts(webhook):
    sink = AppriseSink([f"json://127.0.0.1:{webhook.port}/hook/{TOKEN}"])
    dispatch([sink], [EVENTS["fill"], EVENTS["error"], LogEvent(1, "INFO", "nothing to say")])
    assert [body["title"] for body in webhook.bodies] == ["AutoHedge: DOGEUSDT fill", "AutoHedge error: DOGEUSDT"]
    assert "[R2] DOGEUSDT OPEN LONG 100 @ 0.0712" in webhook.bodies[0]["message"]
    assert "Margin is insufficient" in webhook.bodies[1]["message"]


def test_an_email_arrives_at_the_smtp_server(smtp):
    box, port = smtp
    sink = AppriseSink([f"mailto://127.0.0.1:{port}?from=bot@example.com&to=trader@example.com&mode=insecure"])
    dispatch([sink], [EVENTS["stopped"]])
    assert len(box.messages) == 1
    message = box.messages[0]
    assert message.rcpt_tos == ["trader@example.com"]
    assert b"Subject: AutoHedge stopped" in message.content and b"stopped; state saved" in message.content


def test_a_dead_destination_is_logged_once_without_its_secret_and_the_others_still_receive(webhook, caplog):
    dead = AppriseSink([f"json://127.0.0.1:{free_port()}/hook/{TOKEN}"])  # nothing listens there
    alive = AppriseSink([f"json://127.0.0.1:{webhook.port}/hook/x"])
    recorder = Recorder()
    caplog.set_level(logging.DEBUG)
    downstream = []
    dispatcher = AlertDispatcher(AlertSettings(), [dead, alive, recorder])
    listen = dispatcher.listener(downstream.append)
    for event in (EVENTS["fill"], EVENTS["error"], EVENTS["fill"]):
        listen(event)
    assert dispatcher.wait_until_sent(120)
    assert len(downstream) == 3 and len(recorder.alerts) == 3 and len(webhook.bodies) == 3
    failures = [r for r in caplog.records if r.name == "autohedge.alerts" and "not sent" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert TOKEN not in caplog.text and TOKEN not in display_url(f"json://127.0.0.1:1/hook/{TOKEN}") + dead.name


# ----- configuration: the URLs live in the keyring, never in settings.yaml -----------------------

@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_alert_urls_round_trip_through_the_keyring(memory_keyring):
    urls = [f"tgram://123456789:{TOKEN}/987654", "mailto://user:pa55word@gmail.com"]
    save_alert_urls(urls)
    assert load_alert_urls() == urls
    save_alert_urls([])
    assert load_alert_urls() == [] and not memory_keyring.entries


def test_the_alerts_dialog_saves_urls_in_the_keyring_and_choices_in_settings(qtbot, memory_keyring, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    from ui.main_window import MainWindow

    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    dialog = window.extras.edit_alerts()
    url = f"tgram://123456789:{TOKEN}/987654"
    dialog.urls.setPlainText(url)
    dialog.events["fills"].setChecked(False)
    dialog.accept()
    assert load_alert_urls() == [url]
    assert window.current_settings().alerts == AlertSettings(fills=False)
    saved = Path(tmp_path / "home" / "settings.yaml")
    assert read_settings_file(saved)["alerts"]["fills"] is False
    assert TOKEN not in saved.read_text(encoding="utf-8") and "tgram" not in saved.read_text(encoding="utf-8")
    again = window.extras.edit_alerts()
    assert TOKEN not in again.saved_label.text() and "tgram://" in again.saved_label.text()
    again.reject()


def test_the_alerts_dialog_refuses_a_url_apprise_does_not_know(qtbot, memory_keyring):
    from ui.alerts_dialog import AlertsDialog

    dialog = AlertsDialog(AlertSettings(), desktop_available=False)
    qtbot.addWidget(dialog)
    dialog.urls.setPlainText("nonsense://whatever")
    dialog.accept()
    assert dialog.choice is None and "not an alert URL" in dialog.message.text()
    assert load_alert_urls() == []
    assert json.dumps(memory_keyring.entries) == "{}"


# ----- liquidations as the bot really sees them: the real service against the fake exchange ----------

from tests.fake_binance.fixtures import fake, fake_server  # noqa: E402,F401 - pytest fixtures
from tests.test_runner_money_safety import BAR, IDLE, SYMBOL, Bot, wait_until  # noqa: E402


def liquidation_bot(fake, tmp_path, webhook, user_stream: bool) -> Bot:
    """The service holding LONG 100 after its first close; the exchange then liquidates it."""
    bot = Bot(fake, tmp_path, [], user_stream=user_stream)
    dispatcher = AlertDispatcher(AlertSettings(fills=False), [AppriseSink([f"json://127.0.0.1:{webhook.port}/hook/x"])])
    bot.service.listener = dispatcher.listener(bot.service.listener)
    bot.dispatcher = dispatcher
    return bot


def test_a_liquidation_on_the_user_data_stream_is_alerted_once(fake, tmp_path, webhook):
    """ORDER_TRADE_UPDATE of type LIQUIDATION, client id autoclose-…, execution CALCULATED [O7]."""
    bot = liquidation_bot(fake, tmp_path, webhook, user_stream=True)
    bot.feed.script.extend([
        lambda: wait_until(bot.user_stream.connected.is_set), BAR,
        lambda: wait_until(lambda: bot.user_stream.received >= 2),  # our own open's events
        lambda: fake.liquidate(SYMBOL, "LONG"),
        lambda: wait_until(lambda: bot.user_stream.received >= 4),  # the CALCULATED execution, ACCOUNT_UPDATE
        IDLE, BAR])
    bot.run()
    assert bot.dispatcher.wait_until_sent(60)
    titles = [body["title"] for body in webhook.bodies]
    assert titles.count("AutoHedge: DOGEUSDT LONG liquidated") == 1, titles
    assert not [title for title in titles if "reduced on the exchange" in title]  # the reconciliation's echo
    [body] = [b for b in webhook.bodies if b["title"].endswith("liquidated")]
    assert "DOGEUSDT LONG 100 @" in body["message"]
    assert any("LONG 100 liquidated by the exchange" in line and "autoclose-" in line for line in bot.lines)
    assert_bot_took_the_exchange_s_position(bot)


def test_a_liquidation_without_the_stream_is_alerted_from_the_reconciliation(fake, tmp_path, webhook):
    """No user-data stream: the per-close [O7] check finds LONG 0 on the exchange against 100."""
    bot = liquidation_bot(fake, tmp_path, webhook, user_stream=False)
    bot.feed.script.extend([BAR, lambda: fake.liquidate(SYMBOL, "LONG"), BAR])
    bot.run()
    assert bot.dispatcher.wait_until_sent(60)
    titles = [body["title"] for body in webhook.bodies]
    assert titles.count("AutoHedge: DOGEUSDT LONG reduced on the exchange") == 1, titles
    assert_bot_took_the_exchange_s_position(bot)


def assert_bot_took_the_exchange_s_position(bot: Bot) -> None:
    """[O7] the exchange's LONG 0 was taken (the next close in the UP regime may open LONG again [R2])."""
    assert any("LONG: state holds 100, the exchange 0; the exchange's position is taken" in line for line in bot.lines)


def test_O7_the_user_stream_parser_tells_a_forced_close_from_our_own_orders():
    from adapters.binance_user_stream import parse_user_event
    from core.ports import ForcedClose, TradeUpdate

    def message(client_id: str, order_type: str, execution: str) -> str:
        return json.dumps({"e": "ORDER_TRADE_UPDATE", "E": 5, "T": 5, "o": {
            "s": "DOGEUSDT", "c": client_id, "o": order_type, "x": execution, "X": "FILLED", "l": "100", "z": "100",
            "L": "0.0652", "n": "0.01", "N": "USDT", "T": 5, "ps": "LONG"}})

    [liquidation] = parse_user_event(message("autoclose-000000000001", "LIQUIDATION", "CALCULATED"))
    assert liquidation == ForcedClose("DOGEUSDT", Side.LONG, Decimal("100"), Decimal("0.0652"),
                                      "autoclose-000000000001", "liquidation", 5,
                                      commission=Decimal("0.01"), commission_asset="USDT")  # no t / rp here
    adl, trade = parse_user_event(message("adl_autoclose", "MARKET", "TRADE"))
    assert adl.kind == "adl" and isinstance(trade, TradeUpdate)
    [own] = parse_user_event(message("ah-DOGEUSDT-1-1", "MARKET", "TRADE"))
    assert isinstance(own, TradeUpdate)
    assert parse_user_event(message("autoclose-000000000001", "LIQUIDATION", "NEW")) == []
