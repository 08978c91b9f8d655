"""The model graph: netron in a QWebEngineView, served on 127.0.0.1 and fenced in.

A request interceptor lets only loopback requests through and remembers every other one
(`blocked_urls`), so a test can prove that nothing leaves the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from workbench.netron_server import NetronServer

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "qrc"})

_SELECT_NODE_JS = """
(function (index) {
  const view = window.__view__;
  if (!view || !view._target || !view.activeTarget || !view.activeTarget.nodes) { return false; }
  const node = view.activeTarget.nodes[index];
  if (!node) { return false; }
  view._target.scrollTo(view._target.select([node]));
  return true;
})(%d)
"""


class LoopbackOnly(QWebEngineUrlRequestInterceptor):
    """Blocks every request that does not go to this machine, and records it."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked_urls: list[str] = []
        self.allowed_urls: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 - Qt's name
        url = info.requestUrl()
        if url.scheme() in LOCAL_SCHEMES or url.host() in LOCAL_HOSTS:
            self.allowed_urls.append(url.toString())
            return
        self.blocked_urls.append(url.toString())
        log.warning("blocked a request leaving the machine: %s", url.toString())
        info.block(True)


class QuietPage(QWebEnginePage):
    """Sends netron's console messages to the log instead of Qt's warning channel."""

    def javaScriptConsoleMessage(self, level, message, line, source):  # type: ignore[no-untyped-def]  # noqa: N802
        log.debug("netron console: %s (%s:%s)", message, source, line)


class GraphView(QWidget):
    """Shows a model's graph with netron; `select_node(i)` reveals operator i."""

    loaded = Signal(bool)

    def __init__(self, parent: QWidget | None = None, server: NetronServer | None = None) -> None:
        super().__init__(parent)
        self.server = server or NetronServer()
        self.interceptor = LoopbackOnly()
        self.profile = QWebEngineProfile(self)  # off the record: no cookies or cache on disk
        self.profile.setUrlRequestInterceptor(self.interceptor)
        self.view = QWebEngineView(self)
        self.page = QuietPage(self.profile, self.view)
        self.view.setPage(self.page)
        self.view.loadFinished.connect(self.loaded.emit)
        self.view.loadFinished.connect(self._watch_shortcuts)
        self._alive = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def _watch_shortcuts(self) -> None:
        """The page takes every key it is given, Ctrl+E included: let the window's own shortcuts through."""
        proxy = self.view.focusProxy()
        if proxy is not None and not proxy.property("windowShortcutsPass"):
            proxy.installEventFilter(self)
            proxy.setProperty("windowShortcutsPass", True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination())
            window = self.window()
            if any(pressed in action.shortcuts() for action in window.findChildren(QAction)):
                event.ignore()  # not overridden: the window's shortcut fires
                return True
        return super().eventFilter(watched, event)

    def show_model(self, data: bytes, name: str) -> None:
        self.view.setUrl(QUrl(self.server.set_model(data, name)))

    def evaluate(self, script: str, callback: Callable[[object], None]) -> None:
        """Run JavaScript in the graph page and pass its result to `callback`."""
        self.page.runJavaScript(script, 0, callback)

    def select_node(self, index: int) -> None:
        self.page.runJavaScript(_SELECT_NODE_JS % int(index))

    def shutdown(self) -> None:
        """Stop the server and release the page before its profile (Qt warns otherwise)."""
        self.server.stop()
        if self._alive:
            self._alive = False
            # The page first (the view lets go of it), then the view; neither may outlive the profile.
            for widget in (self.page, self.view):
                if shiboken6.isValid(widget):
                    shiboken6.delete(widget)
