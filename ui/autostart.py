"""Start AutoHedge when the user signs in to Windows (issue 19, item 8).

On Windows the option is a value named ``AutoHedge`` under the user's own Run key
(``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``), which Windows
starts at sign-in: no administrator rights, removed by unticking the option. Elsewhere it is
a no-op with one sentence saying so. Together with ui/resume.py a reboot during trading ends
with the window open and offering to trade again. ``platform`` and ``registry`` (a ``winreg``
look-alike) are injected by tests.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QCheckBox

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE_NAME = "AutoHedge"


def start_command() -> str:
    """The program as Windows should start it: the EXE, or Python with main.py's window."""
    if getattr(sys, "frozen", False):
        return f'"{sys.executable}"'
    main = Path(__file__).resolve().parent.parent / "main.py"
    return f'"{sys.executable}" "{main}" gui'


class SignInStart:
    def __init__(self, platform: str = sys.platform, registry: Any = None, command: str | None = None):
        self.platform = platform
        self._registry = registry
        self.command = command or start_command()

    @property
    def available(self) -> bool:
        return self.platform == "win32"

    def _winreg(self) -> Any:
        if self._registry is None:
            import winreg  # Windows only
            self._registry = winreg
        return self._registry

    def enabled(self) -> bool:
        if not self.available:
            return False
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
                value, _ = reg.QueryValueEx(key, VALUE_NAME)
        except OSError:
            return False
        return value == self.command

    def set(self, enabled: bool) -> str:
        """Add or remove the Run entry; the sentence the window shows."""
        if not self.available:
            return QCoreApplication.translate("AutoStart", "Starting at sign-in is a Windows option; on this system add AutoHedge to your "
                       "desktop's autostart yourself")
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                if enabled:
                    reg.SetValueEx(key, VALUE_NAME, 0, reg.REG_SZ, self.command)
                else:
                    try:
                        reg.DeleteValue(key, VALUE_NAME)
                    except FileNotFoundError:
                        pass
        except OSError as exc:
            return QCoreApplication.translate("AutoStart", "Windows refused the sign-in start ({reason})").format(reason=exc)
        return (QCoreApplication.translate("AutoStart", "AutoHedge starts when you sign in to Windows") if enabled
                else QCoreApplication.translate("AutoStart", "AutoHedge no longer starts when you sign in"))


class AutoStartBox(QCheckBox):
    """The Settings tab's option; the sentence of the last change is its tooltip and ``last``."""

    def __init__(self, start: SignInStart | None = None, parent=None):
        super().__init__(QCoreApplication.translate("AutoStart", "Start AutoHedge when I sign in to Windows"), parent)
        self.sign_in = start or SignInStart()
        self.setAccessibleName(self.text())
        self.setChecked(self.sign_in.enabled())
        self.last = ""
        if not self.sign_in.available:
            self.setEnabled(False)
            self.setToolTip(self.sign_in.set(False))
        self.toggled.connect(self._changed)

    def _changed(self, checked: bool) -> None:
        self.last = self.sign_in.set(checked)
        self.setToolTip(self.last)
        if checked and not self.sign_in.enabled():
            self.blockSignals(True)
            self.setChecked(False)
            self.blockSignals(False)
