"""The Alerts dialog: which events raise an alert, and where alerts go besides the desktop.

Destinations are apprise URLs (``tgram://BOT_TOKEN/CHAT_ID``, ``mailto://user:password@gmail.com``,
``json://host/path``...). They hold tokens and passwords, so they are saved in the OS
keyring, never in settings.yaml, and shown back only with their secrets blanked.
Typed URLs replace the saved ones; leaving the box empty keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keyring.errors
from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
    QVBoxLayout, QWidget,
)

from config.settings import AlertSettings
from core.errors import UserError
from live.alerts import Alert, AppriseSink, display_url, load_alert_urls, save_alert_urls
from ui.accessibility import describe, label_for
from ui.worker import BackgroundCall

# AlertSettings field -> (check box text, tooltip)
EVENT_CHOICES: dict[str, tuple[str, str]] = {
    "fills": (QT_TRANSLATE_NOOP("AlertsDialog", "Fills"),
              QT_TRANSLATE_NOOP("AlertsDialog", "Every order the exchange filled: entries, hedges and closes")),
    "errors": (QT_TRANSLATE_NOOP("AlertsDialog", "Errors"),
               QT_TRANSLATE_NOOP("AlertsDialog", "A refused order, a symbol stopped by an error, any error line")),
    "liquidations": (QT_TRANSLATE_NOOP("AlertsDialog", "Liquidations"),
                     QT_TRANSLATE_NOOP("AlertsDialog", "A position closed by the exchange (liquidation or "
                                                       "auto-deleverage), or found smaller on the exchange")),
    "stopped": (QT_TRANSLATE_NOOP("AlertsDialog", "Trading or price stream stopped"),
                QT_TRANSLATE_NOOP("AlertsDialog", "The trading service stopped, for any reason; the price stream "
                                                  "was lost (and is back)")),
}


@dataclass(frozen=True)
class AlertChoice:
    settings: AlertSettings
    urls: list[str] | None  # None: keep the saved URLs; []: forget them


def _tr(text: str) -> str:
    return QCoreApplication.translate("AlertsDialog", text)


def parse_urls(text: str) -> list[str]:
    """One URL per line; raises UserError naming the first one apprise does not understand."""
    urls = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if urls:
        AppriseSink(urls)  # validates each URL (and registers its secrets with the log redaction)
    return urls


class AlertsDialog(QDialog):
    def __init__(self, settings: AlertSettings, desktop_available: bool, parent: QWidget | None = None,
                 load_urls: Callable[[], list[str]] = load_alert_urls,
                 save_urls: Callable[[list[str]], None] = save_alert_urls):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Alerts"))
        self._save_urls = save_urls
        self._saved = load_urls()
        self._test: BackgroundCall | None = None
        self.choice: AlertChoice | None = None

        self.desktop = QCheckBox(self.tr("Desktop notifications"))
        self.desktop.setChecked(settings.desktop and desktop_available)
        self.desktop.setEnabled(desktop_available)
        describe(self.desktop, self.tr("Desktop notifications"),
                 self.tr("Show a notification beside the clock (system tray)") if desktop_available
                 else self.tr("This desktop has no system tray: no desktop notifications"))
        # Greyed out, the box alone does not say why: a line under it does.
        self.desktop_note = QLabel("" if desktop_available else self.tr(
            "Greyed out because this desktop has no system tray (notification area) for AutoHedge to show "
            "notifications in. Alerts still go to the Telegram / e-mail URLs below."))
        self.desktop_note.setWordWrap(True)
        self.desktop_note.setStyleSheet("color: #555;")
        self.desktop_note.setVisible(not desktop_available)
        self.events: dict[str, QCheckBox] = {}
        events_box = QGroupBox(self.tr("Alert on"))
        events_layout = QVBoxLayout(events_box)
        for name, (text, tip) in EVENT_CHOICES.items():
            box = QCheckBox(_tr(text))
            box.setChecked(getattr(settings, name))
            describe(box, _tr(text), _tr(tip))
            events_layout.addWidget(box)
            self.events[name] = box

        self.urls = QPlainTextEdit()
        self.urls.setPlaceholderText(self.tr("One URL per line, e.g. tgram://BOT_TOKEN/CHAT_ID or "
                                             "mailto://user:password@gmail.com"))
        self.urls.setTabChangesFocus(True)
        self.urls.setMaximumHeight(90)
        describe(self.urls, self.tr("Telegram and e-mail alert URLs"),
                 self.tr("apprise URLs, one per line. Saved in the OS keyring, never in a file; "
                         "typed URLs replace the saved ones, an empty box keeps them"))
        self.saved_label = QLabel()
        self.saved_label.setWordWrap(True)
        self.forget = QCheckBox(self.tr("Forget the saved URLs"))
        describe(self.forget, self.tr("Forget the saved URLs"),
                 self.tr("Remove the alert URLs from the OS keyring: alerts go to the desktop only"))
        self.test_button = QPushButton(self.tr("Send a test alert"))
        describe(self.test_button, self.tr("Send a test alert"),
                 self.tr("Send one alert now to the typed URLs, or to the saved ones when none are typed"))
        self.test_button.clicked.connect(self.send_test)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self._show_saved()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        for button in buttons.buttons():
            describe(button, button.text(), self.tr("Save these alert settings") if
                     buttons.buttonRole(button) == QDialogButtonBox.ButtonRole.AcceptRole
                     else self.tr("Close without saving"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.desktop)
        layout.addWidget(self.desktop_note)
        layout.addWidget(events_box)
        layout.addWidget(label_for(self.tr("Telegram / e-mail (apprise URLs)"), self.urls))
        layout.addWidget(self.urls)
        layout.addWidget(self.saved_label)
        row = QHBoxLayout()
        row.addWidget(self.forget)
        row.addStretch(1)
        row.addWidget(self.test_button)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _show_saved(self) -> None:
        if self._saved:
            self.saved_label.setText(self.tr("Saved in the OS keyring: {urls}").format(
                urls=", ".join(display_url(url) for url in self._saved)))
        else:
            self.saved_label.setText(self.tr("No alert URL saved: alerts go to the desktop only."))

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setText(text)

    # ----- test -------------------------------------------------------------------------------

    def send_test(self) -> None:
        try:
            urls = parse_urls(self.urls.toPlainText()) or self._saved
        except UserError as exc:
            self._say(str(exc), error=True)
            return
        if not urls:
            self._say(self.tr("Type an alert URL first."), error=True)
            return
        if self._test is not None and self._test.isRunning():
            return
        alert = Alert("test", "AutoHedge", self.tr("Test alert: AutoHedge alerts reach you here."))

        def send(_progress) -> int:
            AppriseSink(urls).send(alert)
            return len(urls)

        self.test_button.setEnabled(False)
        self._say(self.tr("Sending a test alert…"))
        self._test = BackgroundCall(send, self)
        self._test.succeeded.connect(lambda count: self._say(self.tr("Test alert sent to {count} URL(s).").format(
            count=count)))
        self._test.failed.connect(lambda _text: self._say(
            self.tr("The test alert was not delivered; check the URL, the network and the receiving service."),
            error=True))
        self._test.finished.connect(lambda: self.test_button.setEnabled(True))
        self._test.start()

    def wait_for_test(self, ms: int = 30_000) -> None:
        if self._test is not None:
            self._test.wait(ms)

    # ----- result -----------------------------------------------------------------------------

    def accept(self) -> None:
        try:
            typed = parse_urls(self.urls.toPlainText())
        except UserError as exc:
            self._say(str(exc), error=True)
            return
        urls = [] if self.forget.isChecked() else (typed or None)
        if urls is not None:
            try:
                self._save_urls(urls)
            except keyring.errors.KeyringError as exc:
                self._say(self.tr("The OS keyring could not store the alert URLs ({error}).").format(
                    error=type(exc).__name__), error=True)
                return
        values = {name: box.isChecked() for name, box in self.events.items()}
        desktop = self.desktop.isChecked() if self.desktop.isEnabled() else True  # no tray here: keep the wish
        settings = AlertSettings(desktop=desktop, **values)
        self.choice = AlertChoice(settings, urls)
        self.wait_for_test()
        super().accept()
