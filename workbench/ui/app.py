"""Start the GUI: QApplication, WebEngine settings, style, main window, first model."""

from __future__ import annotations

import logging
import os
import sys

from workbench.shipped import resources_dir

RESOURCES = resources_dir()
STARTUP = "start-up"  # the log's marks of a start (installers/build_bundle.py times them)
DESKTOP_ID = "io.github.tinyml_workbench.TinyMLWorkbench"  # the desktop entry and AppStream id

# Chromium flags for the embedded graph view: nothing in the background may reach out.
_WEBENGINE_FLAGS = (
    "--disable-background-networking --disable-component-update --disable-sync "
    "--no-first-run --disable-breakpad --disable-domain-reliability --disable-features=Translate"
)


def prepare_environment() -> None:
    """Settings QtWebEngine reads at start-up; call before the QApplication exists."""
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} {_WEBENGINE_FLAGS}".strip()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses to sandbox as root


def create_application(argv: list[str] | None = None):  # type: ignore[no-untyped-def]
    prepare_environment()
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    # With shared OpenGL contexts set, QtWebEngine may load after the QApplication exists, so the
    # window shows first and the graph view (the heaviest part) is built after.
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    from workbench.ui.file_open import WorkbenchApplication

    app = QApplication.instance() or WorkbenchApplication(argv or sys.argv[:1])
    app.setApplicationName("TinyML Workbench")
    app.setOrganizationName("tinyml-workbench")
    app.setDesktopFileName(DESKTOP_ID)  # Wayland matches the window to installers/linux/DESKTOP_ID.desktop
    theme = RESOURCES / "themes" / "light.qss"
    if theme.exists():
        app.setStyleSheet(theme.read_text())
    icon = RESOURCES / "icons" / "tinyml-workbench.svg"
    if icon.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app(model: str | None = None) -> int:
    """Open the main window on `model`, or on the bundled sample when none is given."""
    app = create_application()
    from workbench.ui.file_open import WorkbenchApplication
    from workbench.ui.main_window import SAMPLE_MODEL, MainWindow

    window = MainWindow()
    if isinstance(app, WorkbenchApplication):  # macOS: a model or project double-clicked in the Finder
        app.file_opened.connect(window.open)
    window.show()
    app.processEvents()
    logging.getLogger(__name__).info("%s: the window is shown", STARTUP)
    window.open(model or SAMPLE_MODEL)
    return int(app.exec())
