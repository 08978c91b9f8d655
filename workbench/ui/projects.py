"""File > Save Project and Open Project: the whole workbench in one .tmlw file (workbench.project).

Saving writes the session and what the screen adds (the page shown, Optimize's choices, Monitor's
layout). Opening restores them, asks for a model that moved (matched by its content), flags one that
changed, and once the model is open brings its variants back in the background, then the Deploy
target (after the pages have taken the model, which resets their folders).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from workbench.core.errors import WorkbenchError
from workbench.project import (
    CHANGED,
    MISSING,
    SUFFIX,
    ModelLocation,
    locate_model,
    read_project,
    restore_variants,
    save_project,
)
from workbench.session import DeployTarget, known_fields

if TYPE_CHECKING:
    from workbench.optimize.convert import Variant
    from workbench.ui.main_window import MainWindow

RECENT_PROJECTS_KEY = "recent_projects"
PROJECT_DIR_KEY = "project_dir"
PROJECT_FILTER = f"Workbench projects (*{SUFFIX});;All files (*)"
MODEL_FILE_SUFFIXES = (".tflite", ".keras", ".h5", ".hdf5")
MODEL_FILTER = "Models (*.tflite *.keras *.h5 *.hdf5);;All files (*)"


def _same_path(a: str | Path, b: Path | None) -> bool:
    return b is not None and Path(a).resolve() == b.resolve()


class Projects(QObject):
    """The window's project file: its actions, the file saved or opened last (`path`), saving and opening."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self._pending: tuple[Path, dict[str, Any], ModelLocation] | None = None  # a project whose model is opening
        open_action = QAction("Open &Project…", window, shortcut=QKeySequence("Ctrl+Shift+O"))
        open_action.triggered.connect(self.open_dialog)
        save_action = QAction("Sa&ve Project", window, shortcut=QKeySequence("Ctrl+Shift+S"))
        save_action.setToolTip("Keep the model, board, optimized variants and settings in one .tmlw file")
        save_action.triggered.connect(lambda: self.save())
        save_as_action = QAction("Save Project &As…", window)
        save_as_action.triggered.connect(lambda: self.save(choose=True))
        self.actions = [open_action, save_action, save_as_action]
        window.session.model_changed.connect(self._model_opened)
        window.session.load_failed.connect(lambda path, _error: self._load_ended(path))
        window.session.load_cancelled.connect(self._load_ended)

    # -- what the screen adds -----------------------------------------------------------------
    def ui_state(self) -> dict[str, object]:
        """What a project keeps of the screen: the page shown, Optimize's choices, Monitor's layout."""
        window = self.window
        return {
            "page": window.steps.currentIndex(),
            "optimize": window.optimize.settings.state(),
            "monitor": window.monitor.layout_state(),
        }

    def restore_ui(self, state: dict[str, Any]) -> None:
        window = self.window
        optimize, monitor, page = state.get("optimize"), state.get("monitor"), state.get("page")
        if isinstance(optimize, dict):
            window.optimize.settings.restore(optimize)
        if isinstance(monitor, dict):
            window.monitor.restore_layout(monitor)
        if isinstance(page, int) and 0 <= page < window.steps.count():
            window.steps.setCurrentIndex(page)

    # -- saving -------------------------------------------------------------------------------
    def save(self, choose: bool = False) -> Path | None:
        """To the project's file, or (the first time, or `choose`) where the person says."""
        window = self.window
        model = window.session.model
        if model is None:
            window.show_error(WorkbenchError("there is nothing to save yet", "Open a model first."))
            return None
        path = self.path
        if path is None or choose:
            start = path or Path(str(window.settings.value(PROJECT_DIR_KEY, "") or Path(model.path).parent))
            if path is None:
                start = start / f"{Path(model.path).stem}{SUFFIX}"
            chosen, _ = QFileDialog.getSaveFileName(window, "Save the project", str(start), PROJECT_FILTER)
            if not chosen:
                return None
            path = Path(chosen)
        try:
            saved = save_project(path, window.session.state, self.ui_state())
        except WorkbenchError as error:
            window.show_error(error)
            return None
        window.session.state.project_saved()
        self._became(saved)
        window.settings.setValue(PROJECT_DIR_KEY, str(saved.parent))
        window.statusBar().showMessage(f"Saved the project {saved.name}", 8000)
        return saved

    def _became(self, path: Path) -> None:
        self.path = path.resolve()
        self.window.add_recent(RECENT_PROJECTS_KEY, self.path)
        self.window.update_title()

    # -- opening ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.window.settings.value(PROJECT_DIR_KEY, "") or Path.home())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a project", start, PROJECT_FILTER)
        if path:
            self.open(path)

    def open(self, path: str | Path) -> None:
        """Restore the whole workbench from a project file; a model that moved is asked for (and
        matched by its content), one that changed opens without the variants made of it."""
        try:
            project = read_project(path)
            location = locate_model(project)
            if location.status == MISSING:
                found = self._find_moved_model(project, location)
                if found is None:
                    return
                location = found
        except WorkbenchError as error:
            self.window.show_error(error)
            return
        self.window.confirm_discard(
            f"Open {Path(path).name}?", "Open Anyway", lambda: self._apply(Path(path), project, location)
        )

    def _find_moved_model(self, project: dict[str, Any], location: ModelLocation) -> ModelLocation | None:
        """Ask where the project's model is now; None when the person cancels."""
        assert location.path is not None
        name = location.path.name
        self.window.statusBar().showMessage(f"{location.message} Where is it now?", 15000)
        caption, start = f"Where is {name} now?", str(Path.home())
        if location.path.suffix.lower() in MODEL_FILE_SUFFIXES:
            chosen, _ = QFileDialog.getOpenFileName(self.window, caption, start, MODEL_FILTER)
        else:  # a SavedModel folder
            chosen = QFileDialog.getExistingDirectory(self.window, caption, start)
        if not chosen:
            return None
        return locate_model(project, chosen)

    def _apply(self, path: Path, project: dict[str, Any], location: ModelLocation) -> None:
        """Restore the settings and open the project's model (the person already agreed to let go
        of unsaved variants); the project becomes the window's once its model is open."""
        window = self.window
        state = window.session.state
        try:
            state.restore(project["session"])
        except WorkbenchError as error:
            window.show_error(error)
            return
        ui = project.get("ui") or {}
        monitor = {**(ui.get("monitor") or {}), "port": state.monitor.port, "baud": state.monitor.baud}
        self.restore_ui({**ui, "monitor": monitor})
        if location.path is None:
            self._became(path)
            return
        self._pending = (path, project, location)
        window.inspect  # noqa: B018 - the page subscribes to the session before the model arrives
        window.session.open(location.path)

    def _load_ended(self, loading: str) -> None:
        """The project's model did not open (unreadable, cancelled): the project is not opened."""
        if self._pending is not None and _same_path(loading, self._pending[2].path):
            self._pending = None

    def _model_opened(self, model: Any) -> None:
        """Once the project's model is open, the project is the window's: its verified variants come
        back (measured again in the background), then the Deploy target. Another model opening ends
        the project (saving asks where to)."""
        pending, self._pending = self._pending, None
        if pending is None or not _same_path(model.path, pending[2].path):
            self.path = None
            return
        path, project, location = pending
        window = self.window
        self._became(path)
        target = DeployTarget(**known_fields(DeployTarget, project["session"].get("target")))
        if location.status == CHANGED:
            window.show_error(WorkbenchError(location.message, "Optimize the model again to make new variants."))
        if location.status == CHANGED or not project["session"].get("variants"):
            window.session.state.project_saved()
            QTimer.singleShot(0, lambda: window.deploy.apply_target(target))  # after the pages took the model
            return
        generation = window.session.generation

        def restored(result: tuple[list[Variant], int | None]) -> None:
            variants, chosen = result
            for variant in variants:
                window.session.add_variant(variant, generation)
            window.session.choose_variant(variants[chosen] if chosen is not None else None)
            window.session.state.project_saved()
            window.deploy.apply_target(target)
            window.statusBar().showMessage(f"Restored {len(variants)} optimized variant(s) from the project", 8000)

        window.session.start_for_model(
            "project", restore_variants, project, model, on_success=restored, on_error=window.show_error
        )
