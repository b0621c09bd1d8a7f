"""API credentials: where they come from, and keeping them out of every log line.

Lookup order for :func:`load_credentials`: the OS keyring (service "AutoHedge",
one entry per venue: ``testnet`` / ``live``), then the environment variables
``BINANCE_API_KEY`` / ``BINANCE_API_SECRET``, then a ``.env`` file with the same
names. Keys are never read from or written to the settings file.

:func:`install_log_redaction` makes every log record -- from any logger,
including urllib3/requests at DEBUG which print request URLs -- pass through
:class:`RedactingFilter`, which blanks the key, the secret and any
``signature=`` value.
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.errors
from dotenv import dotenv_values

SERVICE_NAME = "AutoHedge"
log = logging.getLogger("autohedge.secrets")
ENV_KEY = "BINANCE_API_KEY"
ENV_SECRET = "BINANCE_API_SECRET"
VENUES = ("testnet", "live")
MASK = "***"
_SIGNATURE = re.compile(r"(signature=)[^&\s'\"]+", re.IGNORECASE)


@dataclass(frozen=True)
class ApiCredentials:
    """An API key pair. ``repr``/``str`` never show the secret and only the key's last 4 characters."""

    api_key: str
    api_secret: str = field(repr=False)
    source: str = "unknown"  # keyring / environment / .env / entered

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={mask(self.api_key)}, api_secret={MASK}, source={self.source!r})"

    __str__ = __repr__


def mask(value: str) -> str:
    """``***abcd``: enough to recognise a key in the GUI, not enough to use it."""
    return MASK + value[-4:] if len(value) > 8 else MASK


def _venue(testnet: bool) -> str:
    return "testnet" if testnet else "live"


def load_credentials(testnet: bool, env_file: Path | str | None = ".env") -> ApiCredentials | None:
    """The first complete key pair found in keyring, environment, then ``env_file``; None if none."""
    venue = _venue(testnet)
    try:
        stored = keyring.get_password(SERVICE_NAME, venue)
    except keyring.errors.KeyringError:
        stored = None  # no usable keyring backend on this machine: fall through
    if stored:
        try:
            data = json.loads(stored)
            if data.get("api_key") and data.get("api_secret"):
                return ApiCredentials(data["api_key"], data["api_secret"], "keyring")
        except (ValueError, AttributeError):
            log.warning("the OS keyring entry for AutoHedge %s is unreadable and was ignored; "
                        "enter the keys again and tick 'remember' to replace it", _venue(testnet))
    key, secret = os.environ.get(ENV_KEY, "").strip(), os.environ.get(ENV_SECRET, "").strip()
    if key and secret:
        return ApiCredentials(key, secret, "environment")
    if env_file is not None and Path(env_file).is_file():
        values = dotenv_values(env_file)
        key, secret = (values.get(ENV_KEY) or "").strip(), (values.get(ENV_SECRET) or "").strip()
        if key and secret:
            return ApiCredentials(key, secret, ".env")
    return None


def save_credentials(credentials: ApiCredentials, testnet: bool) -> None:
    """Store the pair in the OS keyring (one entry per venue). Raises keyring.errors.KeyringError."""
    payload = json.dumps({"api_key": credentials.api_key, "api_secret": credentials.api_secret})
    keyring.set_password(SERVICE_NAME, _venue(testnet), payload)


def delete_credentials(testnet: bool) -> bool:
    """Remove the venue's entry; False when there was none."""
    try:
        keyring.delete_password(SERVICE_NAME, _venue(testnet))
    except keyring.errors.PasswordDeleteError:
        return False
    return True


class RedactingFilter(logging.Filter):
    """Replaces known secrets and ``signature=...`` values in a record's final message.

    The message is formatted once (``msg % args``) and stored back without args, so
    secrets hidden in arguments, exception text or URLs are all covered.
    """

    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        self._secrets: set[str] = {s for s in (secrets or []) if s}

    def add_secret(self, value: str) -> None:
        if value:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return _SIGNATURE.sub(r"\1" + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not leak or crash logging
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_installed: RedactingFilter | None = None


def install_log_redaction(credentials: ApiCredentials | None = None) -> RedactingFilter:
    """Redact every log record of the process, from any logger, and register ``credentials``.

    A filter on the root logger alone would miss records of child loggers (urllib3,
    binance), so the filter is applied where records are *made* (the record factory)
    and also put on the root logger and its handlers. Calling again adds secrets.
    """
    global _installed
    if _installed is None:
        _installed = RedactingFilter()
        previous_factory = logging.getLogRecordFactory()
        redactor = _installed

        def factory(*args, **kwargs):  # type: ignore[no-untyped-def]
            record = previous_factory(*args, **kwargs)
            redactor.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        root = logging.getLogger()
        root.addFilter(_installed)
        for handler in root.handlers:
            handler.addFilter(_installed)
    if credentials is not None:
        _installed.add_secret(credentials.api_key)
        _installed.add_secret(credentials.api_secret)
    return _installed
