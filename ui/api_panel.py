"""API settings: trading mode, key and masked secret, keyring, and the connection test.

The secret lives only in the masked field and in memory while the window runs;
it is saved to the OS keyring only when "Remember in keyring" is ticked, and it
is never written to settings.yaml, the window's INI file or a log line.
"""
from __future__ import annotations

from typing import Callable, Protocol

import keyring.errors

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton,
)

from live.accounts import ApiCredentials
from core.errors import UserError
from ui.accessibility import describe, label_for
from ui.worker import BackgroundCall

# service mode -> label (English source; shown through mode_label). "replay" is paper trading on a
# kline folder: no keys, no network. "demo" is Binance's USDⓈ-M demo trading (issue 18; its old name
# "testnet" is still read from a saved window state, and the keyring entry keeps the name testnet).
MODES: dict[str, str] = {
    "replay": QT_TRANSLATE_NOOP("ApiPanel", "Paper: replay a data folder (offline)"),
    "paper": QT_TRANSLATE_NOOP("ApiPanel", "Paper: live prices, simulated fills"),
    "demo": QT_TRANSLATE_NOOP("ApiPanel", "Demo trading (test money)"),
    "live": QT_TRANSLATE_NOOP("ApiPanel", "LIVE (real money)"),
}
KEYED_MODES = ("demo", "live")
OLD_MODE_NAMES = {"testnet": "demo"}


def mode_label(mode: str) -> str:
    """The mode's name in the window's language."""
    return QCoreApplication.translate("ApiPanel", MODES[mode])


class CredentialStore(Protocol):
    """The OS keyring, one entry per venue (adapters.secrets implements it)."""

    def load_credentials(self, testnet: bool) -> ApiCredentials | None: ...
    def save_credentials(self, credentials: ApiCredentials, testnet: bool) -> None: ...
    def delete_credentials(self, testnet: bool) -> bool: ...


# (credentials, mode) -> one sentence describing the account on success; raises UserError with the exact reason
ConnectionChecker = Callable[[ApiCredentials, str], object]  # str(result) is shown; .min_notional, if any, feeds the symbols editor


class ApiPanel(QGroupBox):
    mode_changed = Signal(str)
    exchange_info = Signal(object)  # {symbol: min notional} from a successful connection test

    def __init__(self, checker: ConnectionChecker | None, store: CredentialStore | None, parent=None):
        super().__init__(parent)
        self.setTitle(self.tr("Connection"))
        self._checker = checker
        self._store = store
        self._check_thread: BackgroundCall | None = None
        self._mode = "replay"
        self.confirm_live: Callable[[], bool] = lambda: True  # set by the window: asks the user

        self.mode = QComboBox()
        for name in MODES:
            self.mode.addItem(mode_label(name), name)
        self.mode.currentIndexChanged.connect(self._on_mode_index)
        self.api_key = QLineEdit()
        self.api_key.setPlaceholderText(self.tr("API key (demo trading / live only)"))
        self.api_secret = QLineEdit()
        self.api_secret.setEchoMode(QLineEdit.Password)
        self.api_secret.setPlaceholderText(self.tr("secret (masked)"))
        self.remember = QCheckBox(self.tr("Remember in OS keyring"))
        self.remember.setEnabled(store is not None)
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel()
        self.result.setWordWrap(True)

        self.replay_dir = QLineEdit()
        self.replay_browse = QPushButton("…")
        self.replay_browse.setFixedWidth(28)
        self.replay_browse.clicked.connect(self._browse_replay)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0, 1_000_000)
        self.speed.setDecimals(0)
        self.speed.setSuffix(" x")
        self._describe_inputs()

        replay_row = QHBoxLayout()
        replay_row.addWidget(self.replay_dir, 1)
        replay_row.addWidget(self.replay_browse)
        replay_row.addWidget(label_for(self.tr("Speed"), self.speed))
        replay_row.addWidget(self.speed)
        grid = QGridLayout(self)
        grid.setVerticalSpacing(3)
        grid.addWidget(label_for(self.tr("Mode"), self.mode), 0, 0)
        grid.addWidget(self.mode, 0, 1, 1, 3)
        grid.addWidget(label_for(self.tr("Replay"), self.replay_dir), 1, 0)
        grid.addLayout(replay_row, 1, 1, 1, 3)
        grid.addWidget(label_for(self.tr("API key"), self.api_key), 2, 0)
        grid.addWidget(self.api_key, 2, 1, 1, 3)
        grid.addWidget(label_for(self.tr("Secret"), self.api_secret), 3, 0)
        grid.addWidget(self.api_secret, 3, 1)
        grid.addWidget(self.remember, 3, 2)
        grid.addWidget(self.test_button, 3, 3)
        grid.addWidget(self.result, 4, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        self._update_enabled()

    def _describe_inputs(self) -> None:
        describe(self.mode, self.tr("Trading mode"),
                 self.tr("Paper modes simulate fills and need no keys; Demo trading trades test money on Binance demo "
                         "trading; LIVE trades real money and asks you to confirm"))
        describe(self.replay_dir, self.tr("Replay data folder"),
                 self.tr("Folder with <SYMBOL>-5m.csv (.gz/.zip) kline files that the paper replay plays back"))
        describe(self.replay_browse, self.tr("Choose the replay data folder"), self.tr("Choose the folder"))
        describe(self.speed, self.tr("Replay speed"),
                 self.tr("Replay speed: N times real time (0 = as fast as possible)"))
        describe(self.api_key, self.tr("API key"),
                 self.tr("Binance USDT-M futures API key (demo trading and LIVE only); never saved in a file"))
        describe(self.api_secret, self.tr("API secret"),
                 self.tr("The API key's secret, masked; kept in memory, or in the OS keyring when ticked"))
        describe(self.remember, self.tr("Remember in OS keyring"),
                 self.tr("Save the key and secret in the OS keyring (Windows Credential Manager) at Start; "
                         "untick to forget them"))
        describe(self.test_button, self.tr("Test connection"),
                 self.tr("Reach Binance, check the clock and the key's permissions, in the background"))

    # ----- mode -------------------------------------------------------------------------------

    def current_mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Select ``mode`` without asking (used when restoring the last session's choice, never for live)."""
        mode = OLD_MODE_NAMES.get(mode, mode)
        self._mode = mode if mode in MODES and mode != "live" else "replay"
        self.mode.blockSignals(True)
        self.mode.setCurrentIndex(list(MODES).index(self._mode))
        self.mode.blockSignals(False)
        self._load_saved_credentials()
        self._update_enabled()

    def _on_mode_index(self, index: int) -> None:
        wanted = self.mode.itemData(index)
        if wanted == "live" and not self.confirm_live():
            self.set_mode(self._mode)  # refused: back to the previous mode
            return
        self._mode = wanted
        self._load_saved_credentials()
        self._update_enabled()
        self.mode_changed.emit(wanted)

    def _update_enabled(self) -> None:
        keyed = self._mode in KEYED_MODES
        for widget in (self.api_key, self.api_secret, self.remember, self.test_button):
            widget.setEnabled(keyed and (widget is not self.remember or self._store is not None))
        replay = self._mode == "replay"
        for widget in (self.replay_dir, self.replay_browse, self.speed):
            widget.setEnabled(replay)

    def set_running(self, running: bool) -> None:
        for widget in (self.mode, self.api_key, self.api_secret, self.replay_dir, self.replay_browse, self.speed):
            widget.setEnabled(not running)
        if not running:
            self._update_enabled()

    def _browse_replay(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Replay data folder"), self.replay_dir.text())
        if folder:
            self.replay_dir.setText(folder)

    # ----- credentials ------------------------------------------------------------------------

    def credentials(self) -> ApiCredentials | None:
        """The key pair for a keyed mode; None for paper modes. Raises UserError when missing."""
        if self._mode not in KEYED_MODES:
            return None
        key, secret = self.api_key.text().strip(), self.api_secret.text().strip()
        if not key or not secret:
            raise UserError(self.tr("{mode} needs an API key and secret; enter both above").format(
                mode=mode_label(self._mode)))
        return ApiCredentials(key, secret, "entered")

    def credentials_if_entered(self) -> ApiCredentials | None:
        """The key pair typed in, whatever the mode (for naming the account before switching to live)."""
        key, secret = self.api_key.text().strip(), self.api_secret.text().strip()
        return ApiCredentials(key, secret, "entered") if key and secret else None

    def remember_if_asked(self) -> None:
        """Save the pair in the keyring when ticked; forget this venue's saved pair when unticked."""
        if self._store is None or self._mode not in KEYED_MODES:
            return
        testnet = self._mode == "demo"  # the keyring entry of demo trading is still named testnet
        try:
            if self.remember.isChecked():
                credentials = self.credentials()
                self._store.save_credentials(credentials, testnet)
            else:
                self._store.delete_credentials(testnet)
        except keyring.errors.KeyringError as exc:
            self._show_result(False, self.tr("The OS keyring could not store the key ({error}); "
                                             "it is used for this session only").format(error=type(exc).__name__))

    def _load_saved_credentials(self) -> None:
        """Fill key and secret from the keyring / environment for the venue just selected."""
        if self._store is None or self._mode not in KEYED_MODES or self.api_key.text():
            return
        saved = self._store.load_credentials(self._mode == "demo")
        if saved is not None:
            self.api_key.setText(saved.api_key)
            self.api_secret.setText(saved.api_secret)
            self.remember.setChecked(saved.source == "keyring")

    # ----- connection test --------------------------------------------------------------------

    def test_connection(self) -> None:
        """Check keys, permissions, clock and network in a worker thread; report the exact reason."""
        if self._checker is None:
            self.result.setText(self.tr("The connection test is not available in this build"))
            return
        if self._check_thread is not None and self._check_thread.isRunning():
            return
        try:
            credentials = self.credentials()
        except UserError as exc:
            self._show_result(False, str(exc))
            return
        mode = self._mode
        checker = self._checker
        self.test_button.setEnabled(False)
        self.result.setStyleSheet("")
        self.result.setText(self.tr("Testing the connection…"))
        self._check_thread = BackgroundCall(lambda _progress: checker(credentials, mode), self)
        self._check_thread.succeeded.connect(self._on_connected)
        self._check_thread.failed.connect(lambda text: self._show_result(False, text))
        self._check_thread.finished.connect(lambda: self.test_button.setEnabled(True))
        self._check_thread.start()

    def is_testing(self) -> bool:
        return self._check_thread is not None and self._check_thread.isRunning()

    def wait_for_test(self, ms: int = 10_000) -> None:
        if self._check_thread is not None:
            self._check_thread.wait(ms)

    def _on_connected(self, result: object) -> None:
        self._show_result(True, str(result))
        min_notional = getattr(result, "min_notional", None)
        if min_notional:
            self.exchange_info.emit(dict(min_notional))

    def _show_result(self, ok: bool, text: str) -> None:
        self.result.setStyleSheet("color: #1b7f2a;" if ok else "color: #c62828;")
        # The sentence says what happened ("Connected to …", "Cannot reach …"); the mark and colour say ok or not.
        self.result.setText(("✔ " if ok else "✖ ") + text)
