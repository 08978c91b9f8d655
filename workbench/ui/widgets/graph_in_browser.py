"""The model graph where QtWebEngine is left out (the lite edition): netron is served on
127.0.0.1 as in the embedded view, and one button opens it in the web browser.

It answers the calls GraphView answers, so the Inspect page does not care which one it has;
`make_graph_view()` picks the embedded view when QtWebEngine can be imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.launcher import external_environment
from workbench.netron_server import NetronServer


def has_webengine() -> bool:
    """True when the embedded graph view can run (QtWebEngine is installed)."""
    try:
        return importlib.util.find_spec("PySide6.QtWebEngineWidgets") is not None
    except (ImportError, ValueError):
        return False


class GraphInBrowser(QWidget):
    """A panel that opens the open model's graph in the web browser."""

    loaded = Signal(bool)

    def __init__(self, parent: QWidget | None = None, server: NetronServer | None = None) -> None:
        super().__init__(parent)
        self.server = server or NetronServer()
        self.url = ""
        self.note = QLabel("The graph of the model opens in your web browser (served from this computer only).")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Show the graph in the browser")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_in_browser)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.note)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)

    def show_model(self, data: bytes, name: str) -> None:
        self.url = self.server.set_model(data, name)
        self.open_button.setEnabled(True)
        self.open_button.setToolTip(self.url)
        self.loaded.emit(True)

    def open_in_browser(self) -> None:
        if self.url:
            with external_environment():  # the browser is not the bundle's program
                QDesktopServices.openUrl(QUrl(self.url))

    def evaluate(self, script: str, callback: Callable[[object], None]) -> None:
        callback(None)  # no page here to run it in

    def select_node(self, index: int) -> None:
        """The browser's page is not ours to drive: nothing to select."""

    def shutdown(self) -> None:
        self.server.stop()


def make_graph_view(parent: QWidget | None = None) -> QWidget:
    """The embedded netron view, or where QtWebEngine is missing the browser panel."""
    if has_webengine():
        from workbench.ui.widgets.graph_view import GraphView

        return GraphView(parent)
    return GraphInBrowser(parent)
