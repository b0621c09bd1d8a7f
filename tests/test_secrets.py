"""Credentials lookup order, masking, and proof that no key, secret or signature reaches a log line."""
from __future__ import annotations

import io
import logging

import keyring
import pytest
from keyring.backend import KeyringBackend

from adapters import secrets
from adapters.binance_futures import BinanceFuturesAdapter
from adapters.secrets import ApiCredentials, install_log_redaction, load_credentials
from core.executor import OrderExecutor
from core.model import Action, OrderIntent, Side
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.fake_binance.fixtures import fake, fake_server  # noqa: F401


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps entries in memory (the machine has no OS keyring)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(secrets.ENV_KEY, raising=False)
    monkeypatch.delenv(secrets.ENV_SECRET, raising=False)
    return tmp_path / ".env"


def test_repr_masks_the_secret_and_most_of_the_key():
    credentials = ApiCredentials("AAAAkey-visible-tail-WXYZ", "the-real-secret-value")
    for text in (repr(credentials), str(credentials), f"{credentials}"):
        assert "the-real-secret-value" not in text and "AAAAkey" not in text and "WXYZ" in text


def test_lookup_order_keyring_then_environment_then_dotenv(memory_keyring, no_env, monkeypatch):
    no_env.write_text(f"{secrets.ENV_KEY}=dotenv-key\n{secrets.ENV_SECRET}=dotenv-secret\n")
    found = load_credentials(testnet=True, env_file=no_env)
    assert (found.api_key, found.source) == ("dotenv-key", ".env")
    monkeypatch.setenv(secrets.ENV_KEY, "env-key")
    monkeypatch.setenv(secrets.ENV_SECRET, "env-secret")
    assert load_credentials(testnet=True, env_file=no_env).source == "environment"
    secrets.save_credentials(ApiCredentials("ring-key", "ring-secret"), testnet=True)
    found = load_credentials(testnet=True, env_file=no_env)
    assert (found.api_key, found.api_secret, found.source) == ("ring-key", "ring-secret", "keyring")
    # one keyring entry per venue: the live venue still falls back to the environment
    assert load_credentials(testnet=False, env_file=no_env).source == "environment"
    assert secrets.delete_credentials(testnet=True) and not secrets.delete_credentials(testnet=True)
    assert load_credentials(testnet=True, env_file=no_env).source == "environment"


def test_no_credentials_anywhere_is_none(memory_keyring, no_env):
    assert load_credentials(testnet=True, env_file=no_env) is None


def test_unusable_os_keyring_falls_back_to_environment(no_env, monkeypatch):
    from keyring.backends.fail import Keyring as FailKeyring
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        monkeypatch.setenv(secrets.ENV_KEY, "env-key")
        monkeypatch.setenv(secrets.ENV_SECRET, "env-secret")
        assert load_credentials(testnet=False, env_file=no_env).source == "environment"
    finally:
        keyring.set_keyring(previous)


def test_no_key_secret_or_signature_reaches_any_log_line(fake):
    """Everything at DEBUG -- urllib3 prints every request URL with its signature, python-binance in
    verbose mode prints request bodies -- through a handler added *after* redaction was installed."""
    credentials = ApiCredentials(TEST_API_KEY, TEST_API_SECRET)
    install_log_redaction(credentials)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        adapter = BinanceFuturesAdapter(credentials, testnet=True, base_url=fake.base_url)
        adapter.client.verbose = True
        adapter.client.logger.setLevel(logging.DEBUG)
        adapter.prepare_symbols(["DOGEUSDT"], {"DOGEUSDT": 3})
        fake.add_fault(kind="unknown_after_execute", path="/fapi/v1/order")
        executor = OrderExecutor(adapter, sleep=lambda s: None, log=logging.getLogger("autohedge.exec").info)
        executor.execute(OrderIntent("DOGEUSDT", Side.LONG, Action.OPEN, 100, "R2", 0, "log-1"), 0.3)
        adapter.positions("DOGEUSDT")
        logging.getLogger("some.library").debug("leak attempt %s / %s", TEST_API_KEY, TEST_API_SECRET)
        try:
            raise RuntimeError(f"GET /fapi/v2/balance?timestamp=1&signature=deadbeef key={TEST_API_KEY}")
        except RuntimeError:
            logging.getLogger("some.library").exception("request failed")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = stream.getvalue()
    assert "urllib3.connectionpool DEBUG" in output and "signature=***" in output  # it did log URLs
    assert "binance.base_client DEBUG" in output or "binance.client DEBUG" in output
    assert TEST_API_KEY not in output and TEST_API_SECRET not in output
    for line in output.splitlines():
        if "signature=" in line:
            assert "signature=***" in line and line.count("signature=") == line.count("signature=***"), line
