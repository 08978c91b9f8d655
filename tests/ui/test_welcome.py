"""The first start: a welcome panel with the four steps and the trade-show demo in one click (the
virtual board running the sample, shown by the Monitor in demo mode); closed, it stays closed, and
Help > Getting Started brings it back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from workbench.ui.main_window import MainWindow


def _window(qtbot: Any) -> MainWindow:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    return main


def test_the_first_start_offers_the_demo_and_one_click_runs_it(qtbot: Any) -> None:
    main = _window(qtbot)
    try:
        assert main.welcome.isVisible()
        texts = " ".join(label.text() for label in main.welcome.findChildren(QLabel))
        assert all(step in texts for step in ("1 Inspect", "2 Optimize", "3 Deploy", "4 Monitor"))
        qtbot.mouseClick(main.welcome.demo_button, Qt.MouseButton.LeftButton)
        assert main.monitor.demo and main.isFullScreen() and not main.welcome.isVisible()
        assert main.steps.currentWidget() is main.monitor
        qtbot.waitUntil(lambda: main.monitor.connected, timeout=60000)
        assert main.session.state.monitor.board == "virtual"
        qtbot.waitUntil(lambda: main.monitor.class_panel.big.name.text() in [str(d) for d in range(10)], timeout=30000)
    finally:
        main._closing_confirmed = True
        main.close()


def test_closed_it_stays_closed_and_help_brings_it_back(qtbot: Any) -> None:
    first = _window(qtbot)
    assert first.welcome.isVisible()
    qtbot.mouseClick(first.welcome.close_button, Qt.MouseButton.LeftButton)
    assert not first.welcome.isVisible()
    first._closing_confirmed = True
    first.close()
    again = _window(qtbot)
    try:
        assert not again.welcome.isVisible()
        again.getting_started_action.trigger()
        assert again.welcome.isVisible()
    finally:
        again._closing_confirmed = True
        again.close()


def test_help_opens_the_user_guide_whose_screenshots_are_all_there(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    main = _window(qtbot)
    try:
        assert main.guide_action.shortcut().toString() == "F1"
        main.guide_action.trigger()
        guide = Path(opened[0])
        assert guide.name == "guide.md" and guide.is_file()
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", guide.read_text())
        for page in ("first_start.png", "inspect.png", "optimize.png", "deploy.png", "monitor.png"):
            assert page in images
        assert all((guide.parent / image).is_file() for image in images)
    finally:
        main._closing_confirmed = True
        main.close()


def test_a_file_the_system_hands_over_as_an_event_is_the_one_opened(qtbot: Any, reference_models: Path) -> None:
    """macOS opens a document double-clicked in the Finder with a QFileOpenEvent to the application;
    the app's QApplication turns it into `file_opened`, which run_app connects to the window's open()."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QFileOpenEvent

    from workbench.ui.file_open import opened_file

    model = str(reference_models / "hello_world_int8.tflite")
    assert opened_file(QFileOpenEvent(model)) == model
    assert opened_file(QEvent(QEvent.Type.Show)) is None
