"""Loading, validating and overriding ``settings.yaml``.

Every problem is reported as one :class:`SettingsError` sentence naming the
dotted key, the bad value and what is allowed; a problem in a file also names
the file and the line, a problem in a ``--set`` names that ``--set``. Secrets
are refused outright: API keys live in the OS keyring or the environment, never
in this file.

A user's settings file is never lost: :func:`save_settings` keeps a copy of
the file it replaces (``settings.yaml.bak``), and a file that no longer loads
is renamed with a timestamp (:func:`keep_broken_file`) instead of being
written over.
"""
from __future__ import annotations

import copy
import math
import re
import shutil
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from config.paths import why_not_writable
from core.errors import UserError
from core.params import (ENTRY_MODES, GUARD_MODES, ON_BREACH_CHOICES, REFERENCES, ExitParams, GuardParams,
                         ProtectParams, SignalParams, StrategyParams)

DEFAULT_SETTINGS_PATH = Path(__file__).resolve().parent / "settings.yaml"
MODES = ("paper", "demo", "live")
# Old mode names still read from a user's saved file (never written): "testnet" was the practice
# mode before Binance's USDⓈ-M demo trading replaced the futures testnet (issue 18).
MODE_ALIASES = {"testnet": "demo"}
FILL_MODELS = ("next_open", "close")
PAPER_SOURCES = ("replay", "live")
MARGIN_TYPES = ("ISOLATED", "CROSSED")
LANGUAGES = ("auto", "en", "ko")  # auto: Korean when the system language is Korean, else English
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}USDT$")
_SECRET_WORDS = ("secret", "api_key", "apikey", "password", "token")


class SettingsError(UserError, ValueError):
    """A settings problem a user can fix; the message is one clear sentence.

    ``key`` is the dotted key at fault when there is one, so the caller can add the
    line of the file it came from.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class SymbolSettings:
    call_size: float
    leverage: int | None = None  # None: use exchange.leverage


@dataclass(frozen=True)
class ExchangeSettings:
    leverage: int = 5
    margin_type: str = "ISOLATED"
    recv_window_ms: int = 5000
    # Another host for a user who needs one (a proxy, a regional host); empty = Binance's own for the
    # mode: live https://fapi.binance.com / wss://fstream.binance.com, demo trading
    # https://demo-fapi.binance.com / wss://demo-fstream.binance.com.
    rest_url: str = ""
    stream_url: str = ""
    # The guard held on the exchange [E1] (live/guard.py): hedge (the exchange opens the equal
    # hedge), stop (it closes the main) or off; at this adverse distance from the entry, in %.
    guard_mode: str = "hedge"
    guard_distance_pct: float = 5.0


@dataclass(frozen=True)
class BacktestSettings:
    fill: str = "next_open"
    fee_pct: float = 0.05
    slippage_bps: float = 0.0
    initial_capital: float = 1000.0


@dataclass(frozen=True)
class PaperSettings:
    source: str = "replay"  # replay: a kline folder, offline; live: Binance's public live klines
    replay_data: str = "data/sample"
    replay_speed: float = 0.0


@dataclass(frozen=True)
class PathSettings:
    state_dir: str = "state"
    log_dir: str = "logs"


@dataclass(frozen=True)
class UiSettings:
    language: str = "auto"


@dataclass(frozen=True)
class AlertSettings:
    """Which events raise an alert (desktop notification, and apprise URLs kept in the OS keyring)."""

    desktop: bool = True
    fills: bool = True
    errors: bool = True
    liquidations: bool = True
    stopped: bool = True


@dataclass(frozen=True)
class AppSettings:
    mode: str = "paper"
    # The guard [E1] is set under exchange.* (live places it there) and copied into the strategy's
    # params, which the backtest and the optimizer read: the same default here as ExchangeSettings'.
    strategy: StrategyParams = StrategyParams(guard=GuardParams(ExchangeSettings.guard_mode,
                                                                ExchangeSettings.guard_distance_pct))
    symbols: dict[str, SymbolSettings] = field(default_factory=dict)
    exchange: ExchangeSettings = ExchangeSettings()
    backtest: BacktestSettings = BacktestSettings()
    paper: PaperSettings = PaperSettings()
    paths: PathSettings = PathSettings()
    ui: UiSettings = UiSettings()
    alerts: AlertSettings = AlertSettings()

    def leverage_for(self, symbol: str) -> int:
        own = self.symbols[symbol].leverage
        return own if own is not None else self.exchange.leverage

    def warnings(self) -> list[str]:
        """Things the user must be told, though they are allowed ([S3])."""
        return self.strategy.signal.warnings()


# ----- the schema: dotted key -> (type, check) ------------------------------------------------


def _choice(allowed: tuple[str, ...]):
    def check(key: str, value: Any) -> Any:
        if value not in allowed:
            raise SettingsError(f"{key} = {value!r} is not allowed; use one of: {', '.join(allowed)}", key)
        return value
    return check


def _number(low: float | None = None, high: float | None = None, integer: bool = False,
            low_open: bool = False):
    def check(key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{key} = {value!r} must be a number", key)
        if not math.isfinite(value):
            # YAML reads .nan / .inf as floats: NaN passes every range check and would
            # silently disable a rule (a NaN take profit never fires); inf crashes int().
            raise SettingsError(f"{key} = {value!r} must be a finite number", key)
        if integer and float(value) != int(value):
            raise SettingsError(f"{key} = {value!r} must be a whole number", key)
        if low is not None and (value <= low if low_open else value < low):
            raise SettingsError(f"{key} = {value!r} must be {'>' if low_open else '>='} {low}", key)
        if high is not None and value > high:
            raise SettingsError(f"{key} = {value!r} must be <= {high}", key)
        return int(value) if integer else float(value)
    return check


def _flag(key: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise SettingsError(f"{key} = {value!r} must be true or false")
    return value


def _mode(key: str, value: Any) -> Any:
    """A mode; an old name (``testnet``) is read as its new one (``demo``) so a saved file still loads."""
    return _choice(MODES)(key, MODE_ALIASES.get(value, value) if isinstance(value, str) else value)


def _guard_mode(key: str, value: Any) -> Any:
    """[E1] hedge | stop | off. YAML 1.1 reads an unquoted ``off`` as false: taken as ``off``, so
    ``guard_mode: off`` in the file and ``--set exchange.guard_mode=off`` mean what they say."""
    return _choice(GUARD_MODES)(key, "off" if value is False else value)


def _url(schemes: tuple[str, ...]):
    def check(key: str, value: Any) -> Any:
        if value == "":
            return value
        if not isinstance(value, str) or not value.startswith(tuple(f"{scheme}://" for scheme in schemes)) \
                or " " in value or len(value) <= len(schemes[0]) + 3:
            raise SettingsError(f"{key} = {value!r} must be empty (Binance's own host) or an address starting "
                                f"with {' or '.join(f'{scheme}://' for scheme in schemes)}", key)
        return value.rstrip("/")
    return check


def _text(key: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{key} = {value!r} must be a non-empty text", key)
    return value


SCHEMA: dict[str, Any] = {
    "mode": _mode,
    "strategy.rsi_length": _number(1, 500, integer=True),
    "strategy.signal.reference": _choice(REFERENCES),
    "strategy.signal.centerline": _number(0, 100),
    "strategy.signal.macd.fast": _number(1, 500, integer=True),
    "strategy.signal.macd.slow": _number(1, 500, integer=True),
    "strategy.signal.macd.signal": _number(1, 500, integer=True),
    "strategy.signal.entry": _choice(ENTRY_MODES),
    "strategy.exit.take_profit_pct": _number(0, 1000, low_open=True),
    "strategy.exit.max_hold_bars": _number(1, 100_000, integer=True),
    "strategy.exit.trailing_pct": _number(0, 100, low_open=True),
    "strategy.exit.trailing_activation_pct": _number(0, 1000),
    "strategy.protect.cooldown_bars": _number(0, 100_000, integer=True),  # [L4] 0 = off
    "strategy.protect.max_entries_per_day": _number(0, 100_000, integer=True),  # [L5] 0 = off
    "strategy.protect.max_daily_loss_usdt": _number(0, None),  # [L1] 0 = off
    "strategy.protect.max_daily_loss_pct": _number(0, 100),  # [L1] 0 = off
    "strategy.protect.max_drawdown_pct": _number(0, 100),  # [L2] 0 = off
    "strategy.protect.max_symbol_notional": _number(0, None),  # [L3] 0 = off
    "strategy.protect.max_total_notional": _number(0, None),  # [L3] 0 = off
    "strategy.protect.on_breach": _choice(ON_BREACH_CHOICES),  # [L1, L2]
    "exchange.leverage": _number(1, 125, integer=True),
    "exchange.margin_type": _choice(MARGIN_TYPES),
    "exchange.recv_window_ms": _number(1, 60_000, integer=True),
    "exchange.rest_url": _url(("https", "http")),
    "exchange.stream_url": _url(("wss", "ws")),
    "exchange.guard_mode": _guard_mode,
    "exchange.guard_distance_pct": _number(0, 100, low_open=True),
    "backtest.fill": _choice(FILL_MODELS),
    "backtest.fee_pct": _number(0, 10),
    "backtest.slippage_bps": _number(0, 1000),
    "backtest.initial_capital": _number(0, None, low_open=True),
    "paper.source": _choice(PAPER_SOURCES),
    "paper.replay_data": _text,
    "paper.replay_speed": _number(0, 1_000_000),
    "paths.state_dir": _text,
    "paths.log_dir": _text,
    "ui.language": _choice(LANGUAGES),
    **{f"alerts.{f.name}": _flag for f in fields(AlertSettings)},
}
SYMBOL_SCHEMA: dict[str, Any] = {
    "call_size": _number(0, None, low_open=True),
    "leverage": _number(1, 125, integer=True),
}


def allowed_keys() -> str:
    """Every key a settings file or ``--set`` may name, for the 'not a setting' sentence."""
    return ", ".join([*sorted(SCHEMA), *(f"symbols.<SYMBOL>.{key}" for key in SYMBOL_SCHEMA)])


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; 'symbols' is kept as one entry (its keys are free)."""
    flat: dict[str, Any] = {}
    if not isinstance(data, dict):
        return {prefix: data}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path == "symbols":
            flat[path] = value
        elif isinstance(value, dict):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _refuse_secrets(flat: dict[str, Any]) -> None:
    for key in flat:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise SettingsError(
                f"{key}: API keys and secrets are never read from the settings file; "
                "use the GUI (OS keyring) or BINANCE_API_KEY / BINANCE_API_SECRET in the environment or .env", key
            )


def _parse_symbols(raw: Any) -> dict[str, SymbolSettings]:
    if not isinstance(raw, dict) or not raw:
        raise SettingsError("symbols must list at least one symbol, e.g. DOGEUSDT: {call_size: 100}", "symbols")
    symbols = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not SYMBOL_PATTERN.match(name):
            hint = f" (write it in capitals: {name.upper()})" if isinstance(name, str) and SYMBOL_PATTERN.match(name.upper()) else ""
            raise SettingsError(f"symbols.{name}: not a USDT-M futures symbol (expected e.g. DOGEUSDT){hint}",
                                f"symbols.{name}")
        if not isinstance(body, dict) or "call_size" not in body:
            raise SettingsError(f"symbols.{name}.call_size is missing (the order quantity in base units)",
                                f"symbols.{name}.call_size")
        values = {}
        for key, value in body.items():
            if key not in SYMBOL_SCHEMA:
                raise SettingsError(f"symbols.{name}.{key} is not a setting; allowed: {', '.join(SYMBOL_SCHEMA)}",
                                    f"symbols.{name}.{key}")
            values[key] = SYMBOL_SCHEMA[key](f"symbols.{name}.{key}", value)
        symbols[name] = SymbolSettings(**values)
    return symbols


def _section(cls: type, prefix: str, values: dict[str, Any]) -> Any:
    """A settings section whose fields are named like their keys (``exchange.leverage``)."""
    defaults = cls()
    return cls(**{f.name: values.get(f"{prefix}.{f.name}", getattr(defaults, f.name)) for f in fields(cls)})


def parse_settings(data: Any) -> AppSettings:
    """Validate a settings mapping (as read from YAML) into :class:`AppSettings`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError("the settings file must be a mapping of keys to values")
    flat = _flatten(data)
    _refuse_secrets(flat)
    values: dict[str, Any] = {}
    for key, value in flat.items():
        if key == "symbols":
            continue
        if key not in SCHEMA:
            raise SettingsError(f"{key} is not a setting; allowed keys: {allowed_keys()}", key)
        values[key] = SCHEMA[key](key, value)
    defaults = AppSettings()

    def get(key: str, default: Any) -> Any:
        return values.get(key, default)

    signal_defaults = SignalParams()
    signal = SignalParams(
        rsi_length=get("strategy.rsi_length", signal_defaults.rsi_length),
        reference=get("strategy.signal.reference", signal_defaults.reference),
        centerline=get("strategy.signal.centerline", signal_defaults.centerline),
        macd_fast=get("strategy.signal.macd.fast", signal_defaults.macd_fast),
        macd_slow=get("strategy.signal.macd.slow", signal_defaults.macd_slow),
        macd_signal=get("strategy.signal.macd.signal", signal_defaults.macd_signal),
        entry=get("strategy.signal.entry", signal_defaults.entry),
    )
    if signal.macd_fast > signal.macd_slow:
        raise SettingsError(
            f"strategy.signal.macd.fast = {signal.macd_fast} must not exceed strategy.signal.macd.slow = {signal.macd_slow}",
            "strategy.signal.macd.fast",
        )
    exit_params = _section(ExitParams, "strategy.exit", values)
    exchange = _section(ExchangeSettings, "exchange", values)
    return AppSettings(
        mode=get("mode", defaults.mode),
        strategy=StrategyParams(signal=signal, exit=exit_params,
                                protect=_section(ProtectParams, "strategy.protect", values),
                                guard=GuardParams(exchange.guard_mode, exchange.guard_distance_pct)),  # [E1]
        symbols=_parse_symbols(flat.get("symbols")),
        exchange=exchange,
        backtest=_section(BacktestSettings, "backtest", values),
        paper=_section(PaperSettings, "paper", values),
        paths=_section(PathSettings, "paths", values),
        ui=_section(UiSettings, "ui", values),
        alerts=_section(AlertSettings, "alerts", values),
    )


def apply_override(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a copy of ``data``.

    Unknown keys are refused here too, so a typo never silently does nothing.
    """
    if "=" not in assignment:
        raise SettingsError(f"--set {assignment!r}: expected KEY=VALUE, e.g. strategy.signal.reference=macd")
    key, raw_value = assignment.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    is_symbol_key = len(parts) == 3 and parts[0] == "symbols"
    if key not in SCHEMA and not is_symbol_key:
        raise SettingsError(f"--set {key}: not a setting; allowed keys: {allowed_keys()}", key)
    try:
        value = yaml.safe_load(raw_value)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not a YAML value"
        raise SettingsError(f"--set {key}: cannot read the value {raw_value!r} ({problem})", key) from None
    result = copy.deepcopy(data)
    node = result
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
    return result


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except UnicodeDecodeError:
        raise SettingsError(f"settings file {path} is not a text file (not UTF-8)") from None
    except OSError as exc:
        raise SettingsError(f"settings file {path} cannot be read ({exc.strerror or exc})") from None


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise SettingsError(f"settings file {path}{where} is not valid YAML ({problem})") from None


def key_line(text: str, dotted_key: str) -> int | None:
    """The 1-based line of ``dotted_key`` in the YAML ``text`` (of its deepest part found), or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in dotted_key.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if str(key_node.value) == part:
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            break
    return line


def read_settings_file(path: Path | str) -> dict[str, Any]:
    """The raw mapping of a settings file; one sentence (with the line) when it cannot be read."""
    path = Path(path)
    return _parse_yaml(path, _read_text(path)) or {}


def _blame_override(overrides: list[str] | tuple[str, ...], exc: SettingsError) -> str:
    culprits = [a for a in overrides if exc.key and a.split("=", 1)[0].strip() == exc.key]
    return " ".join(f"--set {a}" for a in (culprits or overrides))


def load_settings(path: Path | str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> AppSettings:
    """Read ``path`` (default: config/settings.yaml), apply ``--set`` overrides, validate.

    A problem of the file names the file and line; a problem a ``--set`` brings names that ``--set``.
    """
    source = Path(path) if path is not None else DEFAULT_SETTINGS_PATH
    text = _read_text(source)
    data = _parse_yaml(source, text) or {}
    try:
        settings = parse_settings(data)
    except SettingsError as exc:
        line = key_line(text, exc.key) if exc.key else None
        where = f"settings file {source}" + (f", line {line}" if line else "")
        raise SettingsError(f"{where}: {exc}", exc.key) from None
    if not overrides:
        return settings
    for assignment in overrides:
        data = apply_override(data, assignment)
    try:
        return parse_settings(data)
    except SettingsError as exc:
        raise SettingsError(f"{_blame_override(overrides, exc)}: {exc}", exc.key) from None


def settings_to_dict(settings: AppSettings) -> dict[str, Any]:
    """The YAML-ready mapping of ``settings`` (no secrets exist to leak: none are held)."""
    signal = settings.strategy.signal
    exit_params = settings.strategy.exit
    symbols: dict[str, Any] = {}
    for name, sym in settings.symbols.items():
        body: dict[str, Any] = {"call_size": sym.call_size}
        if sym.leverage is not None:
            body["leverage"] = sym.leverage
        symbols[name] = body
    return {
        "mode": settings.mode,
        "strategy": {
            "rsi_length": signal.rsi_length,
            "signal": {
                "reference": signal.reference,
                "centerline": signal.centerline,
                "macd": {"fast": signal.macd_fast, "slow": signal.macd_slow, "signal": signal.macd_signal},
                "entry": signal.entry,
            },
            "exit": {
                "take_profit_pct": exit_params.take_profit_pct,
                "max_hold_bars": exit_params.max_hold_bars,
                "trailing_pct": exit_params.trailing_pct,
                "trailing_activation_pct": exit_params.trailing_activation_pct,
            },
            "protect": {
                "cooldown_bars": settings.strategy.protect.cooldown_bars,
                "max_entries_per_day": settings.strategy.protect.max_entries_per_day,
                "max_daily_loss_usdt": settings.strategy.protect.max_daily_loss_usdt,
                "max_daily_loss_pct": settings.strategy.protect.max_daily_loss_pct,
                "max_drawdown_pct": settings.strategy.protect.max_drawdown_pct,
                "max_symbol_notional": settings.strategy.protect.max_symbol_notional,
                "max_total_notional": settings.strategy.protect.max_total_notional,
                "on_breach": settings.strategy.protect.on_breach,
            },
        },
        "symbols": symbols,
        "exchange": {
            "leverage": settings.exchange.leverage,
            "margin_type": settings.exchange.margin_type,
            "recv_window_ms": settings.exchange.recv_window_ms,
            "rest_url": settings.exchange.rest_url,
            "stream_url": settings.exchange.stream_url,
            "guard_mode": settings.exchange.guard_mode,
            "guard_distance_pct": settings.exchange.guard_distance_pct,
        },
        "backtest": {
            "fill": settings.backtest.fill,
            "fee_pct": settings.backtest.fee_pct,
            "slippage_bps": settings.backtest.slippage_bps,
            "initial_capital": settings.backtest.initial_capital,
        },
        "paper": {"source": settings.paper.source, "replay_data": settings.paper.replay_data,
                  "replay_speed": settings.paper.replay_speed},
        "paths": {"state_dir": settings.paths.state_dir, "log_dir": settings.paths.log_dir},
        "ui": {"language": settings.ui.language},
        "alerts": {f.name: getattr(settings.alerts, f.name) for f in fields(AlertSettings)},
    }


def keep_broken_file(path: Path | str, now: datetime | None = None) -> Path:
    """Rename a settings file that does not load to ``<name>.broken-YYYYMMDD-HHMMSS`` and return the new path.

    The file is kept byte for byte for the user to repair; a new settings file can then be
    written without losing it. Raises :class:`SettingsError` when the rename is not possible.
    """
    path = Path(path)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    count = 1
    while target.exists():
        count += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{count}")
    try:
        path.rename(target)
    except OSError as exc:
        raise SettingsError(f"settings file {path} cannot be renamed to {target.name} ({exc.strerror or exc})") from None
    return target


def _loads(path: Path) -> bool:
    try:
        load_settings(path)
    except SettingsError:
        return False
    return True


def save_settings(settings: AppSettings, path: Path | str) -> Path | None:
    """Write settings as YAML (the GUI persists the non-secret settings with it).

    The file it replaces is never lost: a valid one is copied to ``<name>.bak`` first, one
    that does not load is renamed with a timestamp (:func:`keep_broken_file`). Returns the
    backup's path (None when there was nothing to back up). Any failure is a
    :class:`SettingsError` sentence naming the file.
    """
    path = Path(path)
    text = yaml.safe_dump(settings_to_dict(settings), sort_keys=False)
    backup: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if path.read_bytes() == text.encode("utf-8"):
                return None
            if _loads(path):
                backup = path.with_name(path.name + ".bak")
                shutil.copy2(path, backup)
            else:
                backup = keep_broken_file(path)
        temp = path.with_name(path.name + ".tmp")
        temp.write_text(text, encoding="utf-8")
        temp.replace(path)
    except OSError as exc:
        raise SettingsError(f"settings not saved: the folder {path.parent} is not writable "
                            f"({why_not_writable(exc)})") from None
    return backup
