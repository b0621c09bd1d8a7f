"""Which Qt platform the window will use, and whether it can work here — checked before Qt loads it.

Qt aborts the whole process (SIGABRT, exit code 134, several lines of its own)
when its platform plugin cannot be loaded: on Linux most often because a
library the ``xcb`` plugin links to is not installed (``libxcb-cursor0`` since
Qt 6.5, ``libxcb-icccm4``...), or because there is no display to connect to.
:func:`gui_platform` finds that out first, so ``python main.py`` can say it in
one sentence, and ``selftest`` checks the same platform the window would use
(offscreen only where there is no display at all).

Lives in the GUI layer so live/ never imports Qt (``cli.selftest``
loads it by name).
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WINDOW_TITLE = "AutoHedge selftest"
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}  # Linux plugins we check before use
# The Debian/Ubuntu packages of the system libraries Qt's xcb plugin (libqxcb.so and libQt6XcbQpa)
# loads, as ``ldd`` lists them for PySide6 6.x; the README's library list names every one.
XCB_PACKAGES = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0", "libxcb-render-util0",
                "libxcb-randr0", "libxcb-shape0", "libxcb-xkb1", "libxcb-xfixes0", "libxcb-sync1", "libxcb-shm0",
                "libxcb-util1", "libxcb-render0", "libxcb1", "libxkbcommon-x11-0", "libx11-xcb1")
# Libraries whose package is not named after the file (Debian naming).
PACKAGE_EXCEPTIONS = {"libglib-2.0": "libglib2.0-0", "libgthread-2.0": "libglib2.0-0", "libgobject-2.0": "libglib2.0-0"}


@dataclass(frozen=True)
class PlatformChoice:
    """``name``: the Qt platform to use (None: Qt's own default); ``problem``: why no window can open."""

    name: str | None
    problem: str | None = None
    headless: bool = False  # no display at all: only the offscreen platform can draw


def needs_offscreen(environ: dict[str, str] | os._Environ = os.environ, platform: str = sys.platform) -> bool:
    """True on Linux/BSD without an X or Wayland display and no platform chosen by the user."""
    if environ.get("QT_QPA_PLATFORM") or platform in ("win32", "darwin"):
        return False
    return not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def debian_package(library: str) -> str:
    """'libxcb-cursor.so.0' -> 'libxcb-cursor0', 'libxkbcommon-x11.so.0' -> 'libxkbcommon-x11-0' (Debian naming)."""
    match = re.match(r"^(lib.+)\.so\.(\d+)", library)
    if not match:
        return library
    base, version = match.groups()
    if base in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[base]
    base = base.lower()  # libX11-xcb.so.1 -> libx11-xcb1, libGL.so.1 -> libgl1
    return f"{base}{'-' if base[-1].isdigit() else ''}{version}"


def plugin_path(name: str) -> Path | None:
    file = PLUGIN_FILES.get(name)
    if file is None:
        return None
    from PySide6.QtCore import QLibraryInfo  # QtCore only: no platform is loaded by this

    path = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / file
    return path if path.exists() else None


def missing_libraries(plugin: Path) -> list[str]:
    """System libraries ``plugin`` needs that cannot be found (empty when it loads)."""
    ldd = shutil.which("ldd")
    if ldd:
        try:
            listing = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        missing = [line.split("=>")[0].strip() for line in listing.splitlines() if "not found" in line]
        if missing:
            return list(dict.fromkeys(missing))
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.search(r"(lib[\w.+-]+\.so[\w.]*)", str(exc))
        return [found.group(1) if found else str(exc)]
    return []


def x_display_problem(display: str) -> str | None:
    """None when the X display answers; else why not (Qt would abort on it)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None  # the plugin check names the missing library
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    failed = xcb.xcb_connection_has_error(connection)
    xcb.xcb_disconnect(connection)
    return f"the X display {display} cannot be reached" if failed else None


def _platform_problem(name: str, environ) -> str | None:
    plugin = plugin_path(name)
    if plugin is not None:
        missing = missing_libraries(plugin)
        if missing:
            packages = " ".join(dict.fromkeys(debian_package(lib) for lib in missing))
            verb = "is" if len(missing) == 1 else "are"
            return (f"Qt's {name} platform needs {', '.join(missing)}, which {verb} not installed "
                    f"(Debian/Ubuntu: sudo apt install {packages})")
    if name == "xcb" and environ.get("DISPLAY"):
        return x_display_problem(environ["DISPLAY"])
    return None


def gui_platform(environ: dict[str, str] | os._Environ = os.environ, platform: str = sys.platform) -> PlatformChoice:
    """The platform the window will use here, and the one sentence when it cannot work."""
    if platform in ("win32", "darwin"):
        return PlatformChoice(environ.get("QT_QPA_PLATFORM") or None)
    chosen = (environ.get("QT_QPA_PLATFORM") or "").split(":")[0]
    if chosen:
        problem = _platform_problem(chosen, environ)
        return PlatformChoice(chosen, f"the window cannot open: {problem}" if problem else None,
                              headless=chosen in ("offscreen", "minimal"))
    candidates = [name for name, present in (("wayland", environ.get("WAYLAND_DISPLAY")),
                                             ("xcb", environ.get("DISPLAY"))) if present]
    if not candidates:
        return PlatformChoice("offscreen", "the window cannot open: there is no display (DISPLAY and "
                              "WAYLAND_DISPLAY are not set); start it on a desktop, or use the headless "
                              "commands run and backtest", headless=True)
    problems = []
    for name in candidates:
        problem = _platform_problem(name, environ)
        if problem is None:
            return PlatformChoice(name)
        problems.append(problem)
    return PlatformChoice(candidates[-1], f"the window cannot open: {'; '.join(problems)}")


def check_qt_window() -> str:
    """Show a small window on the platform the GUI would use, let Qt draw it, close it.

    Returns the PASS detail; raises UserError with the GUI's own sentence when the
    window could not open here. Where there is no display at all the window is drawn
    offscreen, which still proves the Qt libraries load.
    """
    choice = gui_platform()
    if choice.problem and not choice.headless:
        from core.errors import UserError

        raise UserError(choice.problem)
    if choice.name:
        os.environ["QT_QPA_PLATFORM"] = choice.name
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "autohedge"])
    label = QLabel(WINDOW_TITLE)
    label.setWindowTitle(WINDOW_TITLE)
    label.show()
    app.processEvents()
    shown = label.isVisible() and label.width() > 0
    picture = label.grab()
    label.close()
    app.processEvents()
    if not shown or picture.isNull():
        raise RuntimeError(f"Qt platform {app.platformName()!r} loaded but could not show a window")
    where = " (no display here: the window itself needs a desktop)" if choice.problem else ""
    return f"platform {app.platformName()}, a window was shown and closed{where}"
