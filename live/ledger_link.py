"""The trading service's hand on the ledger: money records that can never stop trading.

The journal (live/journal.py) guards orders [O2/O3] and stays the source of truth for safety;
the ledger (live/ledger.py) is the source for money. Every call here catches the ledger's own
failures (a locked, full or unreadable database): the first one is one WARNING sentence, the
rest are counted silently, and trading goes on.
"""
from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Callable

from live.ledger import Ledger, ledger_path
from live.ledger_schema import LedgerError

log = logging.getLogger(__name__)

LogFn = Callable[[str, str | None, str], None]  # (level, symbol, message)


def account_ledger_path(state_dir: Path, mode: str, api_key: str | None) -> Path:
    """One ledger per account, beside the modes' state folders (``<state root>/ledgers``):
    ``ledger-paper`` for paper trading, by API key for demo/testnet and live; a replay keeps its
    own in its state folder, cleared with it, so a replay never mixes with an account's money."""
    state_dir = Path(state_dir)
    if mode == "replay":
        return state_dir / "ledger-replay.sqlite"
    return ledger_path(api_key if mode != "paper" else None, state_dir.parent / "ledgers")


class LedgerLink:
    """A Ledger (or none) behind calls that log instead of raising."""

    def __init__(self, ledger: Ledger | None, log_fn: LogFn | None = None):
        self.ledger = ledger
        self.failures = 0
        self._log = log_fn or (lambda level, symbol, message: log.log(getattr(logging, level), message))

    @classmethod
    def open(cls, path: Path, log_fn: LogFn | None = None) -> "LedgerLink":
        link = cls(None, log_fn)
        try:
            link.ledger = Ledger(path)
        except (LedgerError, sqlite3.Error, OSError) as exc:
            link._failed("open", exc)
        return link

    def _failed(self, what: str, exc: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            self._log("WARNING", None, f"ledger: cannot {what} the money record ({exc}); trading goes on, "
                                       "the fills journal stays the record of the bot's orders")

    def _call(self, what: str, fn: Callable[[], object]) -> object | None:
        if self.ledger is None:
            return None
        try:
            return fn()
        except (LedgerError, sqlite3.Error, OSError, ValueError) as exc:
            self._failed(what, exc)
            return None

    def record_bot_fill(self, fill, cumulative: float | None, commission: tuple | None,
                        trade_id: int | None = None) -> None:
        self._call("write a fill to", lambda: self.ledger.record_bot_fill(fill, cumulative, commission, trade_id))

    def record_forced_close(self, record) -> None:
        """A ``core.ports.ForcedClose`` as it happens: the forced close, its fill and a liquidation's fee."""
        self._call("write a forced close to", lambda: self.ledger.record_forced_close(
            record.symbol, record.side.value, record.kind, record.qty, record.price, record.time, record.client_id,
            getattr(record, "trade_id", None), getattr(record, "realized_pnl", None),
            getattr(record, "commission", Decimal(0)), getattr(record, "commission_asset", "USDT")))

    def record_streamed_funding(self, symbol: str, amount: Decimal, asset: str, time: int,
                                balance: Decimal | None = None) -> bool:
        """A funding payment from the user-data stream; True when it is new in the ledger."""
        return bool(self._call("write a funding payment to",
                               lambda: self.ledger.record_streamed_funding(symbol, amount, asset, time, balance)))

    def forced_today(self, day_ms: int) -> tuple[float, float]:
        """(realised PnL, USDT fees) of forced closes and liquidation fees of the UTC day (0, 0 without a ledger)."""
        found = self._call("read today's forced closes from", lambda: self.ledger.queries.forced_today(day_ms))
        return (float(found[0]), float(found[1])) if found is not None else (0.0, 0.0)

    def funding_today(self, day_ms: int) -> float:
        """Funding of the UTC day holding ``day_ms`` (0 without a ledger)."""
        totals = self._call("read today's funding from", lambda: self.ledger.queries.today(day_ms))
        return float(totals.funding) if totals is not None else 0.0

    def import_history(self, history, symbols: list[str], now_ms: int) -> str | None:
        """Start-up: what happened while the bot was off (income and the account's trades)."""
        from live.ledger_import import HistoryImporter

        def run() -> str:
            return HistoryImporter(history, self.ledger, symbols).run(now_ms).summary()
        try:
            summary = self._call("import the account's history into", run)
        except Exception as exc:  # noqa: BLE001 - a broker error while importing never stops the start
            self._failed("import the account's history into", exc)
            return None
        if summary:
            self._log("INFO", None, str(summary))
        return summary  # type: ignore[return-value]

    def close(self) -> None:
        self._call("rebuild the round trips of", lambda: self.ledger.rebuild_round_trips())
        self._call("close", lambda: self.ledger.close())
        self.ledger = None
