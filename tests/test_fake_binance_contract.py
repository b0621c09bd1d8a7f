"""Contract tests: the unmodified python-binance client against the fake exchange.

Every endpoint the adapter uses is called through python-binance and checked for
the fields the Binance USDS-M futures docs list; every error the fake can give is
checked for its documented code, message and HTTP status.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from binance.exceptions import BinanceAPIException

from tests.fake_binance import ROUTES, FakeControl
from tools.drill import child_options
from tests.fake_binance.errors import ERRORS, signature_valid, split_signature
from tests.fake_binance.fixtures import DATA_DIR, binance_client, fake, fake_server  # noqa: F401

REAL = Path(__file__).resolve().parent / "data" / "binance-real"  # recorded payloads, see its SOURCES.md
# The documented New Order answer since 2026-07 (tests/data/binance-real/docs_examples): no avgPrice,
# no cumQuote. GET order keeps avgPrice and cumQuote, without cumQty.
NEW_ORDER_FIELDS = {"clientOrderId", "cumQty", "executedQty", "orderId", "origQty", "origType", "price",
                    "reduceOnly", "side", "positionSide", "status", "stopPrice", "closePosition", "symbol",
                    "timeInForce", "type", "updateTime", "workingType", "priceProtect"}
ORDER_FIELDS = {"avgPrice", "clientOrderId", "cumQuote", "executedQty", "orderId", "origQty", "origType", "price",
                "reduceOnly", "side", "positionSide", "status", "stopPrice", "closePosition", "symbol",
                "timeInForce", "type", "updateTime", "workingType", "priceProtect"}
POSITION_FIELDS = {"symbol", "positionSide", "positionAmt", "entryPrice", "breakEvenPrice", "markPrice",
                   "unRealizedProfit", "liquidationPrice", "notional", "marginAsset", "updateTime"}
BALANCE_FIELDS = {"accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl", "availableBalance",
                  "maxWithdrawAmount", "marginAvailable", "updateTime"}


def order(client, **overrides):
    params = dict(symbol="DOGEUSDT", side="BUY", positionSide="LONG", type="MARKET", quantity="100",
                  newOrderRespType="RESULT")
    params.update(overrides)
    return client.futures_create_order(**{k: v for k, v in params.items() if v is not None})


def api_error(call) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as caught:
        call()
    return caught.value


def test_fake_lists_every_endpoint_and_error_code_it_implements():
    """The documented surface of the fake; a change here must be a deliberate one."""
    assert sorted((route.method, route.path, route.security) for route in ROUTES) == sorted([
        ("GET", "/fapi/v1/ping", "NONE"), ("GET", "/fapi/v1/time", "NONE"),
        ("GET", "/fapi/v1/exchangeInfo", "NONE"), ("GET", "/fapi/v1/klines", "NONE"),
        ("POST", "/fapi/v1/order", "SIGNED"), ("GET", "/fapi/v1/order", "SIGNED"),
        ("GET", "/fapi/v2/positionRisk", "SIGNED"), ("GET", "/fapi/v3/positionRisk", "SIGNED"),
        ("GET", "/fapi/v2/balance", "SIGNED"), ("GET", "/fapi/v3/balance", "SIGNED"),
        ("GET", "/fapi/v2/account", "SIGNED"), ("GET", "/fapi/v3/account", "SIGNED"),
        ("GET", "/fapi/v1/positionSide/dual", "SIGNED"), ("POST", "/fapi/v1/positionSide/dual", "SIGNED"),
        ("POST", "/fapi/v1/leverage", "SIGNED"), ("POST", "/fapi/v1/marginType", "SIGNED"),
        ("POST", "/fapi/v1/listenKey", "USER_STREAM"), ("PUT", "/fapi/v1/listenKey", "USER_STREAM"),
        ("DELETE", "/fapi/v1/listenKey", "USER_STREAM"),
        # the Algo Order service (algo.py; tests/test_binance_algo.py)
        ("POST", "/fapi/v1/algoOrder", "SIGNED"), ("DELETE", "/fapi/v1/algoOrder", "SIGNED"),
        ("GET", "/fapi/v1/algoOrder", "SIGNED"), ("GET", "/fapi/v1/openAlgoOrders", "SIGNED"),
        ("DELETE", "/fapi/v1/algoOpenOrders", "SIGNED"),
        ("GET", "/fapi/v1/income", "SIGNED"), ("GET", "/fapi/v1/userTrades", "SIGNED"),
        ("GET", "/fapi/v1/fundingRate", "NONE"),
    ])
    assert sorted(ERRORS) == sorted([-1000, -1001, -1003, -1006, -1007, -1008, -1015, -1021, -1022, -1102, -1106,
                                     -1111, -1116, -1117, -1120, -1121, -1125, -2011, -2013, -2014, -2015, -2019,
                                     -2021, -2022, -2027, -4003, -4015, -4028, -4031, -4045, -4046, -4047, -4048,
                                     -4059, -4061, -4067, -4068, -4116, -4120, -4131, -4137, -4161, -4164, -5028])
    # the messages the issue names, verbatim from the Binance error code page
    assert ERRORS[-4061][1] == "Order's position side does not match user's setting."
    assert ERRORS[-2019][1] == "Margin is insufficient."
    assert ERRORS[-1111][1] == "Precision is over the maximum defined for this asset."
    assert ERRORS[-1021][1] == "Timestamp for this request is outside of the recvWindow."
    assert ERRORS[-2013][1] == "Order does not exist."
    assert ERRORS[-4116][1] == "ClientOrderId is duplicated."
    assert ERRORS[-4048][1] == "Margin type cannot be changed if there exists position."
    assert ERRORS[-4047][1] == "Margin type cannot be changed if there exists open orders."
    assert ERRORS[-4161][1] == "Leverage reduction is not supported in Isolated Margin Mode with open positions"
    assert ERRORS[-2027][1] == "Exceeded the maximum allowable position at current leverage."
    # issue 18: the recorded bodies (tests/data/binance-real/errors/error_bodies.json) word for word
    recorded = {body["code"]: body["msg"] for body in json.loads(
        (REAL / "errors" / "error_bodies.json").read_text()).values()}
    for code in (-5028, -1008, -1007, -1021, -2019, -4061, -2022):
        assert ERRORS[code][1].rstrip(".") == recorded[code].rstrip("."), code


def test_signature_check_matches_binance_documented_example():
    """The HMAC example of the Binance docs (SIGNED endpoint examples, POST /fapi/v1/order)."""
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    payload = ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
               "&recvWindow=5000&timestamp=1591702613943")
    good = payload + "&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    assert split_signature(good)[0] == payload
    assert signature_valid(secret, good)
    assert not signature_valid(secret, good.replace("quantity=1", "quantity=2"))
    assert not signature_valid(secret, payload)


def test_public_endpoints_time_exchange_info_and_klines(fake):
    client = binance_client(fake)
    assert abs(client.futures_time()["serverTime"] - time.time() * 1000) < 5000
    info = client.futures_exchange_info()
    doge = next(s for s in info["symbols"] if s["symbol"] == "DOGEUSDT")
    filters = {f["filterType"]: f for f in doge["filters"]}
    assert filters["LOT_SIZE"]["stepSize"] == "1" and filters["MARKET_LOT_SIZE"]["minQty"] == "1"
    assert filters["MIN_NOTIONAL"]["notional"] == "5"
    assert doge["contractType"] == "PERPETUAL" and doge["quoteAsset"] == "USDT"

    rows = client.futures_klines(symbol="DOGEUSDT", interval="5m", limit=3)
    assert len(rows) == 3 and all(len(row) == 12 for row in rows)
    # only candles closed by the simulated clock, the last one closing exactly now
    assert rows[-1][6] + 1 == fake.now_ms
    assert [row[0] for row in rows] == [fake.now_ms - 900_000, fake.now_ms - 600_000, fake.now_ms - 300_000]
    assert Decimal(rows[-1][4]) == fake.price("DOGEUSDT")
    start = fake.now_ms - 2000 * 300_000
    page = client.futures_klines(symbol="DOGEUSDT", interval="5m", startTime=start, limit=1500)
    assert len(page) == 1500 and page[0][0] == start
    daily = client.futures_klines(symbol="DOGEUSDT", interval="1d", limit=2)
    assert daily[-1][6] + 1 <= fake.now_ms
    fake.step(candles=2)
    assert client.futures_klines(symbol="DOGEUSDT", interval="5m", limit=1)[0][6] + 1 == fake.now_ms


def test_hedge_mode_order_fills_at_current_price_and_positions_are_per_side(fake):
    client = binance_client(fake)
    assert client.futures_get_position_mode() == {"dualSidePosition": True}
    price = fake.price("DOGEUSDT")
    opened = order(client, newClientOrderId="c-1")
    # Binance's New Order answer since 2026-07: no avgPrice, no cumQuote (the price is looked up)
    assert NEW_ORDER_FIELDS <= set(opened) and not {"avgPrice", "cumQuote"} & set(opened)
    assert opened["status"] == "FILLED" and opened["executedQty"] == "100"
    looked_up = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="c-1")
    assert ORDER_FIELDS <= set(looked_up) and "cumQty" not in looked_up and Decimal(looked_up["avgPrice"]) == price
    order(client, side="SELL", positionSide="SHORT", quantity="40", newClientOrderId="c-2")
    rows = client.futures_position_information(symbol="DOGEUSDT")
    assert all(POSITION_FIELDS <= set(row) for row in rows)
    by_side = {row["positionSide"]: row for row in rows}
    assert by_side["LONG"]["positionAmt"] == "100" and by_side["SHORT"]["positionAmt"] == "-40"
    assert Decimal(by_side["LONG"]["entryPrice"]) == price
    queried = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="c-1")
    assert queried["status"] == "FILLED" and queried["clientOrderId"] == "c-1" and "time" in queried

    fake.step(candles=12)
    exit_price = fake.price("DOGEUSDT")
    order(client, side="SELL", positionSide="LONG", quantity="100", newClientOrderId="c-3")
    state = fake.state()
    assert state["positions"] == [{"symbol": "DOGEUSDT", "positionSide": "SHORT", "qty": "40",
                                   "entryPrice": str(price)}]
    fee_rate = Decimal("0.0005")
    expected_fees = (100 * price + 40 * price + 100 * exit_price) * fee_rate
    assert Decimal(state["fees_paid"]) == expected_fees.quantize(Decimal("1e-8"))
    assert Decimal(state["realized_pnl"]) == (exit_price - price) * 100
    balance = client.futures_account_balance()
    assert BALANCE_FIELDS <= set(balance[0])
    assert Decimal(balance[0]["balance"]) == Decimal(10000) + (exit_price - price) * 100 - Decimal(state["fees_paid"])


@pytest.mark.parametrize("schema, present, absent", [
    ("2026-07", {"cumQty"}, {"avgPrice", "cumQuote"}),
    ("2025-12", {"avgPrice", "cumQuote"}, {"cumQty"}),
    ("legacy", {"avgPrice", "cumQuote", "cumQty"}, set()),
])
def test_new_order_answer_shapes_are_named_options(schema, present, absent):
    """The 2026-07 schema by default; the real 2025-12 RESULT shape and the old full one when named.
    Each shape has the same keys as its recorded/documented body in tests/data/binance-real."""
    from tests.fake_binance import FakeBinance
    from tests.fake_binance.fixtures import DATA_DIR as KLINES

    server = FakeBinance(KLINES, symbols=["DOGEUSDT"], order_schema=schema).start()
    try:
        answer = order(binance_client(server), newClientOrderId=f"s-{schema}")
    finally:
        server.stop()
    assert present <= set(answer) and not absent & set(answer)
    recorded = {"2026-07": REAL / "docs_examples" / "new_order_response_docs_2026-07__binance-connector-python.json",
                "2025-12": REAL / "rest" / "new_order_RESULT_FILLED_ETHUSDT_2025-12-22.json"}.get(schema)
    if recorded is not None:
        keys = set(json.loads(recorded.read_text()))
        assert {"avgPrice", "cumQuote", "cumQty"} & keys == {"avgPrice", "cumQuote", "cumQty"} & set(answer)


def test_ack_response_then_query_shows_the_fill(fake):
    client = binance_client(fake)
    ack = order(client, newClientOrderId="ack-1", newOrderRespType="ACK")
    assert ack["status"] == "NEW" and ack["executedQty"] == "0"
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="ack-1")["status"] == "FILLED"


@pytest.mark.parametrize("overrides, code", [
    ({"positionSide": None}, -4061),
    ({"positionSide": "BOTH"}, -4061),
    ({"side": "SELL", "reduceOnly": "true"}, -1106),
    ({"quantity": "100.5"}, -1111),
    ({"quantity": "10"}, -4164),
    ({"quantity": "0"}, -4003),
    ({"quantity": None}, -1102),
    ({"quantity": "10000000"}, -2019),
    ({"side": "SELL", "quantity": "100"}, -2022),
    ({"symbol": "NOPEUSDT"}, -1121),
    ({"newClientOrderId": "x" * 37}, -4015),
    ({"newClientOrderId": "has space"}, -4015),
])
def test_order_rules_answer_with_binance_codes_and_messages(fake, overrides, code):
    client = binance_client(fake)
    error = api_error(lambda: order(client, **overrides))
    assert error.code == code
    status, template = ERRORS[code]
    assert error.status_code == status
    assert re.fullmatch(re.escape(template).replace("%s", "[^ ]+"), error.message), error.message
    assert fake.state()["orders"] == [] and fake.state()["positions"] == []


def test_one_way_account_rejects_position_side_with_4061(fake):
    client = binance_client(fake)
    client.futures_change_position_mode(dualSidePosition="false")
    assert api_error(lambda: order(client)).code == -4061
    assert order(client, positionSide=None)["status"] == "FILLED"


def test_client_id_is_unique_among_open_orders_only(fake):
    """Binance (New Order, ``newClientOrderId``): "A unique id among open orders". A FILLED order's id
    may be sent again and executes again; an id an OPEN order has answers -4116."""
    client = binance_client(fake)
    order(client, newClientOrderId="dup")
    again = order(client, newClientOrderId="dup")
    assert again["status"] == "FILLED"
    assert [o["clientOrderId"] for o in fake.state()["orders"]] == ["dup", "dup"]
    assert fake.state()["positions"][0]["qty"] == "200"  # the re-send doubled the position
    # the query by client id finds the newest order with that id
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="dup")["orderId"] == again["orderId"]

    fake.add_fault(kind="ack_only", path="/fapi/v1/order", delay_ms=600_000)
    assert order(client, newClientOrderId="open-1")["status"] == "NEW"
    error = api_error(lambda: order(client, newClientOrderId="open-1"))
    assert (error.code, error.message, error.status_code) == (-4116, "ClientOrderId is duplicated.", 400)
    missing = api_error(lambda: client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="nope"))
    assert (missing.code, missing.message) == (-2013, "Order does not exist.")


def test_lenient_client_ids_is_an_option_that_refuses_every_reuse():
    from tests.fake_binance import FakeBinance
    with FakeBinance(DATA_DIR, symbols=["DOGEUSDT"], lenient_client_ids=True) as lenient:
        client = binance_client(lenient)
        order(client, newClientOrderId="once")
        assert api_error(lambda: order(client, newClientOrderId="once")).code == -4116
        assert len(lenient.state()["orders"]) == 1


@pytest.mark.parametrize("answer, status, code, message", [
    ("503", 503, -1000, "Unknown error, please check your request or try again later."),
    ("-1007", 503, -1007, "Timeout waiting for response from backend server. Send status unknown; "
                          "execution status unknown."),
])
def test_execute_later_answers_an_error_and_the_order_executes_after_it(fake, answer, status, code, message):
    client = binance_client(fake)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer=answer, delay_ms=600_000)
    error = api_error(lambda: order(client, newClientOrderId="late-1"))
    assert (error.status_code, error.code, error.message) == (status, code, message)
    # not executed yet: the query does not find it, and nothing is held
    assert api_error(lambda: client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="late-1")).code == -2013
    assert fake.state()["orders"] == [] and fake.state()["positions"] == []
    assert fake.fire_timers() == 1  # the delay is over
    found = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="late-1")
    assert (found["status"], found["executedQty"]) == ("FILLED", "100")
    assert fake.state()["positions"][0]["qty"] == "100"


def test_execute_later_plus_a_resend_with_the_same_client_id_doubles_the_position(fake):
    """Defect 1 of issue 11 on the exchange side: after an unknown outcome, a re-send of a client id that
    is not found yet is a second order; both execute."""
    client = binance_client(fake)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="-1007", delay_ms=600_000)
    api_error(lambda: order(client, newClientOrderId="twice"))
    assert order(client, newClientOrderId="twice")["status"] == "FILLED"
    fake.fire_timers()
    assert [o["status"] for o in fake.state()["orders"]] == ["FILLED", "FILLED"]
    assert fake.state()["positions"][0]["qty"] == "200"


def test_execute_later_runs_on_the_fakes_own_timer(fake):
    client = binance_client(fake)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="503", delay_ms=50)
    api_error(lambda: order(client, newClientOrderId="timer-1"))
    fake.settle()  # waits for the timer, asserts nothing about time
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="timer-1")["status"] == "FILLED"


def test_execute_later_with_a_timeout_answer_the_client_gives_up_and_the_order_executes(fake):
    import requests
    client = binance_client(fake)
    client.session.request = _with_timeout(client.session.request, 0.2)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="timeout", latency_ms=2000, delay_ms=0)
    with pytest.raises(requests.exceptions.Timeout):
        order(client, newClientOrderId="to-1")
    fake.settle()
    assert [o["clientOrderId"] for o in fake.state()["orders"]] == ["to-1"]
    assert fake.state()["positions"][0]["qty"] == "100"


def test_execute_later_timeout_answer_held_then_minus_1007_when_not_executed_yet(fake):
    client = binance_client(fake)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="timeout", latency_ms=100,
                   delay_ms=600_000)
    assert api_error(lambda: order(client, newClientOrderId="to-2")).code == -1007
    fake.fire_timers()
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="to-2")["status"] == "FILLED"


def test_execute_later_is_checked_again_when_it_runs(fake):
    """A late execution meets the account as it is then: a close of a position closed meanwhile is refused."""
    client = binance_client(fake)
    order(client, newClientOrderId="open")
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="503", delay_ms=600_000)
    api_error(lambda: order(client, side="SELL", newClientOrderId="close-late"))
    order(client, side="SELL", newClientOrderId="close-now")
    fake.fire_timers()
    state = fake.state()
    assert [o["clientOrderId"] for o in state["orders"]] == ["open", "close-now"] and state["positions"] == []
    assert state["late_rejections"] == [{"clientOrderId": "close-late", "code": -2022,
                                         "msg": "ReduceOnly Order is rejected."}]


def test_ack_only_market_order_answers_new_and_fills_later(fake):
    client = binance_client(fake)
    fake.add_fault(kind="ack_only", path="/fapi/v1/order", delay_ms=600_000)
    ack = order(client, newClientOrderId="ack-2")
    assert (ack["status"], ack["executedQty"], ack.get("avgPrice")) == ("NEW", "0", None)
    queried = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="ack-2")
    assert (queried["status"], queried["executedQty"]) == ("NEW", "0")
    assert fake.state()["positions"] == []
    fake.fire_timers()
    queried = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="ack-2")
    assert (queried["status"], queried["executedQty"]) == ("FILLED", "100")
    assert Decimal(queried["avgPrice"]) == fake.price("DOGEUSDT")
    assert fake.state()["positions"][0]["qty"] == "100"


def test_partial_then_fill_answers_partially_filled_then_fills_the_rest(fake):
    client = binance_client(fake)
    fake.add_fault(kind="partial_then_fill", path="/fapi/v1/order", fill_ratio="0.4", delay_ms=600_000)
    first = order(client, newClientOrderId="ptf-1")
    assert (first["status"], first["executedQty"], first["origQty"]) == ("PARTIALLY_FILLED", "40", "100")
    assert fake.state()["positions"][0]["qty"] == "40"
    assert api_error(lambda: order(client, newClientOrderId="ptf-1")).code == -4116  # still open
    fake.step(candles=1)  # the rest fills at the price of its own moment
    fake.fire_timers()
    done = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="ptf-1")
    assert (done["status"], done["executedQty"]) == ("FILLED", "100")
    assert fake.state()["positions"][0]["qty"] == "100"


def test_invisible_order_executes_but_queries_answer_2013_for_a_while(fake):
    client = binance_client(fake)
    fake.add_fault(kind="invisible", path="/fapi/v1/order", delay_ms=600_000)
    assert order(client, newClientOrderId="inv-1")["status"] == "FILLED"
    assert api_error(lambda: client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="inv-1")).code == -2013
    rows = {r["positionSide"]: r for r in client.futures_position_information(symbol="DOGEUSDT")}
    assert rows["LONG"]["positionAmt"] == "100"  # the position shows it at once
    fake.fire_timers()
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="inv-1")["status"] == "FILLED"


def test_reset_cancels_delayed_executions_so_nothing_leaks_into_the_next_account(fake):
    """Defect 9 of issue 11: a late execution armed in one test must never reach the next test's account."""
    client = binance_client(fake)
    for kind in ("execute_later", "ack_only", "partial_then_fill", "invisible"):
        fake.add_fault(kind=kind, path="/fapi/v1/order", delay_ms=200)
    api_error(lambda: order(client, newClientOrderId="leak-1"))
    order(client, newClientOrderId="leak-2")
    order(client, newClientOrderId="leak-3")
    order(client, newClientOrderId="leak-4")
    epoch = fake.state()["epoch"]
    fake.reset()
    assert fake.state()["epoch"] == epoch + 1
    fake.wait_on_loop(400)  # on the fake's loop: every timer armed before the reset is due by now
    assert fake.state()["orders"] == [] and fake.state()["positions"] == []
    assert fake.exchange.engine.timers.pending == 0


def test_a_request_held_across_a_reset_does_not_touch_the_new_account(fake):
    import threading
    client = binance_client(fake)
    fake.add_fault(kind="latency", path="/fapi/v1/order", latency_ms=2000)
    outcome: list = []
    sender = threading.Thread(target=lambda: outcome.append(_catch(lambda: order(client, newClientOrderId="held"))))
    sender.start()
    while not fake.exchange.in_flight and sender.is_alive():
        time.sleep(0.005)
    fake.reset()
    sender.join(30)
    assert fake.state()["orders"] == [] and fake.state()["positions"] == []
    assert isinstance(outcome[0], BinanceAPIException) and outcome[0].status_code == 503


def test_recv_window_is_checked_when_the_request_arrives(fake):
    """Timing security: serverTime at arrival - timestamp <= recvWindow; a request held afterwards
    (latency inside the exchange) still executes."""
    client = binance_client(fake)
    client.REQUEST_RECVWINDOW = 1000  # python-binance sends this recvWindow with every signed request
    fake.add_fault(kind="latency", path="/fapi/v1/order", latency_ms=1500)
    assert order(client, newClientOrderId="rw-1")["status"] == "FILLED"
    stale = binance_client(fake)
    stale.REQUEST_RECVWINDOW = 1000
    stale.timestamp_offset -= 1500  # signed 1.5 s before it arrives
    error = api_error(lambda: order(stale, newClientOrderId="rw-2"))
    assert (error.code, error.message) == (-1021, "Timestamp for this request is outside of the recvWindow.")


def _catch(call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the test inspects it
        return error


def _with_timeout(request, seconds: float):
    def call(*args, **kwargs):
        kwargs["timeout"] = seconds
        return request(*args, **kwargs)
    return call


def test_request_security_key_signature_and_timestamp(fake):
    assert api_error(lambda: binance_client(fake, api_key="wrong-key").futures_account_balance()).code == -2015
    bad_secret = binance_client(fake, api_secret="wrong-secret")
    error = api_error(bad_secret.futures_account_balance)
    assert (error.code, error.message) == (-1022, "Signature for this request is not valid.")
    no_key = binance_client(fake, api_key="")
    assert api_error(lambda: no_key.futures_stream_get_listen_key()).code == -2014
    stale = binance_client(fake)
    stale.timestamp_offset -= 20_000  # 20 s behind the server: outside recvWindow
    error = api_error(stale.futures_account_balance)
    assert (error.code, error.status_code) == (-1021, 400)
    ahead = binance_client(fake)
    ahead.timestamp_offset += 2_000  # more than 1 s ahead of the server
    assert api_error(ahead.futures_account_balance).code == -1021


def test_account_settings_leverage_margin_type_and_position_mode(fake):
    client = binance_client(fake)
    assert client.futures_change_leverage(symbol="DOGEUSDT", leverage=7) == {
        "leverage": 7, "maxNotionalValue": "5000000", "symbol": "DOGEUSDT"}
    assert client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED")["code"] == 200
    error = api_error(lambda: client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED"))
    assert (error.code, error.message) == (-4046, "No need to change margin type.")
    assert api_error(lambda: client.futures_change_position_mode(dualSidePosition="true")).code == -4059
    order(client)
    error = api_error(lambda: client.futures_change_position_mode(dualSidePosition="false"))
    assert (error.code, error.message) == (-4068, "Position side cannot be changed if there exists position.")
    row = client.futures_position_information(symbol="DOGEUSDT", version=2)
    assert {r["positionSide"] for r in row} == {"LONG", "SHORT"} and row[0]["leverage"] == "7"


def test_listen_key_life_cycle(fake):
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    assert len(key) == 64
    assert client.futures_stream_keepalive(listenKey=key) == {"listenKey": key}
    client.futures_stream_close(listenKey=key)
    assert api_error(lambda: client.futures_stream_keepalive(listenKey=key)).code == -1125


@pytest.mark.parametrize("fault, status, code", [
    ({"kind": "http_error", "status": 502}, 502, 0),
    ({"kind": "rate_limit", "retry_after": 7}, 429, -1003),
    ({"kind": "rate_limit"}, 429, -1003),
    ({"kind": "timestamp"}, 400, -1021),
    ({"kind": "error", "code": -1007}, 503, -1007),
])
def test_faults_answer_without_executing(fake, fault, status, code):
    client = binance_client(fake)
    fake.add_fault(path="/fapi/v1/order", **fault)
    error = api_error(lambda: order(client, newClientOrderId="f-1"))
    assert (error.status_code, error.code) == (status, code)
    retry_after = error.response.headers.get("Retry-After")
    assert retry_after == (str(fault["retry_after"]) if "retry_after" in fault else None)
    assert fake.state()["orders"] == []
    assert order(client, newClientOrderId="f-1")["status"] == "FILLED"  # the fault fired once


def test_unknown_error_503_is_sent_after_the_order_executed(fake):
    client = binance_client(fake)
    fake.add_fault(kind="unknown_after_execute", path="/fapi/v1/order")
    error = api_error(lambda: order(client, newClientOrderId="u-1"))
    assert (error.status_code, error.message) == (503, "Unknown error, please check your request or try again later.")
    assert client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="u-1")["status"] == "FILLED"


def test_partial_fill_then_expired(fake):
    client = binance_client(fake)
    fake.add_fault(kind="partial_fill", path="/fapi/v1/order", fill_ratio="0.3")
    result = order(client, quantity="101", newClientOrderId="p-1")
    assert (result["status"], result["executedQty"], result["origQty"]) == ("EXPIRED", "30", "101")
    assert fake.state()["positions"][0]["qty"] == "30"


def test_latency_fault_delays_but_executes(fake):
    client = binance_client(fake)
    fake.add_fault(kind="latency", latency_ms=300, path="/fapi/v1/order")
    started = time.monotonic()
    assert order(client, newClientOrderId="l-1")["status"] == "FILLED"
    assert time.monotonic() - started >= 0.3


async def _read_events(url: str, count: int, timeout: float = 5.0) -> list[dict]:
    import aiohttp
    events = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            while len(events) < count:
                message = await asyncio.wait_for(ws.receive(), timeout)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                events.append(json.loads(message.data))
    return events


def test_kline_stream_publishes_each_candle_when_it_closes(fake):
    import threading
    result: list = []
    thread = threading.Thread(target=lambda: result.extend(asyncio.run(
        _read_events(fake.ws_url + "market/stream?streams=dogeusdt@kline_5m", 3))))
    thread.start()
    deadline = time.time() + 5
    while not fake.exchange.hub.subscribers and time.time() < deadline:
        time.sleep(0.01)
    before = fake.now_ms
    fake.step(candles=3)
    thread.join(5)
    assert [event["stream"] for event in result] == ["dogeusdt@kline_5m"] * 3
    klines = [event["data"]["k"] for event in result]
    assert [k["t"] for k in klines] == [before, before + 300_000, before + 600_000]
    assert all(k["x"] is True and k["i"] == "5m" and k["T"] == k["t"] + 299_999 for k in klines)
    assert Decimal(klines[-1]["c"]) == fake.price("DOGEUSDT")


def test_python_binance_socket_manager_receives_closed_klines_and_user_events(fake, monkeypatch):
    """The unmodified python-binance WebSocket client (BinanceSocketManager) against the fake."""
    from binance import AsyncClient, BinanceSocketManager
    from binance.ws.reconnecting_websocket import ReconnectingWebsocket

    # its read loop only notices an exit after a recv timeout (10 s by default)
    monkeypatch.setattr(ReconnectingWebsocket, "TIMEOUT", 0.5)
    from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET

    async def scenario() -> tuple[dict, dict]:
        client = AsyncClient(TEST_API_KEY, TEST_API_SECRET, testnet=True)
        client.FUTURES_TESTNET_URL = fake.base_url + "/fapi"
        manager = BinanceSocketManager(client)
        manager.FSTREAM_TESTNET_URL = fake.ws_url
        manager.testnet = True
        async with manager.futures_multiplex_socket(["dogeusdt@kline_5m"]) as stream:
            await asyncio.sleep(0.2)
            await asyncio.get_running_loop().run_in_executor(None, lambda: fake.step(candles=1))
            kline = await asyncio.wait_for(stream.recv(), 5)
        async with manager.futures_user_socket() as user:
            await asyncio.sleep(0.2)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: order(binance_client(fake), newClientOrderId="ws-1"))
            received = [await asyncio.wait_for(user.recv(), 5) for _ in range(4)]
            lite = [event for event in received if event["e"] == "TRADE_LITE"]
            accepted, account, update = [event for event in received if event["e"] != "TRADE_LITE"]
            assert [event["c"] for event in lite] == ["ws-1"]  # TRADE_LITE: sent without being asked
        await client.close_connection()
        assert (accepted["o"]["x"], accepted["o"]["X"], accepted["o"]["c"]) == ("NEW", "NEW", "ws-1")
        assert account["e"] == "ACCOUNT_UPDATE" and account["a"]["m"] == "ORDER"
        return kline, update

    kline, update = asyncio.run(scenario())
    assert kline["data"]["k"]["x"] is True and kline["data"]["s"] == "DOGEUSDT"
    assert update["e"] == "ORDER_TRADE_UPDATE" and update["o"]["c"] == "ws-1" and update["o"]["X"] == "FILLED"


def test_dropped_websocket_is_closed_by_the_server(fake):
    import threading
    result: list = []
    thread = threading.Thread(target=lambda: result.extend(asyncio.run(
        _read_events(fake.ws_url + "ws/dogeusdt@kline_5m", 1))))
    thread.start()
    deadline = time.time() + 5
    while not fake.exchange.hub.subscribers and time.time() < deadline:
        time.sleep(0.01)
    assert fake.drop_websockets() == 1
    thread.join(5)
    assert not thread.is_alive() and result == []


def test_runs_as_its_own_process_with_http_control(tmp_path):
    """``python -m tests.fake_binance``: state survives a client going away; control over HTTP."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Its own session: a Ctrl-C meant for pytest does not reach it, and it is stopped below whatever
    # the parent does with SIGINT (a background shell ignores it, and so would the child).
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_binance", "--data", str(DATA_DIR), "--port", str(port),
         "--start", "2025-03-01T00:00"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), stdout=subprocess.PIPE, text=True,
        **child_options())
    try:
        line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        control = FakeControl(f"http://127.0.0.1:{port}")
        assert control.state()["now_ms"] == 1740787200000
        assert control.step(candles=2) == 1740787200000 + 600_000
        control.add_fault(kind="unknown_after_execute", path="/fapi/v1/order")

        class Remote:
            base_url = f"http://127.0.0.1:{port}"
        client = binance_client(Remote)  # type: ignore[arg-type]
        with pytest.raises(BinanceAPIException):
            order(client, newClientOrderId="proc-1")
        state = control.state()
        assert [o["clientOrderId"] for o in state["orders"]] == ["proc-1"]
        assert state["positions"][0]["qty"] == "100"
        assert state["fired"][0]["kind"] == "unknown_after_execute"
        # incidents, timers and limits over HTTP
        assert control.trade_by_hand("DOGEUSDT", "BUY", "LONG", "50")["clientOrderId"].startswith("web_")
        assert Decimal(control.pay_funding("DOGEUSDT", "0.0001")["change"]) < 0
        assert control.liquidate("DOGEUSDT", "LONG")["type"] == "LIQUIDATION"
        assert control.state()["positions"] == []
        control.add_fault(kind="execute_later", path="/fapi/v1/order", delay_ms=600_000)
        with pytest.raises(BinanceAPIException):
            order(client, newClientOrderId="proc-late")
        assert control.fire_timers() == 1
        control.settle()
        assert control.state()["orders"][-1]["clientOrderId"] == "proc-late"
        assert control.limits(freeze_at_ms=0)["limit"] == 2400
        control.reset()
        assert control.state()["orders"] == []
    finally:
        process.terminate()  # SIGTERM is never inherited as ignored, unlike SIGINT
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        process.stdout.close()


def test_a_fault_is_not_used_up_by_a_request_refused_for_its_timestamp(fake):
    """The cause of the rare [O4] -4131 test failure: under load the client's clock estimate ran
    more than 1 s ahead, the exchange refused the order for its timestamp (-1021), and that refusal
    used up the armed fault, so the client's re-sent order filled instead of being rejected.
    Binance checks a request's key, signature and timestamp before anything else happens to it."""
    client = binance_client(fake)
    fake.add_fault(kind="error", code=-4131, path="/fapi/v1/order", method="POST")
    client.timestamp_offset += 2_000  # the client's clock two seconds ahead, as a loaded machine can make it
    assert api_error(lambda: order(client, newClientOrderId="early")).code == -1021
    client.timestamp_offset -= 2_000
    assert api_error(lambda: order(client, newClientOrderId="on-time")).code == -4131
    assert fake.state()["orders"] == []


# ----- account settings refused where Binance refuses them ------------------------------------------------


def test_margin_type_change_is_refused_with_a_position_or_an_open_order(fake):
    client = binance_client(fake)
    order(client, newClientOrderId="m-1")
    error = api_error(lambda: client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED"))
    assert (error.code, error.message, error.status_code) == (
        -4048, "Margin type cannot be changed if there exists position.", 400)
    order(client, side="SELL", newClientOrderId="m-2")  # flat again
    fake.add_fault(kind="ack_only", path="/fapi/v1/order", delay_ms=600_000)
    order(client, newClientOrderId="m-3")  # an open (NEW) order
    error = api_error(lambda: client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED"))
    assert (error.code, error.message) == (-4047, "Margin type cannot be changed if there exists open orders.")
    # unchanged margin type is still -4046 first, whatever is open
    assert api_error(lambda: client.futures_change_margin_type(symbol="DOGEUSDT", marginType="CROSSED")).code == -4046
    assert fake.exchange.engine.account.margin_type.get("DOGEUSDT", "cross") == "cross"


def test_leverage_changes_refused_like_binance(fake):
    client = binance_client(fake)
    assert api_error(lambda: client.futures_change_leverage(symbol="DOGEUSDT", leverage=76)).code == -4028
    assert client.futures_change_leverage(symbol="DOGEUSDT", leverage=10)["maxNotionalValue"] == "5000000"
    qty = int(Decimal(12_000) / fake.price("DOGEUSDT"))  # about 12,000 USDT: over the 75x bracket's 10,000 cap
    order(client, quantity=str(qty), newClientOrderId="big")
    error = api_error(lambda: client.futures_change_leverage(symbol="DOGEUSDT", leverage=75))
    assert (error.code, error.message) == (-2027, "Exceeded the maximum allowable position at current leverage.")
    assert client.futures_change_leverage(symbol="DOGEUSDT", leverage=25)["maxNotionalValue"] == "250000"
    order(client, side="SELL", quantity=str(qty), newClientOrderId="flat")
    client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED")
    order(client, newClientOrderId="small")
    error = api_error(lambda: client.futures_change_leverage(symbol="DOGEUSDT", leverage=5))
    assert (error.code, error.message) == (
        -4161, "Leverage reduction is not supported in Isolated Margin Mode with open positions")
    assert client.futures_change_leverage(symbol="DOGEUSDT", leverage=30)["leverage"] == 30  # raising is allowed


def test_lenient_account_settings_is_an_option_a_test_names():
    from tests.fake_binance import FakeBinance
    with FakeBinance(DATA_DIR, symbols=["DOGEUSDT"], lenient_account_settings=True) as lenient:
        client = binance_client(lenient)
        order(client)
        assert client.futures_change_margin_type(symbol="DOGEUSDT", marginType="ISOLATED")["code"] == 200
        assert client.futures_change_leverage(symbol="DOGEUSDT", leverage=2)["leverage"] == 2


# ----- request weight, 429 and 418 -----------------------------------------------------------------------


def test_every_response_carries_the_used_weight_of_the_minute(fake):
    client = binance_client(fake)
    fake.freeze_rate_clock()
    client.futures_time()
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    client.futures_get_position_mode()  # weight 30
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "31"
    client.futures_klines(symbol="DOGEUSDT", interval="5m", limit=1500)  # weight 10 over 1000 rows
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "41"
    order(client, newClientOrderId="w-1")  # a new order weighs 0 on the IP limit
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "41"
    api_error(lambda: client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="nope"))  # errors too
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "42"
    fake.advance_rate_clock(60_000)  # a new minute
    client.futures_time()
    assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "1"


def test_over_2400_a_minute_answers_429_then_sending_on_gets_418_bans_that_grow(fake):
    client = binance_client(fake)
    fake.freeze_rate_clock(at_ms=10_000)  # 10 s into a minute
    info = client.futures_exchange_info()
    assert {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400} in info[
        "rateLimits"]
    for _ in range(79):  # 1 + 79 x 30 = 2371
        client.futures_get_position_mode()
    error = api_error(client.futures_get_position_mode)  # 2371 + 30 > 2400
    assert (error.status_code, error.code) == (429, -1003)
    assert error.message == ("Too many requests; current limit is 2400 requests per minute. Please use the "
                             "websocket for live updates to avoid polling the API.")
    assert error.response.headers["Retry-After"] == "50" and error.response.headers["X-MBX-USED-WEIGHT-1M"] == "2371"
    error = api_error(client.futures_time)  # sent during the Retry-After: an automated IP ban
    assert (error.status_code, error.code) == (418, -1003)
    assert re.fullmatch(r"Way too many requests; IP banned until \d+\. Please use the websocket for live updates "
                        r"to avoid bans\.", error.message), error.message
    assert error.response.headers["Retry-After"] == "120"  # the first ban: 2 minutes
    fake.advance_rate_clock(60_000)
    error = api_error(client.futures_time)
    assert (error.status_code, error.response.headers["Retry-After"]) == (418, "60")  # the time left
    fake.advance_rate_clock(60_000)
    assert "serverTime" in client.futures_time()  # the ban is over
    for _ in range(79):
        client.futures_get_position_mode()
    assert api_error(client.futures_get_position_mode).status_code == 429
    error = api_error(client.futures_time)
    assert (error.status_code, error.response.headers["Retry-After"]) == (418, "240")  # a repeat: twice as long


def test_weight_limit_none_is_an_option_a_test_names():
    from tests.fake_binance import FakeBinance
    with FakeBinance(DATA_DIR, symbols=["DOGEUSDT"], weight_limit=None) as unlimited:
        client = binance_client(unlimited)
        unlimited.freeze_rate_clock()
        for _ in range(81):
            client.futures_get_position_mode()
        assert client.response.headers["X-MBX-USED-WEIGHT-1M"] == "2430"


# ----- WebSocket routes (the 2026 split), forming candles, 24 h, user data ---------------------------------


class Socket:
    """A ``websockets`` client connection to the fake, registered on the server before it returns."""

    def __init__(self, fake, path: str):
        from contextlib import ExitStack

        from websockets.sync.client import connect
        before = len(fake.exchange.hub.subscribers)
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(connect(fake.ws_url + path, open_timeout=10, close_timeout=2))
        deadline = time.monotonic() + 10
        while len(fake.exchange.hub.subscribers) <= before and time.monotonic() < deadline:
            time.sleep(0.005)

    def recv(self) -> dict:
        return json.loads(self.ws.recv(timeout=10))

    def recv_user(self) -> dict:
        """The next user-data event other than TRADE_LITE (sent before each execution's order update)."""
        while True:
            message = self.recv()
            if (message.get("data", message)).get("e") != "TRADE_LITE":
                return message

    def nothing_pushed(self) -> bool:
        """True when the next message is the answer to a SUBSCRIBE sent now, so nothing was pushed before."""
        self.ws.send(json.dumps({"method": "SUBSCRIBE", "params": [], "id": 99}))
        return self.recv() == {"result": None, "id": 99}

    def close(self) -> None:
        self._stack.close()


def test_klines_only_on_the_market_route_the_legacy_address_stays_silent(fake):
    legacy = Socket(fake, "stream?streams=dogeusdt@kline_5m")
    legacy_raw = Socket(fake, "ws/dogeusdt@kline_5m")
    market = Socket(fake, "market/stream?streams=dogeusdt@kline_5m")
    market_raw = Socket(fake, "market/ws/dogeusdt@kline_5m")
    try:
        before = fake.now_ms
        fake.step(candles=2)
        wrapped = [market.recv(), market.recv()]
        assert [m["stream"] for m in wrapped] == ["dogeusdt@kline_5m"] * 2
        assert [m["data"]["k"]["t"] for m in wrapped] == [before, before + 300_000]
        raw = [market_raw.recv(), market_raw.recv()]
        assert [m["data"] for m in wrapped] == raw  # ws mode: the same events, not wrapped
        assert legacy.nothing_pushed() and legacy_raw.nothing_pushed()
    finally:
        for socket in (legacy, legacy_raw, market, market_raw):
            socket.close()


def test_forming_candle_is_sent_with_x_false_then_the_closed_one_with_x_true(fake):
    market = Socket(fake, "market/ws/dogeusdt@kline_5m")
    try:
        open_time = fake.now_ms
        fake.step(ms=120_000)  # 2 of the 5 minutes
        forming = market.recv()["k"]
        fake.step(ms=180_000)
        closed = market.recv()["k"]
    finally:
        market.close()
    assert (forming["t"], forming["x"], forming["T"]) == (open_time, False, open_time + 299_999)
    assert (closed["t"], closed["x"]) == (open_time, True)
    assert forming["o"] == closed["o"]
    assert Decimal(closed["l"]) <= Decimal(forming["c"]) <= Decimal(closed["h"])
    assert Decimal(forming["v"]) < Decimal(closed["v"]) or Decimal(closed["v"]) == 0
    assert Decimal(closed["c"]) == fake.price("DOGEUSDT")


def test_a_connection_is_closed_after_24_hours_of_the_fakes_clock(fake):
    from websockets.exceptions import ConnectionClosedOK
    market = Socket(fake, "market/stream?streams=dogeusdt@kline_1d")
    try:
        fake.step(ms=23 * 3_600_000)
        while market.recv()["data"]["k"]["x"]:  # a day that closed meanwhile, then the forming one
            pass
        assert market.nothing_pushed()  # still connected after 23 h
        fake.step(ms=3_600_000)
        with pytest.raises(ConnectionClosedOK):
            while True:
                market.recv()
        assert market.ws.close_code == 1000
    finally:
        market.close()


def test_user_data_stream_on_the_private_route_with_binance_field_names(fake):
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    assert client.futures_stream_get_listen_key() == key  # an active key is returned again (and extended)
    user = Socket(fake, f"private/ws/{key}")
    try:
        order(client, newClientOrderId="ud-1")
        placed = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId="ud-1")
        new, account, trade = user.recv_user(), user.recv_user(), user.recv_user()
    finally:
        user.close()
    assert (new["e"], new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("ORDER_TRADE_UPDATE", "NEW", "NEW", "ud-1")
    fill = trade["o"]
    assert (trade["e"], fill["x"], fill["X"], fill["c"], fill["ps"], fill["S"]) == (
        "ORDER_TRADE_UPDATE", "TRADE", "FILLED", "ud-1", "LONG", "BUY")
    assert (fill["l"], fill["z"], Decimal(fill["ap"]), fill["N"], fill["i"]) == (
        "100", "100", Decimal(placed["avgPrice"]), "USDT", placed["orderId"])
    assert Decimal(fill["n"]) == (100 * Decimal(placed["avgPrice"]) * Decimal("0.0005")).quantize(Decimal("1e-8"))
    assert (account["e"], account["a"]["m"]) == ("ACCOUNT_UPDATE", "ORDER")
    [position] = account["a"]["P"]
    assert (position["s"], position["pa"], Decimal(position["ep"]), position["ps"]) == (
        "DOGEUSDT", "100", Decimal(placed["avgPrice"]), "LONG")
    [balance] = account["a"]["B"]
    assert balance["a"] == "USDT" and Decimal(balance["wb"]) == Decimal(10000) - Decimal(fill["n"])


def test_private_stream_mode_with_an_events_filter_is_wrapped(fake):
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    user = Socket(fake, f"private/stream?listenKey={key}&events=ORDER_TRADE_UPDATE")
    try:
        order(client, newClientOrderId="ud-2")
        first, second = user.recv_user(), user.recv_user()
        assert user.nothing_pushed()  # no ACCOUNT_UPDATE: filtered out
    finally:
        user.close()
    assert [m["stream"] for m in (first, second)] == [key, key]
    assert [m["data"]["o"]["X"] for m in (first, second)] == ["NEW", "FILLED"]


def test_listen_key_expires_after_60_minutes_without_keep_alive(fake):
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    user = Socket(fake, f"private/ws/{key}")
    try:
        fake.step(ms=59 * 60_000)
        assert client.futures_stream_keepalive(listenKey=key) == {"listenKey": key}  # 60 more minutes
        fake.step(ms=59 * 60_000)
        assert user.nothing_pushed()  # still valid: kept alive
        fake.step(ms=60_000)
        expired = user.recv()
        assert expired == {"e": "listenKeyExpired", "E": fake.now_ms, "listenKey": key}
        order(client, newClientOrderId="after-expiry")
        assert user.nothing_pushed()  # no more events on an expired key
    finally:
        user.close()
    error = api_error(lambda: client.futures_stream_keepalive(listenKey=key))
    assert (error.code, error.message) == (
        -1125, "This listenKey does not exist. Please use `POST /fapi/v1/listenKey` to recreate `listenKey`")
    assert client.futures_stream_get_listen_key() != key  # a new one


def test_events_filter_is_an_allow_list_listen_key_expired_only_when_subscribed(fake):
    """Issue 18 (4): Binance's ``events=`` filter is an allow-list; ``listenKeyExpired`` left out is never
    sent. The bot's own subscription (adapters.binance_user_stream.private_url) names it, so it is told."""
    from urllib.parse import urlsplit

    from adapters.binance_user_stream import private_url

    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    narrow = Socket(fake, f"private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE")
    bots = urlsplit(private_url(fake.ws_url, key))
    ours = Socket(fake, f"{bots.path.lstrip('/')}?{bots.query}")
    try:
        fake.step(ms=60 * 60_000)
        assert ours.recv() == {"e": "listenKeyExpired", "E": fake.now_ms, "listenKey": key}
        assert narrow.nothing_pushed()
    finally:
        narrow.close()
        ours.close()


def test_a_silently_dead_listen_key_keeps_its_socket_open_and_sends_nothing(fake):
    """Fault (issue 18, a silent dead listenKey): the key stops existing with no listenKeyExpired and no
    close -- the socket still answers, no event arrives; the keep-alive answers -1125, as Binance does for a
    key that does not exist, and POST makes a new key whose stream works."""
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    user = Socket(fake, f"private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired")
    try:
        assert fake.kill_listen_keys() == 1
        order(client, newClientOrderId="after-silent-death")
        assert user.nothing_pushed()  # still open (it answered), and nothing was pushed: silent
        fake.step(ms=60 * 60_000)
        assert user.nothing_pushed()  # no listenKeyExpired later either
        error = api_error(lambda: client.futures_stream_keepalive(listenKey=key))
        assert (error.code, error.message) == (
            -1125, "This listenKey does not exist. Please use `POST /fapi/v1/listenKey` to recreate `listenKey`")
        fresh = client.futures_stream_get_listen_key()
        assert fresh != key
        again = Socket(fake, f"private/ws/{fresh}")
        try:
            order(client, newClientOrderId="after-new-key")
            assert again.recv_user()["o"]["c"] == "after-new-key"
            assert user.nothing_pushed()  # the dead key's socket still gets nothing
        finally:
            again.close()
    finally:
        user.close()


def test_control_state_lists_private_connections_and_whether_their_key_lives(fake):
    control = FakeControl(fake.base_url)
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    user = Socket(fake, f"private/ws/{key}")
    try:
        assert control.state()["user_streams"] == [{"valid": True, "events": None}]
        assert control.kill_listen_keys() == 1
        assert control.state()["user_streams"] == [{"valid": False, "events": None}]
    finally:
        user.close()


def test_listen_key_closed_by_delete(fake):
    client = binance_client(fake)
    key = client.futures_stream_get_listen_key()
    client.futures_stream_close(listenKey=key)
    assert api_error(lambda: client.futures_stream_keepalive(listenKey=key)).code == -1125


# ----- incidents through the control API ----------------------------------------------------------------------


def _user_socket(fake):
    return Socket(fake, f"private/ws/{binance_client(fake).futures_stream_get_listen_key()}")


def test_liquidation_closes_the_position_with_a_liquidation_order_and_events(fake):
    client = binance_client(fake)
    order(client, newClientOrderId="liq-open")
    user = _user_socket(fake)
    try:
        liquidation = fake.liquidate("DOGEUSDT", "LONG")
        new, account, execution = user.recv_user(), user.recv_user(), user.recv_user()
    finally:
        user.close()
    assert liquidation["clientOrderId"].startswith("autoclose-") and liquidation["type"] == "LIQUIDATION"
    assert (new["o"]["c"], new["o"]["o"], new["o"]["X"]) == (liquidation["clientOrderId"], "LIQUIDATION", "NEW")
    assert (execution["o"]["x"], execution["o"]["X"], execution["o"]["z"], execution["o"]["ps"]) == (
        "CALCULATED", "FILLED", "100", "LONG")
    assert account["a"]["m"] == "ORDER" and account["a"]["P"][0]["pa"] == "0"
    assert fake.state()["positions"] == []
    found = client.futures_get_order(symbol="DOGEUSDT", origClientOrderId=liquidation["clientOrderId"])
    assert found["status"] == "FILLED"


def test_auto_deleverage_closes_part_of_a_position(fake):
    client = binance_client(fake)
    order(client, side="SELL", positionSide="SHORT", newClientOrderId="adl-open")
    user = _user_socket(fake)
    try:
        adl = fake.auto_deleverage("DOGEUSDT", "SHORT", "30")
        new, account, trade = user.recv_user(), user.recv_user(), user.recv_user()
    finally:
        user.close()
    assert adl["clientOrderId"] == "adl_autoclose" and adl["side"] == "BUY"
    assert (new["o"]["c"], trade["o"]["c"], trade["o"]["x"], trade["o"]["l"]) == (
        "adl_autoclose", "adl_autoclose", "TRADE", "30")
    assert account["a"]["P"][0]["pa"] == "-70" and account["a"]["P"][0]["ps"] == "SHORT"
    assert fake.state()["positions"][0]["qty"] == "70"


def test_funding_payment_changes_the_wallet_with_a_funding_fee_update(fake):
    client = binance_client(fake)
    order(client, quantity="1000", newClientOrderId="fund-long")
    order(client, side="SELL", positionSide="SHORT", quantity="400", newClientOrderId="fund-short")
    wallet = Decimal(fake.state()["wallet"])
    user = _user_socket(fake)
    try:
        change = fake.pay_funding("DOGEUSDT", "0.0001")
        update = user.recv_user()
    finally:
        user.close()
    assert change == -(600 * fake.price("DOGEUSDT") * Decimal("0.0001")).quantize(Decimal("1e-8"))
    assert Decimal(fake.state()["wallet"]) == wallet + change
    assert (update["e"], update["a"]["m"], update["a"]["P"]) == ("ACCOUNT_UPDATE", "FUNDING_FEE", [])  # cross: B only
    assert Decimal(update["a"]["B"][0]["bc"]) == change and Decimal(update["a"]["B"][0]["wb"]) == wallet + change


def test_a_trade_made_by_hand_is_an_order_the_bot_never_sent(fake):
    client = binance_client(fake)
    user = _user_socket(fake)
    try:
        manual = fake.trade_by_hand("DOGEUSDT", "BUY", "LONG", "250")
        new, account, trade = user.recv_user(), user.recv_user(), user.recv_user()
    finally:
        user.close()
    assert manual["clientOrderId"].startswith("web_") and manual["status"] == "FILLED"
    assert trade["o"]["c"] == manual["clientOrderId"] and account["a"]["P"][0]["pa"] == "250"
    rows = {r["positionSide"]: r for r in client.futures_position_information(symbol="DOGEUSDT")}
    assert rows["LONG"]["positionAmt"] == "250"
    from tests.fake_binance.errors import ApiError
    with pytest.raises(ApiError) as refused:  # checked like an API order
        fake.trade_by_hand("DOGEUSDT", "SELL", "SHORT", "1")
    assert refused.value.code == -4164


def test_market_clock_can_run_by_itself(fake):
    market = Socket(fake, "market/ws/dogeusdt@kline_5m")
    try:
        fake.run_market_clock(speed=600, tick_ms=20)  # 12 s of market time per tick
        seen = []
        while not seen or seen[-1]["x"] is False:
            seen.append(market.recv()["k"])
    finally:
        fake.run_market_clock(speed=0)
        market.close()
    assert seen[-1]["x"] is True and any(k["x"] is False and k["t"] == seen[-1]["t"] for k in seen)


# ----- defect 8 of issue 11: the bot's kline stream address ------------------------------------------------


def test_defect_8_live_feed_uses_the_market_route_and_gets_klines_from_the_stream(fake):
    from live.live_feed import LIVE_STREAM_URL, TESTNET_STREAM_URL, BinanceKlineFeed

    def feed_for(base: str) -> BinanceKlineFeed:
        rest_calls: list = []
        return BinanceKlineFeed(["DOGEUSDT"], lambda *a, **k: rest_calls.append(a) or [],
                                lambda *a: [], base, clock=lambda: 0)

    assert feed_for(TESTNET_STREAM_URL).stream_url == (  # demo trading's stream host (issue 18)
        "wss://demo-fstream.binance.com/market/stream?streams=dogeusdt@kline_5m")
    assert feed_for(LIVE_STREAM_URL).stream_url == "wss://fstream.binance.com/market/stream?streams=dogeusdt@kline_5m"

    feed = feed_for(fake.ws_url)  # REST answers nothing: a candle can only come from the stream
    feed.resume_after("DOGEUSDT", fake.now_ms)
    try:
        feed.start()
        deadline = time.monotonic() + 10
        while not fake.exchange.hub.streams_wanted() and time.monotonic() < deadline:
            time.sleep(0.01)
        fake.step(candles=1)
        received = None
        for _ in range(20):
            received = received or feed.next_candle(timeout=0.5)
            if received:
                break
    finally:
        feed.close()
    assert received is not None and received.candle.close_time == fake.now_ms
