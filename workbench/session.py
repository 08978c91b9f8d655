"""The state of the app, in plain Python: what is open, chosen and running, with events to follow it.

Everything the app knows lives here, not in a window: the open model (its path, content hash and
`generation`), its analysis, the board, the Optimize plan, the verified variants and the chosen
one, the deploy target, the monitor connection, and the jobs running for each. The GUI's pages
read it and write it through its methods and subscribe to its events (`workbench.ui.session`
re-emits them as Qt signals); the CLI and the tests drive the same calls without Qt.

Each model that opens gets a new `generation`. A job started for the open model is recorded with
that generation; opening another model drops those jobs (`stale_jobs` names them, so whoever runs
them cancels them) and any result that later arrives for an older generation is refused.

`to_json()` is plain JSON (a project file, workbench.project, is this serialisation); `restore(data)`
reads the settings back and returns the model path to open again, since the model itself is never
serialised (workbench.project brings its variants back once it is open).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.boards import Board, BoardCatalog
from workbench.core.errors import WorkbenchError
from workbench.core.files import file_sha256
from workbench.core.fit import Fit, analysis_fit
from workbench.optimize.plan import Plan

if TYPE_CHECKING:
    from workbench.core.analysis import Analysis
    from workbench.core.model import Model
    from workbench.core.tflm import TflmReport
    from workbench.optimize.convert import Variant

FORMAT_VERSION = 1


class Event:
    """Callbacks called in the order they connected, with what is emitted."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> Callable[..., None]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *values: Any) -> None:
        for callback in list(self._callbacks):
            callback(*values)


@dataclass(frozen=True)
class DeployTarget:
    """Where Deploy sends the model: an export format and folder, or a port and flasher."""

    format: str = "c"
    folder: str = ""
    port: str = ""
    flasher: str = ""  # "" is the board's own flasher


@dataclass(frozen=True)
class MonitorConnection:
    """What Monitor reads: a port at a baud rate in a format, where it records, and the board it
    started itself ("virtual" or "emulated <board>"; "" for a real port)."""

    port: str = ""
    baud: int = 115200
    format: str = "auto"
    recording: str = ""
    board: str = ""
    connected: bool = False


class Session:
    """The app's state; see the module's docstring."""

    def __init__(self, catalog: BoardCatalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else BoardCatalog()
        self.model: Model | None = None
        self.model_file_sha256 = ""  # of the open model's file as it was read
        self.analysis: Analysis | None = None
        self.code_allowed = False  # the person allowed the open model's code (Lambda layers) to run
        self.generation = 0
        self.board: Board | None = None
        self.plan = Plan()
        self.variants: list[Variant] = []  # every verified optimization of the open model
        self.chosen_variant: Variant | None = None  # the one to carry to Deploy
        self.in_project: list[Variant] = []  # variants kept in the project file last saved or opened
        self.target = DeployTarget()
        self.monitor = MonitorConnection()
        self.jobs: dict[str, int | None] = {}  # running job -> the generation it is for (None: no model's)
        self.loading_path = ""

        self.model_loading = Event()  # path
        self.model_changed = Event()  # Model
        self.analysis_ready = Event()  # Analysis (again when TFLM's results arrive)
        self.board_changed = Event()  # Board | None
        self.plan_changed = Event()  # Plan
        self.variant_added = Event()  # Variant
        self.variants_changed = Event()  # (a variant added, the chosen one changed, the list emptied)
        self.target_changed = Event()  # DeployTarget
        self.monitor_changed = Event()  # MonitorConnection
        self.jobs_changed = Event()  # (a job started or ended)
        self.stale_jobs = Event()  # list[str]: jobs of the model just replaced, to cancel

    # -- the model ---------------------------------------------------------------------------

    @property
    def model_path(self) -> Path | None:
        return self.model.path if self.model is not None else None

    @property
    def model_hash(self) -> str:
        """sha256 of the open model's TFLite bytes ("" when none is open)."""
        return hashlib.sha256(self.model.tflite).hexdigest() if self.model is not None else ""

    def loading(self, path: str | Path) -> None:
        self.loading_path = str(path)
        self.model_loading.emit(self.loading_path)

    def model_opened(self, model: Model, analysis: Analysis, code_allowed: bool = False, file_sha256: str = "") -> int:
        """The model that is now open, with its analysis (and the sha256 of its file as it was read,
        which a project keeps; taken at saving when not given); returns its generation. The
        variants of the one it replaces go, and its jobs are named in `stale_jobs`."""
        stale = [key for key, generation in self.jobs.items() if generation is not None]
        for key in stale:
            del self.jobs[key]
        self.generation += 1
        self.model, self.analysis, self.code_allowed = model, analysis, code_allowed
        self.model_file_sha256 = file_sha256
        self.variants, self.chosen_variant, self.in_project = [], None, []
        if stale:
            self.stale_jobs.emit(stale)
            self.jobs_changed.emit()
        self.variants_changed.emit()
        self.model_changed.emit(model)
        self.analysis_ready.emit(analysis)
        return self.generation

    def current(self, generation: int) -> bool:
        """True while the model of `generation` is still the open one."""
        return generation == self.generation

    def measured(self, report: TflmReport, generation: int) -> bool:
        """TFLM's results for the model of `generation`; False (and dropped) when another opened since."""
        if not self.current(generation) or self.analysis is None:
            return False
        self.analysis.tflm = report
        self.analysis_ready.emit(self.analysis)
        return True

    # -- jobs ----------------------------------------------------------------------------------

    def job_started(self, key: str, for_model: bool = False) -> int:
        """Record a running job (for the open model when `for_model`); returns the generation it is for."""
        self.jobs[key] = self.generation if for_model else None
        self.jobs_changed.emit()
        return self.generation

    def job_ended(self, key: str) -> None:
        if key in self.jobs:
            del self.jobs[key]
            self.jobs_changed.emit()

    # -- board, plan, variants -----------------------------------------------------------------

    def set_board(self, board_id: str | None) -> None:
        """Choose a board of the catalog by id (None: no board); an unknown id is a WorkbenchError."""
        self.board = self.catalog.get(board_id) if board_id else None
        self.board_changed.emit(self.board)

    def set_catalog(self, catalog: BoardCatalog) -> None:
        """A new board catalog (plugins reloaded): the chosen board is kept by id while it exists."""
        self.catalog = catalog
        chosen = self.board.id if self.board is not None else None
        self.set_board(chosen if chosen in catalog.boards else None)

    def fit(self) -> Fit | None:
        if self.board is None or self.analysis is None:
            return None
        return analysis_fit(self.analysis, self.board)

    def set_plan(self, plan: Plan) -> None:
        if plan != self.plan:
            self.plan = plan
            self.plan_changed.emit(plan)

    def add_variant(self, variant: Variant, generation: int) -> bool:
        """Add a verified variant of the model of `generation`; False (and dropped) when another
        model has opened since."""
        if not self.current(generation):
            return False
        self.variants.append(variant)
        self.variant_added.emit(variant)
        self.variants_changed.emit()
        return True

    def choose_variant(self, variant: Variant | None) -> None:
        """Carry `variant` to Deploy (None: the open model as it is); it must be one of the variants."""
        if variant is not None and not any(v is variant for v in self.variants):
            raise WorkbenchError("that optimized model belongs to another model", "Optimize the open model again.")
        self.chosen_variant = variant
        self.variants_changed.emit()

    def unsaved_variants(self) -> list[Variant]:
        """Verified variants of the open model that were never saved, to a .tflite or in a project."""
        kept = {id(v) for v in self.in_project}
        return [v for v in self.variants if v.saved_to is None and id(v) not in kept]

    def project_saved(self) -> None:
        """The variants as they are now are kept in a project file (saved or just opened)."""
        self.in_project = list(self.variants)

    # -- deploy and monitor --------------------------------------------------------------------

    def set_target(self, **changes: Any) -> DeployTarget:
        """Change fields of the deploy target (format, folder, port, flasher)."""
        return self._update("target", changes, self.target_changed)  # type: ignore[no-any-return]

    def set_monitor(self, **changes: Any) -> MonitorConnection:
        """Change fields of the monitor connection (port, baud, format, recording, board, connected)."""
        return self._update("monitor", changes, self.monitor_changed)  # type: ignore[no-any-return]

    def _update(self, name: str, changes: dict[str, Any], event: Event) -> Any:
        """Attribute `name` with `changes` (a TypeError for a field it lacks); `event` is told,
        once the attribute holds it, when it differs."""
        current = getattr(self, name)
        updated = replace(current, **changes)
        if updated != current:
            setattr(self, name, updated)
            event.emit(updated)
        return updated

    # -- the project file ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The session as plain JSON: paths, content hashes, ids and settings, and each verified
        variant whole (figures and .tflite, see optimize.convert.variant_record); never the model."""
        from workbench.optimize.convert import variant_record

        chosen = next((i for i, v in enumerate(self.variants) if v is self.chosen_variant), None)
        path = self.model_path
        return {
            "version": FORMAT_VERSION,
            "model": {
                "path": str(path.resolve()) if path else None,
                "sha256": self.model_hash,
                "file_sha256": self.model_file_sha256 or (file_sha256(path) if path else ""),
            },
            "board": self.board.id if self.board is not None else None,
            "plan": self.plan.to_json(),
            "variants": [variant_record(v) for v in self.variants],
            "chosen_variant": chosen,
            "target": asdict(self.target),
            "monitor": {**asdict(self.monitor), "connected": False},
        }

    def restore(self, data: dict[str, Any]) -> str | None:
        """Take back the board, plan, target and monitor settings of `to_json()`; returns the model
        path to open again (None when none was open). Unknown keys are ignored; a board no longer
        in the catalog is left unchosen."""
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise WorkbenchError("this is not a workbench session file, or one of a newer version")
        board = data.get("board")
        self.set_board(board if board in self.catalog.boards else None)
        self.set_plan(Plan(**known_fields(Plan, data.get("plan", {}))))
        self.set_target(**known_fields(DeployTarget, data.get("target", {})))
        self.set_monitor(**{**known_fields(MonitorConnection, data.get("monitor", {})), "connected": False})
        path = (data.get("model") or {}).get("path")
        return str(path) if path else None


def known_fields(kind: type, values: Any) -> dict[str, Any]:
    """The entries of `values` that are fields of the dataclass `kind`."""
    names = {f.name for f in fields(kind)}
    return {key: value for key, value in values.items() if key in names} if isinstance(values, dict) else {}
