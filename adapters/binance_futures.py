"""Binance USDT-M futures in hedge mode, on python-binance [SPEC O1-O7].

:class:`BinanceFuturesAdapter` implements :class:`core.ports.Broker` (the order
executor above it owns retries and idempotency) plus what the live service needs at
start-up and for back-fill: :meth:`prepare_symbols` (hedge mode, margin type,
leverage, exchange filters), :meth:`positions`, :meth:`balance`,
:meth:`klines` and :meth:`check_connection` for the GUI's "test connection".

:func:`classify` (adapters/binance_errors.py, re-exported here) maps python-binance /
requests exceptions to the core's error classes; it is the one place that decides what
may be retried [O4].
Orders are MARKET with ``positionSide`` and never ``reduceOnly`` [O1], with
``newClientOrderId`` [O2] and ``newOrderRespType=RESULT`` [O3].
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from binance.client import Client

from core.errors import UserError
from core.model import Action, Candle, Side
from core.ports import (
    AccountSnapshot,
    BrokerError,
    ExchangePosition,
    OrderRejectedError,
    OrderReport,
    OrderStatus,
    PositionSnapshot,
    RetryableError,
    SymbolRules,
)
from core.sim_broker import buys
from adapters.binance_errors import (  # noqa: F401 - re-exported: callers import them from here
    ADVICE,
    CERTAIN_FAILURE_CODES,
    DEFAULT_ADVICE,
    LATE_REQUEST_CODES,
    UNKNOWN_OUTCOME_CODES,
    _sentence,
    classify,
)
from adapters.request_budget import RequestBudget

log = logging.getLogger("autohedge.binance")

KLINE_LIMIT = 1500  # the most /fapi/v1/klines returns per request
INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "1d": 86_400_000}

# Practice mode: Binance USDⓈ-M demo trading (keys made on demo.binance.com). REST host from the
# General Info page ("The REST base url for testnet is https://demo-fapi.binance.com"), the same
# host python-binance 1.0.37 uses for ``demo=True`` (FUTURES_DEMO_URL).
DEMO_REST_URL = "https://demo-fapi.binance.com"
# Demo trading's stream host. Binance's General Info copy of the index (id 54080916766) still names
# wss://fstream.binancefuture.com for streams, as python-binance 1.0.37 does (FSTREAM_DEMO_URL);
# nautilus_trader (BINANCE_FUTURES_USD_DEMO_WS_URL) and other clients of 2026 use demo-fstream, the
# host the issue found answering. ``exchange.stream_url`` in the settings overrides it.
DEMO_STREAM_URL = "wss://demo-fstream.binance.com/"
LIVE_STREAM_URL = "wss://fstream.binance.com/"
PRACTICE_VENUE = "demo trading"
# Hedge mode (dual side position) is one switch for the whole account: every USDⓈ-M symbol and,
# since Binance's COIN-M migration, COIN-M futures too (binance-connector-python trade_api
# change_position_mode docstring).
HEDGE_SWITCH_SCOPE = ("switching is account-wide: it changes every USDⓈ-M symbol and COIN-M futures too")


class AdapterSetupError(UserError):
    """Start-up could not put the account in the state the bot needs (one sentence)."""


class HedgeModeOff(AdapterSetupError):
    """The account is in one-way mode and the user has not agreed to the account-wide switch yet:
    the window asks (and starts again with the switch allowed), the command line names its flag."""


@dataclass(frozen=True)
class ConnectionCheck:
    """Result of "test connection": ``ok`` and one sentence for the GUI."""

    ok: bool
    reason: str
    time_offset_ms: int | None = None


@dataclass(frozen=True)
class AccountBalance:
    asset: str
    wallet: Decimal
    available: Decimal
    unrealized_pnl: Decimal


# ----- the adapter ----------------------------------------------------------------------------------


def _order_status(value: Any, executed: Decimal) -> OrderStatus:
    """Binance's status; one this program does not know is read as final (the order is no
    longer working) so its executed quantity is kept, never as a crash after the order went out."""
    try:
        return OrderStatus(value)
    except ValueError:
        log.warning("[O3] unknown order status %r from Binance: treated as final with %s executed", value, executed)
        return OrderStatus.EXPIRED


def _candle(row: Any) -> Candle | None:
    """A kline row (open time, o, h, l, c, v, close time - 1 ms, ...) as a Candle; None for a row
    that is not readable or has a price not above 0 (never a candle at price 0 or NaN)."""
    if not isinstance(row, (list, tuple)) or len(row) < 7:
        return None
    prices = [_decimal(value) for value in row[1:5]]
    open_time, close_time = _decimal(row[0]), _decimal(row[6])
    if min(prices) <= 0 or open_time <= 0 or close_time <= open_time:
        return None
    return Candle(int(open_time), *(float(price) for price in prices), float(max(_decimal(row[5]), Decimal(0))),
                  int(close_time) + 1)


def _candles(rows: Any) -> list[Candle]:
    candles = [_candle(row) for row in rows] if isinstance(rows, list) else []
    if None in candles:
        log.warning("Binance sent %d unreadable kline row(s); they were skipped", candles.count(None))
    return [candle for candle in candles if candle is not None]


def _decimal(value: Any) -> Decimal:
    """A number from the exchange; anything unreadable (None, text, NaN, infinity) is 0."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def fill_price(body: dict[str, Any]) -> Decimal | None:
    """The average price of an order answer, or None when it carries none [O3].

    ``avgPrice`` when above 0 (GET order, older New Order answers); else ``cumQuote / executedQty``
    (New Order before 2026-07). The New Order schema of 2026-07 has neither: then None, and the
    caller looks the order up."""
    price = _decimal(body.get("avgPrice"))
    if price > 0:
        return price
    executed, quote = _decimal(body.get("executedQty")), _decimal(body.get("cumQuote"))
    if executed > 0 and quote > 0:
        return quote / executed
    return None


def _format_qty(qty: Decimal) -> str:
    """Plain decimal text, no exponent and no trailing zeros (what Binance's precision check reads)."""
    text = format(qty.normalize(), "f")
    return text


def symbol_problem(info: dict[str, Any], symbol: str, venue: str = "live") -> str | None:
    """One sentence when ``symbol`` cannot be traded by the bot (not listed, not a perpetual, or not
    ``TRADING``), else None. Quarterly contracts and halted or delisting symbols get definitive
    refusals on every order, so they are refused at start."""
    entries = info.get("symbols") if isinstance(info, dict) else None
    entry = next((item for item in (entries if isinstance(entries, list) else []) if isinstance(item, dict)
                  and item.get("symbol") == symbol), None)
    if entry is None:
        return f"{symbol} is not a USDT-M futures symbol on Binance {venue}; check the symbol list in Settings."
    contract, status = entry.get("contractType"), entry.get("status")
    if contract not in (None, "PERPETUAL"):
        return (f"{symbol} is a {str(contract).lower().replace('_', ' ')} contract, not a perpetual; the bot trades "
                "perpetual USDT-M futures only, so remove it from the symbol list in Settings.")
    if status not in (None, "TRADING"):
        return (f"{symbol} is not trading on Binance {venue} right now (status {status}); remove it from the "
                "symbol list in Settings or start again when it trades.")
    return None


def rules_from_exchange_info(info: dict[str, Any], symbol: str) -> SymbolRules | None:
    """[O6] LOT_SIZE / MARKET_LOT_SIZE / MIN_NOTIONAL of ``symbol``. For MARKET orders the
    stricter of LOT_SIZE and MARKET_LOT_SIZE applies."""
    entries = info.get("symbols") if isinstance(info, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("symbol") != symbol:
            continue
        listed = entry.get("filters")
        filters = {item["filterType"]: item for item in (listed if isinstance(listed, list) else [])
                   if isinstance(item, dict) and isinstance(item.get("filterType"), str)}
        lots = [filters[name] for name in ("LOT_SIZE", "MARKET_LOT_SIZE") if name in filters]
        step = max((_decimal(lot.get("stepSize")) for lot in lots), default=Decimal(0))
        min_qty = max((_decimal(lot.get("minQty")) for lot in lots), default=Decimal(0))
        max_qtys = [_decimal(lot.get("maxQty")) for lot in lots if _decimal(lot.get("maxQty")) > 0]
        if step <= 0 or min_qty < 0:
            return None  # no usable LOT_SIZE: an order could not be rounded to the symbol's step
        notional = filters.get("MIN_NOTIONAL", {})
        min_notional = _decimal(notional.get("notional", notional.get("minNotional", 0)))
        tick = _decimal(filters.get("PRICE_FILTER", {}).get("tickSize")) or None
        return SymbolRules(symbol, step, min_qty, min_notional, min(max_qtys) if max_qtys else None, tick)
    return None


def order_rate_limits(info: dict[str, Any]) -> dict[str, int]:
    """The account's ORDERS limits from exchangeInfo ``rateLimits`` keyed like Binance's
    ``X-MBX-ORDER-COUNT-<n><letter>`` headers: ``{"10S": 300, "1M": 1200}``."""
    letters = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
    limits: dict[str, int] = {}
    listed = info.get("rateLimits") if isinstance(info, dict) else None
    for limit in listed if isinstance(listed, list) else []:
        if not isinstance(limit, dict) or limit.get("rateLimitType") != "ORDERS":
            continue
        letter = letters.get(str(limit.get("interval")))
        try:
            number, value = int(limit.get("intervalNum", 1)), int(limit["limit"])
            if letter and number > 0 and value > 0:
                limits[f"{number}{letter}"] = value
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
    return limits


def request_weight_limit(info: dict[str, Any]) -> int | None:
    """The per-minute REQUEST_WEIGHT limit from exchangeInfo ``rateLimits``."""
    listed = info.get("rateLimits") if isinstance(info, dict) else None
    for limit in listed if isinstance(listed, list) else []:
        if isinstance(limit, dict) and limit.get("rateLimitType") == "REQUEST_WEIGHT" \
                and limit.get("interval") == "MINUTE":
            try:
                value = int(limit["limit"]) // max(1, int(limit.get("intervalNum", 1)))
            except (KeyError, TypeError, ValueError, OverflowError):
                return None
            return value if value > 0 else None
    return None


class BinanceFuturesAdapter:
    """One Binance account (demo trading or live). Thread-safe: calls are serialised.

    ``testnet=True`` (the old name, kept for callers) or ``demo=True`` selects Binance's USDⓈ-M
    demo trading at :data:`DEMO_REST_URL`; ``base_url`` overrides the host for either."""

    def __init__(
        self,
        credentials: Any | None,
        testnet: bool = False,
        base_url: str | None = None,
        recv_window: int = 5000,
        timeout_seconds: float = 10.0,
        taker_fee_rate: Decimal = Decimal("0.0005"),
        clock: Callable[[], float] = time.time,
        budget: RequestBudget | None = None,
        demo: bool = False,
    ):
        api_key = getattr(credentials, "api_key", None)
        api_secret = getattr(credentials, "api_secret", None)
        self.demo = bool(testnet or demo)
        self.testnet = self.demo  # the old name of the practice mode, kept for callers
        self.taker_fee_rate = taker_fee_rate
        self._clock = clock
        self._has_credentials = bool(api_key and api_secret)
        # python-binance 1.0.37: demo=True sends /fapi requests to FUTURES_DEMO_URL (demo-fapi).
        self.client = Client(api_key, api_secret, ping=False, demo=self.demo,
                             requests_params={"timeout": timeout_seconds})
        self.client.REQUEST_RECVWINDOW = recv_window
        futures_url = base_url.rstrip("/") + "/fapi" if base_url else (DEMO_REST_URL + "/fapi" if self.demo else None)
        if futures_url:
            self.client.FUTURES_URL = futures_url
            self.client.FUTURES_TESTNET_URL = futures_url
            self.client.FUTURES_DEMO_URL = futures_url
        self._lock = threading.RLock()
        self._rules: dict[str, SymbolRules] = {}
        self._synced = False
        self.recv_window_ms = recv_window  # [O4] an order request arriving later than this is refused
        # One budget for every request of the bot (all symbols and the kline back-fill).
        self.budget = budget or RequestBudget()

    # ----- plumbing ---------------------------------------------------------------------------

    @property
    def venue(self) -> str:
        return PRACTICE_VENUE if self.demo else "live"

    def sync_time(self) -> int:
        """Set python-binance's timestamp offset from the server time (half the round trip)."""
        with self._lock:
            sent = self._clock() * 1000
            answer = self._request(self.client.futures_time, resync=False)
            server = int(_decimal(answer.get("serverTime"))) if isinstance(answer, dict) else 0
            if server <= 0:
                raise RetryableError("Binance answered the server time without a time")
            received = self._clock() * 1000
            offset = int(server - (sent + received) / 2)
            self.client.timestamp_offset = offset
            self._synced = True
            log.info("[O4] Binance %s clock offset %+d ms", self.venue, offset)
            return offset

    def _request(self, method: Callable[..., Any], order_submission: bool = False, resync: bool = True,
                 reducing: bool = False, **params: Any) -> Any:
        """Call python-binance through the shared request budget; on -1021 re-sync the clock and
        try once more (the request was refused before execution, so this cannot double an order).
        A new order is not re-sent here: its -1021 is raised after the re-sync, so the executor
        sends it again with a fresh timestamp it has saved [O2, O4]."""
        with self._lock:
            if resync and not self._synced:
                self.sync_time()
            try:
                return self._call(method, params, order_submission, reducing)
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                error = classify(exc, order_submission)
            if not (isinstance(error, RetryableError) and error.resync_time and resync):
                raise error
            log.warning("[O4] %s; re-syncing the clock%s", error.message,
                        "" if order_submission else " and retrying once")
            self.sync_time()
            if order_submission:
                raise error
            try:
                return self._call(method, params)
            except Exception as exc:  # noqa: BLE001
                raise classify(exc, order_submission) from None

    def _call(self, method: Callable[..., Any], params: dict[str, Any], order: bool = False,
              reducing: bool = False) -> Any:
        """One HTTP request, counted by the budget (weight and order-count headers, 429/418
        Retry-After). A new order costs no IP weight but counts against the account's order rate;
        a closing one is never held back by the budget's own headroom."""
        self.budget.before_request(order=order, reducing=reducing)
        self.client.response = None
        try:
            return method(**params)
        finally:
            response = self.client.response
            if response is not None:
                self.budget.after_response(response.status_code, response.headers)

    def _server_now_ms(self) -> int:
        return int(self._clock() * 1000 + self.client.timestamp_offset)

    # ----- start-up ---------------------------------------------------------------------------

    def hedge_mode_on(self) -> bool:
        """[O1] Is the account in hedge mode (dual side position)? GET /fapi/v1/positionSide/dual."""
        mode = self._request(self.client.futures_get_position_mode)
        return isinstance(mode, dict) and mode.get("dualSidePosition") in (True, "true")

    def ensure_hedge_mode(self, allow_switch: bool = False) -> None:
        """[O1] Check hedge mode; never switch silently. Without ``allow_switch`` (the user has not
        agreed yet) a one-way account stops start-up with one sentence saying the switch is
        account-wide; with it, :meth:`switch_to_hedge_mode` is called."""
        if self.hedge_mode_on():
            log.info("[O1] Binance %s account is in hedge mode", self.venue)
            return
        if not allow_switch:
            raise HedgeModeOff(
                f"The Binance {self.venue} futures account is in one-way mode and the bot needs hedge mode; "
                f"{HEDGE_SWITCH_SCOPE}, so switch it yourself in Binance (Preferences, Position Mode) or let the "
                "bot switch it when it asks, then start again.")
        self.switch_to_hedge_mode()

    def switch_to_hedge_mode(self) -> None:
        """[O1] POST /fapi/v1/positionSide/dual dualSidePosition=true, asked for by the user (it is
        account-wide). One sentence on refusal: -4067/-4068 name COIN-M as a possible cause."""
        try:
            self._request(self.client.futures_change_position_mode, dualSidePosition="true")
        except OrderRejectedError as error:
            if error.code == -4059:  # already in hedge mode
                return
            if error.code in (-4067, -4068):
                what = "orders" if error.code == -4067 else "positions"
                raise AdapterSetupError(
                    "The Binance futures account is in one-way mode and cannot switch to hedge mode while "
                    f"it has open {what} (USDⓈ-M or COIN-M futures: {HEDGE_SWITCH_SCOPE}); close them on "
                    "Binance (all symbols, COIN-M included) or switch to Hedge Mode yourself, then start "
                    "again.") from None
            raise AdapterSetupError(f"Could not switch the account to hedge mode: {error.message}. "
                                    f"{error.advice}") from None
        log.info("[O1] Binance %s account switched to hedge mode", self.venue)

    def prepare_symbols(self, symbols: list[str], leverage_by_symbol: dict[str, int],
                        margin_type: str = "CROSSED", switch_hedge_mode: bool = False) -> dict[str, SymbolRules]:
        """Hedge mode, then per symbol: exchange filters, margin type (-4046 = already set), leverage.

        Hedge mode is required: start-up stops with one sentence when the account is in one-way
        mode, unless ``switch_hedge_mode`` (the user agreed to the account-wide switch). A refused
        margin type or leverage is logged in one sentence and the exchange's current one is kept."""
        self.sync_time()
        self.ensure_hedge_mode(allow_switch=switch_hedge_mode)
        self.load_exchange_filters(symbols)
        wanted = {"cross": "CROSSED", "crossed": "CROSSED", "isolated": "ISOLATED"}.get(margin_type.lower())
        if wanted is None:
            raise AdapterSetupError(f"Margin type {margin_type!r} is not known; use 'cross' or 'isolated'.")
        for symbol in symbols:
            self._set_margin_type(symbol, wanted)
            self._set_leverage(symbol, int(leverage_by_symbol.get(symbol, 1)))
            log.info("[O1] %s ready: %s", symbol, self._rules[symbol])
        return {symbol: self._rules[symbol] for symbol in symbols}

    def _set_margin_type(self, symbol: str, wanted: str) -> None:
        """Binance refuses a margin-type change while the symbol has a position or open orders
        (-4048 and kin): the exchange's current margin type is kept and trading goes on."""
        try:
            self._request(self.client.futures_change_margin_type, symbol=symbol, marginType=wanted)
        except OrderRejectedError as error:
            if error.code == -4046:  # no need to change margin type
                log.info("[O1] %s margin type is %s", symbol, wanted)
                return
            log.warning("[O1] %s: Binance refused to set margin type %s (%s%s); keeping the exchange's current "
                        "margin type for this symbol and trading on", symbol, wanted,
                        f"code {error.code}: " if error.code is not None else "", _sentence(error.message))
            return
        log.info("[O1] %s margin type set to %s", symbol, wanted)

    def _set_leverage(self, symbol: str, leverage: int) -> None:
        """A refused leverage change (positions open, or above the symbol's bracket) keeps the
        exchange's current leverage for this symbol; trading goes on."""
        try:
            self._request(self.client.futures_change_leverage, symbol=symbol, leverage=leverage)
        except OrderRejectedError as error:
            log.warning("[O1] %s: Binance refused to set leverage %dx (%s%s); keeping the exchange's current "
                        "leverage for this symbol and trading on", symbol, leverage,
                        f"code {error.code}: " if error.code is not None else "", _sentence(error.message))
            return
        log.info("[O1] %s leverage set to %dx", symbol, leverage)

    def exchange_info(self) -> dict[str, Any]:
        """GET /fapi/v1/exchangeInfo (public)."""
        return self._request(self.client.futures_exchange_info, resync=False)

    def load_exchange_filters(self, symbols: list[str]) -> None:
        """[O6] Read LOT_SIZE / MARKET_LOT_SIZE / MIN_NOTIONAL for ``symbols`` from exchangeInfo."""
        info = self.exchange_info()
        self.budget.adopt_limit(request_weight_limit(info))
        self.budget.adopt_order_limits(order_rate_limits(info))
        for symbol in symbols:
            problem = symbol_problem(info, symbol, self.venue)
            rules = rules_from_exchange_info(info, symbol) if problem is None else None
            if rules is None:
                raise AdapterSetupError(problem or f"{symbol} has no exchange filters on Binance {self.venue}; "
                                                   "check the symbol list in Settings.")
            self._rules[symbol] = rules

    # ----- Broker port --------------------------------------------------------------------------

    def symbol_rules(self, symbol: str) -> SymbolRules:
        if symbol not in self._rules:
            self.load_exchange_filters([symbol])
        return self._rules[symbol]

    def submit_market_order(self, symbol: str, side: Side, action: Action, qty: Decimal,
                            client_id: str) -> OrderReport:
        """[O1] MARKET, hedge mode: BUY/SELL by side and action, ``positionSide`` always, no reduceOnly."""
        order_side = "BUY" if buys(side, action) else "SELL"
        log.info("[O1] %s %s %s: sending MARKET %s %s (client id %s)", symbol, side.value, action.value,
                 order_side, _format_qty(qty), client_id)
        response = self._request(
            self.client.futures_create_order, order_submission=True, reducing=action is Action.CLOSE,
            symbol=symbol, side=order_side, positionSide=side.value, type="MARKET",
            quantity=_format_qty(qty), newClientOrderId=client_id, newOrderRespType="RESULT",
        )
        report = self._report(response, client_id)
        if report.has_unpriced_fill:
            # The 2026-07 New Order answer has no avgPrice/cumQuote: GET the order by client id.
            report = self._priced_by_look_up(symbol, client_id, report)
        return report

    def _priced_by_look_up(self, symbol: str, client_id: str, report: OrderReport) -> OrderReport:
        """[O3] The price of an executed order whose answer carried none, from GET /fapi/v1/order.
        When the look-up fails or has no price either, the report keeps ``price_known=False``: the
        executor then keeps the order pending instead of recording a fill at price 0."""
        try:
            looked_up = self.query_order(symbol, client_id)
        except BrokerError as error:
            log.warning("[O3] %s %s executed %s but its price could not be looked up (%s); the order stays "
                        "pending until its price is known", symbol, client_id, report.executed_qty, error.message)
            return report
        if looked_up is None or looked_up.has_unpriced_fill or looked_up.executed_qty < report.executed_qty:
            log.warning("[O3] %s %s executed %s but Binance gave no price for it yet; the order stays pending "
                        "until its price is known", symbol, client_id, report.executed_qty)
            return report
        return looked_up

    def query_order(self, symbol: str, client_id: str) -> OrderReport | None:
        try:
            response = self._request(self.client.futures_get_order, symbol=symbol, origClientOrderId=client_id)
        except OrderRejectedError as error:
            if error.code == -2013:  # Order does not exist
                return None
            raise
        return self._report(response, client_id)

    def positions(self, symbol: str) -> dict[Side, ExchangePosition]:
        """[O7] LONG and SHORT of ``symbol`` from positionRisk (quantity 0 when flat)."""
        rows = self._request(self.client.futures_position_information, symbol=symbol)
        result = {side: ExchangePosition(symbol, side, Decimal(0), Decimal(0)) for side in Side}
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or row.get("symbol") != symbol \
                    or row.get("positionSide") not in ("LONG", "SHORT"):
                continue
            side = Side(row["positionSide"])
            qty, entry = abs(_decimal(row.get("positionAmt"))), _decimal(row.get("entryPrice"))
            if qty > 0 and entry <= 0:
                entry = _decimal(row.get("breakEvenPrice"))
            if qty > 0 and entry <= 0:
                # Never a position at price 0: the read fails for this symbol and is tried again.
                raise RetryableError(f"Binance answered a {symbol} {side.value} position of {qty} without an "
                                     "entry price; positions are read again before the next decision")
            result[side] = ExchangePosition(symbol, side, qty, entry if qty > 0 else Decimal(0))
        return result

    # ----- user-data stream (adapters/binance_user_stream.py) ---------------------------------------

    def new_listen_key(self) -> str:
        """POST /fapi/v1/listenKey: a key for the user-data stream, valid 60 minutes."""
        return str(self._request(self.client.futures_stream_get_listen_key, resync=False))

    def keepalive_listen_key(self, key: str) -> None:
        """PUT /fapi/v1/listenKey: another 60 minutes for ``key``."""
        self._request(self.client.futures_stream_keepalive, resync=False, listenKey=key)

    def _report(self, response: Any, client_id: str = "") -> OrderReport:
        """An order answer (New Order RESULT/ACK or GET order) as an OrderReport. A missing or
        unreadable price never becomes 0: ``price_known`` is False when something executed and
        neither ``avgPrice`` nor ``cumQuote / executedQty`` gives a price above 0."""
        response = response if isinstance(response, dict) else {}
        executed = max(_decimal(response.get("executedQty")), Decimal(0))
        price = fill_price(response)
        avg_price = price if price is not None else Decimal(0)
        return OrderReport(
            client_id=str(response.get("clientOrderId") or client_id),
            status=_order_status(response.get("status") or "NEW", executed),
            executed_qty=executed,
            avg_price=avg_price,
            fee=executed * avg_price * self.taker_fee_rate,  # estimate: the order answer carries no fee
            update_time=int(_decimal(response.get("updateTime")) or _decimal(response.get("time"))),
            price_known=price is not None or executed == 0,
        )

    # ----- account and market data ------------------------------------------------------------------

    def balance(self, asset: str | None = None) -> AccountBalance:
        """The futures wallet (GET /fapi/v2/balance). Without ``asset``, the wallet's own asset:
        USDT, or BNFCR (EU accounts' credits) or USDC (Multi-Assets mode) when USDT is empty --
        see :func:`wallet_balance`."""
        return wallet_balance(self._request(self.client.futures_account_balance), asset)

    def account_snapshot(self, symbols: list[str], marks: dict[str, float] | None = None) -> AccountSnapshot:
        """The window's account strip: GET /fapi/v2/account (wallet, unrealised PnL, margin
        balance, maintenance margin) and positionRisk (mark and liquidation price per position)."""
        account = self._request(self.client.futures_account)
        account = account if isinstance(account, dict) else {}
        wallet = float(_decimal(account.get("totalWalletBalance")))
        unrealized = float(_decimal(account.get("totalUnrealizedProfit")))
        answer = self._request(self.client.futures_position_information)
        rows = [row for row in (answer if isinstance(answer, list) else [])
                if isinstance(row, dict) and row.get("symbol") in symbols
                and row.get("positionSide") in ("LONG", "SHORT")
                and _decimal(row.get("positionAmt")) != 0 and _decimal(row.get("entryPrice")) > 0]
        positions = tuple(PositionSnapshot(
            row["symbol"], Side(row["positionSide"]), float(abs(_decimal(row.get("positionAmt")))),
            float(_decimal(row.get("entryPrice"))), float(_decimal(row.get("markPrice"))),
            float(_decimal(row.get("unRealizedProfit"))),
            float(_decimal(row.get("liquidationPrice"))) or None) for row in rows)
        margin_balance = float(_decimal(account.get("totalMarginBalance"))) if "totalMarginBalance" in account \
            else wallet + unrealized
        return AccountSnapshot(wallet, unrealized, margin_balance, float(_decimal(account.get("totalMaintMargin"))),
                               positions, wallet_asset(account.get("assets")))

    def klines(self, symbol: str, interval: str, start_ms: int, end_ms: int | None = None,
               limit: int = KLINE_LIMIT) -> list[Candle]:
        """Closed candles with open time in [start_ms, end_ms], paginated, oldest first.

        ``limit`` is the page size (at most 1500). A candle still open on the server is dropped.
        """
        step = INTERVAL_MS.get(interval)
        if step is None:
            raise ValueError(f"unsupported interval {interval!r}")
        page = max(1, min(limit, KLINE_LIMIT))
        now = self._server_now_ms() if self._synced else None
        candles: list[Candle] = []
        cursor = start_ms
        while end_ms is None or cursor <= end_ms:
            params: dict[str, Any] = {"symbol": symbol, "interval": interval, "startTime": cursor, "limit": page}
            if end_ms is not None:
                params["endTime"] = end_ms
            rows = self._request(self.client.futures_klines, resync=False, **params)
            page_candles = _candles(rows)
            candles += [candle for candle in page_candles if now is None or candle.close_time <= now]
            if not isinstance(rows, list) or len(rows) < page or not page_candles:
                break
            cursor = page_candles[-1].open_time + step
        return candles

    def latest_klines(self, symbol: str, interval: str, limit: int) -> list[Candle]:
        """The newest closed candles: GET /fapi/v1/klines without startTime returns the latest
        page, whose last candle is usually still open (dropped by its close time)."""
        rows = self._request(self.client.futures_klines, resync=False,
                             symbol=symbol, interval=interval, limit=min(limit, KLINE_LIMIT))
        now = self._server_now_ms()
        return [candle for candle in _candles(rows) if candle.close_time <= now]

    # ----- "test connection" ----------------------------------------------------------------------------

    def check_connection(self) -> ConnectionCheck:
        """Reach the server, sync the clock, and make one signed call; say in one sentence what is wrong."""
        if not self._has_credentials:
            return ConnectionCheck(False, f"No API key is set for Binance {self.venue}; enter the key and "
                                          "secret in Settings.")
        try:
            offset = self.sync_time()
        except BrokerError as error:
            reason = error.message.removeprefix("network error: ").replace("cannot reach Binance ", "").strip("()")
            return ConnectionCheck(False, f"Cannot reach Binance {self.venue} ({reason}); check the "
                                          "internet connection, proxy or firewall.")
        try:
            balance = self.balance()
        except RetryableError as error:
            if error.resync_time:
                return ConnectionCheck(False, "This computer's clock differs from Binance's by more than the "
                                              "receive window; turn on automatic time synchronisation.", offset)
            return ConnectionCheck(False, f"Binance {self.venue} did not answer properly ({error.message}); "
                                          "try again in a minute.", offset)
        except OrderRejectedError as error:
            return ConnectionCheck(False, _key_problem(error), offset)
        return ConnectionCheck(True, f"Connected to Binance {self.venue}: {balance.wallet.normalize():f} "
                                     f"{balance.asset} in the futures wallet, clock offset {offset:+d} ms.", offset)


WALLET_ASSETS = ("USDT", "BNFCR", "USDC", "FDUSD")  # USDT first; BNFCR: EU credits; USDC: Multi-Assets


def wallet_asset(rows: Any) -> str:
    """The asset the account's wallet is held in (its largest walletBalance row): USDT, or USDC /
    BNFCR on Multi-Assets and EU accounts (issue 18); USDT when the rows say nothing."""
    best, amount = "USDT", Decimal(0)
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("asset"), str):
            balance = _decimal(row.get("walletBalance"))
            if balance > amount:
                best, amount = row["asset"], balance
    return best


def wallet_balance(rows: Any, asset: str | None = None) -> AccountBalance:
    """The balance row of ``asset``; without one, USDT when it holds anything, else the first of
    BNFCR / USDC / FDUSD that does (an EU account trades on BNFCR credits, a Multi-Assets account
    may hold USDC only). Rows that are not readable are skipped; an empty wallet is USDT 0."""
    readable = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
    by_asset = {str(row.get("asset")): row for row in readable}
    if asset is None:
        held = [name for name in WALLET_ASSETS if name in by_asset and _decimal(by_asset[name].get("balance")) != 0]
        asset = held[0] if held else "USDT"
    row = by_asset.get(asset)
    if row is None:
        return AccountBalance(asset, Decimal(0), Decimal(0), Decimal(0))
    return AccountBalance(asset, _decimal(row.get("balance")), _decimal(row.get("availableBalance")),
                          _decimal(row.get("crossUnPnl")))


def _key_problem(error: OrderRejectedError) -> str:
    if error.code == -2015:
        return ("Binance refused the API key: it is wrong, this computer's IP address is not on its whitelist, "
                "or futures permission is off; check it in Binance API management.")
    if error.code == -2014:
        return "The API key is malformed; re-enter it in Settings without spaces."
    if error.code == -1022:
        return "The API secret does not match the API key; re-enter the secret in Settings."
    if error.code == -1011:
        return "This computer's IP address is not allowed for the API key; add it to the key's whitelist."
    return f"Binance refused the request ({error.message}); {error.advice}"
