"""Executor limits found in review: long exchange-requested waits, unknown order statuses."""
from __future__ import annotations

from decimal import Decimal

from adapters.binance_futures import BinanceFuturesAdapter
from core.executor import ExecutionStatus, OrderExecutor
from core.model import Action, OrderIntent, Side
from core.ports import OrderStatus, RetryableError, SymbolRules


class BannedBroker:
    """Answers every order with a 418/429 that asks to wait an hour."""

    def __init__(self):
        self.sent = 0

    def symbol_rules(self, symbol):
        return SymbolRules(symbol, Decimal("1"), Decimal("1"), Decimal("5"))

    def submit_market_order(self, symbol, side, action, qty, client_id):
        self.sent += 1
        raise RetryableError("Way too many requests; IP banned", -1003, retry_after=3600)

    def query_order(self, symbol, client_id):
        return None


def test_O4_defect3_a_wait_longer_than_a_minute_is_not_slept_through_and_does_not_pause():
    """Issue 11 defect 3: a 429/418 is refused before execution, so nothing is pending, and a
    passing error must not pause the symbol (the decision is made again on a later bar)."""
    slept: list[float] = []
    broker = BannedBroker()
    intent = OrderIntent("DOGEUSDT", Side.LONG, Action.OPEN, 100, "R2", 0, "ah-DOGEUSDT-0-1")
    result = OrderExecutor(broker, sleep=slept.append).execute(intent, 0.1)
    assert result.status is ExecutionStatus.FAILED
    assert not result.pauses_symbol, "a passing error must not pause the symbol"
    assert not result.outcome_unknown, "a rate-limited request was refused before execution"
    assert broker.sent == 1 and slept == []
    assert "3600" in result.message and "wait" in result.message


def test_O3_unknown_order_status_is_read_as_final_keeping_the_executed_quantity():
    adapter = BinanceFuturesAdapter(None, testnet=True)
    stp = adapter._report({"status": "EXPIRED_IN_MATCH", "executedQty": "0", "avgPrice": "0", "clientOrderId": "a"})
    assert stp.status is OrderStatus.EXPIRED_IN_MATCH and stp.status.is_final
    odd = adapter._report({"status": "SOMETHING_NEW", "executedQty": "30", "avgPrice": "0.1", "clientOrderId": "b"})
    assert odd.status.is_final and odd.executed_qty == Decimal("30")


def test_O4_http_403_and_451_are_refusals_with_their_own_sentence_not_retried():
    from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance
    from tests.conftest import BUNDLED_DATA
    from adapters.secrets import ApiCredentials
    from core.ports import OrderRejectedError

    with FakeBinance(BUNDLED_DATA / "sample", start_ms=1_677_628_800_000) as fake:
        adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                        base_url=fake.base_url)
        adapter.load_exchange_filters(["DOGEUSDT"])
        for status, words in ((403, "firewall"), (451, "location")):
            fake.add_fault(kind="http_error", path="/fapi/v1/order", method="POST", status=status)
            intent = OrderIntent("DOGEUSDT", Side.LONG, Action.OPEN, 100, "R2", 0, f"ah-DOGEUSDT-0-{status}")
            result = OrderExecutor(adapter, sleep=lambda s: None).execute(intent, 0.1)
            assert result.status is ExecutionStatus.REJECTED and isinstance(result.error, OrderRejectedError)
            assert f"HTTP {status}" in result.message and words in result.message
        assert fake.state()["orders"] == [], "refused requests are not executed, and not retried into orders"
