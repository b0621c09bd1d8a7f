"""Checks of what AutoHedge.exe left behind in a Wine test run (tools/windows_exe_under_wine.sh).

    python3 tools/wine/check_run.py selftest REPORT PLATFORM   every check PASS, Qt on PLATFORM, compiled kernel
    python3 tools/wine/check_run.py picture PNG                the window picture is not blank
    python3 tools/wine/check_run.py geometry WINDOW_INI        the window saved its geometry
    python3 tools/wine/check_run.py zip ZIP FOLDER             the zip holds FOLDER's files, intact

Prints one line saying what was found; on a failed check, one sentence and exit code 1.
Standard library only, so it runs with any Python 3 before the project's packages exist.
"""
from __future__ import annotations

import re
import struct
import sys
import zipfile
import zlib
from collections import Counter
from pathlib import Path

MIN_COLOURS = 8          # a painted window has text, borders, a chart: far more than 8 colours
MAX_ONE_COLOUR = 0.98    # ... and no single colour covers (almost) all of it
MIN_SIZE = (300, 200)    # the main window is much larger; a 0x0 or tiny grab is a failure


class CheckFailed(Exception):
    """The one sentence to print."""


def check_selftest(report: Path, platform: str) -> str:
    """The report of ``AutoHedge.exe selftest``: frozen Windows build, every check PASS, Qt on `platform`."""
    if not report.is_file():
        raise CheckFailed(f"the selftest wrote no report at {report}")
    lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines or not lines[0].startswith("AutoHedge selftest (frozen,") or "win32" not in lines[0]:
        raise CheckFailed(f"{report} does not start with the frozen Windows build's header line")
    results = [line for line in lines if re.match(r"(PASS|FAIL) [^:]+:", line)]
    failed = [line for line in results if line.startswith("FAIL")]
    if failed:
        raise CheckFailed(f"the selftest failed: {failed[0]}")
    summary = f"selftest: {len(results)} of {len(results)} checks passed"
    if not results or summary not in lines:
        raise CheckFailed(f"{report} has no complete result (expected the line '{summary}')")
    qt = [line for line in results if line.startswith("PASS qt:")]
    if not qt or f"platform {platform}," not in qt[0]:
        raise CheckFailed(f"the Qt check did not run on the {platform} platform plugin: {qt or 'no qt line'}")
    kernel = next((line for line in lines if line.startswith("kernel:")), None)
    if kernel is None or not kernel.startswith("kernel: compiled"):
        raise CheckFailed(f"the EXE does not run the compiled backtest kernel: {kernel or 'no kernel line'}")
    return f"{summary} (Qt platform {platform}, {kernel})"


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the pixels (RGB or RGBA bytes) of an 8-bit, non-interlaced RGB(A) PNG."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise CheckFailed(f"{path} is not a PNG file")
    at, header, compressed = 8, None, b""
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        at += 12 + length
    if header is None:
        raise CheckFailed(f"{path} has no PNG header")
    width, height, depth, colour_type, _compression, _filter, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise CheckFailed(f"{path} is not an 8-bit RGB/RGBA picture (depth {depth}, colour type {colour_type})")
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(compressed)
    previous = bytearray(stride)
    pixels: list[bytes] = []
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                best = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                           (abs(estimate - corner), 2, corner))[2]
                line[i] = (line[i] + best) & 0xFF
        pixels.extend(bytes(line[i:i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels


def check_picture(path: Path) -> str:
    """A picture of the main window: big enough, many colours, not one colour all over."""
    if not path.is_file() or path.stat().st_size == 0:
        raise CheckFailed(f"no window picture was saved at {path}")
    width, height, pixels = png_pixels(path)
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise CheckFailed(f"the window picture is only {width}x{height} pixels")
    counts = Counter(pixels)
    top_share = counts.most_common(1)[0][1] / len(pixels)
    if len(counts) < MIN_COLOURS or top_share > MAX_ONE_COLOUR:
        raise CheckFailed(f"the window picture {path} looks blank: {len(counts)} colours, "
                          f"the commonest covers {top_share:.0%}")
    return f"window picture {width}x{height}, {len(counts)} colours, the commonest covers {top_share:.0%}"


def check_geometry(path: Path) -> str:
    """window.ini is written by the main window's close path (the normal way a user quits)."""
    if not path.is_file():
        raise CheckFailed(f"the window did not save {path} when it closed")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not re.search(r"^geometry=", text, re.M):
        raise CheckFailed(f"{path} has no geometry= line: the window did not close the normal way")
    return f"{path.name} has the window geometry"


def check_zip(archive: Path, folder: str) -> str:
    """The trader's zip: every file of the built program folder, under the folder's name, same sizes, CRCs good."""
    program = Path(folder)
    if not archive.is_file():
        raise CheckFailed(f"no zip was written at {archive}")
    built = {f"{program.name}/{path.relative_to(program).as_posix()}": path.stat().st_size
             for path in program.rglob("*") if path.is_file()}
    with zipfile.ZipFile(archive) as opened:
        zipped = {info.filename: info.file_size for info in opened.infolist() if not info.is_dir()}
        broken = opened.testzip()
    if broken is not None:
        raise CheckFailed(f"{archive} is damaged: {broken} does not match its CRC")
    if zipped != built:
        differ = sorted(set(zipped.items()) ^ set(built.items()))
        raise CheckFailed(f"{archive} does not hold {program} as built: {len(differ)} entries differ, "
                          f"first {differ[0][0]}")
    if f"{program.name}/{program.name}.exe" not in zipped:
        raise CheckFailed(f"{archive} has no {program.name}/{program.name}.exe to double-click")
    return f"{archive.name}: {len(zipped)} files of {program}, {archive.stat().st_size / 1e6:.1f} MB"


def main(argv: list[str]) -> int:
    commands = {"selftest": (check_selftest, 2), "picture": (check_picture, 1), "geometry": (check_geometry, 1),
                "zip": (check_zip, 2)}
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    check, _ = commands[argv[0]]
    try:
        print(check(Path(argv[1]), *argv[2:]))
    except (CheckFailed, OSError, zlib.error, struct.error, zipfile.BadZipFile) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
