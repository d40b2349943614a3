"""Tracebacks of what failed in a cycle, in ``.shiftctl/logs/shiftctl.log`` (docs/design.md §2).

The cycle records a one-line error for status, the loop and the event log; the whole
traceback goes here, through ``logging``, so a failure can be debugged after the fact. Only the
holder of the admin lock writes this file (like ``state.db``), so rotation never races.
``logging`` is imported on the first failure: an idle cycle does not pay for it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

    from shiftctl.admin.paths import Paths

NAME = "shiftctl.cycle"
MAX_BYTES = 1_000_000
KEEP = 3


def _logger(paths: Paths) -> logging.Logger:
    import logging
    from logging.handlers import RotatingFileHandler

    logger = logging.getLogger(NAME)
    target = str(paths.logs / "shiftctl.log")
    if not any(getattr(h, "baseFilename", None) == target for h in logger.handlers):
        for old in list(logger.handlers):  # another repository earlier in this process
            logger.removeHandler(old)
            old.close()
        paths.logs.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=KEEP,
                                      encoding="utf-8")
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s pid %(process)d: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def failure(paths: Paths, what: str, exc: BaseException) -> None:
    """Log ``what`` failed, with ``exc``'s traceback; never raises (a full disk must not turn
    a logged failure into a second one)."""
    try:
        _logger(paths).error(what, exc_info=(type(exc), exc, exc.__traceback__))
    except Exception:  # logging is best effort by design
        pass
