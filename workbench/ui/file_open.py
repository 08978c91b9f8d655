"""Documents the system hands the running app as an event: macOS passes a model or project opened
from the Finder (or dropped on the Dock icon) as a QFileOpenEvent sent to the application, not on
the command line. The app's QApplication is a WorkbenchApplication, which turns it into a signal."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QApplication


def opened_file(event: QEvent) -> str | None:
    """The file a QFileOpenEvent asks to open; None for any other event."""
    if event.type() != QEvent.Type.FileOpen:
        return None
    return event.file() or None  # type: ignore[attr-defined]


class WorkbenchApplication(QApplication):
    """The QApplication, with `file_opened` for documents the system hands over."""

    file_opened = Signal(str)

    def event(self, event: QEvent) -> bool:
        path = opened_file(event)
        if path is not None:
            self.file_opened.emit(path)
            return True
        return super().event(event)
