"""What the trader's window gains on top of its panels: the Settings menu, alerts and shortcuts.

``install(window, builder)`` is called once by the main window: it adds

- a **Settings** menu: *Language* (automatic / English / 한국어; saved as ``ui.language``; while
  stopped the window offers to reopen in it at once, else it applies the next time the window
  opens) and *Alerts…* (ui/alerts_dialog.py);
- a **Help** menu with *About AutoHedge…* (ui/about_dialog.py: version, commit, data folder);
- the desktop notifier (ui/tray.py) where the desktop has a tray;
- the keyboard shortcuts (ui/shortcuts.py);
- the keep-or-close question of a side above CALL_SIZE not by the bot's hand (ui/excess_dialog.py);

and returns the service builder wrapped so that every non-replay run sends alerts
(live/alerts.py) for the events switched on in the settings.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow

from config.settings import AlertSettings, UiSettings
from live.alerts import AlertSink, alerting_builder, apprise_sinks
from ui import i18n
from ui.about_dialog import AboutDialog
from ui.alerts_dialog import AlertsDialog
from ui.excess_dialog import ExcessQuestions
from ui.shortcuts import install_shortcuts
from ui.tray import desktop_sink

LANGUAGE_CHOICES = (("auto", QT_TRANSLATE_NOOP("WindowExtras", "Automatic (system language)")),
                    ("en", "English"), ("ko", "한국어"))  # language names are written in their own language


class WindowExtras:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.tray = desktop_sink(window)
        self.shortcuts = install_shortcuts(window)
        menu = window.menuBar().addMenu(QCoreApplication.translate("WindowExtras", "Settings"))
        self.language_menu = menu.addMenu(QCoreApplication.translate("WindowExtras", "Language"))
        self.language_actions: dict[str, QAction] = {}
        group = QActionGroup(window)
        current = window.strategy.base_settings().ui.language
        for code, text in LANGUAGE_CHOICES:
            action = QAction(QCoreApplication.translate("WindowExtras", text) if code == "auto" else text, window,
                             checkable=True)
            action.setChecked(code == current)
            action.triggered.connect(lambda _checked=False, c=code: self.set_language(c))
            group.addAction(action)
            self.language_menu.addAction(action)
            self.language_actions[code] = action
        self.alerts_action = menu.addAction(QCoreApplication.translate("WindowExtras", "Alerts…"))
        self.alerts_action.triggered.connect(self.edit_alerts)
        help_menu = window.menuBar().addMenu(QCoreApplication.translate("WindowExtras", "Help"))
        self.about_action = help_menu.addAction(QCoreApplication.translate("WindowExtras", "About AutoHedge…"))
        self.about_action.triggered.connect(self.show_about)

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.window)
        dialog.open()
        return dialog

    # ----- language ---------------------------------------------------------------------------

    def set_language(self, code: str) -> None:
        """Save the choice; when stopped, offer to reopen the window in it now (app.run opens it again)."""
        self.window.strategy.set_base_sections(ui=UiSettings(language=code))
        self.window.save_ui_state()
        wanted = i18n.resolve_language(code)
        language = i18n.LANGUAGES[wanted]
        if wanted == i18n.current_language():
            return
        if not self.window.is_running() and self.window.ask(
                QCoreApplication.translate("WindowExtras", "Language"),
                QCoreApplication.translate("WindowExtras", "Reopen the window in {language} now?").format(
                    language=language)):
            self.window.reopen_requested = True
            self.window.close()
            return
        self.window.show_message(QCoreApplication.translate(
            "WindowExtras", "The window will be in {language} the next time AutoHedge opens").format(language=language))

    # ----- alerts -----------------------------------------------------------------------------

    def alert_sinks(self, settings: AlertSettings) -> list[AlertSink]:
        sinks: list[AlertSink] = [self.tray] if settings.desktop and self.tray is not None else []
        return sinks + apprise_sinks(settings)

    def edit_alerts(self) -> AlertsDialog:
        dialog = AlertsDialog(self.window.strategy.base_settings().alerts, self.tray is not None, self.window)
        dialog.finished.connect(lambda _result: self.apply_alerts(dialog))
        dialog.open()
        return dialog

    def apply_alerts(self, dialog: AlertsDialog) -> None:
        if dialog.choice is None:
            return
        self.window.strategy.set_base_sections(alerts=dialog.choice.settings)
        self.window.save_ui_state()
        self.window.show_message(QCoreApplication.translate(
            "WindowExtras", "Alert settings saved; they apply from the next Start"))


def install(window: QMainWindow, builder: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """Add the menu, tray and shortcuts to ``window``; return ``builder`` with alerts."""
    extras = WindowExtras(window)
    window.extras = extras
    window.excess_questions = ExcessQuestions(window)  # [C3] the keep-or-close question
    return alerting_builder(builder, extras.alert_sinks) if builder is not None else None
