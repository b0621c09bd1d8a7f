"""The guard room: carries out the guard keeper's actions on the exchange [E1, E2].

live/guard.py decides (pure); this room acts. At start-up and after every close (once the
positions were reconciled [O7]) it reads the held mains from the symbols' states, lists the
bot's open guards on Binance's Algo Order service and carries :func:`keep_guards`'s actions
out **in order, cancels before places**. A cancel answered "no longer open" means the guard may
have triggered: the positions are read again and the keeper runs again before anything is
placed, so a guard never stands beside the hedge it already opened.

Which side is the main: the only side held, or, with both held, the side entered first (the
hedge is the answer to the main's loss, so it comes later); a tie goes to the larger side.

A guard's trigger is the bot's own action [E2]: its ALGO_UPDATE (TRIGGERED / FINISHED) is
logged with the rule id and the positions are read at once. The guards the room placed are
remembered in ``<state_dir>/guards.json``, so one that triggered while the bot was not running
is told as such at the next start, before the reconciliation takes the hedge it opened into
the state as the bot's own position.

Guard ids carry a sequence number (adapters/binance_algo.py); it starts from the exchange's
clock in seconds and never falls below one more than any open guard's, so no id of an open
guard is reused across restarts.
"""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from adapters.binance_algo import guard_client_id, parse_guard_id
from core import decide
from core.model import Side
from core.ports import BrokerError
from live.context import ServiceContext, SymbolSlot
from live.guard_fills import changed_side, record_guard_fill
from live.guard import GuardAction, GuardSettings, HeldMain, is_guard_trigger, keep_guards

TRIGGERED_STATUSES = ("TRIGGERING", "TRIGGERED", "FINISHED")


def guard_seq(client_id: str) -> int:
    """The sequence number of a guard id (0 when not the bot's)."""
    if parse_guard_id(client_id) is None:
        return 0
    try:
        return int(client_id.rsplit("-", 1)[1], 36)
    except ValueError:
        return 0


def held_mains(slot: SymbolSlot, call_size: float, tick: Decimal | None) -> list[HeldMain]:
    """The main position of ``slot`` as the state holds it after reconciliation (none, or one)."""
    if slot.driver is None:
        return []
    positions = slot.strategy.state.positions
    long, short = positions[Side.LONG], positions[Side.SHORT]
    code = decide.guarded_side((long.qty, short.qty), (long.entry_time, short.entry_time))  # as the backtest
    if code == decide.NO_SIDE:
        return []
    main = Side.LONG if code == decide.LONG else Side.SHORT
    mine, other = positions[main], positions[main.opposite]
    return [HeldMain(slot.symbol, main, Decimal(repr(mine.qty)), Decimal(repr(mine.entry_price)),
                     Decimal(repr(other.qty)) if other.is_open else Decimal(0),
                     Decimal(repr(call_size)), tick)]


class GuardRoom:
    """Keeps exactly one guard per held main on the exchange [E1] and tells its triggers [E2]."""

    def __init__(self, ctx: ServiceContext, algo: Any, settings: GuardSettings, reconciler: Any):
        self.ctx = ctx
        self.algo = algo  # adapters/binance_algo.BinanceAlgoOrders (or a test double with its methods)
        self.settings = settings
        self.reconciler = reconciler
        self._seq = max(1, ctx.clock() // 1000)
        self._path = Path(ctx.options.state_dir) / "guards.json"
        self._known: dict[str, dict[str, str]] = self._load_known()
        self._told: set[str] = set()  # triggers told [E2]: the stream and a check may both see one

    # ----- remembered guards ------------------------------------------------------------------

    def _load_known(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {key: value for key, value in data.items() if isinstance(value, dict)} if isinstance(data, dict) else {}

    def _save_known(self) -> None:
        temp = self._path.with_suffix(".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(self._known, sort_keys=True), encoding="utf-8")
            os.replace(temp, self._path)
        except OSError as exc:  # the keeper works from the exchange's list; only the [E2] history is lost
            self.ctx.log("WARNING", None, f"[E1] the guards' list {self._path} cannot be written ({exc})")

    # ----- start-up and every close --------------------------------------------------------------

    def start(self) -> None:
        """At start-up: tell the guards that triggered while the bot was not running [E2], then keep."""
        for client_id, known in sorted(self._known.items()):
            symbol = known.get("symbol", "")
            if symbol not in self.ctx.slots:
                continue
            try:
                guard = self.algo.query_guard(symbol, client_id)
            except BrokerError as exc:
                self.ctx.log("WARNING", symbol, f"[E1] {symbol} guard {client_id} could not be looked up ({exc.message})")
                continue
            if guard is not None and guard.status in TRIGGERED_STATUSES:
                self._tell_trigger(symbol, client_id, known, "while the bot was not running")
            if guard is None or not guard.is_open:
                self._known.pop(client_id, None)
        self._save_known()
        self.keep()

    def keep(self, symbols: Iterable[str] | None = None) -> None:
        """Carry the keeper's actions out for ``symbols`` (default: every symbol traded)."""
        names = [name for name in (symbols if symbols is not None else self.ctx.slots)
                 if name in self.ctx.slots and self.ctx.slots[name].tradable]
        if not names:
            return
        for _ in range(3):  # a cancel found a triggered guard: read positions, decide again
            try:
                actions = self._actions(names)
            except BrokerError as exc:
                self.ctx.log("WARNING", None, f"[E1] the open guards could not be listed ({exc.message}); "
                             "they are checked again at the next close")
                return
            again = self._carry_out(actions)
            if not again:
                return
            for name in again:
                self.ctx.guard(name, lambda s=self.ctx.slots[name]: self.reconciler.check_positions(s))

    def _actions(self, names: list[str]) -> list[GuardAction]:
        mains: list[HeldMain] = []
        for name in names:
            slot = self.ctx.slots[name]
            if slot.strategy.state.pending:
                continue  # an order in flight: its outcome first, the guard at the next check
            mains += held_mains(slot, self.ctx.call_sizes[name], self._tick(name))
        pending = {name for name in names if self.ctx.slots[name].strategy.state.pending}
        guards = self.algo.open_guards(names[0]) if len(names) == 1 else self.algo.open_guards()
        self._seq = max([self._seq] + [guard_seq(guard.client_id) for guard in guards])
        vanished = self._vanished(names, {guard.client_id for guard in guards})
        if vanished:  # a guard the bot placed is no longer open: it may have triggered since the reading
            return [GuardAction("recheck", name, Side.LONG, "a guard is no longer open") for name in sorted(vanished)]
        guards = [guard for guard in guards if guard.symbol not in pending]
        return keep_guards(mains, guards, self.settings, [name for name in names if name not in pending])

    def _vanished(self, names: list[str], open_ids: set[str]) -> set[str]:
        """Symbols with a guard the room placed that is no longer listed open; each is looked up
        and, when it triggered, told [E2]. A place whose answer was lost is simply forgotten."""
        symbols: set[str] = set()
        for client_id, known in sorted(self._known.items()):
            symbol = known.get("symbol", "")
            if symbol not in names or client_id in open_ids:
                continue
            guard = self.algo.query_guard(symbol, client_id)
            if guard is not None and guard.is_open:
                continue  # listed a moment too early; the keeper sees it next time
            self._known.pop(client_id, None)
            if guard is not None and guard.status in TRIGGERED_STATUSES:
                self._tell_trigger(symbol, client_id, known, "seen at a check")
                symbols.add(symbol)
        self._save_known()
        return symbols

    def _tick(self, symbol: str) -> Decimal | None:
        rules = getattr(self.ctx.broker, "symbol_rules", None)
        try:
            return rules(symbol).tick_size if rules is not None else None
        except (BrokerError, KeyError, AttributeError):
            return None

    def _carry_out(self, actions: list[GuardAction]) -> set[str]:
        """Cancels first (the keeper orders them so); the symbols whose cancel found the guard
        no longer open, whose places wait for a new reading."""
        again: set[str] = set()
        for action in actions:
            if action.symbol in again:
                continue
            if action.action == "recheck":
                again.add(action.symbol)
                continue
            try:
                if action.action == "cancel":
                    if self.algo.cancel_guard(action.symbol, action.client_id):
                        self.ctx.log("INFO", action.symbol, action.line(), rule="E1")
                        self._known.pop(action.client_id, None)
                    else:
                        known = self._known.pop(action.client_id, {"symbol": action.symbol})
                        self._tell_trigger(action.symbol, action.client_id, known, "found when cancelling it")
                        again.add(action.symbol)
                else:
                    self._place(action)
            except BrokerError as exc:
                self.ctx.log("WARNING", action.symbol, f"{action.line()} failed ({exc.message}); "
                             "the guards are checked again at the next close")
        self._save_known()
        return again

    def _place(self, action: GuardAction) -> None:
        wanted = action.wanted
        assert wanted is not None
        self._seq += 1
        client_id = guard_client_id(wanted.symbol, wanted.main, wanted.kind, self._seq)
        self._known[client_id] = {"symbol": wanted.symbol, "main": wanted.main.value, "kind": wanted.kind,
                                  "qty": format(wanted.qty, "f"), "trigger": format(wanted.trigger_price, "f")}
        self._save_known()  # before the request: an unknown outcome is still found at the next start
        self.ctx.log("INFO", action.symbol, f"{action.line()} as {client_id}", rule="E1")
        self.algo.place_guard(wanted.symbol, wanted.main, wanted.kind, wanted.qty, wanted.trigger_price, client_id)

    # ----- triggers [E2] -------------------------------------------------------------------------

    def on_algo_update(self, update: Any) -> None:
        """An ALGO_UPDATE of the user stream: a guard of the bot triggered -> [E2] and read the positions."""
        client_id = getattr(update, "client_algo_id", "")
        if not is_guard_trigger(client_id) or update.status not in ("TRIGGERED", "FINISHED"):
            return
        if client_id in self._told:  # told already (at TRIGGERED, or by a check that found it gone)
            if update.status == "FINISHED":  # its fill, if the TRIGGERED look-up was too early [E1]
                record_guard_fill(self.ctx, self.reconciler.trades, update.symbol, client_id)
            return
        known = self._known.pop(client_id, {"symbol": update.symbol})
        self._save_known()
        self._tell_trigger(update.symbol, client_id, known, "while trading")
        slot = self.ctx.slots.get(update.symbol)
        if slot is not None and slot.driver is not None and not slot.strategy.state.pending:
            self.ctx.guard(update.symbol, lambda: self.reconciler.check_positions(slot))
            self.ctx.emit_status(slot)

    def _tell_trigger(self, symbol: str, client_id: str, known: dict[str, str], when: str) -> None:
        if client_id in self._told:
            return
        self._told.add(client_id)
        parsed = parse_guard_id(client_id)
        kind = parsed[2] if parsed else known.get("kind", "")
        main = parsed[1].value if parsed else known.get("main", "")
        what = "opened the hedge" if kind == "hedge" else "closed the main"
        at = f" at {known['trigger']}" if "trigger" in known else ""
        self.ctx.log("WARNING", symbol, f"[E2] {symbol} {main} guard {client_id} triggered{at} and {what} "
                     f"({when}): the bot's own action, not a trade by hand; the position is the bot's", rule="E2")
        changed = changed_side(client_id)
        if changed is not None and hasattr(self.reconciler, "expect_own"):
            self.reconciler.expect_own(symbol, changed[0], client_id)  # the next reading takes it as the bot's own
        record_guard_fill(self.ctx, getattr(self.reconciler, "trades", {}), symbol, client_id)
