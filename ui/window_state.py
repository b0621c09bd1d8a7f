"""The window's own remembered choices: geometry, the cockpit's splitter, mode, folders, speed.

Kept in QSettings, never a secret; the strategy settings on screen are saved beside them as
YAML. A live mode is remembered as replay, so the program never starts on real money by itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

from config.settings import save_settings
from core.errors import UserError
from ui import paths
from ui.replay_progress import DEFAULT_REPLAY_SPEED

if TYPE_CHECKING:
    from ui.main_window import MainWindow


PREFERRED_SIZE = (1366, 768)
FRAME_ALLOWANCE = (16, 40)  # the title bar and borders the system adds around the window's own area


def fit_to_screen(window: MainWindow) -> None:
    """First opening: within the screen's available area (the taskbar and docks excluded),
    at most the preferred size, centred; a smaller screen gets the whole available area."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(*PREFERRED_SIZE)
        return
    area = screen.availableGeometry()
    width = min(PREFERRED_SIZE[0], area.width() - FRAME_ALLOWANCE[0])
    height = min(PREFERRED_SIZE[1], area.height() - FRAME_ALLOWANCE[1])
    window.resize(max(width, window.minimumSizeHint().width()), max(height, window.minimumSizeHint().height()))
    frame = window.frameGeometry()
    frame.moveCenter(area.center())
    window.move(max(frame.left(), area.left()), max(frame.top(), area.top()))


def restore_window_state(window: MainWindow) -> None:
    state = window._ui_state  # noqa: SLF001 - the window's QSettings, owned by this module's two functions
    geometry = state.value("geometry")
    if geometry is None or not window.restoreGeometry(geometry):
        fit_to_screen(window)  # remembered afterwards: save_window_state keeps the geometry
    splitter = state.value("cockpit_splitter")
    if splitter is not None:
        window.splitter.restoreState(splitter)
    window.api.set_mode(str(state.value("mode", "replay")))
    window.api.replay_dir.setText(str(state.value("replay_dir", window._settings.paper.replay_data)))  # noqa: SLF001
    window.api.speed.setValue(float(state.value("replay_speed", DEFAULT_REPLAY_SPEED)))
    window.backtest.data_dir.setText(str(state.value("backtest_dir", window._settings.paper.replay_data)))  # noqa: SLF001
    window.optimize.data_dir.setText(window.backtest.data_dir.text())


def save_window_state(window: MainWindow) -> None:
    """Geometry and the GUI's own non-secret choices (QSettings); strategy settings as YAML."""
    state = window._ui_state  # noqa: SLF001
    state.setValue("geometry", window.saveGeometry())
    state.setValue("cockpit_splitter", window.splitter.saveState())
    state.setValue("mode", window.api.current_mode() if window.api.current_mode() != "live" else "replay")
    state.setValue("replay_dir", window.api.replay_dir.text())
    state.setValue("replay_speed", window.api.speed.value())
    state.setValue("backtest_dir", window.backtest.data_dir.text())
    state.sync()
    try:
        save_settings(window.current_settings(), paths.user_settings_path())
    except UserError as exc:
        window.show_message(f"Settings not saved: {exc}", level="WARNING")
