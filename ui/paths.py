"""Where the window keeps its per-user files.

Everything the GUI writes (non-secret settings, window geometry, trading state,
logs) lives under one folder: ``$AUTOHEDGE_HOME`` when set (tests point it at a
temporary directory so they never touch the real home), otherwise
the platform's per-user folder (see ``config.paths.user_home``). Secrets are never written here:
they go to the OS keyring, and only when the user asks.
"""
from __future__ import annotations

from pathlib import Path

from config.paths import HOME_ENV, resolve_app_path, user_home
from config.settings import DEFAULT_SETTINGS_PATH, AppSettings, SettingsError, keep_broken_file, load_settings

__all__ = ["HOME_ENV", "user_home", "user_settings_path", "ui_state_path", "resolve_data_path", "load_user_settings"]


def user_settings_path() -> Path:
    return user_home() / "settings.yaml"


def ui_state_path() -> Path:
    """The QSettings (INI) file: window geometry and the GUI's own non-secret choices."""
    return user_home() / "window.ini"


def resolve_data_path(text: str) -> Path:
    """A data folder as typed: absolute, or relative to the program folder (``data/sample``)."""
    return resolve_app_path(text)


def load_user_settings() -> tuple[AppSettings, str | None]:
    """The user's saved settings, else the bundled defaults.

    Returns the settings and, when the user's file could not be used, the one sentence
    the window shows. Such a file is never lost: it is renamed with a timestamp
    (``settings.yaml.broken-YYYYMMDD-HHMMSS``) and kept byte for byte, so the settings the
    window saves later cannot overwrite it.
    """
    path = user_settings_path()
    if not path.exists():
        return load_settings(DEFAULT_SETTINGS_PATH), None
    try:
        return load_settings(path), None
    except SettingsError as exc:
        problem = str(exc)
    try:
        kept = keep_broken_file(path)
    except SettingsError as exc:
        return load_settings(DEFAULT_SETTINGS_PATH), (
            f"{problem}; the bundled defaults are used, and your file stays as it is ({exc})")
    return load_settings(DEFAULT_SETTINGS_PATH), (
        f"{problem}; your file was kept as {kept.name} and the bundled defaults are used until you fix it")
