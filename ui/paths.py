"""Where the window keeps its per-user files.

Everything the GUI writes (non-secret settings, window geometry, trading state,
logs) lives under one folder: ``$AUTOHEDGE_HOME`` when set (tests point it at a
temporary directory so they never touch the real home), otherwise
``platformdirs.user_config_dir('AutoHedge')``. Secrets are never written here:
they go to the OS keyring, and only when the user asks.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from config.settings import DEFAULT_SETTINGS_PATH, AppSettings, SettingsError, load_settings

HOME_ENV = "AUTOHEDGE_HOME"
REPO_ROOT = Path(__file__).resolve().parent.parent


def user_home() -> Path:
    override = os.environ.get(HOME_ENV)
    home = Path(override) if override else Path(platformdirs.user_config_dir("AutoHedge", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def user_settings_path() -> Path:
    return user_home() / "settings.yaml"


def ui_state_path() -> Path:
    """The QSettings (INI) file: window geometry and the GUI's own non-secret choices."""
    return user_home() / "window.ini"


def state_dir(mode: str) -> Path:
    """One state folder per mode, so a replay never touches paper, testnet or live positions [P]."""
    return user_home() / "state" / mode


def log_dir() -> Path:
    return user_home() / "logs"


def resolve_data_path(text: str) -> Path:
    """A data folder as typed: absolute, or relative to the program folder (``data/sample``)."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def load_user_settings() -> tuple[AppSettings, str | None]:
    """The user's saved settings, else the bundled defaults.

    Returns the settings and, when the user's file could not be used, the one-sentence
    reason (the window shows it; the file is left untouched for the user to inspect).
    """
    path = user_settings_path()
    if path.exists():
        try:
            return load_settings(path), None
        except SettingsError as exc:
            return load_settings(DEFAULT_SETTINGS_PATH), f"{exc} (using the bundled defaults instead)"
    return load_settings(DEFAULT_SETTINGS_PATH), None
