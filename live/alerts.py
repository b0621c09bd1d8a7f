"""Alerts: fills, errors, liquidations, a lost price stream and a stopped service, sent to the desktop,
Telegram, e-mail...

A liquidation is what the bot really sees: the user-data stream's forced close (order type
LIQUIDATION / client id ``autoclose-``, or an auto-deleverage's ``adl_autoclose``:
ForcedCloseEvent) or, without the stream, the [O7] reconciliation finding the exchange's
position smaller than the state's (PositionDifference).

The dispatcher listens to the trading service's events (live/events.py) beside
the window or console: :meth:`AlertDispatcher.listener` wraps the service's
listener. Turning an event into an :class:`Alert` is cheap and happens on the
service thread; sending happens on the dispatcher's own thread, so a slow or
unreachable destination never delays a decision. A destination that fails is
logged once (again only after it worked in between); nothing here ever raises
into the service.

Destinations ("sinks") are small objects with ``name`` and ``send(alert)``:
:class:`AppriseSink` sends through apprise (``tgram://``, ``mailto://``,
``json://``... URLs, kept in the OS keyring by adapters.alert_urls); the window
adds a desktop notification sink (ui/tray.py).
"""
from __future__ import annotations

import atexit
import logging
import queue
import re
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

from adapters.alert_urls import load_alert_urls, save_alert_urls
from adapters.secrets import install_log_redaction
from config.settings import AlertSettings
from core.errors import UserError
from live.events import (
    Event, EventListener, FillEvent, ForcedCloseEvent, LogEvent, MarginCallEvent, PositionDifference, ServiceStateEvent,
    StreamState, forced_close_words,
)

__all__ = ["Alert", "AlertSink", "AlertDispatcher", "AlertWatch", "AppriseSink", "alert_for", "alerting_builder",
           "load_alert_urls", "save_alert_urls", "protect_urls", "display_url"]

log = logging.getLogger("autohedge.alerts")
MAX_QUEUED = 200  # beyond this, alerts are dropped (said once): a flood must not grow memory without end
EXIT_FLUSH_SECONDS = 10.0  # at program exit, how long the last alerts ("stopped") may take to go out
_STOP = object()


@dataclass(frozen=True)
class Alert:
    kind: str  # a field of AlertSettings: fills | errors | liquidations | stopped
    title: str
    body: str


class AlertSink(Protocol):
    name: str  # safe to log: no secret in it

    def send(self, alert: Alert) -> None: ...  # raises on failure


ALERTING_RULES = {"W1": "the bot was asleep", "E2": "a guard triggered", "C0": "an order above CALL_SIZE held back",
                  "C3": "a side above CALL_SIZE"}
# A loss limit's breach line (WARNING, live/account_limits.py) alerts once; the decision and fill lines of
# the closes it causes carry the same rule id at INFO and do not.
BREACH_ALERTS = {"L1": "the daily loss limit was reached", "L2": "the drawdown limit was reached"}


def alert_for(event: Event) -> Alert | None:
    """The alert an event deserves, if any (whether it is wanted is AlertSettings' business).

    Stream states and position differences need what came before: :class:`AlertWatch` decides those."""
    if isinstance(event, FillEvent):
        fill = event.fill
        text = (f"[{fill.reason}] {fill.symbol} {fill.action.value} {fill.side.value} {fill.qty:g} @ {fill.price:g} "
                f"(fee {fill.fee:.4f} USDT)")
        return Alert("fills", f"AutoHedge: {fill.symbol} fill", text)
    if isinstance(event, ForcedCloseEvent):
        what = forced_close_words(event.kind)  # a settlement: a delisting/delivery, not an ADL
        return Alert("liquidations", f"AutoHedge: {event.symbol} {event.side} {what}",
                     f"[O7] The exchange closed {event.symbol} {event.side} {event.qty:g} @ {event.price:g} "
                     f"({what}); the bot takes the exchange's position.")
    if isinstance(event, MarginCallEvent):
        return Alert("liquidations", "AutoHedge: MARGIN CALL", event.text)
    if isinstance(event, LogEvent):
        if event.rule in BREACH_ALERTS and event.level != "INFO":
            return Alert("errors", f"AutoHedge: {BREACH_ALERTS[event.rule]}", event.message)
        if event.rule in ALERTING_RULES:  # slept [W1], a guard triggered [E2], a side above CALL_SIZE [L0, L1]
            return Alert("errors", f"AutoHedge: {ALERTING_RULES[event.rule]}{f' ({event.symbol})' if event.symbol else ''}",
                         event.message)
        if event.level == "ERROR":
            return Alert("errors", f"AutoHedge error{f': {event.symbol}' if event.symbol else ''}", event.message)
        return None
    if isinstance(event, ServiceStateEvent) and not event.running:
        return Alert("stopped", "AutoHedge stopped", f"Trading stopped{f': {event.detail}' if event.detail else ''}")
    return None


class AlertWatch:
    """The alerts that depend on what came before (called from the service thread only).

    - The price stream: one alert when it is lost (``reconnecting`` after it was up; its retries
      repeat the state and do not alert again) and one when it delivers again.
    - [O7] A position the exchange holds smaller than the state did (a liquidation, an
      auto-deleverage or a trade by hand), unless the stream's forced closes of that side (whose
      alerts were sent) account for the whole difference.
    """

    def __init__(self):
        self.stream_lost = False
        self._forced: dict[tuple[str, str], float] = {}  # (symbol, side) -> quantity the stream said was forced

    def alert(self, event: Event) -> Alert | None:
        if isinstance(event, StreamState):
            return self._stream(event)
        if isinstance(event, ForcedCloseEvent):
            key = (event.symbol, event.side)
            self._forced[key] = self._forced.get(key, 0.0) + event.qty
        if isinstance(event, PositionDifference) and event.exchange_qty < event.state_qty:
            forced = self._forced.pop((event.symbol, event.side), 0.0)
            if event.state_qty - event.exchange_qty <= forced * (1 + 1e-9):
                return None  # the reconciliation's echo of forced closes already alerted
            return Alert("liquidations", f"AutoHedge: {event.symbol} {event.side} reduced on the exchange",
                         f"[O7] {event.symbol} {event.side}: the exchange holds {event.exchange_qty:g}, the bot held "
                         f"{event.state_qty:g} (a liquidation, an auto-deleverage or a trade by hand); "
                         "the exchange's position is taken.")
        return alert_for(event)

    def _stream(self, event: StreamState) -> Alert | None:
        if event.state == "reconnecting" and not self.stream_lost:
            self.stream_lost = True
            return Alert("stopped", "AutoHedge: price stream lost",
                         "The candle stream is reconnecting; no close arrives until it is back "
                         f"(REST fills the gap){f': {event.detail}' if event.detail else ''}.")
        if event.state in ("connected", "rest") and self.stream_lost:
            self.stream_lost = False
            return Alert("stopped", "AutoHedge: price stream back", "The candle stream delivers again.")
        return None


class AlertDispatcher:
    """Sends wanted alerts to every sink from one background thread, started on the first alert."""

    def __init__(self, settings: AlertSettings, sinks: list[AlertSink]):
        self.settings = settings
        self.sinks = list(sinks)
        self._queue: queue.Queue = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failing: set[str] = set()
        self._dropped = False
        self.sent = 0  # alerts handed to every sink (for tests and the log)
        self.watch = AlertWatch()
        _live.add(self)

    def listener(self, downstream: EventListener) -> EventListener:
        """A listener giving every event to ``downstream`` first, then looking for an alert in it."""
        def listen(event: Event) -> None:
            try:
                downstream(event)
            finally:
                self.offer(event)
        return listen

    def offer(self, event: Event) -> None:
        """Queue the event's alert when its kind is switched on; never raises, never blocks."""
        try:
            alert = self.watch.alert(event)
            if alert is not None and getattr(self.settings, alert.kind):
                self._put(alert)
            if isinstance(event, ServiceStateEvent) and not event.running:
                self._put(_STOP)  # the service is done: the thread ends once the queue is sent
        except Exception:  # noqa: BLE001 - alerts must never disturb trading
            log.exception("alert not queued")

    def _put(self, item: Any) -> None:
        with self._lock:  # the thread's start and end are decided under this lock: no alert is left behind
            if self._thread is None:
                if item is _STOP:
                    return
                self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
                self._thread.start()
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                if not self._dropped:
                    self._dropped = True
                    log.warning("too many alerts waiting to be sent; later ones are dropped until the queue empties")

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    with self._lock:
                        if self._queue.empty():
                            self._thread = None
                            return
                    continue
                self._dropped = False
                for sink in self.sinks:
                    self._send(sink, item)
                self.sent += 1
            finally:
                self._queue.task_done()

    def _send(self, sink: AlertSink, alert: Alert) -> None:
        try:
            sink.send(alert)
        except Exception as exc:  # noqa: BLE001 - a failed alert is logged, trading goes on
            if sink.name not in self._failing:
                self._failing.add(sink.name)
                log.warning("alert not sent to %s (%s); trading goes on, later failures of it are not logged "
                            "until it works again", sink.name, _reason(exc))
        else:
            self._failing.discard(sink.name)

    def wait_until_sent(self, timeout: float | None = None) -> bool:
        """Block until every queued alert was handed to the sinks (tests; program exit)."""
        done = self._queue.all_tasks_done  # the queue's own condition, notified by task_done()
        with done:
            return done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._put(_STOP)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_live: "weakref.WeakSet[AlertDispatcher]" = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """Closing the window stops the service, whose last alert ("stopped") is still queued: let it go out.

    atexit runs before the interpreter ends the (daemon) alert threads; each waits at most a few seconds.
    """
    for dispatcher in list(_live):
        dispatcher.wait_until_sent(EXIT_FLUSH_SECONDS)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----- apprise ----------------------------------------------------------------------------------

def _secret_parts(url: str) -> list[str]:
    """The parts of a URL to hide: its password and every long token (bot tokens, webhook keys)."""
    parts = [urlsplit(url).password or ""]
    parts += [piece for piece in re.split(r"[/:@?&=#]", url.split("://", 1)[-1]) if len(piece) >= 16]
    return sorted({part for part in parts if part}, key=len, reverse=True)


def display_url(url: str) -> str:
    """The URL with its secrets blanked and no options, for the window and the log."""
    import apprise  # imported on use: the window opens without it

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        scheme = urlsplit(url).scheme
        return f"{scheme}://…" if scheme else "…"
    text = plugin.url(privacy=True).split("?", 1)[0]  # apprise blanks what it knows to be secret
    for part in _secret_parts(url):
        text = text.replace(part, "***")
    return text


def protect_urls(urls: list[str]) -> None:
    """Register the URLs and their secret parts with the log redaction (adapters.secrets)."""
    redaction = install_log_redaction()
    for url in urls:
        redaction.add_secret(url)
        for part in _secret_parts(url):
            redaction.add_secret(part)


class AppriseSink:
    """Sends through apprise to every URL (Telegram, e-mail, webhooks, ...)."""

    def __init__(self, urls: list[str]):
        import apprise

        logging.getLogger("apprise").setLevel(logging.CRITICAL)  # its per-attempt lines would repeat our one line
        protect_urls(urls)
        self._apprise = apprise.Apprise()
        names = []
        for url in urls:
            if not self._apprise.add(url):
                raise UserError(f"{display_url(url)} is not an alert URL apprise understands "
                                "(e.g. tgram://BOT_TOKEN/CHAT_ID or mailto://user:password@gmail.com)")
            names.append(display_url(url))
        self.name = ", ".join(names)

    def send(self, alert: Alert) -> None:
        if not self._apprise.notify(title=alert.title, body=alert.body):
            raise ConnectionError("not delivered")


# ----- wiring: the service builder with alerts ---------------------------------------------------

SinksFactory = Callable[[AlertSettings], list[AlertSink]]


def alerting_builder(builder: Callable[..., Any], sinks_for: SinksFactory) -> Callable[..., Any]:
    """``builder`` (live.assemble.build_service's signature) whose service also sends alerts.

    A paper replay sends none: it replays months in minutes, thousands of fills.
    """
    def build(settings, listener, *, mode: str, **kwargs):  # type: ignore[no-untyped-def]
        sinks = [] if mode == "replay" else sinks_for(settings.alerts)
        if sinks:
            listener = AlertDispatcher(settings.alerts, sinks).listener(listener)
        return builder(settings, listener, mode=mode, **kwargs)
    return build


def apprise_sinks(settings: AlertSettings) -> list[AlertSink]:
    """The saved alert URLs as one sink (none saved: no sink). Bad URLs are logged and skipped."""
    urls = load_alert_urls()
    if not urls:
        return []
    try:
        return [AppriseSink(urls)]
    except UserError as exc:
        log.warning("alerts: %s", exc)
        return []
