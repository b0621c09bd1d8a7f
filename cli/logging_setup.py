"""Console and rotating-file logging for the headless service (and the GUI's file log)."""
from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Callable

from adapters.secrets import install_log_redaction

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
# Libraries whose own error records are noise for a trader: websockets logs "keepalive ping
# failed" at ERROR with a traceback when a connection drops, although the feed reconnects.
LIBRARY_LOGGERS = ("websockets", "urllib3", "asyncio", "aiohttp", "apprise", "binance")


class LibraryNoise(logging.Filter):
    """A library's ERROR record with a traceback becomes one WARNING line naming the library and
    the exception; the program's own records are untouched (its bugs keep their traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.split(".")[0] in LIBRARY_LOGGERS:
            return True
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno > logging.WARNING or error is not None:
            message = record.getMessage()
            if error is not None:
                message += f" ({type(error).__name__}: {error})" if str(error) else f" ({type(error).__name__})"
            record.msg, record.args = f"{record.name}: {message}", None
            record.exc_info = record.exc_text = None
            record.stack_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file; a file that can no longer be written is said once, not per record.

    (The standard handler prints a traceback to the console for every record it fails to write.)
    """

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if self.failed:
            return
        self.failed = True
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        if sys.stderr is not None:
            sys.stderr.write(f"autohedge: the log file {self.baseFilename} cannot be written ({reason}); "
                             "the log goes on on the console and in the window only\n")


class MarketTimeFormatter(logging.Formatter):
    """Stamps each line with the market's clock while one is set (a replay: the replayed candle's
    time, marked ``replay``), else with the wall clock as usual. A replay's line then carries the
    time of the candle it is about, never the wall clock beside it."""

    clock: Callable[[], int] | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        clock = MarketTimeFormatter.clock
        if clock is None:
            return super().formatTime(record, datefmt)
        return time.strftime("%Y-%m-%d %H:%M UTC replay", time.gmtime(clock() / 1000))


def use_market_clock(clock: Callable[[], int] | None) -> None:
    """Stamp log lines with ``clock()`` (ms UTC) from now on; None: the wall clock again."""
    MarketTimeFormatter.clock = clock


def setup_logging(log_dir: Path, console: bool = True, level: int = logging.INFO) -> Path:
    """Log to ``log_dir/autohedge.log`` (5 x 2 MB, rotating) and optionally the console.

    Secrets are redacted from every record when the secrets module is available.
    Returns the log file path.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "autohedge.log"
    root = logging.getLogger()
    root.setLevel(level)
    stop_logging()
    handlers: list[logging.Handler] = [
        LogFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    ]
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(MarketTimeFormatter(FORMAT))
        handler.addFilter(LibraryNoise())
        handler._autohedge = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    install_log_redaction()  # signatures masked from the first record on; keys once they are known
    return path


def stop_logging() -> None:
    """Remove (and close) the handlers :func:`setup_logging` added: a command run in-process
    (tests, the selftest) must not leave a console handler on a stream that is closed later."""
    use_market_clock(None)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_autohedge", False):
            root.removeHandler(handler)
            handler.close()
