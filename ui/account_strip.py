"""The account strip at the top of the Trading tab: the figures a trader watches most.

Wallet balance, equity (wallet + unrealised PnL), unrealised PnL, realised PnL
of today after fees and the fees (this bot's fills, UTC day), funding of today (the
account's ledger), margin ratio (maintenance margin / margin balance, as Binance shows
it), and per open position its mark price, ROE as Binance shows it (unrealised PnL /
initial margin, notional / leverage) beside the price move, and its liquidation price
with the distance to it: the exchange's in testnet and LIVE, the paper broker's (Binance's
isolated-margin formula) in paper mode. Fed by AccountUpdate events that the
service produces in its own thread; nothing here blocks the window.

Stale is visible (issue 19, item 5): while the bot runs, figures older than a bar (no
account snapshot for :data:`ui.status_table.STALE_MS`: the exchange does not answer, the
service hangs) turn to the age colour, carry their age in a tooltip, and the positions line
starts with "Account figures from 13:05 UTC, 7 min old". One line for all of them: they are
one snapshot, and seven ages side by side would not fit a 1024 px window.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from dataclasses import replace
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from live.events import AccountUpdate
from ui.formatting import LOSS_COLOR, money, percent, pnl_color, price, quantity
from ui.status_table import AGE_COLOR, STALE_MS, age_text


class AccountStrip(QWidget):
    FIELDS = ("wallet", "equity", "unrealized", "realized_today", "fees_today", "funding_today", "margin_ratio")

    def __init__(self, parent=None):
        super().__init__(parent)
        titles = {
            "wallet": self.tr("Wallet"), "equity": self.tr("Equity"), "unrealized": self.tr("Unrealised PnL"),
            "realized_today": self.tr("Realised today (after fees)"), "fees_today": self.tr("Fees today"),
            "funding_today": self.tr("Funding today"),
            "margin_ratio": self.tr("Margin ratio"),
        }
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setHorizontalSpacing(16)
        layout.setVerticalSpacing(0)
        self.values: dict[str, QLabel] = {}
        for column, name in enumerate(self.FIELDS):
            title = QLabel(titles[name])
            title.setStyleSheet("color: #555; font-size: 8pt;")
            value = QLabel("—")
            value.setStyleSheet("font-weight: bold;")
            value.setAccessibleName(titles[name])
            title.setBuddy(value)
            layout.addWidget(title, 0, column)
            layout.addWidget(value, 1, column)
            self.values[name] = value
        self.positions = QLabel(self.tr("Account figures appear once the bot is running."))
        self.positions.setWordWrap(True)
        self.positions.setStyleSheet("color: #555;")
        layout.addWidget(self.positions, 2, 0, 1, len(self.FIELDS))
        self.latest: AccountUpdate | None = None
        self.ticks: dict[str, float | None] = {}
        self.steps: dict[str, float | None] = {}
        self.clock: Callable[[], int] = lambda: int(time.time() * 1000)  # injected by tests
        self.received: int | None = None  # when the latest snapshot arrived (ms, this computer's clock)
        self.watching = False  # the bot runs: figures that stop coming are stale
        self._texts: dict[str, tuple[str, str | None]] = {}
        self._positions_text = ""
        self._ages = QTimer(self)
        self._ages.setInterval(15_000)
        self._ages.timeout.connect(self.refresh_age)
        self._ages.start()

    def set_format(self, symbol: str, tick: float | None, step: float | None) -> None:
        self.ticks[symbol], self.steps[symbol] = tick, step

    def clear(self) -> None:
        self.latest = None
        self.received = None
        self._texts = {}
        for label in self.values.values():
            label.setText("—")
            label.setStyleSheet("font-weight: bold;")
            label.setToolTip("")

    def stopped(self) -> None:
        """The bot stopped: the last figures stay, and are not called stale."""
        self.watching = False
        self.refresh_age()

    def age_ms(self) -> int | None:
        """How old the shown figures are, once older than a bar while the bot runs; else None."""
        if not self.watching or self.received is None:
            return None
        age = self.clock() - self.received
        return age if age > STALE_MS else None

    def refresh_age(self) -> None:
        """Redraw with the figures' age now (a timer calls it: a frozen feed sends no snapshot)."""
        age = self.age_ms()
        old = age_text(age) if age is not None else ""
        for name, (text, color) in self._texts.items():
            label = self.values[name]
            color = AGE_COLOR if age is not None else color
            label.setText(text)
            label.setStyleSheet("font-weight: bold;" + (f" color: {color};" if color else ""))
            if name != "funding_today" or age is not None:
                label.setToolTip(old)
        if not self._positions_text:
            return
        if age is None:
            self.positions.setText(self._positions_text)
            self.positions.setStyleSheet("color: #555;")
            return
        at = datetime.fromtimestamp(self.received / 1000, timezone.utc).strftime("%H:%M")
        self.positions.setText(self.tr("Account figures from {time} UTC, {age}").format(time=at, age=old)
                               + ":   " + self._positions_text)
        self.positions.setStyleSheet(f"color: {AGE_COLOR};")

    def update_account(self, update: AccountUpdate) -> None:
        self.latest = update
        self.received = self.clock()
        self.watching = True
        texts = {
            "wallet": (money(update.wallet, update.asset), None),  # USDC / BNFCR wallets say so
            "equity": (money(update.equity, update.asset), None),
            "unrealized": (money(update.unrealized_pnl, update.asset, signed=True), pnl_color(update.unrealized_pnl)),
            "realized_today": (money(update.realized_after_fees, signed=True), pnl_color(update.realized_after_fees)),
            "fees_today": (money(update.fees_today), None),
            "funding_today": ((money(update.funding_today, signed=True), pnl_color(update.funding_today))
                              if update.funding_today is not None else (self.tr("not modelled"), None)),
            "margin_ratio": (percent(update.margin_ratio, signed=False) if update.margin_ratio is not None else "—",
                             LOSS_COLOR if (update.margin_ratio or 0) >= 50 else None),
        }
        self.values["funding_today"].setToolTip(
            "" if update.funding_today is not None else
            self.tr("Paper trading and replays charge no funding; the backtest does when the data folder "
                    "holds funding rates"))
        self._texts = texts
        if not update.positions:
            self._positions_text = self.tr("No open position.")
            self.refresh_age()
            return
        parts = []
        for position in update.positions:
            tick = self.ticks.get(position.symbol)
            liquidation = price(position.liquidation_price, tick) if position.liquidation_price else self.tr("none")
            roe = position.roe_pct
            distance = position.liquidation_distance_pct
            parts.append(self.tr("{symbol} {side} {qty} @ {entry}, mark {mark}: ROE {roe} (price {move}), "
                                 "liquidation {liq}{distance}").format(
                symbol=position.symbol, side=position.side,
                qty=quantity(position.qty, self.steps.get(position.symbol)), entry=price(position.entry_price, tick),
                mark=price(position.mark_price, tick), roe=percent(roe, signed=True) if roe is not None else "—",
                move=percent(position.move_pct, signed=True), liq=liquidation,
                distance=f" ({percent(distance, signed=False)})" if distance is not None else ""))
        self._positions_text = "   ·   ".join(parts)
        self.refresh_age()

    def agree_with(self, row) -> None:
        """A status row (the bot's positions, after each fill) is newer than the last account
        snapshot: a side the row no longer holds is not listed here either, so the strip never
        shows a position the table already shows closed. The next snapshot is the exchange's."""
        if self.latest is None:
            return
        held = {side for side, qty in ((row.main_side, row.main_qty), (row.hedge_side, row.hedge_qty)) if qty}
        kept = tuple(p for p in self.latest.positions if p.symbol != row.symbol or p.side in held)
        if len(kept) != len(self.latest.positions):
            received = self.received
            self.update_account(replace(self.latest, positions=kept))
            self.received = received  # the same snapshot, as old as it was
            self.refresh_age()

    def text_of(self, name: str) -> str:
        return self.values[name].text()
