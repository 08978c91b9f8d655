"""Session: the open model, its analysis and the chosen board; pages subscribe to its signals.

Loading a model runs in two jobs: the model and its graph figures first (the page fills
at once), then TFLM's pre-flight and arena measurement. Opening another model cancels
both. On failure the model that was open stays open.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from workbench.core.analysis import Analysis, graph_figures
from workbench.core.boards import Board, BoardCatalog, Fit, fit, load_boards
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.loading import load_model
from workbench.core.model import Model
from workbench.core.tflm import TflmReport, check_tflm
from workbench.tasks import Task
from workbench.ui.workers import JobRunner

if TYPE_CHECKING:
    from workbench.optimize.convert import Variant


def _load(path: str, allow_unsafe: bool, task: Task) -> tuple[Model, Analysis]:
    model = load_model(path, allow_unsafe=allow_unsafe, task=task)
    return model, graph_figures(model)


def _measure(model: Model, task: Task) -> TflmReport:
    return check_tflm(model, task)


class Session(QObject):
    model_loading = Signal(str)  # path
    model_changed = Signal(object)  # Model
    analysis_changed = Signal(object)  # Analysis (again when TFLM results arrive)
    board_changed = Signal(object)  # Board | None
    error = Signal(object)  # WorkbenchError
    unsafe_model = Signal(str, object)  # path, UnsafeModelError
    variants_changed = Signal()  # a verified variant was added, or the chosen one changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self)
        self.model: Model | None = None
        self.analysis: Analysis | None = None
        self.catalog: BoardCatalog = load_boards()
        self.board: Board | None = None
        self.variants: list[Variant] = []  # every verified optimization of the open model
        self.chosen_variant: Variant | None = None  # the one to carry to Deploy

    def open(self, path: str | Path, allow_unsafe: bool = False) -> None:
        """Load a model in the background; superseds any load in progress."""
        path = str(path)
        self.jobs.cancel("tflm")
        self.model_loading.emit(path)
        self.jobs.start(
            "load", _load, path, allow_unsafe, on_success=self._loaded, on_error=lambda e: self._load_failed(path, e)
        )

    def cancel(self) -> None:
        self.jobs.cancel_all()

    def _load_failed(self, path: str, error: WorkbenchError) -> None:
        if isinstance(error, UnsafeModelError):
            self.unsafe_model.emit(path, error)
        else:
            self.error.emit(error)

    def _loaded(self, result: tuple[Model, Analysis]) -> None:
        self.model, self.analysis = result
        self.variants, self.chosen_variant = [], None
        self.variants_changed.emit()
        self.model_changed.emit(self.model)
        self.analysis_changed.emit(self.analysis)
        self.jobs.start("tflm", _measure, self.model, on_success=self._measured, on_error=self._measure_failed)

    def _measured(self, report: TflmReport) -> None:
        if self.analysis is not None:
            self.analysis.tflm = report
            self.analysis_changed.emit(self.analysis)

    def _measure_failed(self, error: WorkbenchError) -> None:
        self.error.emit(error)

    def add_variant(self, variant: Variant) -> None:
        self.variants.append(variant)
        self.variants_changed.emit()

    def choose_variant(self, variant: Variant | None) -> None:
        self.chosen_variant = variant
        self.variants_changed.emit()

    def set_board(self, board_id: str | None) -> None:
        self.board = self.catalog.boards.get(board_id) if board_id else None
        self.board_changed.emit(self.board)

    def fit(self) -> Fit | None:
        if self.board is None or self.analysis is None:
            return None
        return fit(self.analysis.size_bytes, self.analysis.arena_bytes, self.board)
