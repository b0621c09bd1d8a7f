"""Append-only journal of fills, one JSON line per exchange order.

The journal is written *before* a fill is applied to the strategy's state.
Recording is idempotent per exchange order (``Fill.journal_key``), so after a
crash the same fill found again by client id is not recorded twice, and a fill
recorded just before a crash is not lost. ``trades.csv`` [B3] is rendered from it.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from core.model import Action, Fill, Side
from core.trades import TradeRecord, sort_key, write_trades_csv


class FillJournal:
    def __init__(self, path: Path | str, durable: bool = True):
        self.path = Path(path)
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
                    fill = Fill(**{**data, "side": Side(data["side"]), "action": Action(data["action"])})
                except (ValueError, TypeError, KeyError):
                    # A torn last line from a kill mid-write: the fill will be found again
                    # by client id at start-up and re-recorded.
                    continue
                self._remember(fill)

    def _remember(self, fill: Fill) -> None:
        self._fills.append(fill)
        self._keys.add(fill.journal_key)

    def record(self, fill: Fill) -> bool:
        """Append ``fill`` unless its exchange order is already recorded. True when appended."""
        if fill.journal_key in self._keys:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(fill)
        data["side"] = fill.side.value
        data["action"] = fill.action.value
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\n" + json.dumps(data, sort_keys=True) + "\n")
            handle.flush()
            if self.durable:
                os.fsync(handle.fileno())
        self._remember(fill)
        return True

    def __contains__(self, fill: Fill) -> bool:
        return fill.journal_key in self._keys

    @property
    def fills(self) -> list[Fill]:
        return list(self._fills)

    def trades(self) -> list[TradeRecord]:
        return sorted((TradeRecord.from_fill(fill) for fill in self._fills), key=sort_key)

    def write_trades_csv(self, path: Path | str) -> None:
        write_trades_csv(self.trades(), path)
