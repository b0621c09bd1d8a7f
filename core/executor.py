"""Turns an OrderIntent into confirmed fills through a Broker [SPEC O2-O6].

The same executor serves live trading, paper trading and the backtester, so the
rules below hold everywhere:

- [O6] the quantity is rounded *down* to the symbol's step; an opening order
  below the minimum quantity or notional is refused before it is sent.
- [O2] the intent's client id goes to the exchange as ``newClientOrderId``; a
  remainder re-sent after a partial fill gets ``<id>-r<n>``. ``on_send(order_id)`` is
  called before every request that may create an order, so the caller can save the
  id (and the time) before it leaves.
- [O3] fills are reported from the exchange's executed quantity and average
  price, never from the requested ones; an execution whose price the exchange did not
  give (``OrderReport.has_unpriced_fill``) is no fill: the order stays pending (UNKNOWN)
  until its price is known, so a position is never given a price of 0 or NaN.
- [O4] an error that says the request was refused *before* execution (rate limit,
  clock -1021/-5028, connection never made, the 503s Binance documents as certain
  failures: -1008, "Service Unavailable.", "Internal error") is retried with the same id, up to ``max_retries``
  times with back-off. An error after which the order **may** exist (timeout, 5xx,
  503 "Unknown error", -1006, -1007) is never answered by sending again: Binance keeps
  client ids unique among *open* orders only, so a filled first order plus a re-send
  would double the position. The order is looked up by client id; when it is not
  found the result is ``UNKNOWN`` and the caller keeps the order pending until it can
  no longer execute (see live/service.py). Definitive refusals stop at once
  (``REJECTED``, the symbol pauses); passing ones give ``FAILED`` (no pause: the
  decision is made again on a later bar).
- [O5] a partial fill is a real position: it is reported, and the remainder is
  re-sent (counting as a retry) or given up when below the minimum.
- an order still open after polling is never re-sent (it might fill later): the result
  is ``UNKNOWN`` and the caller resolves it by client id before deciding again.
- [O7] :meth:`OrderExecutor.resolve_in_flight` looks up the exchange orders of an
  order left pending and reports what each executed.

The executor sleeps only through the injected ``sleep`` so tests run instantly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Callable

from core.model import Action, Fill, OrderIntent
from core.ports import (
    Broker,
    BrokerError,
    OrderRejectedError,
    OrderReport,
    OutcomeUnknownError,
    RetryableError,
    SymbolRules,
)
from core.state import PendingOrder

FillCallback = Callable[[Fill], None]
LogCallback = Callable[[str], None]
SendCallback = Callable[[str], None]


class ExecutionStatus(str, Enum):
    FILLED = "FILLED"  # the whole quantity was executed
    PARTIAL = "PARTIAL"  # some was executed; the rest was given up (logged)
    REFUSED = "REFUSED"  # not sent: below the exchange minimum [O6]
    REJECTED = "REJECTED"  # the exchange said no and retrying cannot help: pause the symbol [O4]
    FAILED = "FAILED"  # a passing failure (retries exhausted, long wait): nothing more executes; no pause
    UNKNOWN = "UNKNOWN"  # an order may still execute on the exchange: keep it pending, look it up


@dataclass
class ExecutionResult:
    intent: OrderIntent
    status: ExecutionStatus
    requested_qty: Decimal
    filled_qty: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    message: str = ""
    error: BrokerError | None = None
    # The exchange order (client id or -r<n>) whose outcome is unknown, when status is UNKNOWN.
    unknown_order_id: str | None = None

    @property
    def outcome_unknown(self) -> bool:
        """The exchange may hold an order (or part of one) we could not confirm: the caller
        keeps the order pending and resolves it by client id before deciding anything else."""
        return self.status is ExecutionStatus.UNKNOWN

    @property
    def avg_price(self) -> float:
        total = sum(f.qty for f in self.fills)
        return sum(f.qty * f.price for f in self.fills) / total if total else 0.0

    @property
    def pauses_symbol(self) -> bool:
        """Only a definitive refusal the user must act on pauses the symbol [O4]."""
        return self.status is ExecutionStatus.REJECTED


def round_down_to_step(qty: Decimal, step: Decimal) -> Decimal:
    """[O6] Largest multiple of ``step`` not above ``qty``."""
    if step <= 0:
        return qty
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step


def to_decimal(value: float | Decimal | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def minimum_problem(rules: SymbolRules, qty: Decimal, price: Decimal, action: Action) -> str | None:
    """[O6] Why ``qty`` cannot be sent, naming the exchange minimum, or None when it can.

    Closing orders are not held to MIN_NOTIONAL: a position must always be closable.
    """
    if qty <= 0 or qty < rules.min_qty:
        return (f"quantity {qty} is below {rules.symbol}'s minimum order quantity {rules.min_qty} "
                f"(step {rules.step_size})")
    if action is Action.OPEN and qty * price < rules.min_notional:
        return (f"order value {qty * price:.4f} USDT ({qty} x {price}) is below {rules.symbol}'s "
                f"minimum notional {rules.min_notional} USDT; raise the size")
    return None


def resend_id(client_id: str, index: int) -> str:
    """[O2] The client id of the ``index``-th re-send of a remainder (1-based)."""
    return f"{client_id}-r{index}"


@dataclass
class ResolutionResult:
    """[O7] What the exchange says about an order left pending."""

    client_id: str
    found: bool  # the exchange knows at least one of the order's ids
    fills: list[Fill] = field(default_factory=list)  # one per exchange order with executed quantity (cumulative)
    still_open: bool = False  # an order is not final yet: check again later, do not re-send
    message: str = ""
    # Every exchange order id asked about, with the exchange's report (None: not found).
    reports: dict[str, OrderReport | None] = field(default_factory=dict)


class OrderExecutor:
    def __init__(
        self,
        broker: Broker,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        backoff_seconds: tuple[float, ...] = (0.5, 1.0, 2.0),
        log: LogCallback | None = None,
        poll_attempts: int = 5,
        max_wait_seconds: float = 60.0,
        log_fills: bool = True,
    ):
        self.broker = broker
        # False when the caller logs each fill itself (the trading service, with its fee): the
        # executor's own [O3] line would only repeat it.
        self.log_fills = log_fills
        # A longer wait asked by the exchange (Retry-After on 429/418) is not slept through:
        # the service thread would stop handling every symbol's exits meanwhile.
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.log = log or (lambda message: None)
        self.poll_attempts = poll_attempts

    def execute(
        self, intent: OrderIntent, reference_price: float, on_fill: FillCallback | None = None,
        on_send: SendCallback | None = None, resend_index: int = 0,
    ) -> ExecutionResult:
        """Execute ``intent`` to completion. ``reference_price`` is for the notional check only.

        ``resend_index`` > 0 sends the first order as ``<client id>-r<resend_index>`` (the
        remainder of an order whose earlier exchange orders are final [O5]).
        """
        on_fill = on_fill or (lambda fill: None)
        on_send = on_send or (lambda order_id: None)
        try:
            rules = self.broker.symbol_rules(intent.symbol)
        except OrderRejectedError as error:
            result = ExecutionResult(intent, ExecutionStatus.REJECTED, to_decimal(intent.qty))
            return self._refused(result, error)
        except RetryableError as error:
            result = ExecutionResult(intent, ExecutionStatus.FAILED, to_decimal(intent.qty))
            return self._finish(result, ExecutionStatus.FAILED, error,
                                f"{_label(intent)} not sent: exchange filters unavailable ({error.message})")
        qty = round_down_to_step(to_decimal(intent.qty), rules.step_size)
        price = to_decimal(reference_price)
        problem = minimum_problem(rules, qty, price, intent.action)
        if problem is not None:
            result = ExecutionResult(intent, ExecutionStatus.REFUSED, qty)
            return self._finish(result, ExecutionStatus.REFUSED, None,
                                f"{_label(intent)} refused before sending [O6]: {problem}")

        result = ExecutionResult(intent, ExecutionStatus.FILLED, qty)
        remaining = qty
        retries = 0
        order_id = resend_id(intent.client_id, resend_index) if resend_index else intent.client_id
        while True:
            try:
                on_send(order_id)  # [O2] the id is saved before the request leaves
                report: OrderReport | None = self.broker.submit_market_order(
                    intent.symbol, intent.side, intent.action, remaining, order_id)
            except OrderRejectedError as error:
                return self._refused(result, error)
            except OutcomeUnknownError as error:
                # [O4] The order may exist, or may still be created: never send it again.
                self.log(f"[O4] {_label(intent)} {order_id}: {error.message}; looking the order up by its "
                         "client id (an order whose outcome is unknown is never re-sent)")
                report = self._look_up(intent, order_id)
                if report is None:
                    return self._unknown(result, order_id, error,
                                         f"{_label(intent)} {order_id}: outcome unknown ({error.message}) and not "
                                         "found on the exchange yet; not re-sent. It stays pending and is looked up "
                                         "again before the next decision on the symbol")
                self.log(f"[O4] {_label(intent)} {order_id} found on the exchange after an error "
                         f"(status {report.status.value}); not re-sent")
            except RetryableError as error:
                # Refused before execution (rate limit, clock offset, no connection): the same id is safe.
                if error.resync_time:
                    wait = 0.0  # the adapter has re-synced the clock already
                else:
                    wait = error.retry_after if error.retry_after is not None else self._backoff(retries + 1)
                if retries >= self.max_retries or wait > self.max_wait_seconds:
                    why = (f"gave up after {retries} retries" if retries >= self.max_retries else
                           f"the exchange asks to wait {wait:g}s (rate limit or IP ban), longer than "
                           f"{self.max_wait_seconds:g}s")
                    return self._finish(result, ExecutionStatus.FAILED, error,
                                        f"{_label(intent)} {why}: {error.message}; the request was refused before "
                                        "execution, nothing is pending. Not paused: the decision is made again on "
                                        "the next close")
                retries += 1
                self.log(f"[O4] {_label(intent)} {order_id}: {error.message}; "
                         f"retry {retries}/{self.max_retries} in {wait:g}s")
                if wait:
                    self.sleep(wait)
                continue

            report = self._wait_until_final(intent, report)
            if report is not None and report.has_unpriced_fill:
                # Executed, but no price could be read: never a fill at price 0 or NaN. The order is
                # kept pending (not re-sent) and resolved later by client id or the user stream.
                return self._unknown(result, order_id, None,
                                     f"{_label(intent)} {order_id} executed {report.executed_qty} but the exchange "
                                     "gave no price for it yet; not re-sent. It stays pending and its price is "
                                     "looked up before the next decision on the symbol")
            executed = report.executed_qty if report is not None else Decimal(0)
            if executed > 0:
                fill = _fill_from_report(intent, report, executed, order_id)
                result.fills.append(fill)
                result.filled_qty += executed
                remaining -= executed
                if self.log_fills:
                    self.log(f"[O3] {_label(intent)} {order_id} filled {executed} at {report.avg_price} "
                             f"({intent.reason}, status {report.status.value})")
                on_fill(fill)
            if remaining <= 0:
                return result
            if report is not None and not report.status.is_final:
                # Never re-send while the order may still fill: that could double the position.
                return self._unknown(result, order_id, None,
                                     f"{_label(intent)} {order_id} is still {report.status.value} on the exchange "
                                     "after polling; not re-sent. It stays pending and is looked up before the next "
                                     "decision on the symbol")
            # Final status with a remainder: a partial fill [O5].
            self.log(f"[O5] {_label(intent)}: partial fill {result.filled_qty} of {qty} "
                     f"at {result.avg_price:g}; remainder {remaining}")
            problem = minimum_problem(rules, round_down_to_step(remaining, rules.step_size), price, intent.action)
            if problem is not None or retries >= self.max_retries:
                why = problem or f"retries exhausted ({retries})"
                status = ExecutionStatus.PARTIAL if result.filled_qty > 0 else ExecutionStatus.FAILED
                return self._finish(result, status, None, f"{_label(intent)}: remainder {remaining} given up: {why}")
            retries += 1
            resend_index += 1
            remaining = round_down_to_step(remaining, rules.step_size)
            order_id = resend_id(intent.client_id, resend_index)
            self.sleep(self._backoff(retries))

    def resolve_in_flight(
        self, order: OrderIntent | PendingOrder, on_fill: FillCallback | None = None, symbol: str | None = None,
        ids: list[str] | None = None,
    ) -> ResolutionResult:
        """[O7] Look up the exchange orders of an order the state still lists as pending.

        ``order`` is the intent (or the state's :class:`PendingOrder` plus ``symbol``).
        ``ids`` are the exchange orders to ask about (``PendingOrder.sends``); without it,
        the client id and the ``-r1..-rN`` re-send ids are asked in order until one is
        missing. Reports, through ``on_fill``, one fill per exchange order with its whole
        executed quantity (``Fill.order_id`` names the exchange order); the caller applies
        only what it has not applied yet. Nothing is sent. Broker errors propagate: a
        symbol whose orders are unresolved must not trade.
        """
        on_fill = on_fill or (lambda fill: None)
        if isinstance(order, PendingOrder):
            if symbol is None:
                raise ValueError("resolve_in_flight(PendingOrder) needs the symbol")
            order = OrderIntent(symbol, order.side, order.action, order.qty, order.reason,
                                order.decision_time, order.client_id)
        result = ResolutionResult(order.client_id, found=False)
        legacy = ids is None
        if legacy:
            ids = [order.client_id] + [resend_id(order.client_id, i) for i in range(1, self.max_retries + 1)]
        for order_id in ids:
            report = self.broker.query_order(order.symbol, order_id)
            result.reports[order_id] = report
            if report is None:
                if legacy:
                    break  # re-sends are numbered in order: none after a missing one
                continue
            result.found = True
            # An execution without a known price is not final for us: it is asked again later.
            result.still_open = result.still_open or not report.status.is_final or report.has_unpriced_fill
            if report.executed_qty > 0 and not report.has_unpriced_fill:
                fill = _fill_from_report(order, report, report.executed_qty, order_id)
                result.fills.append(fill)
                on_fill(fill)
        executed = sum((to_decimal(f.qty) for f in result.fills), Decimal(0))
        state = "still open on the exchange" if result.still_open else (
            "final" if result.found else "not found on the exchange")
        result.message = (f"[O7] {_label(order)} {order.client_id} pending: {state}; "
                          f"executed {executed} in {len(result.fills)} order(s) ({order.reason})")
        self.log(result.message)
        return result

    # ----- helpers -------------------------------------------------------------------------

    def _look_up(self, intent: OrderIntent, order_id: str) -> OrderReport | None:
        """[O4] After an unknown outcome: is the order there? Twice, with a pause, since an
        order may show up late. A failing look-up counts as 'not found' (it is not re-sent)."""
        for lookup in range(2):
            if lookup:
                self.sleep(self._backoff(1))
            try:
                existing = self.broker.query_order(intent.symbol, order_id)
            except BrokerError as error:
                self.log(f"[O4] {_label(intent)} {order_id}: look-up failed ({error.message})")
                continue
            if existing is not None:
                return existing
        return None

    def _wait_until_final(self, intent: OrderIntent, report: OrderReport | None) -> OrderReport | None:
        """A MARKET order normally comes back final; poll briefly if it did not. A failing
        poll ends the polling: the order is then resolved later by client id."""
        for attempt in range(self.poll_attempts):
            if report is None or report.status.is_final:
                return report
            self.sleep(self._backoff(attempt + 1))
            try:
                report = self.broker.query_order(intent.symbol, report.client_id) or report
            except BrokerError as error:
                self.log(f"[O4] {_label(intent)} {report.client_id}: status query failed ({error.message})")
                return report
        return report

    def _backoff(self, attempt: int) -> float:
        index = min(attempt - 1, len(self.backoff_seconds) - 1)
        return self.backoff_seconds[index] if self.backoff_seconds else 0.0

    def _refused(self, result: ExecutionResult, error: OrderRejectedError) -> ExecutionResult:
        """A definitive refusal pauses the symbol [O4]; a passing one (-2022, -4131) does not."""
        if error.definitive:
            return self._finish(result, ExecutionStatus.REJECTED, error, _rejection_message(result.intent, error))
        code = f"code {error.code}: " if error.code is not None else ""
        advice = f" {error.advice}" if error.advice else ""
        return self._finish(result, ExecutionStatus.FAILED, error,
                            f"{_label(result.intent)} refused by the exchange for now ({code}"
                            f"{error.message.rstrip('.')}); not paused.{advice}")

    def _unknown(self, result: ExecutionResult, order_id: str, error: BrokerError | None,
                 message: str) -> ExecutionResult:
        result.unknown_order_id = order_id
        return self._finish(result, ExecutionStatus.UNKNOWN, error, message)

    def _finish(self, result: ExecutionResult, status: ExecutionStatus, error: BrokerError | None,
                message: str) -> ExecutionResult:
        if result.filled_qty > 0 and status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED,
                                                ExecutionStatus.UNKNOWN):
            message += f" (partially filled {result.filled_qty} before that)"
        result.status = status
        result.error = error
        result.message = message
        rule = "[O6]" if status is ExecutionStatus.REFUSED else "[O5]" if status is ExecutionStatus.PARTIAL else "[O4]"
        self.log(f"{rule} {status.value}: {message}")
        return result


def _label(intent: OrderIntent) -> str:
    return f"{intent.symbol} {intent.side.value} {intent.action.value} {intent.qty:g}"


def _rejection_message(intent: OrderIntent, error: OrderRejectedError) -> str:
    """One sentence for the log and the GUI: which order, the exchange's reason, what to do [O4]."""
    code = f"code {error.code}: " if error.code is not None else ""
    advice = f" {error.advice}" if error.advice else ""
    return (f"{intent.symbol} paused: the exchange rejected the {intent.side.value} {intent.action.value} "
            f"order ({code}{error.message.rstrip('.')}).{advice}")


def _fill_from_report(intent: OrderIntent, report: OrderReport, executed: Decimal, order_id: str) -> Fill:
    return Fill(
        client_id=intent.client_id,
        symbol=intent.symbol,
        side=intent.side,
        action=intent.action,
        qty=float(executed),
        price=float(report.avg_price),
        fee=float(report.fee * executed / report.executed_qty) if report.executed_qty else 0.0,
        time=report.update_time,
        reason=intent.reason,
        decision_time=intent.decision_time,
        order_id=order_id,
    )
