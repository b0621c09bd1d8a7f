"""The alert destinations (apprise URLs such as ``tgram://TOKEN/CHAT`` or ``mailto://user:pass@host``).

Such a URL carries a bot token or a mail password, so the list is kept in the OS
keyring (service "AutoHedge", entry ``alerts``), like the API keys -- never in
settings.yaml, the window's INI file or a log line.
"""
from __future__ import annotations

import contextlib
import json
import logging

import keyring
import keyring.errors

from adapters.secrets import SERVICE_NAME

ENTRY = "alerts"
log = logging.getLogger("autohedge.alerts")
_said_unreadable = False


def load_alert_urls() -> list[str]:
    """The saved URLs; empty when none are saved or the keyring cannot be read (said once in the log)."""
    try:
        stored = keyring.get_password(SERVICE_NAME, ENTRY)
    except keyring.errors.KeyringError as exc:
        global _said_unreadable
        if not _said_unreadable:  # once per run: a machine without a keyring is not news at every start
            _said_unreadable = True
            log.info("no Telegram / e-mail alerts: the OS keyring cannot be read (%s)", type(exc).__name__)
        return []
    if not stored:
        return []
    try:
        urls = json.loads(stored)
    except ValueError:
        urls = None
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        log.warning("the OS keyring entry for AutoHedge alerts is unreadable and was ignored; "
                    "enter the alert URLs again to replace it")
        return []
    return urls


def save_alert_urls(urls: list[str]) -> None:
    """Store ``urls`` (an empty list forgets them). Raises keyring.errors.KeyringError."""
    if urls:
        keyring.set_password(SERVICE_NAME, ENTRY, json.dumps(list(urls)))
        return
    with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing saved: nothing to forget
        keyring.delete_password(SERVICE_NAME, ENTRY)
