"""Append-only journal of fills, one JSON line per executed increment of an exchange order.

The journal is written *before* a fill is applied to the strategy's state.
An exchange order may be recorded in several steps (40 executed while it was
PARTIALLY_FILLED, then 60 more when it became FILLED): each line carries the
order's cumulative executed quantity after it (``cum_qty``), and recording is
idempotent per (exchange order, cumulative quantity). So after a crash the same
execution found again by client id is not recorded twice, and one recorded just
before a crash is not lost. ``trades.csv`` [B3] is rendered from it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from core.model import Action, Fill, Side
from core.state import write_making_folder
from core.trades import TradeRecord, sort_key, trade_records, write_trades_csv


def entry_key(fill: Fill, cumulative: float) -> str:
    """(exchange order, cumulative executed quantity): what makes recording idempotent. The
    float's repr names it exactly (the same float read back from the file gives the same key)."""
    return f"{fill.journal_key}@{float(cumulative)!r}"


class FillJournal:
    def __init__(self, path: Path | str, durable: bool = True):
        self.path = Path(path)
        self._os_path = str(self.path)  # what os.open takes without converting, on every fill
        self.durable = durable
        self._fills: list[Fill] = []
        self._keys: set[str] = set()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    data = json.loads(line)
                    # Lines written before cum_qty existed hold an exchange order's whole execution.
                    cumulative = data.pop("cum_qty", None)
                    data.pop("commission", None)
                    data.pop("commission_asset", None)
                    fill = Fill(**{**data, "side": Side(data["side"]), "action": Action(data["action"])})
                except (ValueError, TypeError, KeyError):
                    # A torn last line from a kill mid-write: the fill will be found again
                    # by client id at start-up and re-recorded.
                    continue
                self._remember(fill, fill.qty if cumulative is None else float(cumulative))

    def _remember(self, fill: Fill, cumulative: float) -> None:
        self._fills.append(fill)
        self._keys.add(entry_key(fill, cumulative))

    def record(self, fill: Fill, cumulative: float | None = None,
               commission: tuple[float, str] | None = None) -> bool:
        """Append ``fill`` unless this step of its exchange order is already recorded.

        ``cumulative`` is the order's executed quantity after this fill (default: the fill's
        own quantity, an order recorded in one step). ``commission`` is Binance's (amount, asset)
        from the user-data stream when known (``fee`` is then that amount if the asset is USDT,
        else the USDT estimate). True when appended."""
        cumulative = fill.qty if cumulative is None else cumulative
        key = entry_key(fill, cumulative)
        if key in self._keys:
            return False
        data = dict(vars(fill))  # every field a plain value: a flat copy is enough
        data["side"] = fill.side.value
        data["action"] = fill.action.value
        data["cum_qty"] = cumulative
        if commission is not None:
            data["commission"], data["commission_asset"] = commission
        line = ("\n" + json.dumps(data) + "\n").encode("utf-8")  # keys in the record's order
        write_making_folder(self.path.parent, lambda: self._append(line))
        self._fills.append(fill)
        self._keys.add(key)
        return True

    def _append(self, line: bytes) -> None:
        """One write in append mode (a line is never interleaved with another), fsync'd when durable."""
        descriptor = os.open(self._os_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        try:
            os.write(descriptor, line)
            if self.durable:
                os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def __contains__(self, fill: Fill) -> bool:
        """True when an exchange order's fill of this (cumulative) quantity is recorded."""
        return entry_key(fill, fill.qty) in self._keys

    @property
    def fills(self) -> list[Fill]:
        return list(self._fills)

    def trades(self) -> list[TradeRecord]:
        """[B3] rows with realised PnL; funding is not known here (the ledger has it)."""
        return sorted(trade_records(self._fills), key=sort_key)

    def write_trades_csv(self, path: Path | str) -> None:
        write_trades_csv(self.trades(), path)
