"""The loss limits [L1, L2] on the ACCOUNT, and [L3]'s other symbols, in live and paper trading.

The backtest marks each symbol on its own share of the account (docs/RULES.md, [L]). Live trading
has the whole account: its equity is what the exchange reports (wallet balance + unrealised PnL,
Binance's ``totalMarginBalance``; in paper trading the paper account's), read once per 5m close
time, before the first decision of that close. The rule is :func:`core.decide.track_limits`, the
function both backtest engines run; the figures it carries (the UTC day's start, the peak, the
breach) are saved in ``<state folder>/account_limits.json`` after every change, atomically, so a
restart neither forgets a breach nor restarts the peak.

A breach applies to every symbol at once: one log line with its figures, one alert (live/alerts.py
alerts on this line only, not on the orders it causes), no new main on any symbol for the rest of
the UTC day; with ``on_breach: flatten`` every symbol's held sides are closed at once under the
breach's rule id (:meth:`core.strategy.HedgeStrategy.flatten`) and, once everything is flat, the
service stops. A restart the same UTC day keeps new mains blocked unless the user overrides
(``run --override-limits``, or "yes" to the window's question at Start).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

from core import decide
from core.model import Action, Side
from core.ports import BrokerError
from core.trades import iso_utc
from live.reasons import describe

FILE_NAME = "account_limits.json"
BREACH_RULES = ("L1", "L2")


@dataclass
class LimitsRecord:
    """What :func:`core.decide.track_limits` carries from close to close, and the breach's figures."""

    limit_day: int = -1  # the UTC day the figures are of; -1 = nothing marked yet
    day_start_equity: float = 0.0
    peak_equity: float = 0.0  # the highest equity ever marked: never restarted [L2]
    breach_day: int = -1  # the UTC day of the last breach, -1 = none
    breach_rule: str = ""  # L1 | L2
    breach_time: int = 0  # the close time (ms) at which it was decided
    breach_equity: float = 0.0
    breach_limit: str = ""  # the limit in words, e.g. "50 USDT"
    override_day: int = -1  # a UTC day whose breach the user chose to trade through

    @classmethod
    def from_dict(cls, data: Any) -> "LimitsRecord":
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
        record = cls()
        for field in fields(cls):
            if field.name in data:
                value = data[field.name]
                kind = type(getattr(record, field.name))
                if kind is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if type(value) is not kind:
                    raise ValueError(f"{field.name} is {value!r}")
                setattr(record, field.name, value)
        return record

    def blocked_day(self) -> int:
        """The UTC day on which no new main may open (core.decide.breach_blocks), -1 = none."""
        return self.breach_day if self.breach_day >= 0 and self.breach_day != self.override_day else -1


@dataclass(frozen=True)
class Breach:
    """A breach of [L1] or [L2], with the figures the trader needs to judge it."""

    rule: str
    time_ms: int
    equity: float
    day_start_equity: float
    peak_equity: float
    limit: str
    flatten: bool

    def sentence(self) -> str:
        what = describe(self.rule, Action.CLOSE if self.flatten else Action.OPEN)
        return (f"[{self.rule}] account limit reached at the {iso_utc(self.time_ms)} close: equity "
                f"{self.equity:.2f} USDT, day start {self.day_start_equity:.2f}, peak {self.peak_equity:.2f}, "
                f"limit {self.limit}: {what} (all symbols)")


# The words of limit_words, in English (the log, the saved record); the window passes its own
# translations of the same templates (ui/limits_question.py).
LIMIT_TEMPLATES = {
    "usdt": "{usdt} USDT",
    "pct": "{pct} % of the day's start ({usdt} USDT)",
    "daily": "a daily loss of {amounts}, fees included",
    "either": "{one} or {other}",
    "drawdown": "a drawdown of {pct} % from the peak (equity {line} USDT)",
}


def limit_words(rule: str, record: LimitsRecord, protect,  # noqa: ANN001 - core.params.ProtectParams
                templates: dict[str, str] = LIMIT_TEMPLATES) -> str | None:
    """The limit ``rule`` that broke, in words and USDT; None when that limit is off in ``protect``."""
    if rule == "L1":
        amounts = []
        if protect.max_daily_loss_usdt > 0:
            amounts.append(templates["usdt"].format(usdt=f"{protect.max_daily_loss_usdt:g}"))
        if protect.max_daily_loss_pct > 0:
            amounts.append(templates["pct"].format(
                pct=f"{protect.max_daily_loss_pct:g}",
                usdt=f"{record.day_start_equity * protect.max_daily_loss_pct / 100:.2f}"))
        if not amounts:
            return None
        joined = amounts[0] if len(amounts) == 1 else templates["either"].format(one=amounts[0], other=amounts[1])
        return templates["daily"].format(amounts=joined)
    if rule == "L2" and protect.max_drawdown_pct > 0:
        line = record.peak_equity * (1 - protect.max_drawdown_pct / 100)
        return templates["drawdown"].format(pct=f"{protect.max_drawdown_pct:g}", line=f"{line:.2f}")
    return None


# ----- the saved record -----------------------------------------------------------------------------


def load_record(state_dir: Path | str) -> LimitsRecord:
    """The saved record, a fresh one when there is none. Raises ValueError/OSError when unreadable."""
    path = Path(state_dir) / FILE_NAME
    if not path.exists():
        return LimitsRecord()
    return LimitsRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))


def save_record(state_dir: Path | str, record: LimitsRecord, durable: bool = True) -> None:
    """Atomic: a temp file (fsync'd when ``durable``) renamed over the record, as the state is."""
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    temp = target.with_name(FILE_NAME + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle, sort_keys=True)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temp, target)


def saved_breach(state_dir: Path | str, now_ms: int) -> LimitsRecord | None:
    """The saved record when a breach blocks the UTC day of ``now_ms`` (for the window's question
    at Start); None when nothing blocks it or the record cannot be read (the service says why)."""
    try:
        record = load_record(state_dir)
    except (OSError, ValueError):
        return None
    return record if record.blocked_day() == decide.utc_day(now_ms) else None


# ----- the service's part ------------------------------------------------------------------------


class AccountLimits:
    """Marks the account at each 5m close and applies a breach to every symbol (see the module)."""

    def __init__(self, ctx, orders, stop: Callable[[], None],  # noqa: ANN001 - live.context / live.orders
                 account_source: Callable[[], Any], after_flatten: Callable[[], None] = lambda: None):
        self.ctx = ctx
        self.orders = orders
        self.stop = stop
        self.account_source = account_source  # the exchange connection (or paper broker) to read
        self.after_flatten = after_flatten  # the exchange-side guards of every symbol checked [E1]
        self.record = LimitsRecord()
        self._marked = 0  # the close time last marked: each close time once, whatever the symbol
        self._flattening = False  # a flatten breach whose closes are not all done
        self._unreadable_told = False

    @property
    def protect(self):  # noqa: ANN201 - core.params.ProtectParams
        return self.ctx.params.protect

    @property
    def measured(self) -> bool:
        """[L1] or [L2] is on: the account is read at each close (none is read otherwise)."""
        protect = self.protect
        return protect.max_daily_loss_usdt > 0 or protect.max_daily_loss_pct > 0 or protect.max_drawdown_pct > 0

    def start(self, override: bool) -> None:
        """At start-up, before any symbol: read the record; with ``override`` a saved breach no
        longer blocks its day (said in one line)."""
        try:
            self.record = load_record(self.ctx.options.state_dir)
        except (OSError, ValueError) as exc:
            path = Path(self.ctx.options.state_dir) / FILE_NAME
            keep = path.with_name(FILE_NAME + ".unreadable")
            try:
                os.replace(path, keep)
                kept = f"kept as {keep}"
            except OSError:
                kept = "left where it is"
            self.ctx.log("ERROR", None, f"[L1, L2] the saved loss-limit figures {path} cannot be read ({exc}); "
                         f"{kept}; the day's start and the peak are measured again from the next close")
        record = self.record
        if record.blocked_day() < decide.utc_day(self.ctx.clock()):  # none, overridden, or of an earlier day
            if override:
                self.ctx.log("INFO", None, "[L1, L2] --override-limits: no loss-limit breach is saved for today; "
                             "nothing to override")
            return
        if record.blocked_day() >= 0:
            day = iso_utc(record.breach_day * decide.DAY_MS)[:10]
            if override:
                record.override_day = record.breach_day
                self._save()
                self.ctx.log("WARNING", None, f"[{record.breach_rule}] the breach saved for {day} "
                             f"({iso_utc(record.breach_time)}, limit {record.breach_limit}) is overridden by the "
                             "user: new mains may open again")
            else:
                self.ctx.log("INFO", None, f"[{record.breach_rule}] a breach is saved for {day} "
                             f"({iso_utc(record.breach_time)}, limit {record.breach_limit}): no new main that UTC "
                             "day unless you override it (run --override-limits, or yes at Start in the window)")

    def apply_to(self, strategy) -> None:  # noqa: ANN001 - core.strategy.HedgeStrategy
        """The account's breach as the strategy's gate (core.decide.limits_entry_gate reads it)."""
        blocked = self.record.blocked_day()
        strategy.state.breach_day = blocked
        strategy.state.breach_rule = self.record.breach_rule if blocked >= 0 else ""

    def before_decisions(self, slot, close_time: int) -> bool:  # noqa: ANN001 - live.context.SymbolSlot
        """Before ``slot`` decides on its ``close_time`` close: the account marked (once per close
        time), a breach applied, [L3]'s other symbols' notional given. False when the slot must
        not run its rules on this close (a flatten breach closes instead)."""
        if close_time > self._marked:
            self._marked = close_time
            breach = self._mark(close_time)
            if breach is not None:
                self._breach(breach)
        strategy = slot.strategy
        self.apply_to(strategy)
        strategy.other_notional = self.other_notional(slot.symbol)
        if not self._flattening:
            return True
        self._flatten(slot, close_time)
        self._stop_when_flat()
        return False

    def other_notional(self, symbol: str) -> float:
        """[L3] The open notional of every other symbol, at its latest close (core.decide.symbol_notional)."""
        total = 0.0
        for name, other in list(self.ctx.slots.items()):
            if name == symbol or other.driver is None or not other.last_price:
                continue
            positions = other.strategy.state.positions
            total += decide.symbol_notional((positions[Side.LONG].qty, positions[Side.SHORT].qty), other.last_price)
        return total

    # ----- on a close ------------------------------------------------------------------------------

    def _equity(self) -> float | None:
        slots = self.ctx.slots
        marks = {name: slot.last_price for name, slot in slots.items() if slot.last_price}
        source = self.account_source()
        if getattr(source, "account_snapshot", None) is None:
            return self._unreadable("this exchange connection has no account figures")
        try:
            snapshot = source.account_snapshot(list(slots), marks)
        except BrokerError as exc:
            return self._unreadable(exc.message)
        self._unreadable_told = False
        return float(snapshot.margin_balance)

    def _unreadable(self, why: str) -> None:
        if not self._unreadable_told:
            self._unreadable_told = True
            self.ctx.log("WARNING", None, f"[L1, L2] the account's equity could not be read ({why}); the limits are "
                         "tested again at the next close (a breach already saved still blocks new mains)")
        return None

    def _mark(self, close_time: int) -> Breach | None:
        if not self.measured:
            return None
        equity = self._equity()
        if equity is None:
            return None
        record, protect = self.record, self.protect
        before = (record.limit_day, record.day_start_equity, record.peak_equity, record.breach_day)
        record.limit_day, record.day_start_equity, record.peak_equity, record.breach_day, rule = decide.track_limits(
            record.limit_day, record.day_start_equity, record.peak_equity, record.breach_day, equity, close_time,
            protect.max_daily_loss_usdt, protect.max_daily_loss_pct, protect.max_drawdown_pct)
        breach = None
        if rule != decide.NO_RULE:
            record.breach_rule = decide.REASONS[rule]
            record.breach_time, record.breach_equity = close_time, equity
            record.breach_limit = limit_words(record.breach_rule, record, protect) or record.breach_rule
            breach = Breach(record.breach_rule, close_time, equity, record.day_start_equity, record.peak_equity,
                            record.breach_limit, protect.on_breach == "flatten")
        if breach is not None or before != (record.limit_day, record.day_start_equity, record.peak_equity,
                                            record.breach_day):
            self._save()
        return breach

    def _save(self) -> None:
        save_record(self.ctx.options.state_dir, self.record, self.ctx.options.durable)  # OSError: [P] pause

    def _breach(self, breach: Breach) -> None:
        """One line (the alert goes with it), every symbol's gate closed, and a flatten started."""
        self.ctx.log("WARNING", None, breach.sentence(), rule=breach.rule, at=breach.time_ms)
        for slot in list(self.ctx.slots.values()):
            if slot.driver is not None:
                self.apply_to(slot.strategy)
                self.ctx.save(slot)
        if breach.flatten:
            self._flattening = True
            deciding = self.ctx.current_symbol  # this close's symbol: each flatten is isolated, then it is back
            for slot in list(self.ctx.slots.values()):
                if slot.driver is not None:
                    self.ctx.guard(slot.symbol, lambda s=slot: self._flatten(s, breach.time_ms))
            self.ctx.current_symbol = deciding
            self.ctx.safely("the exchange-side guards", self.after_flatten)  # none left for a closed main

    def _flatten(self, slot, at: int) -> None:  # noqa: ANN001
        intents = slot.strategy.flatten(self.record.breach_rule, max(at, slot.strategy.state.last_bar_close))
        if intents:
            self.orders.execute(slot, intents, slot.last_price or 0.0, at)
            self.ctx.emit_status(slot)

    def _stop_when_flat(self) -> None:
        """on_breach = flatten: the service stops once no symbol holds or waits for anything (a
        breach during the start-up's catch-up waits for every symbol to have started)."""
        if any(symbol not in self.ctx.slots for symbol in self.ctx.call_sizes):
            return
        for slot in self.ctx.slots.values():
            if slot.driver is None:
                continue
            state = slot.strategy.state
            if state.pending or any(position.is_open for position in state.positions.values()):
                return
        self._flattening = False
        self.ctx.log("WARNING", None, f"[{self.record.breach_rule}] every position is closed (on_breach: flatten): "
                     "the bot stops; start it again the next UTC day, or override the limit at Start")
        self.stop()
