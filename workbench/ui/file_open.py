"""Documents the system hands the running app as an event: macOS passes a model or project opened
from the Finder (or dropped on the Dock icon) as a QFileOpenEvent, not on the command line."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject


class FileOpenEvents(QObject):
    """Installed on the QApplication: opens each QFileOpenEvent's file in the window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.FileOpen and event.file():  # type: ignore[attr-defined]
            self.window.open(event.file())  # type: ignore[attr-defined]
            return True
        return False
