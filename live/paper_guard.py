"""The guard a paper exchange holds [E1]: paper trading and replays model it as the backtest does.

Demo trading and live hold the guard on Binance's Algo Order service (live/guard.py,
live/guard_room.py) and the exchange fires it. Paper trading has no exchange to hold it, so the
simulated exchange holds it, with the backtest's one rule: :meth:`core.strategy.HedgeStrategy.on_bar_guard`
(:func:`core.decide.decide_guard`). For every new 5m candle of a symbol, **before** that
candle's close rules (daily, then 5m), the guard standing for the held main may trigger inside
the candle with its high and low: it fills at the trigger, or at the candle's open when the
candle gapped through it, plus the paper broker's slippage and fee. A new guard is placed at the
last close (paper fills at the decision's close, as ``fill: close``); one whose trigger is already
passed there is not placed (Binance's -2021), as in the backtest.

The guard's order goes through the order room like any of the bot's own orders: the decision line
``[E1] …`` and the fill line ``[O3] … (E1, …)`` with the symbol, side, quantity and price, the
journal, the ledger and the window's fill event; a ``[E2]`` line (an alert, as live) says that the
guard triggered and that the position is the bot's. So a replay with the guard on makes the trades
of ``backtest --fill close`` on the same candles (tests/test_runner_parity.py).

The simulated exchange forgets on a restart (like the paper broker's positions): the guard is
placed again at the first close after it, and over closes that were missed while the bot was
stopped (more than the catch-up replays) it acts as the exchange's would have, before the bot
acts on them.
"""
from __future__ import annotations

from typing import Iterable

from core import decide
from core.model import Action, Candle, Side
from live.context import ServiceContext, SymbolSlot
from live.orders import OrderRoom


class PaperGuard:
    """Fires the simulated exchange's guard [E1] inside each new 5m candle, through the order room."""

    def __init__(self, ctx: ServiceContext, orders: OrderRoom) -> None:
        self.ctx = ctx
        self.orders = orders  # live/orders.OrderRoom: save before send [O2], journal, ledger, log [O3]

    def before_close(self, slot: SymbolSlot, candle: Candle) -> None:
        """``candle`` is about to be decided on: the guard acts inside it first. The guard is placed
        at the last close the symbol saw (none yet: the candle's open); a candle already seen is
        not acted on again."""
        driver = slot.driver
        if driver is None or candle.close_time <= driver.bars.last_time:
            return
        closes = driver.bars.closes
        self._act(slot, candle, closes[-1] if closes else candle.open)

    def while_stopped(self, slot: SymbolSlot, candles: Iterable[Candle]) -> None:
        """Closes missed while the bot was stopped and not replayed: the exchange's guard acted in them
        all the same, before the bot, on restarting, acts on what it missed."""
        driver = slot.driver
        if driver is None:
            return
        placing = driver.bars.closes[-1] if driver.bars.closes else None
        for candle in candles:
            if candle.close_time > driver.bars.last_time:
                self._act(slot, candle, candle.open if placing is None else placing)
            placing = candle.close

    def _act(self, slot: SymbolSlot, candle: Candle, placing: float) -> None:
        strategy = slot.strategy
        guard = strategy.params.guard
        if guard.mode == "off":
            return
        intents, price = strategy.on_bar_guard(candle.open_time, placing, candle.open, candle.high, candle.low)
        if not intents:
            return
        intent = intents[0]  # the guard decides one order: the hedge it opens or the main it closes
        main = intent.side if intent.action is Action.CLOSE else intent.side.opposite
        trigger = decide.guard_trigger_price(decide.LONG if main is Side.LONG else decide.SHORT,
                                             strategy.state.positions[main].entry_price, guard.distance_pct)
        what = "closed the main" if intent.action is Action.CLOSE else f"opened the hedge {intent.qty:g}"
        where = (f"at {price:g}" if price == trigger else
                 f"at the candle's open {price:g}, beyond its trigger {trigger:g}")
        self.ctx.log("WARNING", slot.symbol, f"[E2] {slot.symbol} {main.value} guard triggered {where} and {what} "
                     "(the paper exchange's guard): the bot's own action, not a trade by hand", rule="E2",
                     at=candle.open_time)
        self.orders.execute(slot, intents, price, candle.open_time)
        self.ctx.emit_status(slot)
