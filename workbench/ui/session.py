"""The app's session on screen: the engine's `workbench.session.Session` (`state`), its events
re-emitted as Qt signals, and the jobs that fill it run by the GUI's job runner.

Pages read the state through this object and change it through its methods; they never talk to
each other. Loading a model runs in two jobs: the model and its graph figures first (the page
fills at once), then TFLM's pre-flight and arena measurement. Jobs started for a model with
`start_for_model` deliver their results only while that model is still the open one, and are
cancelled once another model has opened. A load that fails leaves the open model, and its jobs,
as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from workbench.core.analysis import Analysis, graph_figures
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.files import file_sha256
from workbench.core.fit import Fit
from workbench.core.loading import load_model
from workbench.core.model import Model
from workbench.core.tflm import TflmReport, check_tflm
from workbench.plugins import load_boards
from workbench.session import Session as State
from workbench.tasks import Task
from workbench.ui.workers import JobRunner

if TYPE_CHECKING:
    from workbench.optimize.convert import Variant


def _load(path: str, allow_unsafe: bool, task: Task) -> tuple[Model, Analysis, str]:
    """The model, its graph figures, and the sha256 of the file as it was read (projects keep it)."""
    model = load_model(path, allow_unsafe=allow_unsafe, task=task)
    return model, graph_figures(model), file_sha256(Path(path))


def _measure(model: Model, task: Task) -> TflmReport:
    return check_tflm(model, task)


class Session(QObject):
    model_loading = Signal(str)  # path
    model_changed = Signal(object)  # Model
    analysis_changed = Signal(object)  # Analysis (again when TFLM results arrive)
    board_changed = Signal(object)  # Board | None
    plan_changed = Signal(object)  # Plan
    target_changed = Signal(object)  # DeployTarget
    monitor_changed = Signal(object)  # MonitorConnection
    error = Signal(object)  # WorkbenchError
    load_failed = Signal(str, object)  # path, WorkbenchError: the open model (if any) stays
    load_cancelled = Signal(str)  # path: the open model (if any) stays
    measurement_cancelled = Signal()  # the open model's TFLM check was stopped; measure() restarts it
    unsafe_model = Signal(str, object)  # path, UnsafeModelError
    variants_changed = Signal()  # a verified variant was added, or the chosen one changed

    def __init__(self, parent: QObject | None = None, state: State | None = None) -> None:
        super().__init__(parent)
        self.state = state if state is not None else State(load_boards())
        self.jobs = JobRunner(self)
        self.jobs.unexpected.connect(self.error.emit)
        self.jobs.cancelled.connect(self._cancelled)
        self.jobs.started.connect(self.state.job_started)
        self.jobs.ended.connect(self.state.job_ended)
        for event, signal in (
            (self.state.model_loading, self.model_loading),
            (self.state.model_changed, self.model_changed),
            (self.state.analysis_ready, self.analysis_changed),
            (self.state.board_changed, self.board_changed),
            (self.state.plan_changed, self.plan_changed),
            (self.state.target_changed, self.target_changed),
            (self.state.monitor_changed, self.monitor_changed),
            (self.state.variants_changed, self.variants_changed),
        ):
            event.connect(signal.emit)
        self.state.stale_jobs.connect(self._cancel_jobs)

    # What the pages read: the state's, under the names they always had.
    model = property(lambda self: self.state.model)
    analysis = property(lambda self: self.state.analysis)
    board = property(lambda self: self.state.board)
    catalog = property(lambda self: self.state.catalog)
    variants = property(lambda self: self.state.variants)
    generation = property(lambda self: self.state.generation)
    code_allowed = property(lambda self: self.state.code_allowed)

    @property
    def chosen_variant(self) -> Variant | None:
        return self.state.chosen_variant

    @chosen_variant.setter
    def chosen_variant(self, variant: Variant | None) -> None:
        self.state.chosen_variant = variant

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
        self.state.loading(path)  # after start: a load it supersedes was cancelled under its own path

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

        def current() -> bool:
            return self.state.current(generation)

        job = self.jobs.start(
            key,
            function,
            *args,
            on_success=lambda result: on_success(result) if current() else None,
            on_error=lambda error: on_error(error) if current() else None,
        )
        if job is not None:
            self.state.job_started(key, for_model=True)
        return job

    def _cancel_jobs(self, keys: list[str]) -> None:
        for key in keys:
            self.jobs.cancel(key)

    def cancel(self) -> None:
        """Cancel the job in front (the one the progress bar shows)."""
        self.jobs.cancel_front()

    def cancel_all(self) -> None:
        self.jobs.cancel_all()

    def _cancelled(self, key: str) -> None:
        if key == "load":
            self.load_cancelled.emit(self.state.loading_path)
        elif key == "tflm":
            self.measurement_cancelled.emit()

    def measure(self) -> None:
        """Measure the open model in TFLM (again): after a cancel, or to repeat the check."""
        if self.model is not None:
            generation = self.generation
            self.start_for_model(
                "tflm",
                _measure,
                self.model,
                on_success=lambda report: self.state.measured(report, generation),
                on_error=self.error.emit,
            )

    def _load_failed(self, path: str, error: WorkbenchError) -> None:
        if isinstance(error, UnsafeModelError):
            self.unsafe_model.emit(path, error)
        else:
            self.load_failed.emit(path, error)
            self.error.emit(error)

    def _loaded(self, result: tuple[Model, Analysis, str], allow_unsafe: bool = False) -> None:
        model, analysis, file_sha256 = result
        self.state.model_opened(model, analysis, allow_unsafe, file_sha256=file_sha256)
        self.measure()

    def add_variant(self, variant: Variant, generation: int) -> bool:
        """Add a verified variant of the model of `generation`; False (and dropped) when another
        model has opened since."""
        return self.state.add_variant(variant, generation)

    def unsaved_variants(self) -> list[Variant]:
        """Verified variants of the open model that were never saved to a file."""
        return self.state.unsaved_variants()

    def choose_variant(self, variant: Variant | None) -> None:
        self.state.choose_variant(variant)

    def set_board(self, board_id: str | None) -> None:
        self.state.set_board(board_id)

    def fit(self) -> Fit | None:
        return self.state.fit()
