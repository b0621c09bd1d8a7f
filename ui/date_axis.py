"""A pyqtgraph date axis (UTC) that writes month and weekday names in the window's language.

pyqtgraph's DateAxisItem formats its ticks with ``strftime``, whose ``%b`` / ``%a`` are
the C locale's English names whatever the window's language; in Korean the chart read
"Wed 01" and "Mar". Here those two come from Qt's locale of the language the window
runs in (ui.i18n), and Korean days read "1일 (수)".
"""
from __future__ import annotations

from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6.QtCore import QLocale

from ui import i18n

LOCALES = {"ko": QLocale.Language.Korean, "en": QLocale.Language.English}
# The tick formats of pyqtgraph's zoom levels that hold a name, per language.
KOREAN_FORMATS = {"%a %d": "{day}일 ({weekday})", "%b": "{month}"}


def tick_text(when: datetime, tick_format: str, language: str) -> str:
    """``when`` written with a pyqtgraph tick format (``%a %d``, ``%b``, ``%H:%M``...) in ``language``."""
    locale = QLocale(LOCALES.get(language, QLocale.Language.English))
    month = locale.monthName(when.month, QLocale.FormatType.ShortFormat)
    weekday = locale.dayName(when.isoweekday(), QLocale.FormatType.ShortFormat)
    if language == "ko" and tick_format in KOREAN_FORMATS:
        return KOREAN_FORMATS[tick_format].format(day=when.day, weekday=weekday, month=month)
    if "%a" in tick_format or "%b" in tick_format:
        tick_format = tick_format.replace("%a", weekday.replace("%", "%%")).replace("%b", month.replace("%", "%%"))
    return when.strftime(tick_format)


class LocalizedDateAxis(pg.DateAxisItem):
    """UTC date ticks; names (months, weekdays) in the window's language."""

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, utcOffset=0, **kwargs)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        spec = next((s for s in self.zoomLevel.tickSpecs if s.spacing == spacing), None)
        if spec is None or ("%a" not in spec.format and "%b" not in spec.format):
            return super().tickStrings(values, scale, spacing)
        language = i18n.current_language()
        texts = []
        for value in values:
            try:
                texts.append(tick_text(datetime.fromtimestamp(value, tz=timezone.utc), spec.format, language))
            except (OverflowError, ValueError, OSError):
                texts.append("")
        return texts
