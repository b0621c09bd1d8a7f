"""``python main.py`` / ``python main.py gui``: open the trader's window.

This is the composition root of the GUI: it picks the real trading service,
connection test and keyring store when this build has them, and hands them to
the window, which only knows their small contracts. The default mode is a
paper replay of the bundled sample, so a newcomer sees the bot trade with no
keys and no network.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Any, Callable

from ui.api_panel import Credentials, CredentialStore, ConnectionChecker

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)


def _optional(module_name: str, attribute: str) -> Any:
    """``module.attribute`` when this build has it, else None (the window says what is missing)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, attribute, None)


def service_builder() -> Callable[..., Any] | None:
    build = _optional("runner.service", "build_service")
    if build is None:
        return None

    def builder(settings, listener, *, mode, replay_dir, speed, credentials, state_dir):
        return build(settings, listener, mode=mode, replay_dir=replay_dir, speed=speed,
                     credentials=_api_credentials(credentials), state_dir=state_dir)
    return builder


def _api_credentials(credentials: Credentials | None) -> Any:
    if credentials is None:
        return None
    api_type = _optional("adapters.secrets", "ApiCredentials")
    return credentials if api_type is None else api_type(credentials.api_key, credentials.api_secret)


def connection_checker() -> ConnectionChecker | None:
    check = _optional("adapters.binance_futures", "check_connection")
    if check is None:
        return None

    def checker(credentials: Credentials | None, mode: str) -> str:
        return str(check(_api_credentials(credentials), testnet=(mode != "live")))
    return checker


class KeyringStore:
    """The OS keyring through adapters.secrets (the only place that touches it)."""

    def __init__(self, secrets_module: Any):
        self._secrets = secrets_module

    def load(self) -> Credentials | None:
        saved = self._secrets.load_credentials()
        return None if saved is None else Credentials(saved.api_key, saved.api_secret)

    def save(self, credentials: Credentials) -> None:
        self._secrets.save_credentials(_api_credentials(credentials))

    def delete(self) -> None:
        self._secrets.delete_credentials()


def credential_store() -> CredentialStore | None:
    try:
        secrets = importlib.import_module("adapters.secrets")
    except ModuleNotFoundError:
        return None
    needed = ("load_credentials", "save_credentials", "delete_credentials")
    return KeyringStore(secrets) if all(hasattr(secrets, name) for name in needed) else None


def run(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AutoHedge")
    window = MainWindow(service_builder(), connection_checker(), credential_store())
    window.show()
    if getattr(args, "screenshot", None):
        app.processEvents()
        window.grab().save(args.screenshot)
        window.close()
        return 0
    return app.exec()
