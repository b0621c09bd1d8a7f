"""The ledger's records and the pure arithmetic over them (no SQLite here).

Money is :class:`~decimal.Decimal`. A commission keeps its asset: amounts in different
assets are never added into one number; totals carry one figure per asset.
Signs: a commission is what was paid (positive, as Binance's ``userTrades`` rows carry it);
funding, insurance-clear and transfer amounts are signed as the income history sends them
(negative = paid out of the wallet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
DIRECTION = {"LONG": 1, "SHORT": -1}


@dataclass(frozen=True)
class LedgerFill:
    """One execution: a trade of the exchange (``trade_id``) or a fill the bot confirmed."""

    symbol: str
    side: str  # position side: LONG | SHORT
    action: str  # OPEN | CLOSE
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    order_id: str = ""
    trade_id: int | None = None
    realized_pnl: Decimal | None = None  # the exchange's; None: computed from the average entry
    reason: str = ""
    source: str = "bot"  # bot | import
    journal_key: str = ""  # the fill journal's entry key (order @ cumulative quantity), for the bot's fills

    @property
    def key(self) -> str:
        """What makes recording idempotent: the exchange's trade id when known, else the journal's
        own key, so the ledger holds exactly one row per journal entry."""
        if self.trade_id is not None:
            return f"t:{self.symbol}:{self.trade_id}"
        if self.journal_key:
            return f"j:{self.journal_key}"
        return f"o:{self.order_id}@{self.time}:{self.qty}"


@dataclass(frozen=True)
class FundingPayment:
    symbol: str
    amount: Decimal  # negative: paid
    asset: str
    time: int


@dataclass
class RoundTrip:
    """One side of one symbol from flat to flat: open fills, then closes back to zero."""

    symbol: str
    side: str
    open_time: int
    close_time: int | None = None  # None while still open
    qty: Decimal = ZERO  # total opened
    entry_price: Decimal = ZERO
    exit_price: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)  # asset -> paid
    funding: Decimal = ZERO  # USDT, negative = paid
    fills: int = 0
    _held: Decimal = ZERO
    _closed_qty: Decimal = ZERO
    _exit_value: Decimal = ZERO

    @property
    def net_usdt(self) -> Decimal:
        """Realised PnL after USDT fees and funding (fees in other assets are listed apart)."""
        return self.realized_pnl - self.fees.get("USDT", ZERO) + self.funding


@dataclass
class Totals:
    """Sums over a period: one figure per asset for fees, USDT for the rest."""

    realized_pnl: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    funding: Decimal = ZERO
    insurance_clear: Decimal = ZERO  # liquidation clearance fees (negative)

    @property
    def net_usdt(self) -> Decimal:
        """Realised after USDT fees, funding and liquidation fees."""
        return self.realized_pnl - self.fees.get("USDT", ZERO) + self.funding + self.insurance_clear

    def add_fee(self, asset: str, amount: Decimal) -> None:
        self.fees[asset] = self.fees.get(asset, ZERO) + amount


def with_realized(fills: list[LedgerFill]) -> list[tuple[LedgerFill, Decimal]]:
    """Each fill (time order) with its realised PnL: the exchange's when it sent one, else
    ``(price - average entry) x qty x direction`` from the fills before it on that side."""
    held: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}  # (symbol, side) -> (qty, average entry)
    result = []
    for fill in fills:
        qty, entry = held.get((fill.symbol, fill.side), (ZERO, ZERO))
        realized = ZERO
        if fill.action == "OPEN":
            entry = (entry * qty + fill.price * fill.qty) / (qty + fill.qty)
            qty += fill.qty
        else:
            computed = (fill.price - entry) * fill.qty * DIRECTION.get(fill.side, 1)
            realized = fill.realized_pnl if fill.realized_pnl is not None else computed
            qty = max(ZERO, qty - fill.qty)
            if qty == 0:
                entry = ZERO
        held[(fill.symbol, fill.side)] = (qty, entry)
        result.append((fill, realized))
    return result


def build_round_trips(fills: list[LedgerFill], funding: list[FundingPayment]) -> list[RoundTrip]:
    """Round trips per (symbol, side) from fills and funding in time order.

    Funding is paid per symbol; in hedge mode the payment is split between the sides held at
    its time: LONG pays ``qty_long x k``, SHORT receives ``qty_short x k``, where
    ``k = amount / (qty_short - qty_long)`` (= mark x rate). With equal sides the payment is 0.
    """
    events: list[tuple[int, int, object]] = [(f.time, 0, f) for f in fills] + [(p.time, 1, p) for p in funding]
    events.sort(key=lambda item: (item[0], item[1]))
    open_trips: dict[tuple[str, str], RoundTrip] = {}
    done: list[RoundTrip] = []
    realized_of = dict(zip(map(id, fills), (r for _, r in with_realized(fills))))
    for _, kind, item in events:
        if kind == 1:
            _share_funding(item, open_trips)  # type: ignore[arg-type]
            continue
        fill: LedgerFill = item  # type: ignore[assignment]
        trip = open_trips.get((fill.symbol, fill.side))
        if trip is None:
            if fill.action != "OPEN":
                continue  # a close of a position opened before the ledger's history
            trip = open_trips[(fill.symbol, fill.side)] = RoundTrip(fill.symbol, fill.side, fill.time)
        trip.fills += 1
        trip.fees[fill.commission_asset] = trip.fees.get(fill.commission_asset, ZERO) + fill.commission
        if fill.action == "OPEN":
            trip.entry_price = (trip.entry_price * trip.qty + fill.price * fill.qty) / (trip.qty + fill.qty)
            trip.qty += fill.qty
            trip._held += fill.qty
        else:
            trip.realized_pnl += realized_of[id(fill)]
            trip._closed_qty += fill.qty
            trip._exit_value += fill.price * fill.qty
            trip.exit_price = trip._exit_value / trip._closed_qty
            trip._held -= fill.qty
            if trip._held <= 0:
                trip.close_time = fill.time
                done.append(open_trips.pop((fill.symbol, fill.side)))
    return sorted(done + list(open_trips.values()), key=lambda t: (t.open_time, t.symbol, t.side))


def _share_funding(payment: FundingPayment, open_trips: dict[tuple[str, str], RoundTrip]) -> None:
    long = open_trips.get((payment.symbol, "LONG"))
    short = open_trips.get((payment.symbol, "SHORT"))
    long_qty = long._held if long is not None else ZERO
    short_qty = short._held if short is not None else ZERO
    if short_qty == long_qty:
        return
    per_unit = payment.amount / (short_qty - long_qty)
    if long is not None:
        long.funding -= long_qty * per_unit
    if short is not None:
        short.funding += short_qty * per_unit
