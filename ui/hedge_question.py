"""The hedge-mode question (issue 18): a one-way account is switched only when the user agrees.

Switching to hedge mode is one setting for the whole Binance account: every USDⓈ-M symbol and
COIN-M futures too. The service never switches by itself; start-up stops with
:class:`adapters.binance_futures.HedgeModeOff`, the window asks this question, and a yes starts
again with the switch allowed.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP

HEDGE_TITLE = QT_TRANSLATE_NOOP("HedgeQuestion", "Switch to hedge mode?")
HEDGE_QUESTION = QT_TRANSLATE_NOOP(
    "HedgeQuestion",
    "The Binance futures account is in one-way mode and the bot needs hedge mode. Switching is "
    "account-wide: it changes every USDⓈ-M symbol and COIN-M futures too, and Binance refuses it while "
    "any of them has an open position or order. Switch the account to hedge mode and start?")


def ask_hedge_switch(ask) -> bool:
    """``ask(title, question) -> bool`` (the window's yes/no dialog): True when the user agrees."""
    return bool(ask(QCoreApplication.translate("HedgeQuestion", HEDGE_TITLE),
                    QCoreApplication.translate("HedgeQuestion", HEDGE_QUESTION)))
