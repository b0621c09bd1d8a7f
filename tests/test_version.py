"""--version and Help > About: the version, the commit and the data folder."""
from __future__ import annotations

import re
import subprocess
import sys

from config import version
from tests.conftest import REPO_ROOT


def test_the_version_is_the_one_of_the_exes_version_resource():
    text = (REPO_ROOT / "assets" / "version_info.txt").read_text(encoding="utf-8")
    product = re.search(r"StringStruct\('ProductVersion', '([\d.]+)'\)", text).group(1)
    assert product.split(".")[:3] == version.VERSION.split(".")


def test_version_prints_the_version_the_commit_and_the_data_folder(tmp_path):
    env = {key: value for key, value in __import__("os").environ.items()}
    env["AUTOHEDGE_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, str(REPO_ROOT / "main.py"), "--version"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"AutoHedge {version.VERSION}, commit ")
    assert line.endswith(f"; data folder {tmp_path / 'home'}")
    commit = line.split(", commit ", 1)[1].split(";", 1)[0]
    expected = version.git_commit(REPO_ROOT) or version.UNKNOWN
    assert commit.split()[0] == expected.split()[0]


def test_a_frozen_build_reads_the_commit_baked_in_or_says_unknown(tmp_path):
    assert version.build_commit(tmp_path, frozen=True) == "unknown"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "commit.txt").write_text("0123456789ab\n", encoding="utf-8")
    assert version.build_commit(tmp_path, frozen=True) == "0123456789ab"
    assert version.git_commit(tmp_path) is None  # not a repository


def test_help_about_shows_the_version_the_commit_and_the_data_folder(qtbot, tmp_path, monkeypatch):
    from config.settings import load_settings
    from ui.about_dialog import AboutDialog
    from ui.main_window import MainWindow

    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    about = next(action for action in menus["Help"].actions() if action.text() == "About AutoHedge…")
    about.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    assert f"Version {version.VERSION}" in text
    assert f"Commit {version.build_commit()}" in text
    assert str(tmp_path / "home") in text
    dialog.close()
