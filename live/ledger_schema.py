"""The ledger's SQLite schema and its migrations.

Each migration is a list of statements applied in one transaction and recorded in the
``migrations`` table, so a file written by an older version is brought up to date when it
is opened (never rebuilt: nothing in it is lost). Money is stored as decimal TEXT, exactly
as the exchange sent it, and summed as :class:`decimal.Decimal`.

Version 1 (the first release): orders, fills (one commission column, USDT assumed), income.
Version 2: a fill's commission keeps its asset (``commission_asset``, USDT for old rows);
funding payments, liquidations / ADL, transfers, round trips and import cursors get tables.
"""
from __future__ import annotations

import sqlite3
import time

from core.errors import UserError

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE orders (
            client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT NULL, action TEXT NOT NULL,
            qty TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', decision_time INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'NEW', update_time INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE fills (
            id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, symbol TEXT NOT NULL,
            side TEXT NOT NULL, action TEXT NOT NULL, qty TEXT NOT NULL, price TEXT NOT NULL,
            realized_pnl TEXT, commission TEXT NOT NULL DEFAULT '0', time INTEGER NOT NULL,
            order_id TEXT NOT NULL DEFAULT '', trade_id INTEGER, reason TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'bot')""",
        "CREATE INDEX fills_symbol_time ON fills (symbol, time)",
        """CREATE TABLE income (
            key TEXT PRIMARY KEY, symbol TEXT NOT NULL, income_type TEXT NOT NULL, amount TEXT NOT NULL,
            asset TEXT NOT NULL, time INTEGER NOT NULL, info TEXT NOT NULL DEFAULT '',
            trade_id TEXT NOT NULL DEFAULT '')""",
    ),
    2: (
        "ALTER TABLE fills ADD COLUMN commission_asset TEXT NOT NULL DEFAULT 'USDT'",
        """CREATE TABLE funding (
            key TEXT PRIMARY KEY, symbol TEXT NOT NULL, amount TEXT NOT NULL, asset TEXT NOT NULL,
            time INTEGER NOT NULL)""",
        "CREATE INDEX funding_symbol_time ON funding (symbol, time)",
        """CREATE TABLE liquidations (
            key TEXT PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT NULL, kind TEXT NOT NULL,
            qty TEXT NOT NULL, price TEXT NOT NULL, time INTEGER NOT NULL, client_id TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE fees_other (
            key TEXT PRIMARY KEY, symbol TEXT NOT NULL, kind TEXT NOT NULL, amount TEXT NOT NULL,
            asset TEXT NOT NULL, time INTEGER NOT NULL)""",
        """CREATE TABLE transfers (
            key TEXT PRIMARY KEY, amount TEXT NOT NULL, asset TEXT NOT NULL, time INTEGER NOT NULL,
            info TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE round_trips (
            id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT NOT NULL, side TEXT NOT NULL,
            open_time INTEGER NOT NULL, close_time INTEGER, qty TEXT NOT NULL, entry_price TEXT NOT NULL,
            exit_price TEXT, realized_pnl TEXT NOT NULL, fees TEXT NOT NULL, funding TEXT NOT NULL,
            fills INTEGER NOT NULL)""",
        "CREATE INDEX round_trips_symbol ON round_trips (symbol, open_time)",
        "CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    ),
}
LATEST = max(MIGRATIONS)


def connect(path: str) -> sqlite3.Connection:
    """A connection in WAL mode (readers such as the History tab never block the writer)."""
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def version(connection: sqlite3.Connection) -> int:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='migrations'").fetchone()
    if not exists:
        return 0
    row = connection.execute("SELECT MAX(version) FROM migrations").fetchone()
    return int(row[0] or 0)


def migrate(connection: sqlite3.Connection, target: int = LATEST) -> int:
    """Apply every migration above the file's version up to ``target``; returns the new version.

    A file from a newer program (version above LATEST) is refused: its schema is unknown here."""
    current = version(connection)
    if current > LATEST:
        raise LedgerVersionError(f"the ledger was written by a newer AutoHedge (schema {current}, "
                                 f"this one knows up to {LATEST}); update AutoHedge to open it")
    connection.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    for number in range(current + 1, target + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number]:
                connection.execute(statement)
            connection.execute("INSERT INTO migrations VALUES (?, ?)", (number, int(time.time() * 1000)))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return version(connection)


class LedgerError(UserError):
    """The ledger file cannot be opened or written; the message says which file and why."""


class LedgerVersionError(LedgerError):
    """The ledger file's schema is newer than this program's."""
