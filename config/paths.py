"""Where the program's files are.

- ``APP_ROOT``: the program folder (the repository, or PyInstaller's bundle
  folder when frozen); bundled read-only files (settings defaults, sample data)
  are found relative to it.
- ``user_home()``: the per-user folder for everything the program writes
  (state, logs, the user's settings): ``$AUTOHEDGE_HOME`` when set (tests point
  it at a temporary folder), else the platform's user data folder. Never the
  bundle's temporary folder.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

HOME_ENV = "AUTOHEDGE_HOME"
APP_ROOT = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def user_home() -> Path:
    override = os.environ.get(HOME_ENV)
    home = Path(override) if override else Path(platformdirs.user_data_dir("AutoHedge", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def resolve_app_path(text: str | Path) -> Path:
    """A bundled path as written in settings: absolute, or relative to the program folder."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else APP_ROOT / path


def resolve_user_path(text: str | Path) -> Path:
    """A path the program writes to: absolute, or relative to the per-user folder when frozen
    (the bundle folder is temporary) and to the program folder otherwise."""
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    return (user_home() if is_frozen() else APP_ROOT) / path
