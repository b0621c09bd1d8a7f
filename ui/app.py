"""``python main.py`` / ``python main.py gui``: open the trader's window.

This is the composition root of the GUI: it hands the window the real trading
service builder, connection test and keyring store, which the window only
knows through small contracts (tests pass their own). The default mode is a
paper replay of the bundled sample, so a newcomer sees the bot trade with no
keys and no network.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from live.accounts import ApiCredentials
from ui.api_panel import ConnectionChecker, CredentialStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a picture of the window to PNG and exit (documentation, smoke tests)")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="close the window after SECONDS, as if the user closed it (smoke tests of a build)")


def service_builder() -> Callable[..., Any]:
    """The real builder, holding the account's and the state folder's locks while a service runs
    (one bot per account, issue 19): a second window or a ``run`` on the same account is refused
    with one sentence naming the process that trades it."""
    from live.assemble import build_service, default_state_dir
    from live.lock import locking_builder
    return locking_builder(build_service, default_state_dir)


def connection_checker(base_url: str | None = None) -> ConnectionChecker:
    """Binance 'test connection': reach the server, sync the clock, one signed call [O4]."""
    def check(credentials: ApiCredentials, mode: str) -> str:
        from live.accounts import check_connection
        return check_connection(credentials, mode, base_url)
    return check


def credential_store() -> CredentialStore:
    from live.accounts import credential_store as store
    return store()


def folder_problems(settings) -> list[str]:
    """One sentence per folder the window writes to that cannot be written (user folder first)."""
    from config.paths import FolderError, ensure_writable, resolve_user_path, user_home

    problems = []
    for role, folder in (("user", None), ("log", settings.paths.log_dir), ("state", settings.paths.state_dir)):
        try:
            ensure_writable(user_home() if folder is None else resolve_user_path(folder), role)
        except FolderError as exc:
            problems.append(str(exc))
            if folder is None:
                break  # nothing else can be written either
    return problems


def _fatal_dialog(app, text: str, quit_after: float | None) -> None:
    """Show ``text`` in an error box until the user closes it (the windowed EXE has no console)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Critical, "AutoHedge", text)
    box.show()
    if quit_after is not None:
        QTimer.singleShot(max(0, int(quit_after * 1000)), box.close)
    app.exec()


def run(args: argparse.Namespace) -> int:
    import os

    from core.errors import UserError
    from ui.qt_check import gui_platform

    choice = gui_platform()
    if choice.problem:  # Qt would abort the process with its own lines: say it in one sentence instead
        raise UserError(choice.problem)
    if choice.name:
        os.environ["QT_QPA_PLATFORM"] = choice.name  # the platform checked above, not another one
    from PySide6.QtWidgets import QApplication

    from config.paths import resolve_user_path
    from cli.logging_setup import setup_logging
    from ui.main_window import MainWindow
    from ui.paths import load_user_settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AutoHedge")
    from ui import i18n
    quit_after = getattr(args, "quit_after", None)
    try:
        settings, problem = load_user_settings()
    except UserError as exc:  # the user folder itself cannot be made
        _fatal_dialog(app, str(exc), quit_after)
        raise
    while True:
        i18n.install(settings.ui.language, app)  # before any widget exists: texts are translated when made
        folders = folder_problems(settings)
        if folders and folders[0].startswith("the user folder"):
            _fatal_dialog(app, folders[0], quit_after)
            raise UserError(folders[0])
        if not any(text.startswith("the log folder") for text in folders):
            setup_logging(resolve_user_path(settings.paths.log_dir), console=False)
        window = MainWindow(service_builder(), connection_checker(), credential_store(), settings=settings)
        if problem:
            window.show_message(problem, level="WARNING")
        for text in folders:
            window.show_message(f"{text}: trading cannot start until it is", level="ERROR")
        window.show()
        if getattr(args, "screenshot", None):
            app.processEvents()
            window.grab().save(args.screenshot)
            window.close()
            return 0
        if quit_after is not None:
            from PySide6.QtCore import QTimer
            QTimer.singleShot(max(0, int(quit_after * 1000)), window.close)  # the normal close path: state saved
        else:
            from PySide6.QtCore import QTimer

            from ui.resume import offer_resume
            QTimer.singleShot(0, lambda: offer_resume(window))  # it was trading when it last ended: ask
        code = app.exec()
        if not getattr(window, "reopen_requested", False):
            return code
        settings, problem = load_user_settings()  # closed to change the language: open again in it
