"""The trading service's fixed phrases as the window shows them (state names, status reasons).

The service (live/) never imports Qt and writes its log and its reasons in English.
Where the window shows a reason in a cell (the status table's State column), the
phrases the service always writes the same way are translated here; what follows them
(an exchange's own message, a folder name) stays as it came. A reason this table does
not know is shown as the service wrote it.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

CONTEXT = "ServiceTexts"

# SymbolRunState values (live/events.py), marked for lupdate.
STATE_NAMES = {
    "starting": QT_TRANSLATE_NOOP("ServiceTexts", "starting"),
    "running": QT_TRANSLATE_NOOP("ServiceTexts", "running"),
    "paused": QT_TRANSLATE_NOOP("ServiceTexts", "paused"),
    "error": QT_TRANSLATE_NOOP("ServiceTexts", "error"),
    "stopped": QT_TRANSLATE_NOOP("ServiceTexts", "stopped"),
}

# Reasons written by live/service.py: an exact sentence, or a prefix followed by details (kept as they are).
PHRASES = (
    QT_TRANSLATE_NOOP("ServiceTexts", "saved state; reconciled with the exchange at Start"),
    QT_TRANSLATE_NOOP("ServiceTexts", "paused by the user: no new entries or hedges"),
    QT_TRANSLATE_NOOP("ServiceTexts",
                      "an order's outcome is unknown; it is looked up by client id before the next decision"),
    QT_TRANSLATE_NOOP("ServiceTexts", "order outcome unknown, exchange not answering: "),
    QT_TRANSLATE_NOOP("ServiceTexts", "trading paused: the state folder "),
)


# Stream details written by live/live_feed.py and live/cockpit.py: (pattern, translatable template).
STREAM_DETAILS = (
    (re.compile(r"^(?P<error>\w+); next try in (?P<seconds>[\d.]+) s$"),
     QT_TRANSLATE_NOOP("ServiceTexts", "{error}; next try in {seconds} s")),
    (re.compile(r"^(?P<count>\d+) closes missed while disconnected, fetched over REST$"),
     QT_TRANSLATE_NOOP("ServiceTexts", "{count} closes missed while disconnected, fetched over REST")),
    (re.compile(r"^(?P<symbol>\w+): close overdue on the stream, fetched over REST$"),
     QT_TRANSLATE_NOOP("ServiceTexts", "{symbol}: close overdue on the stream, fetched over REST")),
    (re.compile(r"^candles from a data folder$"), QT_TRANSLATE_NOOP("ServiceTexts", "candles from a data folder")),
)


def stream_detail(text: str) -> str:
    for pattern, template in STREAM_DETAILS:
        match = pattern.match(text)
        if match:
            return QCoreApplication.translate(CONTEXT, template).format(**match.groupdict())
    return text


# The signal words of live/cockpit.py's heartbeat and preview (lower case: up | down | none).
SIGNAL_NAMES = {"up": QT_TRANSLATE_NOOP("ServiceTexts", "up"), "down": QT_TRANSLATE_NOOP("ServiceTexts", "down"),
                "none": QT_TRANSLATE_NOOP("ServiceTexts", "none")}


def signal_name(value: str) -> str:
    key = value.lower()
    return QCoreApplication.translate(CONTEXT, SIGNAL_NAMES[key]) if key in SIGNAL_NAMES else value


ACTION_NAMES = {"OPEN": QT_TRANSLATE_NOOP("ServiceTexts", "OPEN"), "CLOSE": QT_TRANSLATE_NOOP("ServiceTexts", "CLOSE")}
_ACTION = re.compile(r"^(?P<action>OPEN|CLOSE) (?P<rest>.*)$")


def preview_action(text: str) -> str:
    """A decision preview's action ("OPEN LONG 100 [R2]", live/cockpit.py) with its verb translated."""
    match = _ACTION.match(text)
    if not match:
        return text
    return f"{QCoreApplication.translate(CONTEXT, ACTION_NAMES[match['action']])} {match['rest']}"


def state_name(value: str) -> str:
    return QCoreApplication.translate(CONTEXT, STATE_NAMES[value]) if value in STATE_NAMES else value


def reason(text: str) -> str:
    """``text`` with the service's fixed phrase at its start translated."""
    for phrase in PHRASES:
        if text == phrase or (phrase.endswith(" ") and text.startswith(phrase)):
            return QCoreApplication.translate(CONTEXT, phrase) + text[len(phrase):]
    return text
