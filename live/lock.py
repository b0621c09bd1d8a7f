"""One bot per account: an OS-level lock held for as long as a trading service runs.

Two copies of the bot on one Binance account (the window twice, or the window and
``main.py run``) both act on every decision and double the position. Before a
service is built, the process takes

- for testnet / live: a lock per **API key** (the file is named by a hash of the key,
  never the key itself), so any two processes trading the same account exclude each
  other whatever their state folders;
- for every mode: a lock per **state folder** (paper and replay have no key; two
  processes writing one state folder would overwrite each other's state).

The locks are files in ``<user folder>/locks`` locked with ``fcntl.flock`` (POSIX) or
``msvcrt.locking`` (Windows). The operating system releases them when the process ends,
however it ends (a crash, a kill, a power cut leaves no stale lock that blocks the next
start). After locking, the holder writes its pid and start time into the file; a second
start reads them and refuses with one sentence naming the holder::

    with hold_service_locks(mode="testnet", api_key=key, state_dir=folder):
        service.run()
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from core.errors import UserError

# The practice mode under its name and its old one ("testnet" before issue 18 named it demo trading).
PRACTICE_MODES = ("demo", "testnet")

LOCK_FOLDER = "locks"
# Windows byte-range locks are mandatory: the lock is on a byte far past the holder's text,
# so a second process can still read who holds it.
_WINDOWS_LOCK_OFFSET = 1 << 20


class AlreadyRunning(UserError):
    """Another process holds the lock; the message is the one sentence for the user."""

    def __init__(self, message: str, holder: "LockHolder | None"):
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as its holder wrote it into the lock file."""

    pid: int
    since: str  # "2026-12-04 11:50:03 UTC"
    what: str = ""

    def to_text(self) -> str:
        return f"pid={self.pid}\nsince={self.since}\nwhat={self.what}\n"

    @classmethod
    def from_text(cls, text: str) -> "LockHolder | None":
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        try:
            return cls(int(fields["pid"]), fields.get("since", "?"), fields.get("what", ""))
        except (KeyError, ValueError):
            return None


def key_digest(api_key: str, venue: str) -> str:
    """A name for the account's lock file: a hash of venue and key, never the key."""
    return hashlib.sha256(f"autohedge-account\0{venue}\0{api_key}".encode()).hexdigest()[:24]


def folder_digest(folder: Path) -> str:
    return hashlib.sha256(f"autohedge-state\0{os.path.normcase(str(folder.resolve()))}".encode()).hexdigest()[:24]


class ProcessLock:
    """An exclusive lock on ``path`` held by this process until :meth:`release` or its end.

    ``description`` says in words what is locked ("the Binance testnet account with key ***abcd")
    and is used in the refusal sentence.
    """

    def __init__(self, path: Path, description: str):
        self.path = Path(path)
        self.description = description
        self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self, now: datetime | None = None) -> None:
        """Take the lock or raise :class:`AlreadyRunning` with one sentence naming the holder."""
        if self._handle is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # never truncates the holder's text (binary: Windows seeks past it)
        try:
            _lock(handle)
        except OSError:
            handle.close()
            holder = self.holder()
            raise AlreadyRunning(refusal(self.description, holder), holder) from None
        moment = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.seek(0)
        handle.truncate()
        handle.write(LockHolder(os.getpid(), moment, self.description).to_text().encode("utf-8"))
        handle.flush()
        self._handle = handle

    def holder(self) -> LockHolder | None:
        """Who holds the lock now (as written in the file); None when unreadable or empty."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                return LockHolder.from_text(handle.read(4096))
        except OSError:
            return None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):  # the OS frees the lock with the handle in any case
            handle.seek(0)
            handle.truncate()
            handle.flush()
            _unlock(handle)
        handle.close()

    def __enter__(self) -> "ProcessLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def refusal(description: str, holder: LockHolder | None) -> str:
    """The one sentence a second start gets."""
    who = (f"process {holder.pid} (running since {holder.since})" if holder is not None
           else "another AutoHedge process")
    return (f"AutoHedge is already trading {description} in {who}; stop that one first "
            "(its window's Stop, or Ctrl-C in its console), then start again")


def lock_folder(home: Path | None = None) -> Path:
    if home is None:
        from config.paths import user_home
        home = user_home()
    return Path(home) / LOCK_FOLDER


def service_locks(mode: str, state_dir: Path, api_key: str | None = None,
                  home: Path | None = None) -> list[ProcessLock]:
    """The locks a service of ``mode`` must hold: the account's (testnet / live, with a key)
    and the state folder's (every mode)."""
    folder = lock_folder(home)
    locks = []
    if mode in PRACTICE_MODES + ("live",) and api_key:
        from adapters.secrets import mask
        venue = "testnet" if mode in PRACTICE_MODES else "live"  # the digest's venue keeps its old name
        name = "demo trading" if mode in PRACTICE_MODES else "live"
        locks.append(ProcessLock(folder / f"account-{key_digest(api_key, venue)}.lock",
                                 f"the Binance {name} account with API key {mask(api_key)}"))
    locks.append(ProcessLock(folder / f"state-{folder_digest(Path(state_dir))}.lock",
                             f"with the state folder {Path(state_dir)}"))
    return locks


class ServiceLocks:
    """All of a service's locks, taken together (none kept when one is refused)."""

    def __init__(self, locks: list[ProcessLock]):
        self.locks = locks

    def acquire(self) -> "ServiceLocks":
        taken: list[ProcessLock] = []
        try:
            for lock in self.locks:
                lock.acquire()
                taken.append(lock)
        except BaseException:
            for lock in reversed(taken):
                lock.release()
            raise
        return self

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()

    def __enter__(self) -> "ServiceLocks":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_service_locks(mode: str, state_dir: Path, api_key: str | None = None,
                       home: Path | None = None) -> ServiceLocks:
    """``with hold_service_locks(...):`` around building and running a service."""
    return ServiceLocks(service_locks(mode, state_dir, api_key, home))


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle) -> None:  # type: ignore[no-untyped-def]
        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:  # type: ignore[no-untyped-def]
        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(handle) -> None:  # type: ignore[no-untyped-def]
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:  # type: ignore[no-untyped-def]
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def account_key(mode: str) -> str | None:
    """The API key a testnet / live service of this process will use (keyring, environment or
    .env, as the service loads it), for the account lock; None for paper and replay."""
    if mode not in PRACTICE_MODES + ("live",):
        return None
    from adapters.secrets import load_credentials
    credentials = load_credentials(testnet=mode in PRACTICE_MODES)  # keyring entry still named testnet
    return credentials.api_key if credentials is not None else None


class LockedService:
    """A built service that gives its locks back when its ``run()`` returns (the window starts
    and stops services within one process). Everything else is the service's own."""

    def __init__(self, service: object, locks: ServiceLocks):
        object.__setattr__(self, "_service", service)
        object.__setattr__(self, "_locks", locks)

    def run(self) -> object:
        try:
            return self._service.run()  # type: ignore[attr-defined]
        finally:
            self._locks.release()

    def release_locks(self) -> None:
        """For a caller that built the service and will not run it."""
        self._locks.release()

    def __getattr__(self, name: str) -> object:
        return getattr(self._service, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._service, name, value)


def locking_builder(builder: Callable[..., Any], state_dir_for: Callable[[Any, str], Path]) -> Callable[..., Any]:
    """``builder`` (live.assemble.build_service's signature) that first takes the service's locks
    and holds them until the service's ``run()`` returns; a refused lock raises
    :class:`AlreadyRunning` (a :class:`UserError`: the window shows its sentence). ``state_dir_for``:
    the mode's default state folder when the caller gives none."""
    def build(settings: Any, listener: Any, *, mode: str, **kwargs: Any) -> LockedService:
        state_dir = kwargs.get("state_dir") or state_dir_for(settings, mode)
        credentials = kwargs.get("credentials")
        key = credentials.api_key if credentials is not None and mode in PRACTICE_MODES + ("live",) else account_key(mode)
        locks = hold_service_locks(mode, Path(state_dir), key).acquire()
        try:
            return LockedService(builder(settings, listener, mode=mode, **kwargs), locks)
        except BaseException:
            locks.release()
            raise
    return build
