"""The account strip at the top of the Trading tab: the figures a trader watches most.

Wallet balance, equity (wallet + unrealised PnL), unrealised PnL, realised PnL
of today after fees and the fees (this bot's fills, UTC day), funding of today (the
account's ledger), margin ratio (maintenance margin / margin balance, as Binance shows
it), and per open position its mark price, ROE as Binance shows it (unrealised PnL /
initial margin, notional / leverage) beside the price move, and its liquidation price
with the distance to it: the exchange's in testnet and LIVE, the paper broker's (Binance's
isolated-margin formula) in paper mode. Fed by AccountUpdate events that the
service produces in its own thread; nothing here blocks the window.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from live.events import AccountUpdate
from ui.formatting import LOSS_COLOR, money, percent, pnl_color, price, quantity


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

    def set_format(self, symbol: str, tick: float | None, step: float | None) -> None:
        self.ticks[symbol], self.steps[symbol] = tick, step

    def clear(self) -> None:
        self.latest = None
        for label in self.values.values():
            label.setText("—")
            label.setStyleSheet("font-weight: bold;")

    def update_account(self, update: AccountUpdate) -> None:
        self.latest = update
        texts = {
            "wallet": (money(update.wallet, update.asset), None),  # USDC / BNFCR wallets say so
            "equity": (money(update.equity, update.asset), None),
            "unrealized": (money(update.unrealized_pnl, update.asset, signed=True), pnl_color(update.unrealized_pnl)),
            "realized_today": (money(update.realized_after_fees, signed=True), pnl_color(update.realized_after_fees)),
            "fees_today": (money(update.fees_today), None),
            "funding_today": (money(update.funding_today, signed=True), pnl_color(update.funding_today)),
            "margin_ratio": (percent(update.margin_ratio, signed=False) if update.margin_ratio is not None else "—",
                             LOSS_COLOR if (update.margin_ratio or 0) >= 50 else None),
        }
        for name, (text, color) in texts.items():
            label = self.values[name]
            label.setText(text)
            label.setStyleSheet("font-weight: bold;" + (f" color: {color};" if color else ""))
        if not update.positions:
            self.positions.setText(self.tr("No open position."))
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
        self.positions.setText("   ·   ".join(parts))

    def agree_with(self, row) -> None:
        """A status row (the bot's positions, after each fill) is newer than the last account
        snapshot: a side the row no longer holds is not listed here either, so the strip never
        shows a position the table already shows closed. The next snapshot is the exchange's."""
        if self.latest is None:
            return
        held = {side for side, qty in ((row.main_side, row.main_qty), (row.hedge_side, row.hedge_qty)) if qty}
        kept = tuple(p for p in self.latest.positions if p.symbol != row.symbol or p.side in held)
        if len(kept) != len(self.latest.positions):
            self.update_account(replace(self.latest, positions=kept))

    def text_of(self, name: str) -> str:
        return self.values[name].text()
