"""Zip the built program folder for handing to a trader: ``dist/AutoHedge-<version>-<platform>.zip``.

    python -m tools.zip_program [--dist DIR]      (build_exe.bat runs it after PyInstaller)

autohedge.spec builds one folder, ``dist/AutoHedge/`` (``AutoHedge.exe`` and its ``_internal``
folder). The zip holds that folder under its own name, so unzipping anywhere gives
``AutoHedge/AutoHedge.exe`` to double-click. Plain Python (zipfile, deflate), so it runs the same
in Windows' cmd, in Wine (tools/windows_exe_under_wine.sh) and on Linux. Files keep their times:
the EXE's time is part of the name of its compiled-kernel cache (assets/rth_numba_cache.py), so a
new version unzipped over an old one never reads the old one's machine code. A symbolic link (Linux
builds have a few) is stored as a link, as ``zip -y`` does. The zip is written to a temporary name
and renamed into place; an earlier zip of the same version is replaced (it is a build output).
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "AutoHedge"


class ZipError(Exception):
    """The program folder is missing or the zip cannot be written; the message says which."""


def platform_name(platform: str = sys.platform) -> str:
    return "windows" if platform == "win32" else platform


def launcher(program: Path, platform: str = sys.platform) -> Path:
    return program / (f"{APP_NAME}.exe" if platform == "win32" else APP_NAME)


def zip_path(dist: Path, version: str, platform: str = sys.platform) -> Path:
    return dist / f"{APP_NAME}-{version}-{platform_name(platform)}.zip"


def make_zip(dist: Path, version: str, platform: str = sys.platform) -> Path:
    """Zip ``dist/AutoHedge/`` into ``dist/AutoHedge-<version>-<platform>.zip``; returns the zip's path."""
    program = dist / APP_NAME
    if not launcher(program, platform).is_file() or not (program / "_internal").is_dir():
        raise ZipError(f"{program} is not a built program folder (no {launcher(program, platform).name} with an "
                       "_internal folder beside it); build it first with autohedge.spec")
    target = zip_path(dist, version, platform)
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(program.rglob("*")):
                name = path.relative_to(dist).as_posix()
                if path.is_symlink():
                    info = zipfile.ZipInfo(name, date_time=_zip_time(path.lstat().st_mtime))
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    archive.writestr(info, os.readlink(path))
                elif path.is_file():
                    archive.write(path, name)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ZipError(f"{target} could not be written ({exc.strerror or exc})") from None
    return target


def _zip_time(seconds: float) -> tuple[int, int, int, int, int, int]:
    import time

    return tuple(max(time.localtime(seconds)[:6], (1980, 1, 1, 0, 0, 0)))  # zip times start in 1980


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.zip_program", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO_ROOT / "dist", help="the folder holding AutoHedge/")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from config.version import VERSION

    try:
        target = make_zip(args.dist, VERSION)
    except ZipError as exc:
        print(f"zip_program: {exc}", file=sys.stderr)
        return 1
    print(f"Zipped: {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
