"""The first-run panel above the pages: what the four steps are, and the trade-show demo in one
click (the virtual board running the sample, on Monitor, in demo mode). It shows on the first start
and from Help > Getting Started; Close hides it for good."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

STEPS = (
    ("1 Inspect", "does the model fit the board, and will every layer run there?"),
    ("2 Optimize", "make it smaller (int8, pruning) and see what it costs in accuracy"),
    ("3 Deploy", "export the code, or put it straight onto the board"),
    ("4 Monitor", "watch the board's predictions live"),
)


class WelcomePanel(QFrame):
    """A banner with the four steps, Start the Demo and Close."""

    demo_requested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(
            "<b>Welcome to TinyML Workbench.</b> Four steps take a trained model to a microcontroller; the "
            "bundled sample (a network that reads handwritten digits) lets you try each one:"
        )
        title.setWordWrap(True)
        steps = QLabel(" &nbsp;·&nbsp; ".join(f"<b>{name}</b>: {what}" for name, what in STEPS))
        steps.setWordWrap(True)
        steps.setTextFormat(Qt.TextFormat.RichText)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(steps)
        self.demo_button = QPushButton("Start the Demo")
        self.demo_button.setObjectName("primary")
        self.demo_button.setToolTip(
            "A virtual board runs the sample here and the Monitor shows its predictions full screen (Esc leaves)"
        )
        self.demo_button.clicked.connect(self.demo_requested.emit)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Help > Getting Started shows this again")
        self.close_button.clicked.connect(self._close)
        layout = QHBoxLayout(self)
        layout.addLayout(text, 1)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)

    def _close(self) -> None:
        self.hide()
        self.closed.emit()
