"""Turns an OrderIntent into confirmed fills through a Broker [SPEC O2-O6].

The same executor serves live trading, paper trading and the backtester, so the
rules below hold everywhere:

- [O6] the quantity is rounded *down* to the symbol's step; an opening order
  below the minimum quantity or notional is refused before it is sent.
- [O2] the intent's client id goes to the exchange as ``newClientOrderId``; a
  remainder re-sent after a partial fill gets ``<id>-r<n>``.
- [O3] fills are reported from the exchange's executed quantity and average
  price, never from the requested ones.
- [O4] retryable errors are retried up to ``max_retries`` times with back-off.
  After any failed send the outcome is treated as unknown and the order is
  looked up by client id *before* anything is re-sent, so a retry can never
  double a position. Non-retryable errors stop at once.
- [O5] a partial fill is a real position: it is reported, and the remainder is
  re-sent (counting as a retry) or given up when below the minimum.

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
    RetryableError,
    SymbolRules,
)

FillCallback = Callable[[Fill], None]
LogCallback = Callable[[str], None]


class ExecutionStatus(str, Enum):
    FILLED = "FILLED"  # the whole quantity was executed
    PARTIAL = "PARTIAL"  # some was executed; the rest was given up (logged)
    REFUSED = "REFUSED"  # not sent: below the exchange minimum [O6]
    REJECTED = "REJECTED"  # the exchange said no and retrying cannot help: pause the symbol [O4]
    FAILED = "FAILED"  # retries exhausted on errors that might have passed later


@dataclass
class ExecutionResult:
    intent: OrderIntent
    status: ExecutionStatus
    requested_qty: Decimal
    filled_qty: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    message: str = ""
    error: BrokerError | None = None

    @property
    def avg_price(self) -> float:
        total = sum(f.qty for f in self.fills)
        return sum(f.qty * f.price for f in self.fills) / total if total else 0.0

    @property
    def pauses_symbol(self) -> bool:
        """A rejection the user must act on pauses the symbol [O4]."""
        return self.status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED)


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


class OrderExecutor:
    def __init__(
        self,
        broker: Broker,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        backoff_seconds: tuple[float, ...] = (0.5, 1.0, 2.0),
        log: LogCallback | None = None,
        poll_attempts: int = 5,
    ):
        self.broker = broker
        self.sleep = sleep
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.log = log or (lambda message: None)
        self.poll_attempts = poll_attempts

    def execute(
        self, intent: OrderIntent, reference_price: float, on_fill: FillCallback | None = None
    ) -> ExecutionResult:
        """Execute ``intent`` to completion. ``reference_price`` is for the notional check only."""
        on_fill = on_fill or (lambda fill: None)
        rules = self.broker.symbol_rules(intent.symbol)
        qty = round_down_to_step(to_decimal(intent.qty), rules.step_size)
        price = to_decimal(reference_price)
        problem = minimum_problem(rules, qty, price, intent.action)
        if problem is not None:
            return ExecutionResult(intent, ExecutionStatus.REFUSED, qty, message=f"order refused before sending: {problem}")

        result = ExecutionResult(intent, ExecutionStatus.FILLED, qty)
        remaining = qty
        retries = 0
        resend_index = 0
        order_id = intent.client_id
        outcome_unknown = False  # a send of order_id failed: look it up before re-sending
        while True:
            try:
                report = self._send_or_look_up(intent, order_id, remaining, outcome_unknown)
                report = self._wait_until_final(intent, report)
            except OrderRejectedError as error:
                return self._finish(result, ExecutionStatus.REJECTED, error, _rejection_message(error))
            except RetryableError as error:
                outcome_unknown = True
                if retries >= self.max_retries:
                    return self._finish(result, ExecutionStatus.FAILED, error,
                                        f"gave up after {retries} retries: {error.message}")
                retries += 1
                wait = error.retry_after if error.retry_after is not None else self._backoff(retries)
                self.log(f"[O4] {intent.symbol} {intent.side.value} {intent.action.value} {order_id}: "
                         f"{error.message}; retry {retries}/{self.max_retries} in {wait:g}s")
                self.sleep(wait)
                continue

            outcome_unknown = False
            executed = report.executed_qty if report is not None else Decimal(0)
            if executed > 0:
                fill = _fill_from_report(intent, report, executed)
                result.fills.append(fill)
                result.filled_qty += executed
                remaining -= executed
                on_fill(fill)
            if remaining <= 0:
                return result
            # Final status with a remainder: a partial fill [O5].
            if result.filled_qty > 0:
                self.log(f"[O5] {intent.symbol} {intent.side.value} {intent.action.value}: partial fill "
                         f"{result.filled_qty} of {qty} at {result.avg_price:g}; remainder {remaining}")
            problem = minimum_problem(rules, round_down_to_step(remaining, rules.step_size), price, intent.action)
            if problem is not None or retries >= self.max_retries:
                why = problem or f"retries exhausted ({retries})"
                status = ExecutionStatus.PARTIAL if result.filled_qty > 0 else ExecutionStatus.FAILED
                return self._finish(result, status, None, f"remainder {remaining} given up: {why}")
            retries += 1
            resend_index += 1
            remaining = round_down_to_step(remaining, rules.step_size)
            order_id = f"{intent.client_id}-r{resend_index}"
            self.sleep(self._backoff(retries))

    # ----- helpers -------------------------------------------------------------------------

    def _send_or_look_up(
        self, intent: OrderIntent, order_id: str, qty: Decimal, outcome_unknown: bool
    ) -> OrderReport | None:
        """[O4] After a failed send, the order may exist: ask before sending again."""
        if outcome_unknown:
            existing = self.broker.query_order(intent.symbol, order_id)
            if existing is not None:
                self.log(f"[O4] {intent.symbol} {order_id} found on the exchange after an error "
                         f"(status {existing.status.value}); not re-sent")
                return existing
        return self.broker.submit_market_order(intent.symbol, intent.side, intent.action, qty, order_id)

    def _wait_until_final(self, intent: OrderIntent, report: OrderReport | None) -> OrderReport | None:
        """A MARKET order normally comes back final; poll briefly if it did not."""
        for attempt in range(self.poll_attempts):
            if report is None or report.status.is_final:
                return report
            self.sleep(self._backoff(attempt + 1))
            report = self.broker.query_order(intent.symbol, report.client_id) or report
        return report

    def _backoff(self, attempt: int) -> float:
        index = min(attempt - 1, len(self.backoff_seconds) - 1)
        return self.backoff_seconds[index] if self.backoff_seconds else 0.0

    @staticmethod
    def _finish(result: ExecutionResult, status: ExecutionStatus, error: BrokerError | None,
                message: str) -> ExecutionResult:
        if result.filled_qty > 0 and status in (ExecutionStatus.REJECTED, ExecutionStatus.FAILED):
            message += f" (partially filled {result.filled_qty} before that)"
        result.status = status
        result.error = error
        result.message = message
        return result


def _rejection_message(error: OrderRejectedError) -> str:
    code = f" (code {error.code})" if error.code is not None else ""
    advice = f" {error.advice}" if error.advice else ""
    return f"exchange rejected the order{code}: {error.message}.{advice}"


def _fill_from_report(intent: OrderIntent, report: OrderReport, executed: Decimal) -> Fill:
    return Fill(
        client_id=intent.client_id,
        symbol=intent.symbol,
        side=intent.side,
        action=intent.action,
        qty=float(executed),
        price=float(report.avg_price),
        fee=float(report.fee),
        time=report.update_time,
        reason=intent.reason,
        decision_time=intent.decision_time,
    )
