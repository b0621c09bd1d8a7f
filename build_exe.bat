@echo off
rem Build AutoHedge.exe on Windows: the folder dist\AutoHedge (AutoHedge.exe and its _internal
rem folder; windowed) and dist\AutoHedge-VERSION-windows.zip of it, to hand to a trader, who unzips
rem it anywhere and double-clicks AutoHedge\AutoHedge.exe.
rem
rem   build_exe.bat            build in a clean virtual environment (build\venv) with the pinned
rem                            versions of requirements.txt and PyInstaller from requirements-dev.txt
rem   build_exe.bat --no-venv  use the Python already on PATH as it is (CI, or a prepared venv)
rem
rem Needs Python 3.11 (64-bit) on PATH, e.g. from python.org. Nothing is written outside this folder.
setlocal
cd /d "%~dp0"

python -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)" >nul 2>nul
if errorlevel 1 (
    echo AutoHedge needs Python 3.11 on PATH; install it from python.org and run build_exe.bat again.
    exit /b 1
)

rem PyInstaller's pinned version is read from requirements-dev.txt, so there is one place to change it.
set "PYINSTALLER_PIN="
for /f "delims=" %%r in ('findstr /b /i "pyinstaller==" requirements-dev.txt') do set "PYINSTALLER_PIN=%%r"
if not defined PYINSTALLER_PIN (
    echo requirements-dev.txt does not pin pyinstaller==VERSION.
    exit /b 1
)

set "PY=python"
if /i not "%~1"=="--no-venv" (
    if not exist build\venv\Scripts\python.exe (
        echo Creating the build environment in build\venv ...
        python -m venv build\venv || goto :failed
    )
    set "PY=build\venv\Scripts\python.exe"
)

echo Installing requirements.txt and %PYINSTALLER_PIN% ...
"%PY%" -m pip install --disable-pip-version-check -q -r requirements.txt "%PYINSTALLER_PIN%" || goto :failed

rem A fixed hash seed makes the build byte-for-byte reproducible (same sources + same pinned packages).
set "PYTHONHASHSEED=1"
echo Building with autohedge.spec ...
"%PY%" -m PyInstaller --noconfirm --clean autohedge.spec || goto :failed
if not exist dist\AutoHedge\AutoHedge.exe goto :failed
if not exist dist\AutoHedge\_internal goto :failed
rem The zip: plain Python (tools\zip_program.py), so it is the same under Wine and on Linux.
echo Zipping dist\AutoHedge ...
"%PY%" -m tools.zip_program || goto :failed

echo.
echo Built: %CD%\dist\AutoHedge\AutoHedge.exe (keep the _internal folder beside it)
echo Check it:  dist\AutoHedge\AutoHedge.exe selftest   (the result is saved in %LOCALAPPDATA%\AutoHedge\logs\selftest.txt)
echo Hand the zip above to a trader: they unzip it and double-click AutoHedge\AutoHedge.exe.
exit /b 0

:failed
echo.
echo The build FAILED: see the messages above.
exit /b 1
