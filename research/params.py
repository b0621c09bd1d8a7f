"""The parameters a search varies: ``--param KEY=v1,v2,...`` or ``--param KEY=lo:hi:step``.

Each key must be a settings key (``config.settings.SCHEMA`` or
``symbols.<SYMBOL>.call_size``) and every value must be one the settings schema
accepts, checked by loading the base settings with that value, so a search can
only try settings a user could also write in settings.yaml. A problem is one
:class:`ParamError` sentence naming the parameter.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

import yaml

from config.settings import SCHEMA, AppSettings, SettingsError, parse_settings, settings_to_dict
from core.errors import UserError

Assignment = tuple[tuple[str, Any], ...]  # ((key, value), ...) in --param order
MAX_RANGE_VALUES = 10_000
SEARCHABLE_PREFIXES = ("strategy.", "backtest.")  # what changes a backtest (with symbols.<SYMBOL>.call_size)
# The guard held on the exchange [E1] is set under exchange.* (live places it there) and modelled by the backtest.
SEARCHABLE_KEYS = ("exchange.guard_mode", "exchange.guard_distance_pct")


class ParamError(UserError):
    """A --param a user must fix."""


@dataclass(frozen=True)
class ParamSpec:
    """One varied settings key and its values (a list, or a range lo..hi by step)."""

    key: str
    values: tuple[Any, ...]
    low: float | None = None  # set for lo:hi:step ranges (Optuna samples inside them)
    high: float | None = None
    step: float | None = None

    @property
    def is_range(self) -> bool:
        return self.step is not None

    @property
    def is_integer(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in self.values)


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = {}
            data[part] = child
        data = child
    data[last] = value


def apply_assignment(base: AppSettings, assignment: Assignment) -> AppSettings:
    """``base`` with each (key, value) put in, validated by the settings schema (raises SettingsError)."""
    data = settings_to_dict(base)
    for key, value in assignment:
        _put(data, key, value)
    return parse_settings(data)


def _is_known_key(key: str, base: AppSettings) -> bool:
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "symbols" and parts[2] == "call_size":
        return parts[1] in base.symbols
    return key in SCHEMA and (key.startswith(SEARCHABLE_PREFIXES) or key in SEARCHABLE_KEYS)


def _range_values(key: str, text: str) -> tuple[tuple[Any, ...], float, float, float]:
    pieces = text.split(":")
    try:
        low, high, step = (Decimal(piece.strip()) for piece in pieces)
    except (InvalidOperation, ValueError):
        raise ParamError(f"--param {key}={text}: a range is lo:hi:step with three numbers, e.g. 0.5:2:0.5") from None
    if not all(number.is_finite() for number in (low, high, step)):
        raise ParamError(f"--param {key}={text}: lo, hi and step must be finite numbers")
    if step <= 0:
        raise ParamError(f"--param {key}={text}: the step must be greater than 0")
    if high < low:
        raise ParamError(f"--param {key}={text}: the range is empty (hi {high} is below lo {low})")
    count = int((high - low) / step) + 1
    if count > MAX_RANGE_VALUES:
        raise ParamError(f"--param {key}={text}: {count:,} values is too many; use a larger step or --search optuna")
    integer = all(number == number.to_integral_value() for number in (low, step))
    values = tuple(int(low + step * n) if integer else float(low + step * n) for n in range(count))
    return values, float(low), float(low + step * (count - 1)), float(step)


def parse_param(text: str, base: AppSettings) -> ParamSpec:
    """``KEY=v1,v2,...`` or ``KEY=lo:hi:step`` -> ParamSpec; every value checked against ``base``."""
    if "=" not in text:
        raise ParamError(f"--param {text!r}: expected KEY=v1,v2,... or KEY=lo:hi:step, "
                         "e.g. strategy.exit.take_profit_pct=0.5,1,2")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not _is_known_key(key, base):
        raise ParamError(f"--param {key}: not a setting that changes a backtest; use a strategy.* or backtest.* "
                         f"key, {' or '.join(SEARCHABLE_KEYS)}, or symbols.<SYMBOL>.call_size of a symbol in "
                         f"the settings")
    if not raw:
        raise ParamError(f"--param {key}: no values given; e.g. {key}=1,2,3 or {key}=1:3:1")
    low = high = step = None
    if ":" in raw:
        values, low, high, step = _range_values(key, raw)
    else:
        values = []
        for piece in raw.split(","):
            if not piece.strip():
                raise ParamError(f"--param {key}={raw}: an empty value between commas")
            try:
                values.append(yaml.safe_load(piece.strip()))
            except yaml.YAMLError:
                raise ParamError(f"--param {key}: cannot read the value {piece.strip()!r}") from None
        values = tuple(dict.fromkeys(values))  # duplicates removed, order kept
    checked = []
    for value in values:
        try:
            settings = apply_assignment(base, ((key, value),))
        except SettingsError as exc:
            raise ParamError(f"--param {key}: the value {value!r} is refused: {exc}") from None
        checked.append(_read_back(settings, key))
    return ParamSpec(key, tuple(dict.fromkeys(checked)), low, high, step)


def _read_back(settings: AppSettings, key: str) -> Any:
    """The value as the settings hold it (45 -> 45.0 for a float key), so a row equals its best.yaml."""
    node: Any = settings_to_dict(settings)
    for part in key.split("."):
        node = node[part]
    return node


def parse_params(texts: Sequence[str], base: AppSettings) -> list[ParamSpec]:
    if not texts:
        raise ParamError("give at least one --param KEY=v1,v2,... (e.g. strategy.exit.take_profit_pct=0.5,1,2)")
    specs = [parse_param(text, base) for text in texts]
    keys = [spec.key for spec in specs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ParamError(f"--param {repeated[0]} is given more than once; list all its values in one --param")
    return specs


def grid(specs: Sequence[ParamSpec], base: AppSettings) -> tuple[list[Assignment], list[str]]:
    """Every combination of the values, in --param order; combinations the settings refuse
    together (e.g. MACD fast > slow) are left out and named in the returned notes."""
    combos: list[Assignment] = []
    refused: list[str] = []
    for values in itertools.product(*(spec.values for spec in specs)):
        assignment = tuple(zip((spec.key for spec in specs), values))
        try:
            apply_assignment(base, assignment)
        except SettingsError as exc:
            refused.append(f"{describe(assignment)} left out: {exc}")
            continue
        combos.append(assignment)
    if not combos:
        raise ParamError("no combination of the --param values is a valid setting: " + refused[0])
    return combos, refused


def grid_size(specs: Sequence[ParamSpec]) -> int:
    return math.prod(len(spec.values) for spec in specs)


def describe(assignment: Assignment) -> str:
    return ", ".join(f"{key}={value}" for key, value in assignment)
