"""The Deploy page's live log: what the flashing tool prints, line by line, in a fixed-width font."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LOG_LINES = 5000  # older lines scroll away: a chatty tool must not grow memory without end


class FlashLog(QPlainTextEdit):
    """Read-only, monospace, capped at MAX_LOG_LINES; follows the newest line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flashLog")
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LOG_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("What the flashing tool prints appears here while it runs.")

    def add_line(self, line: str) -> None:
        self.appendPlainText(line.rstrip("\r\n"))

    def lines(self) -> list[str]:
        text = self.toPlainText()
        return text.splitlines() if text else []
