"""The loss-limit question at Start (issue 19 §2): a breach of [L1] or [L2] saved for this UTC day
(live/account_limits.py) keeps new mains off after a restart. The window says which limit broke and
when, and asks whether to resume new entries anyway; the default is no (positions are still managed,
no new main opens until the next UTC day). A yes starts with ``override_limits``, as
``python main.py run --override-limits`` does.
"""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP

from core.trades import iso_utc
from live import account_limits  # limit_words, LIMIT_TEMPLATES
from live.account_limits import saved_breach
from live.assemble import default_state_dir

CONTEXT = "LimitsQuestion"
TITLE = QT_TRANSLATE_NOOP("LimitsQuestion", "Loss limit reached today")
QUESTION = QT_TRANSLATE_NOOP(
    "LimitsQuestion",
    "{limit} was reached at {time} UTC (equity {equity} USDT; limit: {words}). Until the next UTC day "
    "the bot opens no new main position; the positions held are still managed.\n\n"
    "Resume new entries anyway?")
LIMIT_NAMES = {"L1": QT_TRANSLATE_NOOP("LimitsQuestion", "The daily loss limit [L1]"),
               "L2": QT_TRANSLATE_NOOP("LimitsQuestion", "The drawdown limit [L2]")}


# live.account_limits.LIMIT_TEMPLATES, marked for translation (the same English texts).
LIMIT_TEMPLATES = {
    "usdt": QT_TRANSLATE_NOOP("LimitsQuestion", "{usdt} USDT"),
    "pct": QT_TRANSLATE_NOOP("LimitsQuestion", "{pct} % of the day's start ({usdt} USDT)"),
    "daily": QT_TRANSLATE_NOOP("LimitsQuestion", "a daily loss of {amounts}, fees included"),
    "either": QT_TRANSLATE_NOOP("LimitsQuestion", "{one} or {other}"),
    "drawdown": QT_TRANSLATE_NOOP("LimitsQuestion", "a drawdown of {pct} % from the peak (equity {line} USDT)"),
}


def limit_words(record, protect) -> str:  # noqa: ANN001 - live.account_limits.LimitsRecord, core.params.ProtectParams
    """The limit that broke, in the window's language (the service's English words when the setting
    that broke is off by now)."""
    templates = {key: _tr(text) for key, text in LIMIT_TEMPLATES.items()}
    return account_limits.limit_words(record.breach_rule, record, protect, templates) or record.breach_limit


def _now_ms() -> int:
    return int(time.time() * 1000)  # the UTC day a restart happens on (the exchange's, give or take the offset)


def _tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def breach_question(settings, mode: str, now_ms: int | None = None) -> str | None:  # noqa: ANN001
    """The question for the mode's state folder, or None when no saved breach blocks today
    (a replay starts from nothing: never asked)."""
    if mode == "replay":
        return None
    now = now_ms if now_ms is not None else _now_ms()
    record = saved_breach(default_state_dir(settings, mode), now)
    if record is None:
        return None
    name = LIMIT_NAMES.get(record.breach_rule)
    return _tr(QUESTION).format(limit=_tr(name) if name else record.breach_rule,
                                time=iso_utc(record.breach_time).replace("T", " ").rstrip("Z"),
                                equity=f"{record.breach_equity:.2f}", words=limit_words(record, settings.strategy.protect))


def ask_override(ask: Callable[[str, str], bool], settings, mode: str,  # noqa: ANN001
                 now_ms: int | None = None) -> bool:
    """``ask(title, question) -> bool`` (the window's yes/no dialog, default no): True when a breach
    is saved for today and the user resumes anyway."""
    question = breach_question(settings, mode, now_ms)
    return question is not None and bool(ask(_tr(TITLE), question))


def override_if_asked(ask: Callable[[str, str], bool], settings, mode: str) -> dict[str, bool]:  # noqa: ANN001
    """The service builder's keyword for the answer: ``{"override_limits": True}`` on a yes, else none."""
    return {"override_limits": True} if ask_override(ask, settings, mode) else {}
