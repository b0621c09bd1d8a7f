"""What a user interface may do with exchange accounts, without touching adapters itself.

ARCHITECTURE: ui -> runner -> core <- adapters. The window asks the runner to
test a connection and to keep keys in the OS keyring; the runner asks the adapters.
"""
from __future__ import annotations

# Imported here, on the caller's (GUI) thread, not lazily inside a worker thread: a first
# import of python-binance inside a QThread has been seen to deadlock with the Qt event loop.
from adapters import secrets
from adapters.binance_futures import BinanceFuturesAdapter
from adapters.secrets import ApiCredentials, install_log_redaction, mask
from core.errors import UserError

__all__ = ["ApiCredentials", "mask", "install_log_redaction", "credential_store", "check_connection"]


def credential_store():
    """load_credentials / save_credentials / delete_credentials: one keyring entry per venue."""
    return secrets


def check_connection(credentials: ApiCredentials, mode: str, base_url: str | None = None) -> str:
    """Reach Binance, sync the clock, make one signed call. Returns a one-sentence success;
    raises UserError with the exact reason (bad key, IP not allowed, clock skew, no network)."""
    result = BinanceFuturesAdapter(credentials, testnet=(mode != "live"), base_url=base_url).check_connection()
    if not result.ok:
        raise UserError(result.reason)
    return result.reason
