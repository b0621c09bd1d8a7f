"""The window's language: English (the source texts) or Korean, through Qt's translation system.

Every user-visible text in ``ui/`` is written in English inside ``self.tr(...)`` or
``QCoreApplication.translate(...)``; ``ui/translations/autohedge_ko.ts`` holds the
Korean texts and ``autohedge_ko.qm`` is its compiled form, loaded here at start
(``python -m tools.translations`` updates both). The setting ``ui.language`` is
``auto`` (Korean when the system language is Korean, else English), ``en`` or ``ko``.

Qt's own Korean texts (the Yes/No buttons of a question, the file dialog) come from
``qtbase_ko.qm`` shipped with PySide6, when it is there.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
CATALOG = "autohedge"
SOURCE_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}  # each name in its own language, never translated
SETTING_CHOICES = ("auto", *LANGUAGES)

_installed: list[QTranslator] = []
_current = SOURCE_LANGUAGE


def resolve_language(setting: str, system: QLocale | None = None) -> str:
    """``auto`` follows the system locale (Korean -> ``ko``, anything else -> ``en``)."""
    if setting in LANGUAGES:
        return setting
    locale = system if system is not None else QLocale.system()
    return "ko" if locale.language() == QLocale.Language.Korean else SOURCE_LANGUAGE


def catalog_path(language: str) -> Path:
    return TRANSLATIONS_DIR / f"{CATALOG}_{language}.qm"


def current_language() -> str:
    return _current


def install(setting: str = "auto", app: QCoreApplication | None = None) -> str:
    """Load the translations for ``setting`` into the application; returns the language in use.

    Replaces whatever an earlier call installed, so tests can switch back and forth.
    A missing catalogue (a broken install) leaves the window in English rather than failing.
    """
    global _current
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("create the QApplication before installing translations")
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = resolve_language(setting)
    _current = SOURCE_LANGUAGE
    if language == SOURCE_LANGUAGE:
        return _current
    ours = QTranslator(app)
    if not ours.load(str(catalog_path(language))):
        return _current
    qt_own = QTranslator(app)
    if qt_own.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_own)
        _installed.append(qt_own)
    app.installTranslator(ours)
    _installed.append(ours)
    _current = language
    return _current


def translate(context: str, text: str) -> str:
    """For code outside a QObject (module-level tables): ``translate("StatusTable", "Symbol")``."""
    return QCoreApplication.translate(context, text)
