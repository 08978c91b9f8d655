"""The embedded netron: opens straight on the graph, asks nothing, and sends nothing off the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWebEngineCore import QWebEngineScript

from workbench.netron_server import NetronServer, netron_dir
from workbench.ui.widgets.graph_view import GraphView

A_YEAR_AHEAD = """
(function () {
  const shift = 366 * 24 * 3600 * 1000;
  const Real = Date;
  class Shifted extends Real {
    constructor(...args) { if (args.length === 0) { super(Real.now() + shift); } else { super(...args); } }
    static now() { return Real.now() + shift; }
  }
  window.Date = Shifted;
})();
"""

PAGE_STATE = """
JSON.stringify({
  body: document.body.getAttribute('class') || '',
  text: document.body.innerText || '',
  nodes: document.querySelectorAll('.node').length,
  cookie: document.cookie
})
"""


def _state(qtbot: Any, graph: GraphView) -> dict[str, Any]:
    import json

    box: list[Any] = []
    graph.evaluate(PAGE_STATE, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return json.loads(box[0])  # type: ignore[no-any-return]


def _graph_shown(qtbot: Any, graph: GraphView, min_nodes: int) -> bool:
    state = _state(qtbot, graph)
    return "default" in state["body"] and state["nodes"] >= min_nodes


def _open(qtbot: Any, graph: GraphView, model: Path) -> None:
    graph.resize(900, 700)
    graph.show()
    with qtbot.waitSignal(graph.loaded, timeout=60000):
        graph.show_model(model.read_bytes(), model.name)


def _clock_ahead(graph: GraphView) -> None:
    script = QWebEngineScript()
    script.setSourceCode(A_YEAR_AHEAD)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    graph.profile.scripts().insert(script)


@pytest.fixture
def graph(qtbot: Any) -> GraphView:
    view = GraphView()
    qtbot.addWidget(view)
    yield view
    view.shutdown()


def test_graph_opens_without_prompts_or_outside_requests(qtbot: Any, graph: GraphView, reference_models: Path) -> None:
    _open(qtbot, graph, reference_models / "person_detect.tflite")
    qtbot.waitUntil(lambda: _graph_shown(qtbot, graph, 10), timeout=30000)
    state = _state(qtbot, graph)
    assert "default" in state["body"] and "notification" not in state["body"]
    assert "cookies" not in state["text"] and "update" not in state["text"].lower()
    assert graph.interceptor.blocked_urls == []
    assert graph.interceptor.allowed_urls and all(
        "127.0.0.1" in u for u in graph.interceptor.allowed_urls if u.startswith("http")
    )


def test_a_year_later_there_is_still_no_update_prompt(qtbot: Any, graph: GraphView, reference_models: Path) -> None:
    _clock_ahead(graph)
    _open(qtbot, graph, reference_models / "micro_speech_quantized.tflite")
    qtbot.waitUntil(lambda: _graph_shown(qtbot, graph, 3), timeout=30000)
    state = _state(qtbot, graph)
    assert "Please update" not in state["text"]
    assert graph.interceptor.blocked_urls == []


def test_netron_as_shipped_would_block_the_page_a_year_later(qtbot: Any, reference_models: Path) -> None:
    """The same check on netron's unmodified page finds the prompt: the test above can fail."""
    view = GraphView(server=NetronServer(quiet=False))
    qtbot.addWidget(view)
    try:
        _clock_ahead(view)
        _open(qtbot, view, reference_models / "micro_speech_quantized.tflite")
        qtbot.waitUntil(lambda: "Please update" in _state(qtbot, view)["text"], timeout=30000)
    finally:
        view.shutdown()


def test_selecting_a_layer_selects_the_node_in_the_graph(qtbot: Any, graph: GraphView, reference_models: Path) -> None:
    _open(qtbot, graph, reference_models / "micro_speech_quantized.tflite")
    qtbot.waitUntil(lambda: _graph_shown(qtbot, graph, 3), timeout=30000)
    graph.select_node(1)
    box: list[Any] = []

    def selected() -> bool:
        graph.evaluate("document.querySelectorAll('.select').length", box.append)
        qtbot.waitUntil(lambda: bool(box), timeout=5000)
        return bool(box.pop())

    qtbot.waitUntil(selected, timeout=10000)


def test_the_windows_shortcuts_pass_through_the_graph_but_other_keys_stay_with_it(window: Any) -> None:
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    graph = window.inspect.graph

    def override(key: Qt.Key, modifiers: Qt.KeyboardModifier) -> tuple[bool, bool]:
        event = QKeyEvent(QEvent.Type.ShortcutOverride, key, modifiers)
        event.accept()
        handled = graph.eventFilter(graph.view, event)
        return handled, event.isAccepted()

    assert override(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier) == (True, False), "Ctrl+E is the window's"
    assert override(Qt.Key.Key_F6, Qt.KeyboardModifier.NoModifier) == (True, False), "F6 is the window's"
    assert override(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)[0] is False, "Ctrl+A stays with the page"


NODE_TEXT = "Array.from(document.querySelectorAll('.node text')).map((t) => t.textContent).join(' ')"


def test_shapes_are_drawn_in_brackets_the_desktops_fonts_have(
    qtbot: Any, graph: GraphView, reference_models: Path
) -> None:
    """netron's own page draws 〈16×3×3×1〉, which a plain Linux desktop shows as boxes; served here it
    draws ⟨16×3×3×1⟩ (U+27E8/U+27E9), which DejaVu Sans has."""
    assert b"\\u3008" in (netron_dir() / "view.js").read_bytes()  # what netron ships
    _open(qtbot, graph, reference_models / "person_detect.tflite")
    qtbot.waitUntil(lambda: _graph_shown(qtbot, graph, 10), timeout=60000)
    box: list[Any] = []
    graph.evaluate(NODE_TEXT, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    text = str(box[0])
    assert "\u27e8" in text and "\u27e9" in text and "\u3008" not in text


def test_without_qtwebengine_the_graph_opens_in_the_browser(
    qtbot: Any, reference_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lite edition leaves QtWebEngine out: one button opens the same local page in the browser."""
    import urllib.request

    from PySide6.QtGui import QDesktopServices

    from workbench.ui.widgets.graph_in_browser import GraphInBrowser

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    panel = GraphInBrowser()
    qtbot.addWidget(panel)
    try:
        assert not panel.open_button.isEnabled()
        model = reference_models / "person_detect.tflite"
        with qtbot.waitSignal(panel.loaded, timeout=5000):
            panel.show_model(model.read_bytes(), model.name)
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
        assert opened == [panel.url] and panel.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(panel.url, timeout=10) as page:  # the page the browser gets
            assert b"person_detect.tflite" in page.read()
    finally:
        panel.shutdown()
