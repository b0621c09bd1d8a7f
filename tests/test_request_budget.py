"""Issue 11 build item 3: one request budget for the whole bot (used weight, 429, 418)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.binance_futures import BinanceFuturesAdapter
from adapters.request_budget import RequestBudget
from adapters.secrets import ApiCredentials
from core.executor import ExecutionStatus, OrderExecutor
from core.model import Action, OrderIntent, Side
from core.params import StrategyParams
from core.ports import RetryableError
from core.sim_broker import SimulatedBroker
from live.events import LogEvent, ServiceStateEvent
from live.service import ServiceOptions, TradingService
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.fake_binance.fixtures import fake, fake_server  # noqa: F401

SYMBOL = "DOGEUSDT"


class Clock:
    def __init__(self, start: float = 1_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_after_a_429_nothing_is_sent_until_retry_after_has_passed():
    clock = Clock()
    budget = RequestBudget(clock=clock, wall_clock=clock)
    budget.before_request()
    budget.after_response(429, {"Retry-After": "30", "X-MBX-USED-WEIGHT-1M": "2410"})
    with pytest.raises(RetryableError) as raised:
        budget.before_request()
    assert raised.value.retry_after == pytest.approx(30)
    clock.now += 29.5
    with pytest.raises(RetryableError) as raised:
        budget.before_request()
    assert raised.value.retry_after == pytest.approx(0.5)
    clock.now += 61  # the wait is over and the minute of that weight is gone
    budget.before_request()


def test_used_weight_near_the_limit_waits_for_the_next_minute():
    clock = Clock(600.0)  # the start of a minute
    budget = RequestBudget(weight_limit=2400, headroom=0.9, clock=clock, wall_clock=clock)
    budget.after_response(200, {"X-MBX-USED-WEIGHT-1M": "2000"})
    budget.before_request()  # 2000 < 2160
    budget.after_response(200, {"X-MBX-USED-WEIGHT-1M": "2200"})
    clock.now += 20
    with pytest.raises(RetryableError) as raised:
        budget.before_request()
    assert raised.value.retry_after == pytest.approx(40)
    clock.now += 40  # a new minute: Binance's counter restarted
    budget.before_request()
    assert budget.used_weight == 0


def test_a_418_is_told_once_in_one_sentence():
    clock = Clock()
    budget = RequestBudget(clock=clock, wall_clock=clock)
    heard: list[str] = []
    budget.on_ban.append(heard.append)
    budget.after_response(418, {"Retry-After": "300"})
    assert len(heard) == 1 and "HTTP 418" in heard[0] and "300s" in heard[0]
    assert heard[0].count(".") == 1 and heard[0].endswith(".") and "\n" not in heard[0]
    with pytest.raises(RetryableError, match="banned"):
        budget.before_request()


def test_one_budget_for_every_request_of_the_adapter_after_a_429_on_an_order(fake):
    """A 429 on one symbol's order stops every request of the bot (positions, klines, orders of
    other symbols) until Retry-After has passed; nothing reaches the exchange meanwhile."""
    clock = Clock()
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url, budget=RequestBudget(clock=clock))
    adapter.prepare_symbols([SYMBOL], {SYMBOL: 5}, "cross")
    fake.add_fault(kind="rate_limit", retry_after=30, path="/fapi/v1/order", method="POST")
    intent = OrderIntent(SYMBOL, Side.LONG, Action.OPEN, 100, "R2", 0, "ah-budget-1")
    result = OrderExecutor(adapter, sleep=lambda s: None, max_wait_seconds=10).execute(intent, 1.0)
    assert result.status is ExecutionStatus.FAILED and not result.pauses_symbol
    requests_before = len(fake.exchange.request_log)
    with pytest.raises(RetryableError):
        adapter.positions(SYMBOL)
    with pytest.raises(RetryableError):
        adapter.latest_klines(SYMBOL, "5m", 10)
    assert len(fake.exchange.request_log) == requests_before, "a request was sent during the 429's wait"
    clock.now += 30
    assert adapter.positions(SYMBOL)[Side.LONG].qty == Decimal(0)


def test_the_adapter_reads_the_used_weight_header(fake):
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url)
    adapter.positions(SYMBOL)
    assert adapter.budget.used_weight > 0


def test_the_budget_holds_requests_before_binance_answers_429():
    """Against the fake's real per-minute weight rule (limit 60): the bot stops itself at 90 %."""
    from tests.fake_binance import FakeBinance
    from tests.fake_binance.fixtures import DATA_DIR

    with FakeBinance(DATA_DIR, symbols=[SYMBOL], weight_limit=60) as small:
        adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                        base_url=small.base_url, budget=RequestBudget(weight_limit=60))
        adapter.load_exchange_filters([SYMBOL])
        assert adapter.budget.weight_limit == 60
        held = None
        for _ in range(40):  # positionRisk weighs 5: 11 fit under 54 in one minute
            try:
                adapter.positions(SYMBOL)
            except RetryableError as error:
                held = error
                break
        assert held is not None and held.message.startswith("request weight"), held
        assert held.retry_after is not None and 0 < held.retry_after <= 60


def test_the_weight_limit_is_read_from_exchange_info(fake):
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url, budget=RequestBudget(weight_limit=100_000))
    adapter.load_exchange_filters([SYMBOL])
    assert adapter.budget.weight_limit == 2400


class BudgetBroker(SimulatedBroker):
    def __init__(self):
        super().__init__()
        self.budget = RequestBudget()


class NoFeed:
    def history(self, symbol, interval, limit):
        return []

    def start(self):
        pass

    def resume_after(self, symbol, close_time):
        pass

    def next_candle(self, timeout):
        from live.feeds import FeedFinished
        raise FeedFinished

    def close(self):
        pass


def test_a_418_is_an_error_line_and_a_state_event_for_the_window(tmp_path):
    broker = BudgetBroker()
    events: list = []
    TradingService({SYMBOL: 100}, StrategyParams(), NoFeed(), broker, events.append,
                   ServiceOptions(tmp_path, reconcile=False), clock=lambda: 0)
    broker.budget.after_response(418, {"Retry-After": "120"})
    errors = [e for e in events if isinstance(e, LogEvent) and e.level == "ERROR"]
    states = [e for e in events if isinstance(e, ServiceStateEvent)]
    assert len(errors) == 1 and "HTTP 418" in errors[0].message
    assert len(states) == 1 and states[0].running and "HTTP 418" in states[0].detail


# ----- issue 18 (8): order-rate limits apart from IP weight -------------------------------------------


def test_8_a_closing_order_is_never_held_back_by_the_weight_budget():
    """A new order costs 0 IP weight (it counts on the account's order limits): at 90 % of the weight
    an opening order still goes out, and so does a close; other requests wait for the next minute."""
    wall = Clock(120.0)
    budget = RequestBudget(weight_limit=2400, clock=Clock(), wall_clock=wall)
    budget.after_response(200, {"X-MBX-USED-WEIGHT-1M": "2300"})
    with pytest.raises(RetryableError):
        budget.before_request()
    budget.before_request(order=True, reducing=True)
    budget.before_request(order=True)


def test_8_order_counts_from_headers_hold_openings_at_headroom_and_closes_only_at_the_limit():
    wall = Clock(600.0)
    budget = RequestBudget(clock=Clock(), wall_clock=wall)
    budget.adopt_order_limits({"10S": 300, "1M": 1200})
    budget.after_response(200, {"x-mbx-order-count-10s": "271", "x-mbx-order-count-1m": "400"})
    assert (budget.order_count("10S"), budget.order_count("1M")) == (271, 400)
    with pytest.raises(RetryableError) as held:
        budget.before_request(order=True)
    assert held.value.message.startswith("order count 271 of 300 per 10S") and 0 < held.value.retry_after <= 10
    budget.before_request(order=True, reducing=True)  # the reserve is for exits
    budget.before_request()  # weight-counted requests are not order-limited
    budget.after_response(200, {"X-MBX-ORDER-COUNT-10S": "300"})
    with pytest.raises(RetryableError):
        budget.before_request(order=True, reducing=True)  # at the limit itself Binance would refuse it
    wall.now += 10  # the next 10-second window
    budget.before_request(order=True)


def test_8_the_fake_counts_orders_and_the_adapter_reads_the_headers(fake):
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url)
    adapter.load_exchange_filters([SYMBOL])
    adapter.sync_time()
    assert adapter.budget.order_limits == {"10S": 300, "1M": 1200}
    weight_before = adapter.budget.used_weight
    adapter.submit_market_order(SYMBOL, Side.LONG, Action.OPEN, Decimal(100), "budget-1")
    assert adapter.budget.order_count("10S") >= 1 and adapter.budget.order_count("1M") >= 1
    # the order itself weighed 0; only its price look-up (GET order, weight 1) added to the weight
    assert adapter.budget.used_weight <= weight_before + 1


def test_8_the_fake_refuses_orders_over_the_ten_second_limit_with_minus_1015():
    from tests.fake_binance.limits import OrderCounter

    counter = OrderCounter()
    for _ in range(300):
        headers, over = counter.take(1_000)
        assert over is None
    headers, over = counter.take(9_999)
    assert over == (300, "10SECOND") and headers["X-MBX-ORDER-COUNT-10S"] == "300"
    headers, over = counter.take(10_000)  # a new 10-second window; the minute still counts
    assert over is None and headers == {"X-MBX-ORDER-COUNT-10S": "1", "X-MBX-ORDER-COUNT-1M": "301"}
