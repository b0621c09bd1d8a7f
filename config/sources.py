"""Which settings file a command uses: one rule for ``run``, ``backtest`` and ``optimize``.

``--config FILE``, else the ``settings.yaml`` the window saved in the user folder, else the
bundled defaults (``config/settings.yaml``). Every command prints :func:`source_line` first,
so a trader always sees which file decided the symbols, sizes and rules.

The settings' ``mode`` is the *window's* last mode; the headless ``run`` does not take it
(see :func:`run_mode`): a bare ``run`` is paper trading, whatever mode the window was in.
"""
from __future__ import annotations

from pathlib import Path

from config.paths import user_home

SAFE_RUN_MODE = "paper"  # simulated fills: never a real order without --mode demo|live


def settings_source(explicit: str | Path | None) -> Path | None:
    """--config, else the window's saved settings, else None (the bundled defaults)."""
    if explicit:
        return Path(explicit)
    saved = user_home() / "settings.yaml"
    return saved if saved.exists() else None


def source_line(source: Path | None, explicit: bool) -> str:
    """'settings: FILE (...)': the one line each command prints before it starts."""
    if source is None:
        return ("settings: bundled defaults (config/settings.yaml); the window has saved none "
                "(--config FILE for another)")
    if explicit:
        return f"settings: {source} (--config)"
    return f"settings: {source} (saved from the window; --config FILE for another)"


def run_mode(requested: str | None, replay_dir: str | None, settings_mode: str) -> tuple[str, str | None]:
    """The mode ``run`` trades in, and a note when the settings name another one.

    ``--replay`` -> replay; ``--mode`` -> that mode; else paper, never the settings' demo or
    live: a run that sends real orders is always asked for on the command line."""
    if replay_dir:
        return "replay", None
    if requested:
        return requested, None
    note = None
    if settings_mode != SAFE_RUN_MODE:
        note = (f"mode: {SAFE_RUN_MODE} (the settings say {settings_mode}; add --mode {settings_mode} "
                f"to trade {settings_mode})")
    return SAFE_RUN_MODE, note
