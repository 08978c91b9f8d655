"""The one error type meant for people: a one-line message and an optional hint."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Something a person can act on. `message` is one line; `hint` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UnsafeModelError(WorkbenchError):
    """The model would run code from the file (Keras Lambda layer, custom object) if loaded."""


ERROR_KINDS: dict[str, type[WorkbenchError]] = {
    "WorkbenchError": WorkbenchError,
    "UnsafeModelError": UnsafeModelError,
}


class Cancelled(Exception):
    """Raised inside long work when its task was cancelled (a newer request superseded it)."""
