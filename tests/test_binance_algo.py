"""The exchange-side guard on the fake's Algo Order service, through the real adapter
[issue 19, item 3]: -4120 on /fapi/v1/order, place / list / cancel / query, triggering on the
market's moves with ALGO_UPDATE and the triggered order's own events, and the guard keeper's
actions carried out on the exchange (missing, orphaned, doubled)."""
from __future__ import annotations

import json
import time
from decimal import Decimal as D

import pytest
from binance.exceptions import BinanceAPIException

from adapters.binance_algo import BinanceAlgoOrders, Guard, guard_client_id
from adapters.binance_futures import BinanceFuturesAdapter
from adapters.binance_user_stream import AlgoUpdate, UserDataStream, parse_user_event, private_url
from adapters.secrets import ApiCredentials
from core.model import Action, Side
from core.ports import OrderRejectedError, TradeUpdate
from live.guard import GuardSettings, HeldMain, keep_guards
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.fake_binance.fixtures import binance_client, fake, fake_server  # noqa: F401

SYMBOL = "DOGEUSDT"
FIVE_MIN = 300_000
TICK = D("0.00001")

# Recorded ALGO_UPDATE frames (binance-real/ws/ws_futures_algo_update_*__nautilus.json: real,
# 2025-12-11 DOGEUSDT, from nautechsystems/nautilus_trader's test resources).
RECORDED_TRIGGERING = {"stream": "test", "data": {"e": "ALGO_UPDATE", "T": 1765431097019, "E": 1765431097020, "o": {
    "caid": "O-20251211-053131-TEST-000-1", "aid": 1000000033225453, "at": "CONDITIONAL", "o": "STOP_MARKET",
    "s": "DOGEUSDT", "S": "BUY", "ps": "BOTH", "f": "GTC", "q": "38", "X": "TRIGGERING", "ai": "", "tp": "0.13855",
    "p": "0", "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE", "pm": "NONE", "cp": False, "pP": False, "R": False,
    "tt": 1765431097019, "gtd": 0}}}
RECORDED_FINISHED = {"stream": "test", "data": {"e": "ALGO_UPDATE", "T": 1765431097031, "E": 1765431097037, "o": {
    "caid": "O-20251211-053131-TEST-000-1", "aid": 1000000033225453, "at": "CONDITIONAL", "o": "STOP_MARKET",
    "s": "DOGEUSDT", "S": "BUY", "ps": "BOTH", "f": "GTC", "q": "38", "X": "FINISHED", "ai": "88937381063",
    "ap": "0.13856", "aq": "38", "act": "MARKET", "tp": "0.13855", "p": "0", "V": "EXPIRE_MAKER",
    "wt": "CONTRACT_PRICE", "pm": "NONE", "cp": False, "pP": False, "R": False, "tt": 1765431097019, "gtd": 0}}}


def adapter_for(fake) -> BinanceFuturesAdapter:  # noqa: ANN001 - the fake fixture
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url)
    adapter.prepare_symbols([SYMBOL], {SYMBOL: 5}, "cross")
    return adapter


def position(fake, side: Side) -> D:  # noqa: ANN001
    rows = [p for p in fake.state()["positions"] if p["symbol"] == SYMBOL and p["positionSide"] == side.value]
    return D(rows[0]["qty"]) if rows else D(0)


def next_low(fake, below: D, within: int = 2000) -> tuple[D, int]:  # noqa: ANN001
    """A trigger a tick above the lowest low of the coming candles that lies below ``below``,
    and how many candles until it is reached: the market's own data, looked up, not invented."""
    market = fake.exchange.engine.market
    now = fake.now_ms
    lowest = None
    for k, (_, row) in enumerate(market.closed_between(SYMBOL, "5m", now, now + within * FIVE_MIN), start=1):
        low = D(repr(float(row[2])))
        if low < below - 2 * TICK:
            return low + TICK, k
        lowest = low if lowest is None else min(lowest, low)
    raise AssertionError(f"no low below {below} in the next {within} candles (lowest {lowest})")


def next_high(fake, above: D, within: int = 2000) -> tuple[D, int]:  # noqa: ANN001
    market = fake.exchange.engine.market
    now = fake.now_ms
    for k, (_, row) in enumerate(market.closed_between(SYMBOL, "5m", now, now + within * FIVE_MIN), start=1):
        high = D(repr(float(row[1])))
        if high > above + 2 * TICK:
            return high - TICK, k
    raise AssertionError(f"no high above {above} in the next {within} candles")


class Stream:
    """The real user-data stream thread, asking for ALGO_UPDATE too."""

    def __init__(self, fake, adapter) -> None:  # noqa: ANN001
        before = len(fake.exchange.hub.subscribers)
        self.stream = UserDataStream(adapter, fake.ws_url, algo_updates=True)
        self.stream.start()
        assert self.stream.connected.wait(10)
        deadline = time.monotonic() + 10
        while len(fake.exchange.hub.subscribers) <= before:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        self.records: list = []

    def until(self, predicate, timeout: float = 10) -> list:  # noqa: ANN001
        """Records until one satisfies ``predicate`` (a wait for an event, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while not any(predicate(r) for r in self.records):
            assert time.monotonic() < deadline, f"not received; got {self.records}"
            self.records += self.stream.wait(0.2)
        return self.records

    def close(self) -> None:
        self.stream.close()


# ----- the fake follows Binance ---------------------------------------------------------------------


def test_conditional_types_on_the_order_endpoint_get_4120(fake):
    client = binance_client(fake)
    for kind in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET"):
        with pytest.raises(BinanceAPIException) as refused:
            # python-binance's futures_create_order routes these to the algo endpoint by itself;
            # the raw request is what an older client (or another program) sends
            client._request_futures_api("post", "order", True, data={
                "symbol": SYMBOL, "side": "SELL", "positionSide": "LONG", "type": kind, "quantity": "100",
                "stopPrice": "0.01"})
        assert (refused.value.status_code, refused.value.code, refused.value.message) == (
            400, -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
    assert fake.state()["orders"] == []


def test_new_algo_order_answers_in_the_documented_shape_and_is_listed_and_cancelled(fake):
    client = binance_client(fake)
    price = fake.price(SYMBOL)
    trigger = (price * D("0.9")).quantize(TICK)
    placed = client.futures_create_algo_order(symbol=SYMBOL, side="SELL", positionSide="SHORT", type="STOP_MARKET",
                                              quantity="100", triggerPrice=str(trigger), clientAlgoId="mine-1")
    assert set(placed) >= {"algoId", "clientAlgoId", "algoType", "orderType", "symbol", "side", "positionSide",
                           "timeInForce", "quantity", "algoStatus", "triggerPrice", "price", "workingType",
                           "closePosition", "priceProtect", "reduceOnly", "createTime", "updateTime", "triggerTime"}
    assert (placed["algoType"], placed["orderType"], placed["algoStatus"], placed["clientAlgoId"]) == (
        "CONDITIONAL", "STOP_MARKET", "NEW", "mine-1")
    assert D(placed["triggerPrice"]) == trigger and placed["workingType"] == "CONTRACT_PRICE"
    [listed] = client.futures_get_open_algo_orders(symbol=SYMBOL)
    assert listed["algoId"] == placed["algoId"]
    with pytest.raises(BinanceAPIException) as duplicate:
        client.futures_create_algo_order(symbol=SYMBOL, side="SELL", positionSide="SHORT", type="STOP_MARKET",
                                         quantity="100", triggerPrice=str(trigger), clientAlgoId="mine-1")
    assert duplicate.value.code == -4116
    cancelled = client.futures_cancel_algo_order(symbol=SYMBOL, algoId=placed["algoId"])
    assert (cancelled["algoId"], cancelled["code"], cancelled["msg"]) == (placed["algoId"], "200", "success")
    assert client.futures_get_open_algo_orders(symbol=SYMBOL) == []
    assert client.futures_get_algo_order(symbol=SYMBOL, clientAlgoId="mine-1")["algoStatus"] == "CANCELED"
    with pytest.raises(BinanceAPIException) as again:
        client.futures_cancel_algo_order(symbol=SYMBOL, clientAlgoId="mine-1")
    assert (again.value.code, again.value.message) == (-2011, "Unknown order sent.")


@pytest.mark.parametrize("params, code", [
    ({"type": "STOP_MARKET", "side": "SELL", "positionSide": "LONG", "closePosition": "true", "quantity": "5"}, -4137),
    ({"type": "STOP_MARKET", "side": "SELL", "quantity": "100"}, -4061),  # hedge mode: positionSide needed
    ({"type": "STOP_MARKET", "side": "SELL", "positionSide": "LONG", "quantity": "100", "reduceOnly": "true"}, -1106),
    ({"type": "STOP_MARKET", "side": "SELL", "positionSide": "SHORT", "quantity": "100.5"}, -1111),
    ({"type": "STOP_MARKET", "side": "SELL", "positionSide": "SHORT", "quantity": "100",
      "workingType": "INDEX_PRICE"}, -4031),
])
def test_algo_orders_are_checked_like_binance(fake, params, code):
    client = binance_client(fake)
    trigger = (fake.price(SYMBOL) * D("0.9")).quantize(TICK)
    with pytest.raises(BinanceAPIException) as refused:
        client.futures_create_algo_order(symbol=SYMBOL, triggerPrice=str(trigger), **params)
    assert refused.value.code == code


def test_a_trigger_already_reached_is_refused_2021(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    above = (fake.price(SYMBOL) * D("1.01")).quantize(TICK)  # a SELL stop above the price triggers at once
    with pytest.raises(OrderRejectedError) as refused:
        guards.place_guard(SYMBOL, Side.LONG, "hedge", D(100), above, guard_client_id(SYMBOL, Side.LONG, "hedge", 1))
    assert refused.value.code == -2021


# ----- the adapter's guards, triggered by the market ---------------------------------------------------


def test_a_hedge_guard_opens_the_hedge_when_the_price_falls_to_it_with_its_events(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    stream = Stream(fake, adapter)
    try:
        adapter.submit_market_order(SYMBOL, Side.LONG, Action.OPEN, D(100), "ah-main-1")
        trigger, candles = next_low(fake, fake.price(SYMBOL))
        client_id = guard_client_id(SYMBOL, Side.LONG, "hedge", 7)
        placed = guards.place_guard(SYMBOL, Side.LONG, "hedge", D(100), trigger, client_id)
        assert placed == Guard(SYMBOL, Side.LONG, "hedge", client_id, placed.algo_id, D(100), trigger, "NEW")
        assert guards.open_guards(SYMBOL) == [placed]
        fake.step(candles=candles - 1)
        assert position(fake, Side.SHORT) == 0 and guards.open_guards(SYMBOL) == [placed]  # not yet
        fake.step(candles=1)
        assert position(fake, Side.SHORT) == 100 and position(fake, Side.LONG) == 100
        assert guards.open_guards(SYMBOL) == []
        finished = guards.query_guard(SYMBOL, client_id)
        assert finished is not None and finished.status == "FINISHED"
        records = stream.until(lambda r: isinstance(r, AlgoUpdate) and r.status == "FINISHED")
        algo = [r for r in records if isinstance(r, AlgoUpdate)]
        assert [r.status for r in algo] == ["NEW", "TRIGGERING", "TRIGGERED", "FINISHED"]
        assert all(r.client_algo_id == client_id and r.algo_id == placed.algo_id for r in algo)
        last = algo[-1]
        assert (last.side, last.position_side, last.executed_qty, last.order_type) == ("SELL", "SHORT", D(100),
                                                                                       "STOP_MARKET")
        assert last.order_id and last.order_id == algo[-2].order_id and algo[1].order_id == ""
        fill = [r for r in stream.until(lambda r: isinstance(r, TradeUpdate) and r.order_id == client_id)
                if isinstance(r, TradeUpdate) and r.order_id == client_id]
        assert fill[0].cumulative_qty == 100 and fill[0].last_price == last.avg_price
        [order] = [o for o in fake.state()["orders"] if o["clientOrderId"] == client_id]
        assert str(order["orderId"]) == last.order_id and order["positionSide"] == "SHORT"
    finally:
        stream.close()


def test_a_stop_guard_closes_the_whole_main_when_the_price_rises_to_it(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    adapter.submit_market_order(SYMBOL, Side.SHORT, Action.OPEN, D(100), "ah-main-2")
    adapter.submit_market_order(SYMBOL, Side.SHORT, Action.OPEN, D(30), "ah-main-3")  # the main grew
    trigger, candles = next_high(fake, fake.price(SYMBOL))
    client_id = guard_client_id(SYMBOL, Side.SHORT, "stop", 1)
    placed = guards.place_guard(SYMBOL, Side.SHORT, "stop", D(130), trigger, client_id)
    assert (placed.kind, placed.quantity) == ("stop", D(0))  # closePosition: all of it, whatever it is then
    fake.step(candles=candles)
    assert position(fake, Side.SHORT) == 0
    assert guards.query_guard(SYMBOL, client_id).status == "FINISHED"


def test_a_stop_guard_with_nothing_left_to_close_is_rejected_with_its_reason(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    stream = Stream(fake, adapter)
    try:
        adapter.submit_market_order(SYMBOL, Side.LONG, Action.OPEN, D(100), "ah-main-4")
        trigger, candles = next_low(fake, fake.price(SYMBOL))
        client_id = guard_client_id(SYMBOL, Side.LONG, "stop", 2)
        guards.place_guard(SYMBOL, Side.LONG, "stop", D(100), trigger, client_id)
        adapter.submit_market_order(SYMBOL, Side.LONG, Action.CLOSE, D(100), "ah-main-5")  # closed, guard left
        fake.step(candles=candles)
        rejected = [r for r in stream.until(lambda r: isinstance(r, AlgoUpdate) and r.status == "REJECTED")
                    if isinstance(r, AlgoUpdate) and r.status == "REJECTED"]
        assert rejected[0].reason == "ReduceOnly Order is rejected."
        assert position(fake, Side.LONG) == 0 and position(fake, Side.SHORT) == 0
    finally:
        stream.close()


def test_cancelling_a_guard_that_is_gone_says_so_and_a_reset_forgets_every_algo_order(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    trigger = (fake.price(SYMBOL) * D("0.8")).quantize(TICK)
    client_id = guard_client_id(SYMBOL, Side.LONG, "hedge", 3)
    guards.place_guard(SYMBOL, Side.LONG, "hedge", D(100), trigger, client_id)
    assert guards.cancel_guard(SYMBOL, client_id) is True
    assert guards.cancel_guard(SYMBOL, client_id) is False
    assert guards.query_guard(SYMBOL, "ahg-DOGEUSDT-Lh-zz") is None
    guards.place_guard(SYMBOL, Side.LONG, "hedge", D(100), trigger, guard_client_id(SYMBOL, Side.LONG, "hedge", 4))
    fake.reset()
    assert guards.open_guards(SYMBOL) == []


def test_open_guards_lists_only_the_bots_own(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    client = binance_client(fake)
    trigger = (fake.price(SYMBOL) * D("0.8")).quantize(TICK)
    client.futures_create_algo_order(symbol=SYMBOL, side="SELL", positionSide="LONG", type="STOP_MARKET",
                                     closePosition="true", triggerPrice=str(trigger), clientAlgoId="web_by_hand")
    mine = guards.place_guard(SYMBOL, Side.LONG, "stop", D(0), trigger, guard_client_id(SYMBOL, Side.LONG, "stop", 5))
    assert guards.open_guards() == [mine]
    assert len(client.futures_get_open_algo_orders()) == 2


# ----- the keeper's actions carried out on the exchange --------------------------------------------------


def carry_out(guards: BinanceAlgoOrders, actions, seq: list[int]) -> None:  # noqa: ANN001
    """What the live service will do with the keeper's actions: in order, cancels first."""
    for action in actions:
        if action.action == "cancel":
            guards.cancel_guard(action.symbol, action.client_id)
        else:
            seq[0] += 1
            wanted = action.wanted
            guards.place_guard(wanted.symbol, wanted.main, wanted.kind, wanted.qty, wanted.trigger_price,
                               guard_client_id(wanted.symbol, wanted.main, wanted.kind, seq[0]))


def test_restart_with_a_guard_missing_orphaned_and_doubled_ends_with_exactly_one_per_main(fake):
    adapter = adapter_for(fake)
    guards = BinanceAlgoOrders(adapter)
    settings = GuardSettings("hedge", 5.0)
    seq = [100]
    adapter.submit_market_order(SYMBOL, Side.LONG, Action.OPEN, D(100), "ah-main-6")
    entry = D(fake.state()["positions"][0]["entryPrice"])
    held = [HeldMain(SYMBOL, Side.LONG, D(100), entry, D(0), D(100), TICK)]
    # missing: the keeper places it
    carry_out(guards, keep_guards(held, guards.open_guards(), settings), seq)
    [first] = guards.open_guards()
    assert (first.main, first.kind, first.quantity) == (Side.LONG, "hedge", D(100))
    # doubled (a placement whose answer was lost, made again): the keeper cancels one
    guards.place_guard(SYMBOL, Side.LONG, "hedge", first.quantity, first.trigger_price,
                       guard_client_id(SYMBOL, Side.LONG, "hedge", 999))
    # orphaned: a guard for a SHORT main the bot no longer holds
    guards.place_guard(SYMBOL, Side.SHORT, "hedge", D(100), (entry * D("1.2")).quantize(TICK),
                       guard_client_id(SYMBOL, Side.SHORT, "hedge", 998))
    assert len(guards.open_guards()) == 3
    carry_out(guards, keep_guards(held, guards.open_guards(), settings, symbols=[SYMBOL]), seq)
    assert guards.open_guards() == [first]
    assert keep_guards(held, guards.open_guards(), settings) == []  # in step: nothing more to do
    # the main closes: its guard is cancelled
    adapter.submit_market_order(SYMBOL, Side.LONG, Action.CLOSE, D(100), "ah-main-7")
    carry_out(guards, keep_guards([], guards.open_guards(), settings, symbols=[SYMBOL]), seq)
    assert guards.open_guards() == []


# ----- ALGO_UPDATE parsing -----------------------------------------------------------------------------


def test_recorded_algo_update_frames_parse_and_the_fake_sends_the_same_fields():
    triggering = parse_user_event(json.dumps(RECORDED_TRIGGERING), algo_updates=True)
    finished = parse_user_event(json.dumps(RECORDED_FINISHED), algo_updates=True)
    assert triggering == [AlgoUpdate("DOGEUSDT", "O-20251211-053131-TEST-000-1", 1000000033225453, "TRIGGERING",
                                     "STOP_MARKET", "BUY", "BOTH", D(38), D("0.13855"), False, "", D(0), D(0), "",
                                     1765431097019)]
    assert (finished[0].status, finished[0].order_id, finished[0].executed_qty, finished[0].avg_price) == (
        "FINISHED", "88937381063", D(38), D("0.13856"))
    # without the opt-in the record is not produced (a service that does not handle it never sees it)
    assert parse_user_event(json.dumps(RECORDED_FINISHED)) == []
    assert private_url("wss://fstream.binance.com/", "K", "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE").endswith(
        "&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE")


def test_the_fakes_algo_update_has_every_recorded_field():
    from tests.fake_binance.algo import AlgoOrder

    order = AlgoOrder(1, "ahg-DOGEUSDT-Lh-1", SYMBOL, "SELL", "SHORT", "STOP_MARKET", D(100), False, D("0.09"),
                      "CONTRACT_PRICE", False, 5, 5, status="FINISHED", trigger_time=5, actual_order_id="7",
                      avg_price=D("0.09"), executed_qty=D(100))
    event = order.event(5)
    assert set(event) == set(RECORDED_FINISHED["data"])
    assert set(event["o"]) == set(RECORDED_FINISHED["data"]["o"])
    order.status = "NEW"
    assert set(order.event(5)["o"]) == set(RECORDED_TRIGGERING["data"]["o"])
