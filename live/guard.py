"""The guard keeper: exactly one exchange-side guard per held main position [E1] (pure).

A guard is a conditional order held by Binance's Algo Order service (adapters/binance_algo.py)
that acts while the bot cannot -- asleep, crashed, offline, or stopped with positions kept --
at an adverse distance from the main's entry:

- mode ``hedge``: it opens the equal hedge on the other side, the strategy's own answer to a
  loss [R5] done by the exchange; the hedge is the main's quantity capped at CALL_SIZE [R6] less
  what the other side already holds (a main already fully hedged needs no hedge guard: the
  hedge is its protection, and a second one would take the side above CALL_SIZE);
- mode ``stop``: it closes the whole main (``closePosition``), a disaster stop;
- mode ``off``: no guard; every guard of the bot found open is cancelled.

:func:`keep_guards` compares what should be open with what the exchange lists and returns the
actions that make them equal, for start-up and every close: place a missing guard, replace one
whose quantity or trigger no longer fits (the main's quantity or entry changed), cancel the
orphans (their main is gone) and the doubles. It decides only; the service carries the actions
out **in order, cancels before places**, so two guards of one main never stand together (both
could trigger). A cancel answered "no longer open" means the guard may have triggered: the
service then reads the positions again and runs the keeper again before placing anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Iterable

from adapters.binance_algo import Guard, is_guard_id
from core.model import Side

MODES = ("hedge", "stop", "off")


@dataclass(frozen=True)
class GuardSettings:
    """``mode`` hedge | stop | off; ``distance_pct``: the adverse move from the entry that
    triggers the guard, in percent of the entry price."""

    mode: str = "hedge"
    distance_pct: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"guard mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode != "off" and not 0 < self.distance_pct < 100:
            raise ValueError(f"guard distance {self.distance_pct}% must be above 0 and below 100")


@dataclass(frozen=True)
class HeldMain:
    """A main position the bot holds, as the exchange holds it (after reconciliation)."""

    symbol: str
    side: Side
    qty: Decimal
    entry_price: Decimal
    opposite_qty: Decimal = Decimal(0)  # what the other side (the hedge) holds now
    call_size: Decimal | None = None  # the symbol's CALL_SIZE: no guard takes a side above it
    tick_size: Decimal | None = None  # PRICE_FILTER tickSize: the trigger is rounded to it


@dataclass(frozen=True)
class WantedGuard:
    symbol: str
    main: Side
    kind: str  # hedge | stop
    qty: Decimal  # the hedge to open; for a stop the main's quantity (it closes all of it)
    trigger_price: Decimal


@dataclass(frozen=True)
class GuardAction:
    """``action`` place | cancel. A place carries ``wanted``; a cancel the guard's ``client_id``."""

    action: str
    symbol: str
    main: Side
    reason: str
    wanted: WantedGuard | None = None
    client_id: str = ""

    def line(self) -> str:
        """The trader's log line [E1]."""
        if self.action == "place" and self.wanted is not None:
            what = ("open the hedge " + _plain(self.wanted.qty) if self.wanted.kind == "hedge"
                    else "close the main")
            return (f"[E1] {self.symbol} {self.main.value} guard: place, {what} at {_plain(self.wanted.trigger_price)} "
                    f"({self.reason})")
        return f"[E1] {self.symbol} {self.main.value} guard {self.client_id}: cancel ({self.reason})"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def trigger_price(side: Side, entry: Decimal, distance_pct: float, tick: Decimal | None = None) -> Decimal:
    """The adverse price ``distance_pct`` from ``entry``: below it for LONG, above for SHORT;
    rounded to ``tick`` away from the entry (never nearer than asked)."""
    move = entry * Decimal(repr(distance_pct)) / Decimal(100)
    price = entry - move * side.direction
    if tick:
        rounding = ROUND_FLOOR if side is Side.LONG else ROUND_CEILING
        price = (price / tick).to_integral_value(rounding) * tick
    return price


def wanted_guard(main: HeldMain, settings: GuardSettings) -> WantedGuard | None:
    """The guard ``main`` should have now, or None (mode off, nothing held, or fully hedged)."""
    if settings.mode == "off" or main.qty <= 0 or main.entry_price <= 0:
        return None
    trigger = trigger_price(main.side, main.entry_price, settings.distance_pct, main.tick_size)
    if settings.mode == "stop":
        return WantedGuard(main.symbol, main.side, "stop", main.qty, trigger)
    cap = main.qty if main.call_size is None else min(main.qty, main.call_size)
    hedge = cap - main.opposite_qty
    if hedge <= 0:
        return None
    return WantedGuard(main.symbol, main.side, "hedge", hedge, trigger)


def _fits(guard: Guard, wanted: WantedGuard) -> bool:
    if guard.kind != wanted.kind or guard.trigger_price != wanted.trigger_price:
        return False
    return wanted.kind == "stop" or guard.quantity == wanted.qty


def keep_guards(mains: Iterable[HeldMain], open_guards: Iterable[Guard], settings: GuardSettings,
                symbols: Iterable[str] | None = None) -> list[GuardAction]:
    """The actions that leave exactly one fitting guard per held main and no other guard of the
    bot. ``symbols``: the symbols this service trades (guards of others are left alone); None =
    every symbol the guards name. Cancels come before places."""
    held = {(main.symbol, main.side): main for main in mains if main.qty > 0}
    scope = set(symbols) if symbols is not None else None
    by_main: dict[tuple[str, Side], list[Guard]] = {}
    for guard in open_guards:
        if guard.is_open and (scope is None or guard.symbol in scope):
            by_main.setdefault((guard.symbol, guard.main), []).append(guard)
    cancels: list[GuardAction] = []
    places: list[GuardAction] = []
    for key in sorted(set(held) | set(by_main), key=lambda item: (item[0], item[1].value)):
        symbol, side = key
        guards = sorted(by_main.get(key, []), key=lambda guard: guard.algo_id)
        main = held.get(key)
        if main is None:
            cancels += [GuardAction("cancel", symbol, side, "orphan: no main is held on this side",
                                    client_id=guard.client_id) for guard in guards]
            continue
        wanted = wanted_guard(main, settings)
        if wanted is None:
            why = "guard mode off" if settings.mode == "off" else "the main is already hedged"
            cancels += [GuardAction("cancel", symbol, side, why, client_id=guard.client_id) for guard in guards]
            continue
        keep = next((guard for guard in guards if _fits(guard, wanted)), None)
        for guard in guards:
            if guard is keep:
                continue
            reason = ("double: another guard already protects this main" if keep is not None
                      else f"replace: {guard.kind} {_plain(guard.quantity)} at {_plain(guard.trigger_price)} -> "
                           f"{wanted.kind} {_plain(wanted.qty)} at {_plain(wanted.trigger_price)}")
            cancels.append(GuardAction("cancel", symbol, side, reason, client_id=guard.client_id))
        if keep is None:
            reason = "missing" if not guards else "replacement"
            places.append(GuardAction("place", symbol, side, reason, wanted=wanted))
    return cancels + places


def is_guard_trigger(client_id: str) -> bool:
    """Whether an order (ORDER_TRADE_UPDATE ``c``) or algo order (ALGO_UPDATE ``caid``) is one of the
    bot's guards: its fill is the bot's own action [E2], not a trade made by hand."""
    return is_guard_id(client_id)
