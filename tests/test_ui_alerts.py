"""Alerts from the window (issue 13 item 7): a dropped price stream on the fake exchange reaches a
local webhook as "price stream lost", then "price stream back", through the window's own wiring
(ui/window_extras.py wraps the service builder with the alert dispatcher)."""
from __future__ import annotations

from live.alerts import AppriseSink
from tests.test_alerts import webhook  # noqa: F401 - pytest fixture (a local aiohttp receiver)
from tests.test_ui_cockpit import KEEP, fake, home, open_testnet_window, settings, started  # noqa: F401


def test_a_dropped_stream_raises_an_alert_and_its_return_another(qtbot, home, settings, fake, webhook, monkeypatch):
    url = f"json://127.0.0.1:{webhook.port}/hook/x"
    monkeypatch.setattr("ui.window_extras.apprise_sinks", lambda alert_settings: [AppriseSink([url])])
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.ask_close = lambda positions: KEEP
    started(qtbot, window)
    titles = lambda: [body["title"] for body in webhook.bodies]  # noqa: E731
    assert "AutoHedge: price stream lost" not in titles()

    assert fake.drop_websockets() >= 1
    fake.step(candles=1)
    qtbot.waitUntil(lambda: "AutoHedge: price stream lost" in titles(), timeout=20_000)
    qtbot.waitUntil(lambda: "AutoHedge: price stream back" in titles(), timeout=20_000)
    assert titles().count("AutoHedge: price stream lost") == 1  # its retries do not alert again
    window.close()
    assert not window.is_running()
    qtbot.waitUntil(lambda: "AutoHedge stopped" in titles(), timeout=20_000)
