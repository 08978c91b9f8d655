"""One log file for tracebacks, so that people see messages and developers see details."""

from __future__ import annotations

import logging
import logging.handlers

from workbench.paths import user_home


def log_path() -> str:
    return str(user_home() / "workbench.log")


def setup_logging() -> None:
    """Warnings and tracebacks go to the log file in the user folder, never to the terminal."""
    root = logging.getLogger()
    if any(getattr(h, "_workbench", False) for h in root.handlers):
        return
    try:
        user_home().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_path(), maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._workbench = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
