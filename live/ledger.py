"""The money record: every fill, commission (with its asset), funding payment, liquidation,
transfer and round trip of one account, in a local SQLite database (WAL).

One file per account in the user folder (:func:`ledger_path`): named by a hash of the API
key, never the key itself, or ``paper``. Every insert is idempotent on the exchange's ids
(``tradeId`` for trades, ``incomeType`` + ``tranId`` for the income history), so an import
run twice, or a fill seen both live and in the import, is recorded once.

The journal (``fills.jsonl``) stays the source of truth for order safety [O2/O3]; this
ledger is the source for money. What the live service calls (next phase):

- each confirmed fill: :meth:`Ledger.record_fill` (with the trade id and the real
  commission from the user-data stream when known), then :meth:`Ledger.rebuild_round_trips`;
- each funding payment (ACCOUNT_UPDATE ``m`` FUNDING_FEE): :meth:`Ledger.record_streamed_funding`;
- each liquidation / ADL / settlement (ForcedClose): :meth:`Ledger.record_forced_close`;
- every start-up: :class:`live.ledger_import.HistoryImporter.run` (income history and trades since
  the cursor). What the stream recorded is replaced by (funding, liquidation fee) or is the same
  row as (the forced close's trade id) what the import brings: each event counts once.

Queries (today's figures, per-day PnL, equity curve, lists, CSV export) are in
:class:`live.ledger_queries.LedgerQueries`, reachable as ``ledger.queries``.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

from live import ledger_schema
from live.ledger_queries import LedgerQueries
from live.ledger_records import FundingPayment, LedgerFill, build_round_trips

INCOME_SOURCES_OF_MONEY = ("FUNDING_FEE", "INSURANCE_CLEAR", "TRANSFER")
# A streamed funding payment and its income-history rows are one payment when they are this close:
# both carry Binance's transaction time, and funding times are at least an hour apart.
FUNDING_MATCH_MS = 60_000


def _streamed_fee_key(symbol: str, trade_id: object) -> str:
    return f"stream:INSURANCE_CLEAR:{symbol}:{trade_id}"


def ledger_path(api_key: str | None, folder: Path | None = None) -> Path:
    """``<user folder>/ledgers/ledger-<hash of the key>.sqlite``, or ``ledger-paper.sqlite``."""
    if folder is None:
        from config.paths import user_home
        folder = user_home() / "ledgers"
    name = "paper" if not api_key else hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]
    return Path(folder) / f"ledger-{name}.sqlite"


def _text(value: Decimal | str | float | int) -> str:
    return format(Decimal(str(value)).normalize(), "f") if not isinstance(value, str) else value


class Ledger:
    """One account's ledger file. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ledger_schema.LedgerError(f"the ledger {self.path} cannot be opened ({exc})") from None
        db: sqlite3.Connection | None = None
        try:
            db = ledger_schema.connect(str(self.path))
            self.version = ledger_schema.migrate(db)
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise ledger_schema.LedgerError(f"the ledger {self.path} cannot be read ({exc}); it is left as it is: "
                                            "move it away to start a new one") from None
        except BaseException:
            if db is not None:
                db.close()
            raise
        self.db = db
        self.queries = LedgerQueries(self)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert(self, sql: str, values: tuple) -> bool:
        """INSERT OR IGNORE: True when the row is new."""
        with self._lock:
            return self.db.execute(sql, values).rowcount == 1

    # ----- orders and fills ---------------------------------------------------------------------

    def record_order(self, client_id: str, symbol: str, side: str, action: str, qty: Decimal | float,
                     reason: str = "", decision_time: int = 0, status: str = "NEW", update_time: int = 0) -> None:
        """An order the bot sent (or its new status): one row per client id."""
        with self._lock:
            self.db.execute(
                "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(client_id) DO UPDATE SET "
                "status=excluded.status, update_time=excluded.update_time",
                (client_id, symbol, side, action, _text(qty), reason, decision_time, status, update_time))

    def record_fill(self, fill: LedgerFill) -> bool:
        """One execution, once (keyed on the trade id, or the bot's order and quantity). A trade
        imported later for a fill the bot recorded without its trade id completes that row."""
        with self._lock:
            if fill.trade_id is not None:
                done = self.db.execute(
                    "UPDATE fills SET key=?, trade_id=?, commission=?, commission_asset=?, "
                    "realized_pnl=COALESCE(?, realized_pnl) WHERE id=(SELECT id FROM fills WHERE trade_id IS NULL "
                    "AND symbol=? AND side=? AND action=? AND qty=? AND price=? AND time BETWEEN ? AND ? "
                    "AND source='bot' ORDER BY ABS(time-?), id LIMIT 1) "  # one row: equal fills are each completed once
                    "AND NOT EXISTS (SELECT 1 FROM fills WHERE key=?)",
                    (fill.key, fill.trade_id, _text(fill.commission), fill.commission_asset,
                     None if fill.realized_pnl is None else _text(fill.realized_pnl), fill.symbol, fill.side,
                     fill.action, _text(fill.qty), _text(fill.price), fill.time - 5000, fill.time + 5000, fill.time,
                     fill.key))
                if done.rowcount:
                    return False
            return self._insert(
                "INSERT OR IGNORE INTO fills (key, symbol, side, action, qty, price, realized_pnl, commission, "
                "time, order_id, trade_id, reason, source, commission_asset) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (fill.key, fill.symbol, fill.side, fill.action, _text(fill.qty), _text(fill.price),
                 None if fill.realized_pnl is None else _text(fill.realized_pnl), _text(fill.commission),
                 fill.time, fill.order_id, fill.trade_id, fill.reason, fill.source, fill.commission_asset))

    def record_bot_fill(self, fill, cumulative: float | None = None, commission: tuple[float, str] | None = None,
                        trade_id: int | None = None) -> bool:
        """A fill the bot confirmed (``core.model.Fill``), with what the journal records for it:
        ``cumulative`` (the order's executed quantity after it) and ``commission`` (Binance's
        amount and asset from the user-data stream; else the fill's USDT estimate). Call it
        right after ``FillJournal.record`` with the same arguments: one ledger row per entry."""
        from live.journal import entry_key  # the journal's key; imported here (runner moves to live/ next)

        cumulative = fill.qty if cumulative is None else cumulative
        amount, asset = commission if commission is not None else (fill.fee, "USDT")
        return self.record_fill(LedgerFill(
            symbol=fill.symbol, side=fill.side.value, action=fill.action.value, qty=Decimal(repr(fill.qty)),
            price=Decimal(repr(fill.price)), commission=Decimal(repr(float(amount))), commission_asset=asset,
            time=fill.time, order_id=fill.journal_key, trade_id=trade_id, reason=fill.reason, source="bot",
            journal_key=entry_key(fill, cumulative)))

    def record_trade(self, row: dict) -> bool:
        """One row of GET /fapi/v1/userTrades (hedge mode: positionSide LONG / SHORT)."""
        side = row["positionSide"]
        if side == "BOTH":  # one-way mode: the side is where the position is, told by what it realised
            side = "LONG" if (row["side"] == "BUY") == (Decimal(str(row["realizedPnl"])) == 0) else "SHORT"
        opening = (row["side"] == "BUY") == (side == "LONG")
        return self.record_fill(LedgerFill(
            symbol=row["symbol"], side=side, action="OPEN" if opening else "CLOSE", qty=Decimal(str(row["qty"])),
            price=Decimal(str(row["price"])), commission=Decimal(str(row["commission"])),
            commission_asset=row["commissionAsset"], time=int(row["time"]), order_id=str(row["orderId"]),
            trade_id=int(row["id"]), realized_pnl=Decimal(str(row["realizedPnl"])), source="import"))

    # ----- income history -----------------------------------------------------------------------

    def record_income(self, row: dict) -> bool:
        """One row of GET /fapi/v1/income, kept as it came (audit), and filed where it counts:
        FUNDING_FEE -> funding, INSURANCE_CLEAR -> liquidation fees, TRANSFER -> transfers.
        REALIZED_PNL and COMMISSION are counted from the trades (the same money, per fill)."""
        kind = row["incomeType"]
        key = f"{kind}:{row['tranId']}"
        new = self._insert("INSERT OR IGNORE INTO income VALUES (?,?,?,?,?,?,?,?)",
                           (key, row.get("symbol", ""), kind, _text(str(row["income"])), row["asset"],
                            int(row["time"]), str(row.get("info", "")), str(row.get("tradeId", ""))))
        amount, asset, at, symbol = Decimal(str(row["income"])), row["asset"], int(row["time"]), row.get("symbol", "")
        if kind == "FUNDING_FEE":
            self._forget_streamed_funding(symbol, asset, at)
            self.record_funding(symbol, amount, asset, at, key)
        elif kind == "INSURANCE_CLEAR":
            with self._lock:  # the fee the stream recorded for this liquidation's trade: the income row replaces it
                self.db.execute("DELETE FROM fees_other WHERE key=?", (_streamed_fee_key(symbol, row.get("tradeId")),))
            self._insert("INSERT OR IGNORE INTO fees_other VALUES (?,?,?,?,?,?)",
                         (key, symbol, kind, _text(amount), asset, at))
        elif kind == "TRANSFER":
            self._insert("INSERT OR IGNORE INTO transfers VALUES (?,?,?,?,?)",
                         (key, _text(amount), asset, at, str(row.get("info", ""))))
        return new

    def record_funding(self, symbol: str, amount: Decimal, asset: str, time: int, key: str) -> bool:
        """A funding payment (negative = paid). ``key``: ``FUNDING_FEE:<tranId>`` when known."""
        return self._insert("INSERT OR IGNORE INTO funding VALUES (?,?,?,?,?)",
                            (key, symbol, _text(amount), asset, time))

    # ----- money as it happens (user-data stream), replaced by the import's rows ---------------------

    def record_streamed_funding(self, symbol: str, amount: Decimal, asset: str, time: int,
                                balance: Decimal | None = None) -> bool:
        """A funding payment seen on the user-data stream (ACCOUNT_UPDATE FUNDING_FEE, no ``tranId``).

        Counted once: the income history's FUNDING_FEE rows of the same asset within
        :data:`FUNDING_MATCH_MS` of it replace it when they are imported (a cross position's frame
        names no symbol: every streamed row of that asset and moment goes), and a payment whose
        income rows are already here is not added again. ``balance`` (the wallet after it) is part of
        its key: two payments of one moment (a cross account's symbols) are two rows, the same frame
        seen twice is one."""
        with self._lock:
            imported = self.db.execute(
                "SELECT 1 FROM funding WHERE key LIKE 'FUNDING_FEE:%' AND asset=? AND time BETWEEN ? AND ? "
                "AND (?='' OR symbol=?) LIMIT 1",
                (asset, time - FUNDING_MATCH_MS, time + FUNDING_MATCH_MS, symbol, symbol)).fetchone()
            if imported:
                return False
            return self.record_funding(symbol, amount, asset, time, f"stream:FUNDING_FEE:{asset}:{time}:{symbol}:{'' if balance is None else _text(balance)}")

    def _forget_streamed_funding(self, symbol: str, asset: str, time: int) -> None:
        with self._lock:
            self.db.execute("DELETE FROM funding WHERE key LIKE 'stream:%' AND asset=? AND time BETWEEN ? AND ? "
                            "AND (symbol='' OR symbol=?)", (asset, time - FUNDING_MATCH_MS, time + FUNDING_MATCH_MS,
                                                            symbol))

    def record_forced_close(self, symbol: str, side: str, kind: str, qty: Decimal, price: Decimal, time: int,
                            client_id: str, trade_id: int | None, realized_pnl: Decimal | None,
                            commission: Decimal, commission_asset: str) -> bool:
        """A liquidation, ADL or settlement as it happens (ORDER_TRADE_UPDATE of an ``autoclose-`` /
        LIQUIDATION, ``adl_autoclose`` or ``settlement_autoclose-`` order): its execution as a fill
        (source ``stream``, keyed on the trade id, so the import's trade row is the same row) with
        what it realised, and a liquidation's fee as the liquidation clearance fee (INSURANCE_CLEAR,
        replaced by the income row of the same trade id when it is imported). Returns True when new."""
        self.record_liquidation(symbol, side, kind, qty, price, time, client_id)
        liquidation = kind == "liquidation"
        new = self.record_fill(LedgerFill(
            symbol=symbol, side=side, action="CLOSE", qty=qty, price=price,
            commission=Decimal(0) if liquidation else commission, commission_asset=commission_asset, time=time,
            order_id=client_id, trade_id=trade_id, realized_pnl=realized_pnl, reason=kind, source="stream"))
        if new and liquidation and commission and trade_id is not None:
            with self._lock:
                imported = self.db.execute("SELECT 1 FROM income WHERE income_type='INSURANCE_CLEAR' AND symbol=? "
                                           "AND trade_id=?", (symbol, str(trade_id))).fetchone()
            if not imported:
                self._insert("INSERT OR IGNORE INTO fees_other VALUES (?,?,?,?,?,?)",
                             (_streamed_fee_key(symbol, trade_id), symbol, "INSURANCE_CLEAR", _text(-commission),
                              commission_asset, time))
        return new

    def record_liquidation(self, symbol: str, side: str, kind: str, qty: Decimal, price: Decimal, time: int,
                           client_id: str) -> bool:
        """A liquidation or auto-deleverage (``kind``: liquidation | adl) seen on the user-data stream."""
        return self._insert("INSERT OR IGNORE INTO liquidations VALUES (?,?,?,?,?,?,?,?)",
                            (f"{client_id}:{time}:{side}", symbol, side, kind, _text(qty), _text(price), time,
                             client_id))

    # ----- cursors (resumable imports) ----------------------------------------------------------

    def cursor(self, name: str) -> int | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM cursors WHERE name=?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_cursor(self, name: str, value: int) -> None:
        with self._lock:
            self.db.execute("INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                            (name, value))

    # ----- reading back -------------------------------------------------------------------------

    def fills(self, symbol: str | None = None) -> list[LedgerFill]:
        sql = ("SELECT symbol, side, action, qty, price, commission, commission_asset, time, order_id, trade_id, "
               "realized_pnl, reason, source FROM fills" + (" WHERE symbol=?" if symbol else "") + " ORDER BY time, id")
        with self._lock:
            rows = self.db.execute(sql, (symbol,) if symbol else ()).fetchall()
        return [LedgerFill(r[0], r[1], r[2], Decimal(r[3]), Decimal(r[4]), Decimal(r[5]), r[6], r[7], r[8], r[9],
                           None if r[10] is None else Decimal(r[10]), r[11], r[12]) for r in rows]

    def funding_payments(self, symbol: str | None = None) -> list[FundingPayment]:
        sql = "SELECT symbol, amount, asset, time FROM funding" + (" WHERE symbol=?" if symbol else "") + " ORDER BY time"
        with self._lock:
            rows = self.db.execute(sql, (symbol,) if symbol else ()).fetchall()
        return [FundingPayment(r[0], Decimal(r[1]), r[2], r[3]) for r in rows]

    # ----- round trips --------------------------------------------------------------------------

    def rebuild_round_trips(self) -> int:
        """Recompute the round-trip table from the fills and funding (a derived table: rebuilt,
        never edited). Returns the number of round trips."""
        trips = build_round_trips(self.fills(), self.funding_payments())
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("DELETE FROM round_trips")
                self.db.executemany(
                    "INSERT INTO round_trips (symbol, side, open_time, close_time, qty, entry_price, exit_price, "
                    "realized_pnl, fees, funding, fills) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [(t.symbol, t.side, t.open_time, t.close_time, _text(t.qty), _text(t.entry_price),
                      None if t.exit_price is None else _text(t.exit_price), _text(t.realized_pnl),
                      json.dumps({asset: _text(v) for asset, v in sorted(t.fees.items())}), _text(t.funding),
                      t.fills) for t in trips])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return len(trips)
