"""What the trader's cockpit shows besides the status table: account, heartbeat, live candles.

:class:`CockpitReporter` lives inside the trading service's thread. The service calls
:meth:`tick` on every turn of its loop, :meth:`on_bar` for every closed candle it
processed and :meth:`on_fill` before it applies a fill; the reporter turns that into
:class:`~live.events.AccountUpdate`, :class:`~live.events.Heartbeat`,
:class:`~live.events.CandleUpdate` and :class:`~live.events.StreamState` events,
throttled on the wall clock so a fast replay does not flood the window.

The next-decision preview asks the strategy itself: a deep copy of the symbol's
driver is handed the hypothetical close, so the preview can never disagree with
the rules that will really run [R1-R5, X1-X3].
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from core import indicators
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Candle, Fill, Action
from core.ports import BrokerError
from core.rules import pnl, pnl_pct
from live.events import (
    AccountUpdate, CandleUpdate, DecisionPreview, Event, Heartbeat, PositionRisk, StreamState, SymbolFormat,
)
from live.status import symbol_leverage
from live.symbol_driver import SymbolDriver

if TYPE_CHECKING:
    from core.strategy import HedgeStrategy

log = logging.getLogger("autohedge")

HEARTBEAT_EVERY_S = 1.0
ACCOUNT_EVERY_S = 5.0  # one account + one positionRisk request: weight 10 of 2400 a minute
TICK_SAMPLE = 20  # closes read to infer a tick size the broker does not know
ACCOUNT_AFTER_FILL_S = 0.5  # after fills, refresh sooner (at most this often)
ACCOUNT_RETRY_S = 30.0  # after a failed refresh (network down), wait this long
# A simulated (paper) broker answers from memory: its strip follows every close, at most this often,
# so the strip's ROE and the status table's are of the same price (a replay runs many closes a second).
LOCAL_ACCOUNT_S = 0.2


def inferred_tick(candles: list[Candle]) -> float | None:
    """A tick size read off the prices when the broker knows none (a replay): the finest
    decimal of the recent closes, e.g. 0.0693 and 0.06931 -> 0.00001."""
    decimals = [len(repr(c.close).split(".")[1].rstrip("0")) if "." in repr(c.close) and "e" not in repr(c.close)
                else 0 for c in candles[-200:]]
    return 10.0 ** -min(8, max(decimals)) if decimals else None


def last_signal(driver: SymbolDriver) -> str:
    """The 5m signal of the last closed candle (what the rules saw last)."""
    closes = np.asarray(driver.bars.closes[-driver.limit:])
    if closes.size == 0:
        return "NONE"
    return indicators.code_to_signal(indicators.signal_codes(closes, driver.params)[-1]).value


def preview_decision(driver: SymbolDriver, price: float, close_time: int) -> DecisionPreview:
    """What the rules would do if the candle closing at ``close_time`` closed at ``price``:
    the real driver and strategy, run on a deep copy (nothing of the original changes)."""
    trial = copy.deepcopy(driver)
    intents = trial.on_bar(Candle(close_time - FIVE_MINUTES_MS, price, price, price, price, 0.0, close_time))
    actions = tuple(f"{i.action.value} {i.side.value} {i.qty:g} [{i.reason}]" for i in intents)
    return DecisionPreview(price, last_signal(trial), actions, tuple(i.reason for i in intents))


def exit_levels(strategy: "HedgeStrategy") -> tuple[tuple[str, float], ...]:
    """Prices at which the main position's exits [X1, X3] would trigger, for the chart.

    Take profit [X1]: ``entry * (1 + d * take_profit_pct / 100)``; trailing activation
    [X3]: ``entry * (1 + d * trailing_activation_pct / 100)``; once the best close has
    reached it, the trailing stop ``best * (1 - d * trailing_pct / 100)`` (d = +1 LONG,
    -1 SHORT). These are the thresholds of core.rules solved for the price.
    """
    regime = strategy.state.regime
    if regime is None:
        return ()
    side = regime.main_side
    position = strategy.state.positions[side]
    if not position.is_open:
        return ()
    params, d, entry = strategy.params.exit, side.direction, position.entry_price
    levels = [("take_profit", entry * (1 + d * params.take_profit_pct / 100.0)),
              ("activation", entry * (1 + d * params.trailing_activation_pct / 100.0))]
    best = position.best_price or entry
    if pnl_pct(side, entry, best) >= params.trailing_activation_pct:
        levels.append(("trailing_stop", best * (1 - d * params.trailing_pct / 100.0)))
    return tuple(levels)


class CockpitReporter:
    """Emits the cockpit's events for one :class:`live.service.TradingService`."""

    def __init__(self, service, emit: Callable[[Event], None], monotonic: Callable[[], float] = time.monotonic,
                 heartbeat_every_s: float = HEARTBEAT_EVERY_S, account_every_s: float = ACCOUNT_EVERY_S):
        self.service = service
        self.emit = emit
        self.monotonic = monotonic
        self.heartbeat_every_s = heartbeat_every_s
        self.account_every_s = account_every_s
        self._next_heartbeat = 0.0
        self._last_account = float("-inf")
        self._account_due = True
        self._day_totals: dict[int, list[float]] = {}  # UTC day -> [realised PnL, fees]
        self._lock = threading.Lock()  # the day totals: written here, read by the account worker
        self._account_thread: threading.Thread | None = None
        self._tickless: dict[str, list[Candle]] = {}  # symbols whose tick size is still unknown: closes seen
        self._steps: dict[str, float | None] = {}
        feed = service.feed
        if hasattr(feed, "on_state"):
            feed.on_state = self._stream_state
        else:
            self.emit(StreamState("replay", "candles from a data folder", service.clock()))

    def _stream_state(self, state: str, detail: str) -> None:
        self.emit(StreamState(state, detail, self.service.clock()))

    # ----- called by the service ------------------------------------------------------------

    def on_fill(self, fill: Fill, entry_price: float) -> None:
        """Before the fill is applied: the realised PnL of a close is against the held entry."""
        with self._lock:
            totals = self._day_totals.setdefault(fill.time // ONE_DAY_MS, [0.0, 0.0])
            if fill.action is Action.CLOSE and entry_price > 0:
                totals[0] += pnl(fill.side, entry_price, fill.price, fill.qty)
            totals[1] += fill.fee
        self._account_due = True

    def on_bar(self, symbol: str, candle: Candle, regime: str) -> None:
        self.emit(CandleUpdate(symbol, candle, True, regime))
        if _is_local(self._account_source()):
            self._account_due = True
        waiting = self._tickless.get(symbol)
        if waiting is not None:  # no tick size known: read it off the first closes seen
            waiting.append(candle)
            if len(waiting) >= TICK_SAMPLE:
                del self._tickless[symbol]
                self.emit(SymbolFormat(symbol, inferred_tick(waiting), self._steps.get(symbol)))

    def on_history(self, symbol: str, candles: list[Candle], regime: str, keep: int = 288) -> None:
        """At start-up: how to print the symbol's numbers, and the last day of closed candles
        so the live chart is not empty. Never fails the symbol's start."""
        try:
            self._describe(symbol, candles, regime, keep)
        except Exception:  # noqa: BLE001
            log.exception("cockpit: %s history not shown", symbol)

    def _describe(self, symbol: str, candles: list[Candle], regime: str, keep: int) -> None:
        rules = self.service.broker.symbol_rules(symbol)
        tick = float(rules.tick_size) if rules.tick_size else inferred_tick(candles)
        self._steps[symbol] = float(rules.step_size) if rules.step_size else None
        self.emit(SymbolFormat(symbol, tick, self._steps[symbol]))
        if tick is None:
            self._tickless[symbol] = []
        for candle in candles[-keep:]:
            self.emit(CandleUpdate(symbol, candle, True, regime))

    def tick(self) -> None:
        """Heartbeats and the account when due. Whatever goes wrong here is logged and never
        reaches the trading loop: the cockpit only watches."""
        try:
            self._tick()
        except Exception:  # noqa: BLE001
            log.exception("cockpit refresh failed")

    def _tick(self) -> None:
        now = self.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_every_s
            for slot in list(self.service.slots.values()):
                if slot.driver is not None:
                    self._heartbeat(slot)
        since = now - self._last_account
        soon = LOCAL_ACCOUNT_S if _is_local(self._account_source()) else ACCOUNT_AFTER_FILL_S
        if since >= self.account_every_s or (self._account_due and since >= soon):
            self._last_account = now
            self._account_due = False
            self._account()

    def refresh_soon(self) -> None:
        """Asked by the user (F5): heartbeats at the next tick and the account as soon as the
        request budget's throttle allows (called from another thread: two flag writes)."""
        self._account_due = True
        self._next_heartbeat = 0.0

    def _account_source(self):
        """The service's ``account_view`` (an exchange connection of its own) or its broker."""
        return getattr(self.service, "account_view", None) or self.service.broker

    def flush(self) -> None:
        """At shutdown: the account once more, whatever the throttle says (a simulated broker
        only: a stop never waits for the network)."""
        if _is_local(self._account_source()):
            self._last_account = self.monotonic()
            self._account()

    # ----- heartbeat and account ---------------------------------------------------------------

    def _heartbeat(self, slot) -> None:
        driver: SymbolDriver = slot.driver
        last_close = driver.bars.last_time
        price, close_time = slot.last_price, last_close + FIVE_MINUTES_MS
        partial = getattr(self.service.feed, "open_candle", lambda symbol: None)(slot.symbol)
        if partial is not None and partial.close_time > last_close:
            price, close_time = partial.close, partial.close_time
            regime = slot.strategy.state.regime
            self.emit(CandleUpdate(slot.symbol, partial, False, regime.value if regime else ""))
        preview = None
        if price is not None and last_close and not slot.strategy.state.pending:
            try:
                preview = preview_decision(driver, price, close_time)
            except Exception:  # noqa: BLE001 - a preview must never disturb trading
                log.exception("decision preview failed for %s", slot.symbol)
        self.emit(Heartbeat(slot.symbol, self.service.clock(), last_close, last_signal(driver), preview,
                            exit_levels(slot.strategy), self._clock_offset()))

    def _clock_offset(self) -> int | None:
        """[W1] Binance's clock minus this computer's, as the order connection last measured it
        (python-binance's ``timestamp_offset``); None for a simulated broker."""
        if not getattr(getattr(self.service, "options", None), "reconcile", False):
            return None
        offset = getattr(getattr(self.service.broker, "client", None), "timestamp_offset", None)
        return int(offset) if isinstance(offset, (int, float)) else None

    def _market_day(self) -> int:
        """Today: the UTC day of the latest close processed (the replay's or the exchange's market
        day; the same as the wall clock's in live trading), the clock's before any close."""
        latest = max((slot.last_time for slot in list(self.service.slots.values())), default=0)
        return (latest or self.service.clock()) // ONE_DAY_MS

    def _account(self) -> None:
        """A simulated broker answers at once, in this thread (its books change only here). An
        exchange is asked in a worker thread, so a slow or absent network never delays a candle:
        one request at a time, and after a failure the next one only after ACCOUNT_RETRY_S."""
        broker = self._account_source()
        if getattr(broker, "account_snapshot", None) is None:
            return
        slots = self.service.slots
        symbols = list(slots)
        marks = {name: slot.last_price for name, slot in slots.items() if slot.last_price is not None}
        if _is_local(broker):
            self._fetch_account(symbols, marks)
            return
        if self._account_thread is not None and self._account_thread.is_alive():
            return
        self._account_thread = threading.Thread(target=self._fetch_account, args=(symbols, marks),
                                                name="account-refresh", daemon=True)
        self._account_thread.start()

    def _fetch_account(self, symbols: list[str], marks: dict[str, float]) -> None:
        try:
            snapshot = self._account_source().account_snapshot(symbols, marks)
        except BrokerError as exc:
            log.info("account figures not refreshed: %s", exc.message)
            self._last_account = self.monotonic() + ACCOUNT_RETRY_S - self.account_every_s
            return
        with self._lock:
            realized, fees = self._day_totals.get(self._market_day(), [0.0, 0.0])
        leverage = getattr(self.service, "leverage", {})
        slots = self.service.slots
        ledger = getattr(getattr(self.service, "ctx", None), "ledger", None)
        funding: float | None = ledger.funding_today(self._market_day() * ONE_DAY_MS) if ledger is not None else 0.0
        if _is_local(self._account_source()):
            funding = None  # the paper broker charges no funding: "not modelled", never a 0 that looks measured
        if ledger is not None:  # liquidations, ADL, settlements of the day: the exchange's fills, from the ledger
            forced_realized, forced_fees = ledger.forced_today(self._market_day() * ONE_DAY_MS)
            realized, fees = realized + forced_realized, fees + forced_fees
        self.emit(AccountUpdate(
            self.service.clock(), snapshot.wallet, snapshot.margin_balance, snapshot.unrealized_pnl, realized, fees,
            snapshot.margin_ratio_pct,
            tuple(PositionRisk(p.symbol, p.side.value, p.qty, p.entry_price, p.mark_price, p.unrealized_pnl,
                               p.liquidation_price, symbol_leverage(slots.get(p.symbol), leverage, p.symbol))
                  for p in snapshot.positions),
            funding, getattr(snapshot, "asset", "USDT")))


def _is_local(broker) -> bool:
    """A simulated (paper) broker: it takes its prices from the service (``set_price``) and
    answers from memory; anything else is a remote exchange."""
    return hasattr(broker, "set_price")
