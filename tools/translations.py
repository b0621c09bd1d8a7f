"""Update the window's translations: ``python -m tools.translations [--check]``.

1. ``lupdate`` (shipped with PySide6) collects every ``self.tr(...)``,
   ``QCoreApplication.translate(...)`` and ``QT_TRANSLATE_NOOP(...)`` text of ``ui/``
   into ``ui/translations/autohedge_ko.ts``, keeping the Korean already written and
   dropping texts the code no longer has;
2. ``lrelease`` compiles it to ``autohedge_ko.qm``, the file the program loads.

Then open the ``.ts`` (Qt Linguist, or any text editor), write the Korean for every
``type="unfinished"`` message, and run the command again. It prints how many texts
still lack Korean and exits 1 while any does.

``--check`` changes nothing: it exits 1 (saying why) when the sources hold a text the
committed ``.ts`` lacks, when a translation is missing, or when the ``.qm`` is older
than the ``.ts`` (tests/test_ui_i18n.py runs it).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import PySide6

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "ui"
TS_DIR = SOURCES / "translations"
LANGUAGES = ("ko",)


def ts_path(language: str) -> Path:
    return TS_DIR / f"autohedge_{language}.ts"


def qm_path(language: str) -> Path:
    return TS_DIR / f"autohedge_{language}.qm"


def qt_tool(name: str) -> Path:
    """lupdate / lrelease from the installed PySide6 (PySide6-Essentials ships both)."""
    folder = Path(PySide6.__file__).resolve().parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{name} is not in the installed PySide6 ({folder}); pip install -r requirements.txt")


def source_files() -> list[Path]:
    return sorted(path for path in SOURCES.rglob("*.py") if "__pycache__" not in path.parts)


def run_lupdate(ts_file: Path) -> None:
    command = [str(qt_tool("lupdate")), "-silent", "-no-obsolete", "-locations", "none",
               *[str(path) for path in source_files()], "-ts", str(ts_file)]
    subprocess.run(command, check=True, cwd=ROOT)


def run_lrelease(ts_file: Path, qm_file: Path) -> None:
    subprocess.run([str(qt_tool("lrelease")), "-silent", str(ts_file), "-qm", str(qm_file)], check=True, cwd=ROOT)


def messages(ts_file: Path) -> dict[tuple[str, str], str | None]:
    """(context, source) -> translation, None when unfinished or empty."""
    found: dict[tuple[str, str], str | None] = {}
    for context in ET.parse(ts_file).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            text = translation.text if translation is not None else None
            unfinished = translation is None or translation.get("type") in ("unfinished", "vanished", "obsolete")
            found[(name, message.findtext("source") or "")] = None if unfinished or not text else text
    return found


def missing(ts_file: Path) -> list[tuple[str, str]]:
    return [key for key, text in messages(ts_file).items() if text is None]


def check(language: str) -> list[str]:
    """What is out of date for ``language``, one sentence each (empty when all is in order)."""
    ts_file, qm_file = ts_path(language), qm_path(language)
    if not ts_file.is_file():
        return [f"{ts_file.relative_to(ROOT)} does not exist; run python -m tools.translations"]
    problems = []
    with tempfile.TemporaryDirectory() as temp:
        fresh = Path(temp) / ts_file.name
        shutil.copy(ts_file, fresh)
        run_lupdate(fresh)
        new = sorted(set(messages(fresh)) - set(messages(ts_file)))
        gone = sorted(set(messages(ts_file)) - set(messages(fresh)))
        rebuilt = Path(temp) / qm_file.name
        run_lrelease(ts_file, rebuilt)
        if not qm_file.is_file() or qm_file.read_bytes() != rebuilt.read_bytes():
            problems.append(f"{qm_file.relative_to(ROOT)} is not the compiled {ts_file.name}; "
                            "run python -m tools.translations")
    problems += [f"new text not in {ts_file.name} [{context}]: {source!r}" for context, source in new]
    problems += [f"text no longer in the code still in {ts_file.name} [{context}]: {source!r}"
                 for context, source in gone]
    problems += [f"no {language} translation [{context}]: {source!r}" for context, source in missing(ts_file)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.translations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when anything is out of date")
    args = parser.parse_args(argv)
    status = 0
    for language in LANGUAGES:
        if args.check:
            problems = check(language)
            for problem in problems:
                print(problem)
            status |= bool(problems)
            continue
        ts_file = ts_path(language)
        ts_file.parent.mkdir(parents=True, exist_ok=True)
        run_lupdate(ts_file)
        run_lrelease(ts_file, qm_path(language))
        todo = missing(ts_file)
        total = len(messages(ts_file))
        print(f"{ts_file.relative_to(ROOT)}: {total} texts, {len(todo)} without a {language} translation")
        for context, source in todo:
            print(f"  [{context}] {source}")
        status |= bool(todo)
    return status


if __name__ == "__main__":
    sys.exit(main())
