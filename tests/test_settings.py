"""Settings: validation names the bad key and what is allowed; no secrets; --set overrides; round trip."""
from __future__ import annotations

import copy

import pytest
import yaml

from config.settings import (
    DEFAULT_SETTINGS_PATH,
    SCHEMA,
    AppSettings,
    SettingsError,
    apply_override,
    load_settings,
    parse_settings,
    read_settings_file,
    save_settings,
    settings_to_dict,
)
from core.errors import UserError
from core.params import ExitParams, SignalParams
from tests.conftest import TYPO_SETTINGS

SYMBOLS = {"DOGEUSDT": {"call_size": 100}}


def with_key(dotted: str, value) -> dict:
    """A minimal valid settings mapping with one key set."""
    data: dict = {"symbols": copy.deepcopy(SYMBOLS)}
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return data


def refused(data) -> str:
    with pytest.raises(SettingsError) as caught:
        parse_settings(data)
    assert isinstance(caught.value, UserError)
    return str(caught.value)


# ----- defaults ----------------------------------------------------------------------------------


def test_default_settings_file_holds_the_spec_defaults():
    settings = load_settings(DEFAULT_SETTINGS_PATH)
    assert settings.mode == "paper"
    assert settings.strategy.signal == SignalParams(rsi_length=2, reference="centerline", centerline=50.0,
                                                    macd_fast=1, macd_slow=1, macd_signal=1, entry="level")
    assert settings.strategy.exit == ExitParams(take_profit_pct=1.0, max_hold_bars=24, trailing_pct=0.5,
                                                trailing_activation_pct=0.5)
    assert settings.symbols["DOGEUSDT"].call_size > 0
    assert settings.warnings() == []  # [S3] the default reference is the centerline


# ----- every key: bad values name the key and what is allowed ------------------------------------

CHOICES = {
    "mode": ("paper", "demo", "live"),
    "strategy.signal.reference": ("centerline", "macd"),
    "strategy.signal.entry": ("level", "cross"),
    "exchange.margin_type": ("ISOLATED", "CROSSED"),
    "exchange.guard_mode": ("hedge", "stop", "off"),
    "backtest.fill": ("next_open", "close"),
    "paper.source": ("replay", "live"),
    "ui.language": ("auto", "en", "ko"),
    "strategy.protect.on_breach": ("stop_entries", "flatten"),
}
# key -> (a value out of range, the bound the message must state)
RANGES = {
    "strategy.rsi_length": (0, "1"),
    "strategy.signal.centerline": (101, "100"),
    "strategy.signal.macd.fast": (0, "1"),
    "strategy.signal.macd.slow": (0, "1"),
    "strategy.signal.macd.signal": (0, "1"),
    "strategy.exit.take_profit_pct": (0, "0"),
    "strategy.exit.max_hold_bars": (0, "1"),
    "strategy.exit.trailing_pct": (0, "0"),
    "strategy.exit.trailing_activation_pct": (-1, "0"),
    "strategy.protect.cooldown_bars": (-1, "0"),
    "strategy.protect.max_entries_per_day": (-1, "0"),
    "strategy.protect.max_daily_loss_usdt": (-1, "0"),
    "strategy.protect.max_daily_loss_pct": (101, "100"),
    "strategy.protect.max_drawdown_pct": (101, "100"),
    "strategy.protect.max_symbol_notional": (-1, "0"),
    "strategy.protect.max_total_notional": (-1, "0"),
    "exchange.leverage": (126, "125"),
    "exchange.recv_window_ms": (0, "1"),
    "exchange.guard_distance_pct": (0, "0"),
    "backtest.fee_pct": (-0.1, "0"),
    "backtest.slippage_bps": (-1, "0"),
    "backtest.initial_capital": (0, "0"),
    "paper.replay_speed": (-1, "0"),
}
TEXTS = ("paper.replay_data", "paths.state_dir", "paths.log_dir")
FLAGS = ("alerts.desktop", "alerts.fills", "alerts.errors", "alerts.liquidations", "alerts.stopped")
URLS = ("exchange.rest_url", "exchange.stream_url")  # issue 18: tested below


def test_every_schema_key_is_covered_by_these_tests():
    assert set(SCHEMA) == set(CHOICES) | set(RANGES) | set(TEXTS) | set(FLAGS) | set(URLS)


@pytest.mark.parametrize("key", FLAGS)
def test_flag_key_takes_true_or_false_only(key):
    assert "true or false" in refused(with_key(key, "yes please")) and key in refused(with_key(key, 1))
    section, name = key.split(".")
    assert getattr(getattr(parse_settings(with_key(key, False)), section), name) is False


def test_language_and_alert_choices_survive_a_save_and_load(tmp_path):
    base = parse_settings(with_key("ui.language", "ko"))
    save_settings(base, tmp_path / "s.yaml")
    again = load_settings(tmp_path / "s.yaml")
    assert again.ui.language == "ko" and again.alerts == base.alerts


@pytest.mark.parametrize("key", CHOICES)
def test_choice_key_names_key_value_and_allowed_values(key):
    message = refused(with_key(key, "bogus"))
    assert key in message and "'bogus'" in message
    for allowed in CHOICES[key]:
        assert allowed in message
    for allowed in CHOICES[key]:
        parse_settings(with_key(key, allowed))  # each allowed value is accepted


@pytest.mark.parametrize("key", RANGES)
def test_number_key_out_of_range_names_key_and_bound(key):
    bad, bound = RANGES[key]
    message = refused(with_key(key, bad))
    assert key in message and bound in message


@pytest.mark.parametrize("key", RANGES)
@pytest.mark.parametrize("bad", ["ten", True, None, [1], float("nan"), float("inf")],
                         ids=["text", "bool", "null", "list", "nan", "inf"])
def test_number_key_refuses_non_numbers_naming_the_key(key, bad):
    message = refused(with_key(key, bad))
    assert key in message and "number" in message


@pytest.mark.parametrize("key", [k for k, (_, _) in RANGES.items() if k.endswith(("length", "fast", "slow", "signal",
                                                                                  "bars", "leverage", "_ms"))])
def test_whole_number_key_refuses_fractions(key):
    assert "whole number" in refused(with_key(key, 2.5))


@pytest.mark.parametrize("key", TEXTS)
@pytest.mark.parametrize("bad", ["", 5, None])
def test_text_key_refuses_empty_or_non_text(key, bad):
    assert key in refused(with_key(key, bad))


def test_macd_fast_above_slow_is_refused_naming_both_keys():
    message = refused(with_key("strategy.signal.macd", {"fast": 26, "slow": 12}))
    assert "strategy.signal.macd.fast" in message and "strategy.signal.macd.slow" in message


def test_settings_not_a_mapping_is_refused():
    assert "mapping" in refused([1, 2])


# ----- unknown keys and secrets ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["strategy.exit.take_profit", "strategy.rsi", "stategy.rsi_length", "verbose"])
def test_unknown_key_is_refused_naming_it(key):
    message = refused(with_key(key, 1))
    assert key in message and "not a setting" in message


SECRET = "abcd1234SECRETVALUE"


@pytest.mark.parametrize("key", ["api_key", "api_secret", "exchange.api_key", "binance.apiKey",
                                 "exchange.password", "token", "symbols.DOGEUSDT.api_key"])
def test_secrets_are_refused_and_never_echoed(key):
    message = refused(with_key(key, SECRET))
    assert key.split(".")[-1] in message
    assert SECRET not in message


def test_secrets_in_an_override_are_refused_and_never_echoed():
    with pytest.raises(SettingsError) as caught:
        apply_override({"symbols": SYMBOLS}, f"api_key={SECRET}")
    assert SECRET not in str(caught.value)


# ----- symbols -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "symbols, fragment",
    [
        (None, "symbols"),
        ({}, "symbols"),
        ({"DOGE": {"call_size": 1}}, "symbols.DOGE"),
        ({"dogeusdt": {"call_size": 1}}, "symbols.dogeusdt"),
        ({"DOGEUSDT": {}}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": 100}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": {"call_size": 0}}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": {"call_size": -5}}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": {"call_size": "many"}}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": {"call_size": float("inf")}}, "symbols.DOGEUSDT.call_size"),
        ({"DOGEUSDT": {"call_size": 1, "leverage": 200}}, "symbols.DOGEUSDT.leverage"),
        ({"DOGEUSDT": {"call_size": 1, "size": 2}}, "symbols.DOGEUSDT.size"),
    ],
)
def test_bad_symbols_name_the_key(symbols, fragment):
    data = {} if symbols is None else {"symbols": symbols}
    assert fragment in refused(data)


def test_symbol_leverage_falls_back_to_exchange_leverage():
    settings = parse_settings({"exchange": {"leverage": 7},
                               "symbols": {"DOGEUSDT": {"call_size": 100}, "ALGOUSDT": {"call_size": 5, "leverage": 3}}})
    assert settings.leverage_for("DOGEUSDT") == 7 and settings.leverage_for("ALGOUSDT") == 3


# ----- --set overrides ---------------------------------------------------------------------------


def test_override_sets_nested_key_and_leaves_input_untouched():
    data = {"symbols": copy.deepcopy(SYMBOLS), "strategy": {"signal": {"reference": "centerline"}}}
    before = copy.deepcopy(data)
    changed = apply_override(data, "strategy.signal.reference=macd")
    assert data == before
    assert parse_settings(changed).strategy.signal.reference == "macd"
    assert parse_settings(apply_override(data, "strategy.exit.take_profit_pct=2.5")).strategy.exit.take_profit_pct == 2.5


def test_override_symbol_call_size_existing_and_new_symbol():
    changed = apply_override({"symbols": copy.deepcopy(SYMBOLS)}, "symbols.DOGEUSDT.call_size=250")
    changed = apply_override(changed, "symbols.XRPUSDT.call_size=7.5")
    symbols = parse_settings(changed).symbols
    assert symbols["DOGEUSDT"].call_size == 250 and symbols["XRPUSDT"].call_size == 7.5


@pytest.mark.parametrize("assignment, fragment", [
    ("strategy.signal.referense=macd", "strategy.signal.referense"),
    ("mode", "KEY=VALUE"),
    ("mode=[unclosed", "mode"),
])
def test_override_refuses_unknown_key_missing_value_or_bad_yaml(assignment, fragment):
    with pytest.raises(SettingsError) as caught:
        apply_override({"symbols": SYMBOLS}, assignment)
    assert fragment in str(caught.value)


def test_override_value_is_still_validated_and_names_the_set_not_the_file(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"symbols": SYMBOLS}), encoding="utf-8")
    assert load_settings(path, ["mode=live"]).mode == "live"
    with pytest.raises(SettingsError) as caught:
        load_settings(path, ["backtest.fee_pct=0.1", "mode=yolo"])
    message = str(caught.value)
    assert message.startswith("--set mode=yolo: ") and "paper" in message
    assert str(path) not in message and "fee_pct" not in message
    with pytest.raises(SettingsError) as caught:
        load_settings(None, ["mode=yolo"])  # the bundled defaults are not to blame either
    assert "config/settings.yaml" not in str(caught.value) and str(caught.value).startswith("--set mode=yolo")


def test_unknown_key_lists_every_allowed_key_including_symbol_leverage():
    message = refused(with_key("verbose", 1))
    assert "symbols.<SYMBOL>.call_size" in message and "symbols.<SYMBOL>.leverage" in message
    with pytest.raises(SettingsError) as caught:
        apply_override({"symbols": SYMBOLS}, "verbose=1")
    assert "symbols.<SYMBOL>.leverage" in str(caught.value)


def test_a_bad_key_in_a_file_names_the_file_and_its_line(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(TYPO_SETTINGS, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"settings file {path}, line 7: symbols.DOGEUSDT.levrage is not a setting")
    assert "\n" not in message


def test_a_bad_value_in_a_file_names_its_line(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(TYPO_SETTINGS.replace("levrage: 3", "leverage: 300"), encoding="utf-8")
    with pytest.raises(SettingsError, match=r", line 7: symbols.DOGEUSDT.leverage = 300 must be <= 125"):
        load_settings(path)


def test_a_yaml_syntax_error_names_its_line_in_one_line(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(TYPO_SETTINGS.replace("call_size: 250", "call_size: [250"), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"settings file {path}, line ") and "not valid YAML" in message
    assert "\n" not in message


def test_missing_or_invalid_yaml_file_is_one_clear_error(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        read_settings_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: [paper\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="line 2 is not valid YAML"):
        read_settings_file(bad)


# ----- round trip --------------------------------------------------------------------------------


def _non_default_settings() -> AppSettings:
    data = {
        "mode": "demo",
        "strategy": {"rsi_length": 3, "signal": {"reference": "macd", "centerline": 55.5,
                                                  "macd": {"fast": 5, "slow": 13, "signal": 4}, "entry": "cross"},
                     "exit": {"take_profit_pct": 1.7, "max_hold_bars": 48, "trailing_pct": 0.3,
                              "trailing_activation_pct": 0.8}},
        "symbols": {"DOGEUSDT": {"call_size": 120.5}, "ALGOUSDT": {"call_size": 40, "leverage": 2}},
        "exchange": {"leverage": 10, "margin_type": "CROSSED", "recv_window_ms": 6000},
        "backtest": {"fill": "close", "fee_pct": 0.04, "slippage_bps": 2, "initial_capital": 5000},
        "paper": {"replay_data": "data/other", "replay_speed": 60},
        "paths": {"state_dir": "st", "log_dir": "lg"},
    }
    return parse_settings(data)


@pytest.mark.parametrize("settings", [load_settings(DEFAULT_SETTINGS_PATH), _non_default_settings()],
                         ids=["defaults", "non_defaults"])
def test_round_trip_settings_to_dict_and_parse(settings, tmp_path):
    assert parse_settings(settings_to_dict(settings)) == settings
    path = tmp_path / "saved.yaml"
    save_settings(settings, path)
    assert load_settings(path) == settings


# ----- a user's file is never lost ---------------------------------------------------------------


def test_saving_over_a_valid_file_keeps_the_previous_one_as_bak(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(TYPO_SETTINGS.replace("    levrage: 3\n", ""), encoding="utf-8")
    before = path.read_bytes()
    backup = save_settings(load_settings(DEFAULT_SETTINGS_PATH), path)
    assert backup == tmp_path / "settings.yaml.bak" and backup.read_bytes() == before
    assert load_settings(path) == load_settings(DEFAULT_SETTINGS_PATH)
    assert save_settings(load_settings(DEFAULT_SETTINGS_PATH), path) is None  # same content: nothing to back up


def test_saving_over_a_broken_file_renames_it_with_a_timestamp(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(TYPO_SETTINGS, encoding="utf-8")
    backup = save_settings(load_settings(DEFAULT_SETTINGS_PATH), path)
    assert backup is not None and backup.name.startswith("settings.yaml.broken-")
    assert backup.read_text(encoding="utf-8") == TYPO_SETTINGS


def test_keep_broken_file_never_overwrites_an_earlier_copy(tmp_path):
    from datetime import datetime

    from config.settings import keep_broken_file

    moment = datetime(2026, 11, 24, 12, 3, 1)
    kept = []
    for text in ("first", "second"):
        (tmp_path / "settings.yaml").write_text(text, encoding="utf-8")
        kept.append(keep_broken_file(tmp_path / "settings.yaml", now=moment))
    assert kept[0].name == "settings.yaml.broken-20261124-120301"
    assert [p.read_text(encoding="utf-8") for p in kept] == ["first", "second"]


def test_saving_into_an_unwritable_folder_is_one_sentence(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the settings folder should be", encoding="utf-8")  # unwritable even for root
    with pytest.raises(SettingsError, match=f"settings not saved: the folder {blocker} is not writable") as caught:
        save_settings(load_settings(DEFAULT_SETTINGS_PATH), blocker / "settings.yaml")
    assert "\n" not in str(caught.value)


def test_a_typo_in_the_users_file_survives_opening_and_closing_the_window(qtbot, tmp_path, monkeypatch):
    from ui import paths
    from ui.main_window import MainWindow

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AUTOHEDGE_HOME", str(home))
    (home / "settings.yaml").write_text(TYPO_SETTINGS, encoding="utf-8")

    window = MainWindow(None)
    qtbot.addWidget(window)
    window.show()
    warning = window.log_pane.lines()[-1]
    assert "line 7: symbols.DOGEUSDT.levrage is not a setting" in warning
    window.close()

    kept = sorted(home.glob("settings.yaml.broken-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == TYPO_SETTINGS  # call_size 250 is still there
    assert kept[0].name in warning
    assert load_settings(home / "settings.yaml") == paths.load_user_settings()[0]  # the window's save loads again


# ----- issue 18 (7): demo trading replaces testnet ------------------------------------------------------


def test_demo_is_the_practice_mode_and_an_old_testnet_file_still_loads(tmp_path):
    old = tmp_path / "settings.yaml"
    old.write_text("mode: testnet\nsymbols:\n  DOGEUSDT:\n    call_size: 100\n", encoding="utf-8")
    settings = load_settings(old)
    assert settings.mode == "demo"
    saved = tmp_path / "saved.yaml"
    save_settings(settings, saved)
    assert "mode: demo" in saved.read_text(encoding="utf-8") and "testnet" not in saved.read_text(encoding="utf-8")
    assert parse_settings({"mode": "demo", "symbols": SYMBOLS}).mode == "demo"


def test_base_url_overrides_are_settings_with_one_sentence_for_a_bad_one():
    settings = parse_settings({"symbols": SYMBOLS, "exchange": {"rest_url": "https://proxy.example/",
                                                                "stream_url": "wss://ws.example"}})
    assert (settings.exchange.rest_url, settings.exchange.stream_url) == ("https://proxy.example", "wss://ws.example")
    assert parse_settings({"symbols": SYMBOLS}).exchange.rest_url == ""
    with pytest.raises(SettingsError) as caught:
        parse_settings({"symbols": SYMBOLS, "exchange": {"rest_url": "fapi.binance.com"}})
    assert str(caught.value) == ("exchange.rest_url = 'fapi.binance.com' must be empty (Binance's own host) or an "
                                 "address starting with https:// or http://")


def test_protections_default_off_and_round_trip():
    """[L4, L5] 0 = off by default (today's results unchanged); a set value survives a save."""
    from config.settings import settings_to_dict

    symbols = {"DOGEUSDT": {"call_size": 100}}
    defaults = parse_settings({"symbols": symbols})
    assert (defaults.strategy.protect.cooldown_bars, defaults.strategy.protect.max_entries_per_day) == (0, 0)
    chosen = parse_settings({"symbols": symbols,
                             "strategy": {"protect": {"cooldown_bars": 6, "max_entries_per_day": 20}}})
    assert parse_settings(settings_to_dict(chosen)).strategy.protect == chosen.strategy.protect
    assert chosen.strategy.protect.cooldown_bars == 6


def test_loss_limits_default_off_and_round_trip():
    """[L1-L3] 0 = off and stop_entries by default (today's results unchanged); set values survive a save."""
    from config.settings import settings_to_dict
    from core.params import ProtectParams

    symbols = {"DOGEUSDT": {"call_size": 100}}
    assert parse_settings({"symbols": symbols}).strategy.protect == ProtectParams()
    chosen = parse_settings({"symbols": symbols, "strategy": {"protect": {
        "max_daily_loss_usdt": 25, "max_daily_loss_pct": 2.5, "max_drawdown_pct": 10, "max_symbol_notional": 500,
        "max_total_notional": 1500, "on_breach": "flatten"}}})
    protect = chosen.strategy.protect
    assert (protect.max_daily_loss_usdt, protect.max_daily_loss_pct, protect.max_drawdown_pct,
            protect.max_symbol_notional, protect.max_total_notional, protect.on_breach) == (
        25.0, 2.5, 10.0, 500.0, 1500.0, "flatten")
    assert parse_settings(settings_to_dict(chosen)).strategy.protect == protect
