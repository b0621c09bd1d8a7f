"""[O2-O7] Every injected fault, end to end: HedgeStrategy -> OrderExecutor -> Binance adapter ->
python-binance -> fake exchange. The exchange position must equal what the strategy intended
(never doubled, never lost) and the saved state file must agree with the exchange.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.executor import ExecutionStatus, OrderExecutor
from core.model import Action, BarClose, OrderIntent, Regime, Side, Signal
from core.params import StrategyParams
from core.state import StateStore
from core.strategy import HedgeStrategy
from tests.fake_binance.fixtures import fake, fake_adapter, fake_server  # noqa: F401

SYMBOL = "DOGEUSDT"
ORDER_PATH = "/fapi/v1/order"


class Stack:
    """The live order path with a recording sleep and log. The request budget's clock moves
    only when the executor sleeps, so a Retry-After is over exactly when it was waited for."""

    def __init__(self, fake, tmp_path, timeout_seconds: float = 5.0):
        self.fake = fake
        self.elapsed = [0.0]
        self.adapter = fake_adapter(fake, self.elapsed, timeout_seconds, SYMBOL)
        self.sleeps: list[float] = []
        self.logs: list[str] = []
        self.executor = OrderExecutor(self.adapter, sleep=self.sleep, log=self.logs.append)
        self.strategy = HedgeStrategy(SYMBOL, StrategyParams(), call_size=100)
        self.strategy.state.regime = Regime.UP
        self.store = StateStore(tmp_path)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed[0] += seconds

    def bar(self, signal: Signal) -> list:
        """One 5m close: the strategy decides, the executor carries out every intent."""
        self.fake.step(candles=1)
        price = float(self.fake.price(SYMBOL))
        intents = self.strategy.on_bar_close(BarClose(self.fake.now_ms, price, signal))
        self.store.save(self.strategy.state)  # [O2] intents are in state before sending
        results = []
        for intent in intents:
            results.append(self.executor.execute(intent, price, on_fill=self.strategy.apply_fill))
            self.strategy.finish_order(intent.client_id)
            self.store.save(self.strategy.state)
        return results

    def exchange_qty(self, side: Side) -> Decimal:
        return self.adapter.positions(SYMBOL)[side].qty

    def assert_state_agrees_with_exchange(self) -> None:
        saved = self.store.load(SYMBOL)
        positions = self.adapter.positions(SYMBOL)
        for side in Side:
            assert Decimal(str(saved.positions[side].qty)) == positions[side].qty, side
            if positions[side].qty:
                assert Decimal(str(saved.positions[side].entry_price)) == positions[side].entry_price
        assert saved.pending == {}


@pytest.fixture
def stack(fake, tmp_path):
    return Stack(fake, tmp_path)


@pytest.fixture(autouse=True)
def settled(fake_server):
    """[defect 9] Nothing a test started may act in the next test: wait until every request and
    delayed execution of the fake has finished (the next reset also cancels timers by epoch)."""
    yield
    fake_server.settle()


def orders_sent(fake) -> list[str]:
    return [order["clientOrderId"] for order in fake.state()["orders"]]


def test_O4_503_unknown_error_after_execution_then_retry_gives_one_order(stack, fake):
    fake.add_fault(kind="unknown_after_execute", path=ORDER_PATH)
    [result] = stack.bar(Signal.UP)  # [R2] open the call
    assert result.status is ExecutionStatus.FILLED and result.filled_qty == 100
    assert len(orders_sent(fake)) == 1  # looked up by client id, not re-sent
    assert stack.exchange_qty(Side.LONG) == 100
    assert any("found on the exchange after an error" in line for line in stack.logs)
    stack.assert_state_agrees_with_exchange()


def test_O4_timeout_after_execution_is_looked_up_and_never_resent(fake, tmp_path):
    stack = Stack(fake, tmp_path, timeout_seconds=0.3)
    fake.add_fault(kind="latency", latency_ms=3000, path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    # The request is still on its way when the client gives up: the outcome is unknown.
    assert result.status is ExecutionStatus.UNKNOWN and result.unknown_order_id == result.intent.client_id
    assert not result.pauses_symbol
    fake.settle()
    assert orders_sent(fake) == [result.intent.client_id] and stack.exchange_qty(Side.LONG) == 100
    found = stack.executor.resolve_in_flight(result.intent, ids=[result.intent.client_id])
    assert [f.qty for f in found.fills] == [100] and not found.still_open


@pytest.mark.parametrize("answer", ["-1007", "503", "timeout"])
def test_O4_defect1_an_order_executing_after_an_unknown_outcome_is_not_doubled(stack, fake, answer):
    """Issue 11 defect 1: the order runs 2 s after an unknown answer. A re-send (client ids are
    unique among OPEN orders only) would make LONG 200; the order is never re-sent."""
    fake.add_fault(kind="execute_later", answer=answer, delay_ms=4000, latency_ms=100, path=ORDER_PATH,
                   method="POST")
    stack.executor.poll_attempts = 0
    [result] = stack.bar(Signal.UP)
    fake.settle()  # the late execution happens
    assert stack.exchange_qty(Side.LONG) == 100, "the order was sent twice"
    assert orders_sent(fake) == [result.intent.client_id]
    assert result.status is ExecutionStatus.UNKNOWN and result.filled_qty == 0
    found = stack.executor.resolve_in_flight(result.intent, ids=[result.intent.client_id])
    assert [f.qty for f in found.fills] == [100]


@pytest.mark.parametrize("fault", [
    {"kind": "http_error", "status": 500},
    {"kind": "http_error", "status": 502},
    {"kind": "error", "code": -1006},
    {"kind": "error", "code": -1007},
])
def test_O4_unknown_outcome_errors_are_looked_up_and_not_resent(stack, fake, fault):
    """5xx, -1006, -1007: Binance says the execution status is unknown. Not found by client id:
    the order stays pending (UNKNOWN) for the caller to resolve; nothing is sent again."""
    fake.add_fault(path=ORDER_PATH, method="POST", **fault)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.UNKNOWN and not result.pauses_symbol
    assert orders_sent(fake) == [] and stack.exchange_qty(Side.LONG) == 0
    assert any("never re-sent" in line for line in stack.logs)


@pytest.mark.parametrize("fault", [{"kind": "timestamp"}, {"kind": "rate_limit", "retry_after": 1}])
def test_O4_errors_refused_before_execution_are_retried_into_exactly_one_order(stack, fake, fault):
    fake.add_fault(path=ORDER_PATH, method="POST", **fault)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FILLED
    assert orders_sent(fake) == [result.intent.client_id]
    assert stack.exchange_qty(Side.LONG) == 100
    stack.assert_state_agrees_with_exchange()


def test_O4_minus_1006_after_execution_gives_one_order(stack, fake):
    fake.add_fault(kind="error", code=-1006, execute=True, path=ORDER_PATH)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FILLED and len(orders_sent(fake)) == 1
    stack.assert_state_agrees_with_exchange()


def test_O4_minus_1021_once_resyncs_the_clock_and_resends_without_waiting(stack, fake):
    fake.add_fault(kind="timestamp", path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FILLED and stack.sleeps == []  # no executor retry needed
    assert len(orders_sent(fake)) == 1


@pytest.mark.parametrize("retry_after, expected_wait", [(7, 7.0), (None, 0.5)])
def test_O4_rate_limit_waits_retry_after_or_backs_off(stack, fake, retry_after, expected_wait):
    fake.add_fault(kind="rate_limit", path=ORDER_PATH, method="POST", retry_after=retry_after)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FILLED and len(orders_sent(fake)) == 1
    assert stack.sleeps[0] == expected_wait


def test_O4_defect3_gives_up_after_three_retries_without_pausing_the_symbol(stack, fake):
    fake.add_fault(kind="rate_limit", path=ORDER_PATH, method="POST", times=10)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FAILED and not result.pauses_symbol and not result.outcome_unknown
    assert "gave up after 3 retries" in result.message and "decision is made again" in result.message
    stack.elapsed[0] += 60  # the shared budget sends nothing until the 429's wait is over
    assert orders_sent(fake) == [] and stack.exchange_qty(Side.LONG) == 0
    stack.assert_state_agrees_with_exchange()


def test_O5_partial_fill_then_expired_resends_the_rest_as_r1(stack, fake):
    fake.add_fault(kind="partial_fill", fill_ratio="0.4", path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FILLED and result.filled_qty == 100
    cid = result.intent.client_id
    assert orders_sent(fake) == [cid, cid + "-r1"]
    assert [f.qty for f in result.fills] == [40, 60]
    assert [f.order_id for f in result.fills] == [cid, cid + "-r1"]
    assert any(line.startswith("[O5]") and "partial fill 40 of 100" in line for line in stack.logs)
    assert stack.exchange_qty(Side.LONG) == 100
    stack.assert_state_agrees_with_exchange()


def test_O5_partial_fill_keeps_the_filled_size_when_the_rest_cannot_be_sent(stack, fake):
    fake.add_fault(kind="partial_fill", fill_ratio="0.6", path=ORDER_PATH, method="POST")
    fake.add_fault(kind="error", code=-2019, path=ORDER_PATH, method="POST")  # the re-send is refused
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.REJECTED and result.filled_qty == 60
    assert "partially filled 60" in result.message
    assert stack.exchange_qty(Side.LONG) == 60 == stack.strategy.position(Side.LONG).qty
    assert any("[O5]" in line for line in stack.logs)
    stack.assert_state_agrees_with_exchange()


def test_O5_remainder_below_minimum_notional_is_given_up_for_an_open(stack, fake):
    fake.add_fault(kind="partial_fill", fill_ratio="0.99", path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.PARTIAL and result.filled_qty == 99
    assert "remainder 1 given up" in result.message and "minimum notional" in result.message
    assert orders_sent(fake) == [result.intent.client_id]
    stack.assert_state_agrees_with_exchange()


@pytest.mark.parametrize("code, cause, advice", [
    (-2019, "Margin is insufficient", "Add USDT to the futures wallet"),
    (-4164, "Order's notional must be no smaller than", "minimum notional"),
    (-1111, "Precision is over the maximum defined for this asset", "exchange filters are reloaded"),
    (-2015, "Invalid API-key, IP, or permissions for action", "IP whitelist"),
    (-4061, "Order's position side does not match user's setting", "Hedge Mode"),
    (-1106, "Parameter 'reduceonly' sent when not required", "bug"),
])
def test_O4_non_retryable_error_pauses_only_its_symbol_with_one_sentence(stack, fake, code, cause, advice):
    fake.add_fault(kind="error", code=code, path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.REJECTED and result.pauses_symbol
    assert result.message.startswith(f"DOGEUSDT paused: the exchange rejected the LONG OPEN order (code {code}: ")
    assert cause in result.message and advice in result.message
    assert "\n" not in result.message and "Traceback" not in result.message
    assert stack.sleeps == [] and orders_sent(fake) == []  # not retried
    assert any(line.startswith("[O4] REJECTED: DOGEUSDT paused") for line in stack.logs)
    stack.assert_state_agrees_with_exchange()


@pytest.mark.parametrize("code", [-2022, -4131])
def test_O4_defect3_passing_refusals_do_not_pause(stack, fake, code):
    fake.add_fault(kind="error", code=code, path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.FAILED and not result.pauses_symbol
    assert f"code {code}" in result.message and "not paused" in result.message and "restart" not in result.message
    assert orders_sent(fake) == []


def test_O4_real_margin_rejection_from_the_exchange(stack, fake):
    stack.strategy.call_size = 50_000_000 / 1000  # 50,000 DOGE at 5x needs more than a 100 USDT wallet
    fake.exchange.engine.account.wallet = Decimal(100)
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.REJECTED
    assert result.message == ("DOGEUSDT paused: the exchange rejected the LONG OPEN order (code -2019: Margin is "
                              "insufficient). Add USDT to the futures wallet, lower the order size, or raise the "
                              "leverage, then resume the symbol.")


def test_O6_below_minimum_is_refused_before_sending(stack, fake):
    stack.strategy.call_size = 10.7  # 10 DOGE after rounding down: about 3 USDT < 5 USDT
    [result] = stack.bar(Signal.UP)
    assert result.status is ExecutionStatus.REFUSED and result.requested_qty == 10
    assert "minimum notional 5 USDT" in result.message
    assert orders_sent(fake) == []


def test_full_hedge_cycle_under_faults_matches_strategy_positions(stack, fake):
    """R2 open, R5 hedge, R1 hedge release -- each order hit by a different fault."""
    fake.add_fault(kind="unknown_after_execute", path=ORDER_PATH)
    stack.bar(Signal.UP)  # R2: open call
    entry = stack.strategy.position(Side.LONG).entry_price
    # walk until the call is losing, then R5 hedges on a 'none' bar
    for _ in range(200):
        fake.step(candles=1)
        if float(fake.price(SYMBOL)) < entry:
            break
    fake.add_fault(kind="partial_fill", fill_ratio="0.5", path=ORDER_PATH, method="POST")
    stack.bar(Signal.NONE)
    assert stack.exchange_qty(Side.SHORT) == stack.strategy.position(Side.SHORT).qty
    fake.add_fault(kind="rate_limit", path=ORDER_PATH, method="POST")
    stack.bar(Signal.UP)  # R1: release the hedge
    assert stack.exchange_qty(Side.SHORT) == 0 and stack.exchange_qty(Side.LONG) == 100
    stack.assert_state_agrees_with_exchange()


def test_O7_resolve_in_flight_reports_each_exchange_order_of_an_intent(stack, fake):
    fake.add_fault(kind="partial_fill", fill_ratio="0.3", path=ORDER_PATH, method="POST")
    intent = OrderIntent(SYMBOL, Side.SHORT, Action.OPEN, 100, "R3", fake.now_ms, "crash-1")
    stack.executor.execute(intent, float(fake.price(SYMBOL)))  # as if the bot died before applying
    seen = []
    resolution = stack.executor.resolve_in_flight(intent, seen.append)
    assert resolution.found and not resolution.still_open
    assert [(f.order_id, f.qty) for f in seen] == [("crash-1", 30), ("crash-1-r1", 70)]
    assert all(f.client_id == "crash-1" and f.side is Side.SHORT for f in seen)
    assert len(orders_sent(fake)) == 2  # resolving sends nothing


def test_O7_resolve_in_flight_of_an_order_that_never_reached_the_exchange(stack, fake):
    from core.state import PendingOrder
    pending = PendingOrder("never-sent", Side.LONG, Action.OPEN, 100, "R2", fake.now_ms)
    resolution = stack.executor.resolve_in_flight(pending, symbol=SYMBOL)
    assert not resolution.found and resolution.fills == []
    assert "not found on the exchange" in resolution.message


def test_O3_defect2_an_order_still_partially_filled_reports_what_executed_once(stack, fake):
    """The executor applies the 40 it saw and leaves the order pending (UNKNOWN); the later
    look-up reports the cumulative 100 of the same exchange order, which the caller turns into
    the 60 not applied yet (live/service.py)."""
    fake.add_fault(kind="partial_then_fill", fill_ratio="0.4", delay_ms=4000, path=ORDER_PATH, method="POST")
    [result] = stack.bar(Signal.UP)
    assert stack.strategy.position(Side.LONG).qty == 40
    assert result.status is ExecutionStatus.UNKNOWN and result.filled_qty == 40
    fake.settle()
    found = stack.executor.resolve_in_flight(result.intent, ids=[result.intent.client_id])
    assert [(f.order_id, f.qty) for f in found.fills] == [(result.intent.client_id, 100)]
    assert stack.exchange_qty(Side.LONG) == 100


def test_defect9_a_request_still_running_at_reset_does_not_reach_the_next_account(stack, fake):
    fake.add_fault(kind="execute_later", answer="-1007", delay_ms=3000, path=ORDER_PATH, method="POST")
    stack.bar(Signal.UP)
    fake.reset()  # what the next test's fixture does
    fake.settle()
    assert orders_sent(fake) == [] and stack.exchange_qty(Side.LONG) == 0
