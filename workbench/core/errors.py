"""The one error type meant for people: a one-line message and an optional hint."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Something a person can act on. `message` is one line; `hint` says what to do.

    `details` is the raw text behind it (a converter's or runtime's own log): shown one click
    away in the GUI and written to the log file, never as the message itself.
    """

    def __init__(self, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return self.message


class UnsafeModelError(WorkbenchError):
    """The model would run code from the file (Keras Lambda layer, custom object) if loaded."""


class ChildNotStarted(WorkbenchError):
    """The app could not start one of its own worker processes: a fault of the installation, never
    a property of the model or the board it was working on."""

    def __init__(self, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(
            message,
            hint
            or "This is a problem of the app's installation, not of your files: reinstall it; details are in the log.",
            details,
        )


class NeedsFullEdition(WorkbenchError):
    """The work needs TensorFlow, which this installation (the lite edition) does not have."""


ERROR_KINDS: dict[str, type[WorkbenchError]] = {
    "WorkbenchError": WorkbenchError,
    "NeedsFullEdition": NeedsFullEdition,
    "UnsafeModelError": UnsafeModelError,
    "ChildNotStarted": ChildNotStarted,
}


class Cancelled(Exception):
    """Raised inside long work when its task was cancelled (a newer request superseded it)."""
