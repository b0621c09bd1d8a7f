"""Errors a user can act on.

Anything raised as :class:`UserError` is shown as its message alone — one
clear sentence in the console, the log and the GUI — never as a traceback.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad setting, missing file, rejected key...)."""
