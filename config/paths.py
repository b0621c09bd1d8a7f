"""Where the program's files are.

- ``APP_ROOT``: where bundled read-only files (settings defaults, sample data)
  are found: the repository, or when frozen PyInstaller's bundle folder
  (``sys._MEIPASS``: the ``_internal`` folder beside the one-folder EXE).
- ``PROGRAM_FOLDER``: the folder the trader unzipped when frozen (the EXE and its
  ``_internal`` folder), else the repository. A new version replaces it, and it
  may be read-only: the program never writes there.
- ``user_home()``: the per-user folder for everything the program writes
  (state, logs, the user's settings): ``$AUTOHEDGE_HOME`` when set (tests point
  it at a temporary folder), else the platform's user data folder. Never the
  program folder.
- ``ensure_writable()``: the start-up check of a folder the program writes to
  (state, logs, reports, the user folder): one sentence naming the folder when
  a file cannot be written there.
- ``keep_previous()``: an output file about to be written over is kept as
  ``<name>.bak`` first (one generation), so a report, a trades file or a
  settings file the user had is never lost to the next run.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from core.errors import UserError

HOME_ENV = "AUTOHEDGE_HOME"
APP_ROOT = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


PROGRAM_FOLDER = Path(sys.executable).resolve().parent if is_frozen() else APP_ROOT


class FolderError(UserError):
    """A folder the program must write to cannot be written; the message names it."""


def why_not_writable(exc: OSError) -> str:
    """The reason of an OSError in a few words a user understands."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        path = Path(os.fsdecode(exc.filename))  # a str, or bytes from a call given bytes
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        return f"{blocker} is a file, not a folder"
    return exc.strerror or str(exc)


def ensure_writable(folder: Path | str, role: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written, read back and removed there.

    ``role`` names the folder for the user ("state", "log", "report", "user").
    Raises :class:`FolderError` with one sentence otherwise.
    """
    folder = Path(folder)
    probe = folder / f".autohedge-write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"autohedge\n")
        probe.unlink()
    except OSError as exc:
        hint = f"; set {HOME_ENV} to a folder you can write to" if role == "user" else ""
        raise FolderError(f"the {role} folder {folder} is not writable ({why_not_writable(exc)}){hint}") from None
    return folder


def user_home() -> Path:
    override = os.environ.get(HOME_ENV)
    home = Path(override) if override else Path(platformdirs.user_data_dir("AutoHedge", appauthor=False))
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FolderError(f"the user folder {home} cannot be created ({why_not_writable(exc)}); "
                          f"set {HOME_ENV} to a folder you can write to") from None
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


def keep_previous(path: Path | str) -> None:
    """Keep an existing file as ``<name>.bak`` (replacing an older .bak) before it is written over."""
    path = Path(path)
    if path.is_file():
        path.replace(path.with_name(path.name + ".bak"))
