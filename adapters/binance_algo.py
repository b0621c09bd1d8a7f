"""The exchange-side guard's exchange half: Binance's Algo Order service [issue 19, item 3].

Since 2025-12-09 Binance USDⓈ-M futures accepts conditional orders (STOP_MARKET,
TAKE_PROFIT_MARKET, …) only on the Algo Order service; ``POST /fapi/v1/order`` answers them
-4120 (Error Codes: STOP_ORDER_SWITCH_ALGO). A *guard* is one STOP_MARKET algo order per held
main position, at an adverse distance from its entry, that acts while the bot cannot:

- ``kind="hedge"``: it opens the equal hedge (the strategy's own answer to a loss [R5]): for a
  LONG main a SELL on the SHORT side below the entry, for a SHORT main a BUY on the LONG side above;
- ``kind="stop"``: it closes the main (a disaster stop): ``closePosition=true`` on the main's
  own side (SELL LONG below the entry, BUY SHORT above).

The bot recognises its own guards by the ``clientAlgoId`` prefix :data:`GUARD_PREFIX`, which
also names the symbol, the main's side and the kind (:func:`guard_client_id`,
:func:`parse_guard_id`); the order the guard places when triggered carries the same id as its
client order id, so its ORDER_TRADE_UPDATE is recognised too.

python-binance 1.0.37 has the endpoints (``futures_create_algo_order`` = POST
/fapi/v1/algoOrder, ``futures_cancel_algo_order`` = DELETE, ``futures_get_algo_order`` = GET,
``futures_get_open_algo_orders`` = GET /fapi/v1/openAlgoOrders); every call goes through the
futures adapter's ``_request`` (one request budget, the error classifier, the clock re-sync).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.model import Side
from core.ports import OrderRejectedError

log = logging.getLogger("autohedge.binance.algo")

GUARD_PREFIX = "ahg-"
KINDS = ("hedge", "stop")
_ID = re.compile(r"^ahg-(?P<symbol>[A-Z0-9]+)-(?P<side>[LS])(?P<kind>[hs])-(?P<seq>[0-9a-z]+)$")
OPEN_STATUSES = ("NEW",)
UNKNOWN_ALGO_ORDER = -2011  # cancel: "Unknown order sent." (not open: triggered, cancelled, gone)
NO_SUCH_ORDER = -2013


def guard_client_id(symbol: str, main: Side, kind: str, seq: int) -> str:
    """``ahg-DOGEUSDT-Lh-12``: the bot's guard of ``symbol``'s ``main`` side, of ``kind``, the
    ``seq``-th one (a new id per placement: an id is unique among open algo orders only)."""
    if kind not in KINDS:
        raise ValueError(f"guard kind {kind!r} is not one of {KINDS}")
    client_id = f"{GUARD_PREFIX}{symbol}-{main.value[0]}{kind[0]}-{_base36(seq)}"
    if len(client_id) > 36:
        raise ValueError(f"guard id {client_id!r} is longer than Binance's 36 characters")
    return client_id


def parse_guard_id(client_id: str) -> tuple[str, Side, str] | None:
    """(symbol, main side, kind) of one of the bot's guard ids; None for any other id."""
    match = _ID.match(client_id or "")
    if match is None:
        return None
    side = Side.LONG if match["side"] == "L" else Side.SHORT
    return match["symbol"], side, "hedge" if match["kind"] == "h" else "stop"


def is_guard_id(client_id: str) -> bool:
    return parse_guard_id(client_id) is not None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    number = max(0, int(number))
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def order_of(main: Side, kind: str) -> tuple[str, Side]:
    """(Binance side, positionSide) of a guard for ``main``: a hedge opens the opposite side, a
    stop closes the main. Both act on an adverse move: below the entry for LONG, above for SHORT."""
    if kind == "hedge":
        return ("SELL" if main is Side.LONG else "BUY"), main.opposite
    return ("SELL" if main is Side.LONG else "BUY"), main


@dataclass(frozen=True)
class Guard:
    """One of the bot's guards as the exchange lists it."""

    symbol: str
    main: Side  # the main position it protects
    kind: str  # hedge | stop
    client_id: str
    algo_id: int
    quantity: Decimal  # 0 for a stop (closePosition)
    trigger_price: Decimal
    status: str

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


def guard_from_row(row: dict[str, Any]) -> Guard | None:
    """A Guard from an algo order answer (New / Query / openAlgoOrders); None when not the bot's."""
    parsed = parse_guard_id(str(row.get("clientAlgoId") or ""))
    if parsed is None:
        return None
    symbol, main, kind = parsed
    return Guard(symbol, main, kind, str(row["clientAlgoId"]), int(row.get("algoId") or 0),
                 Decimal(0) if row.get("closePosition") else _decimal(row.get("quantity")),
                 _decimal(row.get("triggerPrice")), str(row.get("algoStatus") or ""))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


class BinanceAlgoOrders:
    """Guards on one Binance account, through a :class:`BinanceFuturesAdapter` (its client, its
    request budget and its error classification)."""

    def __init__(self, adapter: Any, working_type: str = "CONTRACT_PRICE"):
        """``working_type``: the price that triggers (CONTRACT_PRICE = last price, what the
        backtest models with the bar's high and low; MARK_PRICE is the other choice)."""
        self.adapter = adapter
        self.working_type = working_type

    def place_guard(self, symbol: str, main: Side, kind: str, quantity: Decimal, trigger_price: Decimal,
                    client_id: str) -> Guard:
        """POST /fapi/v1/algoOrder: a STOP_MARKET guard. ``quantity``: the hedge to open (kind
        hedge); ignored for a stop, which closes the whole main (``closePosition=true``).

        Raises the adapter's errors: :class:`OutcomeUnknownError` when the request may have
        reached the exchange (list the open guards before placing another), an
        :class:`OrderRejectedError` for a refusal (-2021: the price is already past the trigger)."""
        side, position_side = order_of(main, kind)
        params: dict[str, Any] = {
            "algoType": "CONDITIONAL", "symbol": symbol, "side": side, "positionSide": position_side.value,
            "type": "STOP_MARKET", "triggerPrice": _plain(trigger_price), "workingType": self.working_type,
            "clientAlgoId": client_id,
        }
        if kind == "stop":
            params["closePosition"] = "true"
        else:
            params["quantity"] = _plain(quantity)
        log.info("[G-guard] %s %s guard for the %s main: STOP_MARKET %s %s %s at %s (%s)", symbol, kind, main.value,
                 side, position_side.value, "all" if kind == "stop" else _plain(quantity), _plain(trigger_price),
                 client_id)
        row = self.adapter._request(self.adapter.client.futures_create_algo_order,  # noqa: SLF001
                                    order_submission=True, **params)
        guard = guard_from_row(row)
        if guard is None:
            raise OrderRejectedError(f"Binance answered the guard {client_id} with an unreadable order")
        return guard

    def cancel_guard(self, symbol: str, client_id: str) -> bool:
        """DELETE /fapi/v1/algoOrder by client id; False when it is no longer open (it triggered,
        was cancelled, or never existed: -2011), True when cancelled now."""
        try:
            self.adapter._request(self.adapter.client.futures_cancel_algo_order,  # noqa: SLF001
                                  symbol=symbol, clientAlgoId=client_id)
        except OrderRejectedError as error:
            if error.code == UNKNOWN_ALGO_ORDER:
                log.info("[G-guard] %s guard %s was no longer open", symbol, client_id)
                return False
            raise
        log.info("[G-guard] %s guard %s cancelled", symbol, client_id)
        return True

    def open_guards(self, symbol: str | None = None) -> list[Guard]:
        """GET /fapi/v1/openAlgoOrders (one symbol, or all): the bot's guards only, by id."""
        params = {"symbol": symbol} if symbol else {}
        rows = self.adapter._request(self.adapter.client.futures_get_open_algo_orders, **params)  # noqa: SLF001
        guards = [guard_from_row(row) for row in rows or []]
        return [guard for guard in guards if guard is not None and guard.is_open]

    def query_guard(self, symbol: str, client_id: str) -> Guard | None:
        """GET /fapi/v1/algoOrder: the guard in any status; None when the exchange does not know it."""
        try:
            row = self.adapter._request(self.adapter.client.futures_get_algo_order,  # noqa: SLF001
                                        symbol=symbol, clientAlgoId=client_id)
        except OrderRejectedError as error:
            if error.code == NO_SUCH_ORDER:
                return None
            raise
        return guard_from_row(row)
