"""The main window: one page a step, menus, recent files, drag and drop, progress and cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.launcher import external_environment
from workbench.core.loading import MODEL_SUFFIXES
from workbench.logs import log_path
from workbench.plugins import PluginProblem, registry
from workbench.project import SUFFIX as PROJECT_SUFFIX
from workbench.shipped import guide_path, sample_model
from workbench.ui.projects import RECENT_PROJECTS_KEY, Projects
from workbench.ui.session import Session
from workbench.ui.settings import settings
from workbench.ui.widgets.welcome import WelcomePanel

if TYPE_CHECKING:
    from workbench.ui.pages.deploy import DeployPage
    from workbench.ui.pages.inspect import InspectPage
    from workbench.ui.pages.monitor import MonitorPage
    from workbench.ui.pages.optimize import OptimizePage

log = logging.getLogger(__name__)

SAMPLE_MODEL = sample_model()
MAX_RECENT = 8
WELCOMED_KEY = "welcomed"  # the welcome panel was closed (or the demo started): not shown at start again
GUIDE_URL = "https://github.com/tinyml-workbench/tinyml-workbench/blob/main/docs/guide.md"
PAGE_TITLES = ("1  Inspect", "2  Optimize", "3  Deploy", "4  Monitor")


def skipped_text(problems: list[PluginProblem]) -> str:
    """The plugins that were skipped, for the status bar ("" for none); each one is in the log with its reason."""
    if not problems:
        return ""
    first = problems[0]
    what = {"board": "board file", "plugin": "plugin"}.get(first.kind, f"{first.kind} plugin")
    more = f" (and {len(problems) - 1} more, in the log)" if len(problems) > 1 else ""
    return f"Skipped a {what}: {first.message}{more}"


class MainWindow(QMainWindow):
    def __init__(self, session: Session | None = None) -> None:
        super().__init__()
        self.setWindowTitle("TinyML Workbench")
        self.setAcceptDrops(True)
        self.session = session or Session(self)
        self.settings = settings()
        self._inspect: InspectPage | None = None
        self._optimize: OptimizePage | None = None
        self._deploy: DeployPage | None = None
        self._monitor: MonitorPage | None = None
        self._closing_confirmed = False
        self.steps = QTabWidget()
        self.steps.setObjectName("steps")
        self.steps.setDocumentMode(True)
        # The Inspect page (web view, charts) is built right after the window first shows, so
        # the window appears at once; anything that needs it earlier builds it on demand.
        for title in PAGE_TITLES:
            self.steps.addTab(QLabel("Loading…"), title)
        self.welcome = WelcomePanel()
        self.welcome.demo_requested.connect(self.start_demo)
        self.welcome.closed.connect(lambda: self.settings.setValue(WELCOMED_KEY, True))
        self.welcome.setVisible(self.settings.value(WELCOMED_KEY, False) not in (True, "true"))
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.welcome)
        column.addWidget(self.steps, 1)
        self.setCentralWidget(central)
        self.projects = Projects(self)  # File > Save Project, Open Project
        self._build_menus()
        self._build_status()
        self.session.error.connect(self.show_error)
        self.session.unsafe_model.connect(self._ask_unsafe)
        self.session.model_changed.connect(self._remember)
        self.session.board_changed.connect(lambda board: self.settings.setValue("board", board.id if board else ""))
        self.session.jobs.busy_changed.connect(self._busy)
        self.session.jobs.progress.connect(self._progress)
        board = str(self.settings.value("board", "arduino_nano33_ble_sense") or "")
        if board in self.session.catalog.boards:
            self.session.set_board(board)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # 1440x900, or a little less than the screen's free area when that is smaller (a laptop)
            free = self.screen().availableGeometry()
            self.resize(max(min(1440, free.width() - 40), 1024), max(min(900, free.height() - 40), 640))
        skipped = skipped_text(registry().problems())
        if skipped:
            self.statusBar().showMessage(skipped, 10000)

    def _build_pages(self) -> None:
        """Build the step pages (web view, charts); done after the window's first paint."""
        if self._inspect is not None:
            return
        from workbench.ui.pages.deploy import DeployPage
        from workbench.ui.pages.inspect import InspectPage
        from workbench.ui.pages.monitor import DEMO_KEY, MonitorPage
        from workbench.ui.pages.optimize import OptimizePage

        self._inspect = InspectPage(self.session)
        self._optimize = OptimizePage(self.session)
        self._deploy = DeployPage(self.session)
        self._monitor = MonitorPage(self.session)
        saved = self.settings.value("optimize")
        if isinstance(saved, dict):
            self._optimize.settings.restore(saved)
        self._inspect.optimize_requested.connect(lambda: self.steps.setCurrentWidget(self.optimize))
        self._inspect.deploy_requested.connect(lambda: self.steps.setCurrentWidget(self.deploy))
        self._optimize.deploy_requested.connect(lambda: self.steps.setCurrentWidget(self.deploy))
        self._deploy.optimize_requested.connect(lambda: self.steps.setCurrentWidget(self.optimize))
        self._deploy.monitor_requested.connect(self.show_monitor)
        self._deploy.refresh()
        pages = (self._inspect, self._optimize, self._deploy, self._monitor)
        for index, (page, title) in enumerate(zip(pages, PAGE_TITLES, strict=True)):
            placeholder = self.steps.widget(index)
            self.steps.removeTab(index)
            self.steps.insertTab(index, page, title)
            placeholder.deleteLater()
        self.steps.setCurrentIndex(0)
        if self.settings.value(DEMO_KEY, False) in (True, "true"):  # quit in demo mode: start in it
            # Once the pages are laid out: a window the new pages make larger would leave full screen.
            QTimer.singleShot(0, lambda: self.set_demo(True))

    @property
    def inspect(self) -> InspectPage:
        self._build_pages()
        assert self._inspect is not None
        return self._inspect

    @property
    def optimize(self) -> OptimizePage:
        self._build_pages()
        assert self._optimize is not None
        return self._optimize

    @property
    def deploy(self) -> DeployPage:
        self._build_pages()
        assert self._deploy is not None
        return self._deploy

    @property
    def monitor(self) -> MonitorPage:
        self._build_pages()
        assert self._monitor is not None
        return self._monitor

    def show_deploy(self, action: str = "") -> None:
        """Open the Deploy page and start `action` there ("export" or "flash")."""
        self.steps.setCurrentWidget(self.deploy)
        if action == "export":
            self.deploy.export()
        elif action == "flash":
            self.deploy.flash()

    def show_monitor(self, port: str) -> None:
        """Open the Monitor step and connect to `port` (just open it when the port is unknown)."""
        self.steps.setCurrentWidget(self.monitor)
        if port:
            self.monitor.connect_to(port)

    def start_demo(self) -> None:
        """The trade-show demo: the virtual board runs the sample and the Monitor shows it full
        screen (Esc leaves). The welcome panel has done its job."""
        from workbench.ui.widgets.monitor_ports import VIRTUAL

        self.welcome.hide()
        self.settings.setValue(WELCOMED_KEY, True)
        if not self.monitor.connected:
            self.show_monitor(VIRTUAL)
        self.set_demo(True)

    def set_demo(self, demo: bool) -> None:
        """Demo mode (F11; Esc or F11 leaves): the Monitor's label and bars alone, full screen, dark."""
        if demo:
            self.steps.setCurrentWidget(self.monitor)
        for bar in (self.menuBar(), self.toolbar, self.statusBar(), self.steps.tabBar()):
            bar.setVisible(not demo)
        if demo:
            self.welcome.hide()
        self.demo_action.blockSignals(True)
        self.demo_action.setChecked(demo)
        self.demo_action.blockSignals(False)
        self.leave_demo_action.setEnabled(demo)
        self.monitor.set_demo(demo)
        if demo:
            self.showFullScreen()
        else:
            self.showNormal()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._inspect is None:  # first paint done: now build the heavy page
            QTimer.singleShot(0, self._build_pages)

    # -- menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction(
            "&Open Model…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self.open_dialog
        )
        self.open_folder_action = QAction("Open &SavedModel Folder…", self, triggered=self.open_folder_dialog)
        self.sample_action = QAction("Open the &Sample Model", self, triggered=lambda: self.open(SAMPLE_MODEL))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        file_menu.addActions([self.open_action, self.open_folder_action, self.sample_action])
        file_menu.insertMenu(self.sample_action, self.recent_menu)
        file_menu.addSeparator()
        file_menu.addActions(self.projects.actions)
        file_menu.addSeparator()
        self.export_action = QAction("&Export", self, shortcut=QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda: self.show_deploy("export"))
        self.flash_action = QAction("&Flash", self, shortcut=QKeySequence("Ctrl+U"))  # Upload, as in the Arduino IDE
        self.flash_action.triggered.connect(lambda: self.show_deploy("flash"))
        file_menu.addActions([self.export_action, self.flash_action])
        file_menu.addSeparator()
        self.reload_plugins_action = QAction("Reload &Plugins", self, triggered=self.reload_plugins)
        self.reload_plugins_action.setToolTip(
            "Read the boards, flashers and parsers again (after adding or editing one)"
        )
        file_menu.addAction(self.reload_plugins_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        model_menu = self.menuBar().addMenu("&Model")
        self.measure_action = QAction(
            "&Measure in TFLM", self, shortcut=QKeySequence(Qt.Key.Key_F6), triggered=self.session.measure
        )
        self.measure_action.setToolTip("Prepare, run and measure the open model in TFLM (again)")
        model_menu.addAction(self.measure_action)
        view_menu = self.menuBar().addMenu("&View")
        self.page_actions = []
        for index, title in enumerate(PAGE_TITLES):
            number, name = title.split()
            action = QAction(f"&{number} {name}", self, shortcut=QKeySequence(f"Ctrl+{number}"))
            action.setToolTip(f"Go to the {name} step")
            action.triggered.connect(lambda _checked=False, i=index: self.steps.setCurrentIndex(i))
            view_menu.addAction(action)
            self.page_actions.append(action)
        view_menu.addSeparator()
        self.demo_action = QAction("&Demo Mode", self, shortcut=QKeySequence(Qt.Key.Key_F11), checkable=True)
        self.demo_action.setToolTip("The Monitor's label and bars alone, full screen (Esc or F11 leaves)")
        self.demo_action.toggled.connect(self.set_demo)
        view_menu.addAction(self.demo_action)
        self.leave_demo_action = QAction("Leave Demo Mode", self, shortcut=QKeySequence(Qt.Key.Key_Escape))
        self.leave_demo_action.setEnabled(False)  # Esc is Cancel's outside demo mode
        self.leave_demo_action.triggered.connect(lambda: self.set_demo(False))
        self.addActions([self.demo_action, self.leave_demo_action])  # the menu bar is hidden in demo mode
        help_menu = self.menuBar().addMenu("&Help")
        self.getting_started_action = QAction("&Getting Started", self, triggered=self.welcome.show)
        self.getting_started_action.setToolTip("The four steps, and the demo in one click")
        self.demo_start_action = QAction("Start the &Demo", self, triggered=self.start_demo)
        self.demo_start_action.setToolTip("A virtual board runs the sample; the Monitor shows it full screen")
        self.guide_action = QAction("User &Guide", self, shortcut=QKeySequence(Qt.Key.Key_F1), triggered=self._guide)
        help_menu.addActions([self.getting_started_action, self.demo_start_action, self.guide_action])
        help_menu.addSeparator()
        help_menu.addAction(QAction("Show &Log File", self, triggered=self._show_log))
        help_menu.addAction(QAction("&About", self, triggered=self._about))
        toolbar = self.toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.sample_action)
        self._fill_recent()

    def _build_status(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_button.setToolTip("Stop what is running (Esc)")
        self.cancel_button.clicked.connect(self.session.cancel)
        self.cancel_button.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

    def _fill_recent(self) -> None:
        """Open Recent: the recent models, then the recent projects."""
        self.recent_menu.clear()
        models = [p for p in self.recent_files() if Path(p).exists()]
        projects = [p for p in self.recent_files(RECENT_PROJECTS_KEY) if Path(p).exists()]
        for path in models:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open(p)).setToolTip(path)
        if models and projects:
            self.recent_menu.addSeparator()
        for path in projects:
            action = self.recent_menu.addAction(f"{Path(path).name} (project)", lambda p=path: self.projects.open(p))
            action.setToolTip(path)
        self.recent_menu.setEnabled(bool(models or projects))

    def recent_files(self, key: str = "recent") -> list[str]:
        value = self.settings.value(key, [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def add_recent(self, key: str, path: str | Path) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files(key) if p != path]
        self.settings.setValue(key, recent[:MAX_RECENT])
        self._fill_recent()

    def _remember(self, model: object) -> None:
        log.info("opened %s", model.path)
        self.add_recent("recent", model.path)
        self.update_title()

    def update_title(self) -> None:
        model = self.session.model
        project = self.projects.path
        parts = [project.name if project else "", Path(model.path).name if model else ""]
        self.setWindowTitle(" - ".join([p for p in parts if p] + ["TinyML Workbench"]))

    # -- opening ----------------------------------------------------------------------------
    def open(self, path: str | Path, allow_unsafe: bool = False) -> None:
        """Open a model; first ask before discarding optimized variants that were not saved."""
        if Path(path).suffix.lower() == PROJECT_SUFFIX:
            self.projects.open(path)
            return
        self.inspect  # noqa: B018 - the page subscribes to the session before results arrive
        if allow_unsafe:  # the answer to a question about this very file: nothing more to ask
            self.session.open(path, allow_unsafe)
            return
        self.confirm_discard(f"Open {Path(path).name}?", "Open Anyway", lambda: self.session.open(path, allow_unsafe))

    def confirm_discard(self, title: str, proceed_text: str, proceed: Callable[[], None]) -> None:
        """Run `proceed` at once when no variant would be lost; otherwise ask first (non-blocking)."""
        unsaved = self.session.unsaved_variants()
        if not unsaved:
            proceed()
            return
        names = ", ".join(v.label for v in unsaved[:3]) + (" …" if len(unsaved) > 3 else "")
        box = QMessageBox(QMessageBox.Icon.Question, title, "", QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("discardDialog")
        box.setText(
            f"{len(unsaved)} optimized variant{'s' if len(unsaved) > 1 else ''} of "
            f"{self.session.model.name if self.session.model else 'this model'} "
            f"{'were' if len(unsaved) > 1 else 'was'} not saved ({names}) and will be lost."
        )
        box.setInformativeText("Save them on the Optimize page first (Ctrl+S), or go on without them.")
        discard = box.addButton(proceed_text, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: proceed() if button is discard else None)
        box.open()

    def open_dialog(self) -> None:
        start = str(self.settings.value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a model", start, "Models (*.tflite *.keras *.h5 *.hdf5);;All files (*)"
        )
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a SavedModel folder")
        if path:
            self.open(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.is_dir() or path.suffix.lower() in MODEL_SUFFIXES or path.exists():
                self.open(path)
                event.acceptProposedAction()
                return

    # -- plugins ----------------------------------------------------------------------------
    def reload_plugins(self) -> None:
        """File > Reload Plugins: discover the plugins again, offer the new boards, flashers and
        parsers on the pages (the chosen board is kept while it exists), and say what was skipped."""
        catalog = registry().reload()
        self.session.state.set_catalog(catalog.boards())
        if self._inspect is not None:  # pages not built yet read the new catalog when they are
            self._inspect.plugins_reloaded()
        if self._deploy is not None:
            self._deploy.plugins_reloaded()
        if self._monitor is not None:
            self._monitor.plugins_reloaded()
        counts = ", ".join(f"{len(catalog.of_kind(kind))} {kind}s" for kind in ("board", "flasher", "parser"))
        skipped = skipped_text(catalog.problems)
        self.statusBar().showMessage(f"Plugins reloaded: {counts}." + (f" {skipped}" if skipped else ""), 15000)

    # -- feedback ---------------------------------------------------------------------------
    def show_error(self, error: WorkbenchError) -> None:
        """The one place errors meant for a person arrive: status bar, a dialog, and the log
        (with the raw details, which the dialog keeps one click away under "Show Details")."""
        log.warning(
            "%s%s%s",
            error.message,
            f" ({error.hint})" if error.hint else "",
            f"\n{error.details}" if error.details else "",
        )
        self.statusBar().showMessage(error.message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "TinyML Workbench", error.message, parent=self)
        if error.hint:
            box.setInformativeText(error.hint)
        if error.details:
            box.setDetailedText(error.details)
        box.setObjectName("errorDialog")
        box.open()

    def _ask_unsafe(self, path: str, error: UnsafeModelError) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Allow code from this file?",
            f"{error.message}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("unsafeDialog")
        box.setInformativeText(
            "Loading it runs Python code stored in the file. Allow it only for files from a source you trust.\n\n"
            "Allow code from this file?"
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(button: object) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self.open(path, allow_unsafe=True)
            else:
                self.statusBar().showMessage(error.message, 15000)

        box.buttonClicked.connect(answered)
        box.open()

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not busy:
            self.statusBar().showMessage("Ready", 3000)

    def _progress(self, _key: str, fraction: float, status: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if status:
            self.statusBar().showMessage(status)

    def _close_confirmed(self) -> None:
        self._closing_confirmed = True
        self.close()

    def _guide(self) -> None:
        """The user guide: the copy shipped with the app, else the project's page."""
        local = guide_path()
        url = QUrl.fromLocalFile(str(local)) if local is not None else QUrl(GUIDE_URL)
        with external_environment():  # the viewer is not the bundle's program
            if not QDesktopServices.openUrl(url):
                self.statusBar().showMessage(f"The guide is at {url.toString()}", 15000)

    def _show_log(self) -> None:
        QMessageBox.information(self, "Log file", f"Details of errors are written to:\n{log_path()}")

    def _about(self) -> None:
        from workbench import __version__

        QMessageBox.about(
            self,
            "About TinyML Workbench",
            f"TinyML Workbench {__version__}\nTake a trained model to a microcontroller "
            "without writing code. Everything runs on this computer.",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._closing_confirmed and self.session.unsaved_variants():
            event.ignore()
            self.confirm_discard("Quit TinyML Workbench?", "Quit Anyway", self._close_confirmed)
            return
        self.settings.setValue("geometry", self.saveGeometry())
        if self._optimize is not None:
            self.settings.setValue("optimize", self._optimize.settings.state())
        self.session.jobs.shutdown()
        if self._monitor is not None:
            self._monitor.shutdown()
        if self._inspect is not None:
            self._inspect.graph.shutdown()
        super().closeEvent(event)
