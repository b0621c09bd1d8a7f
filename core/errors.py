"""Errors a user can act on.

Anything raised as :class:`UserError` is shown as its message alone — one
clear sentence in the console, the log and the GUI — never as a traceback.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad setting, missing file, rejected key...)."""


class ExchangeStartError(UserError):
    """The exchange could not be used at start-up. The message is the one sentence for the
    user; ``cause`` is the broker's error, so a caller that can wait (the window) tells a
    network failure (worth trying again) from a refusal (keys, account: stop and say which)."""

    def __init__(self, message: str, cause: Exception):
        super().__init__(message)
        self.cause = cause
