"""The xcb plugin's system libraries: named with their Debian packages, all listed in the README."""
from __future__ import annotations

from pathlib import Path

import pytest

from ui import qt_check


@pytest.mark.parametrize("library, package", [
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libGL.so.1", "libgl1"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
])
def test_every_library_of_the_xcb_plugin_is_named_by_its_package(library, package):
    assert qt_check.debian_package(library) == package


def test_the_readme_lists_every_package_the_xcb_plugin_needs(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    missing = [package for package in qt_check.XCB_PACKAGES if package not in readme]
    assert not missing, f"the README's library list lacks {missing}"
    for package in ("libxcb-icccm4", "libxcb-keysyms1"):  # what a Linux desktop asked for in issue 20
        assert package in qt_check.XCB_PACKAGES


def test_two_missing_libraries_are_both_named_with_one_install_line(monkeypatch):
    monkeypatch.setattr(qt_check, "plugin_path", lambda name: Path(f"/plugins/{name}.so"))
    monkeypatch.setattr(qt_check, "missing_libraries", lambda plugin: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    monkeypatch.setattr(qt_check, "x_display_problem", lambda display: None)
    choice = qt_check.gui_platform({"DISPLAY": ":0"}, "linux")
    assert choice.problem.endswith("(Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1)")


def test_the_packages_match_what_the_installed_xcb_plugin_links_to():
    """Every libxcb*/libxkbcommon-x11/libX11-xcb library the installed plugin loads has its package listed."""
    import shutil
    import subprocess

    plugin = qt_check.plugin_path("xcb")
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("no xcb plugin or no ldd here")
    listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30).stdout
    names = {line.split("=>")[0].strip() for line in listing.splitlines() if "=>" in line}
    wanted = {qt_check.debian_package(name) for name in names
              if name.startswith(("libxcb-", "libxkbcommon-x11", "libX11-xcb"))}
    assert wanted <= set(qt_check.XCB_PACKAGES), wanted - set(qt_check.XCB_PACKAGES)
