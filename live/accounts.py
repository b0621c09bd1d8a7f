"""What a user interface may do with exchange accounts, without touching adapters itself.

ARCHITECTURE: ui -> live -> core <- adapters. The window asks the service to
test a connection and to keep keys in the OS keyring; live/ asks the adapters.
"""
from __future__ import annotations

from dataclasses import dataclass

# Imported here, on the caller's (GUI) thread, not lazily inside a worker thread: a first
# import of python-binance inside a QThread has been seen to deadlock with the Qt event loop.
from adapters import secrets
from adapters.binance_futures import BinanceFuturesAdapter, rules_from_exchange_info, symbol_problem
from adapters.secrets import ApiCredentials, install_log_redaction, mask
from core.errors import UserError

__all__ = ["ApiCredentials", "mask", "install_log_redaction", "credential_store", "check_connection",
           "ConnectionResult"]


def credential_store():
    """load_credentials / save_credentials / delete_credentials: one keyring entry per venue."""
    return secrets


@dataclass(frozen=True)
class ConnectionResult:
    """A successful connection test: the sentence to show, and what the exchange trades."""

    message: str
    min_notional: dict[str, float]  # every USDT-M symbol in TRADING status -> its MIN_NOTIONAL (USDT)

    def __str__(self) -> str:
        return self.message


def check_connection(credentials: ApiCredentials, mode: str, base_url: str | None = None) -> ConnectionResult:
    """Reach Binance, sync the clock, make one signed call, read the symbol list.

    Raises UserError with the exact reason (bad key, IP not allowed, clock skew, no network).
    """
    adapter = BinanceFuturesAdapter(credentials, demo=(mode != "live"), base_url=base_url)
    result = adapter.check_connection()
    if not result.ok:
        raise UserError(result.reason)
    return ConnectionResult(result.reason, tradable_symbols(adapter))


def tradable_symbols(adapter: BinanceFuturesAdapter) -> dict[str, float]:
    """USDT-margined perpetual symbols the exchange lists as TRADING, with their MIN_NOTIONAL [O6]."""
    info = adapter.exchange_info()
    found = {}
    for entry in info.get("symbols", []):
        if entry.get("quoteAsset", "USDT") != "USDT" or symbol_problem(info, entry.get("symbol", "")) is not None:
            continue  # only what the adapter trades: PERPETUAL, TRADING (issue 18)
        rules = rules_from_exchange_info(info, entry["symbol"])
        if rules is not None:
            found[entry["symbol"]] = float(rules.min_notional)
    return found
