"""Session: the open model, its analysis and the chosen board; pages subscribe to its signals.

Loading a model runs in two jobs: the model and its graph figures first (the page fills
at once), then TFLM's pre-flight and arena measurement. Each model that opens gets a new
`generation`; jobs started for a model with `start_for_model` deliver their results only
while that model is still the open one, and are cancelled once another model has opened.
A load that fails leaves the open model, and its jobs, as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from workbench.core.analysis import Analysis, graph_figures
from workbench.core.boards import Board, BoardCatalog
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.fit import Fit, analysis_fit
from workbench.core.loading import load_model
from workbench.core.model import Model
from workbench.core.tflm import TflmReport, check_tflm
from workbench.plugins import load_boards
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
    load_failed = Signal(str, object)  # path, WorkbenchError: the open model (if any) stays
    load_cancelled = Signal(str)  # path: the open model (if any) stays
    measurement_cancelled = Signal()  # the open model's TFLM check was stopped; measure() restarts it
    unsafe_model = Signal(str, object)  # path, UnsafeModelError
    variants_changed = Signal()  # a verified variant was added, or the chosen one changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self)
        self.jobs.unexpected.connect(self.error.emit)
        self.jobs.cancelled.connect(self._cancelled)
        self._loading_path = ""
        self.model: Model | None = None
        self.analysis: Analysis | None = None
        self.catalog: BoardCatalog = load_boards()
        self.board: Board | None = None
        self.variants: list[Variant] = []  # every verified optimization of the open model
        self.chosen_variant: Variant | None = None  # the one to carry to Deploy
        self.generation = 0  # numbers each opened model; results of older ones are dropped
        self.code_allowed = False  # the person allowed the open model's code (Lambda layers) to run
        self._model_jobs: set[str] = set()

    def open(self, path: str | Path, allow_unsafe: bool = False) -> None:
        """Load a model in the background; supersedes any load in progress (not the open model)."""
        path = str(path)
        self.jobs.start(
            "load",
            _load,
            path,
            allow_unsafe,
            on_success=lambda result: self._loaded(result, allow_unsafe),
            on_error=lambda e: self._load_failed(path, e),
        )
        self._loading_path = path  # after start: a load it supersedes was cancelled under its own path
        self.model_loading.emit(path)

    def start_for_model(
        self,
        key: str,
        function: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None],
        on_error: Callable[[WorkbenchError], None],
    ) -> Any:
        """Start a job that belongs to the open model: its result or error is delivered only if
        that model is still open, and opening another model cancels it."""
        generation = self.generation
        self._model_jobs.add(key)

        def current() -> bool:
            return generation == self.generation

        return self.jobs.start(
            key,
            function,
            *args,
            on_success=lambda result: on_success(result) if current() else None,
            on_error=lambda error: on_error(error) if current() else None,
        )

    def cancel(self) -> None:
        """Cancel the job in front (the one the progress bar shows)."""
        self.jobs.cancel_front()

    def cancel_all(self) -> None:
        self.jobs.cancel_all()

    def _cancelled(self, key: str) -> None:
        if key == "load":
            self.load_cancelled.emit(self._loading_path)
        elif key == "tflm":
            self.measurement_cancelled.emit()

    def measure(self) -> None:
        """Measure the open model in TFLM (again): after a cancel, or to repeat the check."""
        if self.model is not None:
            self.start_for_model("tflm", _measure, self.model, on_success=self._measured, on_error=self._measure_failed)

    def _load_failed(self, path: str, error: WorkbenchError) -> None:
        if isinstance(error, UnsafeModelError):
            self.unsafe_model.emit(path, error)
        else:
            self.load_failed.emit(path, error)
            self.error.emit(error)

    def _loaded(self, result: tuple[Model, Analysis], allow_unsafe: bool = False) -> None:
        for key in self._model_jobs:  # work for the model this one replaces
            self.jobs.cancel(key)
        self._model_jobs.clear()
        self.generation += 1
        self.model, self.analysis = result
        self.code_allowed = allow_unsafe
        self.variants, self.chosen_variant = [], None
        self.variants_changed.emit()
        self.model_changed.emit(self.model)
        self.analysis_changed.emit(self.analysis)
        self.measure()

    def _measured(self, report: TflmReport) -> None:
        if self.analysis is not None:
            self.analysis.tflm = report
            self.analysis_changed.emit(self.analysis)

    def _measure_failed(self, error: WorkbenchError) -> None:
        self.error.emit(error)

    def add_variant(self, variant: Variant, generation: int) -> bool:
        """Add a verified variant of the model of `generation`; False (and dropped) when another
        model has opened since."""
        if generation != self.generation:
            return False
        self.variants.append(variant)
        self.variants_changed.emit()
        return True

    def unsaved_variants(self) -> list[Variant]:
        """Verified variants of the open model that were never saved to a file."""
        return [v for v in self.variants if getattr(v, "saved_to", None) is None]

    def choose_variant(self, variant: Variant | None) -> None:
        self.chosen_variant = variant
        self.variants_changed.emit()

    def set_board(self, board_id: str | None) -> None:
        self.board = self.catalog.boards.get(board_id) if board_id else None
        self.board_changed.emit(self.board)

    def fit(self) -> Fit | None:
        if self.board is None or self.analysis is None:
            return None
        return analysis_fit(self.analysis, self.board)
