"""GUI tests run under QT_QPA_PLATFORM=offscreen with QtWebEngine's settings applied first."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from workbench.ui.app import prepare_environment  # noqa: E402

prepare_environment()

import pytest  # noqa: E402
from PySide6.QtWebEngineCore import QWebEngineProfile  # noqa: E402, F401 - before the QApplication


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["workbench-tests"]
