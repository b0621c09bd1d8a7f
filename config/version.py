"""The program's version, the git commit it was built from, and where it keeps its files.

``VERSION`` is the one version number (assets/version_info.txt, the EXE's Windows version
resource, must say the same; a test checks it). The commit: from source, ``git rev-parse``
in the program folder (with `` (modified)`` when the work tree differs); in the EXE, the
file ``config/commit.txt`` that autohedge.spec bakes in at build time; else ``unknown``.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from config.paths import APP_ROOT, is_frozen

VERSION = "1.0.0"
COMMIT_FILE = Path("config") / "commit.txt"  # inside the EXE's bundle folder, written by autohedge.spec
UNKNOWN = "unknown"


def git_commit(folder: Path = APP_ROOT) -> str | None:
    """The short commit of the repository at ``folder`` (None: no git, or not a repository)."""
    git = shutil.which("git")
    if git is None or not (folder / ".git").exists():
        return None
    try:
        head = subprocess.run([git, "-C", str(folder), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0 or not head.stdout.strip():
            return None
        status = subprocess.run([git, "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" (modified)" if status.stdout.strip() else "")


def build_commit(root: Path = APP_ROOT, frozen: bool | None = None) -> str:
    """The commit this program is: baked in at build time (EXE), else from git, else 'unknown'."""
    frozen = is_frozen() if frozen is None else frozen
    baked = root / COMMIT_FILE
    if frozen or baked.exists():
        try:
            text = baked.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        return text or UNKNOWN
    return git_commit(root) or UNKNOWN


def data_folder() -> Path:
    """Where settings, state and logs are kept for this user."""
    from config.paths import user_home

    return user_home()


def version_text() -> str:
    """'AutoHedge 1.0.0, commit 1a2b3c4d5e6f; data folder /home/me/.local/share/AutoHedge' (--version)."""
    return f"AutoHedge {VERSION}, commit {build_commit()}; data folder {data_folder()}"
