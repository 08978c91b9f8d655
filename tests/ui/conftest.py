"""GUI tests run under QT_QPA_PLATFORM=offscreen with QtWebEngine's settings applied first."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from workbench.ui.app import prepare_environment  # noqa: E402

prepare_environment()

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, Qt  # noqa: E402

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # before pytest-qt's QApplication


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["workbench-tests"]


@pytest.fixture
def window(qtbot: Any) -> Any:
    """The main window, shown; closed at the end without asking about unsaved work."""
    from workbench.ui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    yield main
    main._closing_confirmed = True
    main.close()
