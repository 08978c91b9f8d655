"""The Optimize page: settings on the left, instant estimates, the verified result, accuracy,
per-layer error and the compare table on the right.

Every change re-estimates at once (analytic, milliseconds). A verified conversion (a child
process) starts only from the person: a change they make here, once the settings rest for a
moment, or 'Convert now' (F5) - never from a model opening. Data files are read as jobs, and
data shipped beside a model (`<stem>_calib.npz`, `<stem>_eval.npz`) is preselected. The same
settings on the same data show the earlier result again instead of converting twice.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core import fit as board_fit
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.optimize.convert import Variant, optimize_model, tflite_path
from workbench.optimize.data import Dataset, data_beside, load_dataset
from workbench.optimize.estimate import Estimate, estimate, expected_runs_on_tflm, expert_savings
from workbench.optimize.plan import Plan, data_roles, plan_problems
from workbench.ui.session import Session
from workbench.ui.settings import settings
from workbench.ui.widgets import save_dialog
from workbench.ui.widgets.cards import BAD, MUTED, Card
from workbench.ui.widgets.fit_card import FitCard
from workbench.ui.widgets.optimize_results import VerifiedResults
from workbench.ui.widgets.optimize_settings import OptimizeSettings
from workbench.units import kb

SETTLE_MS = 700  # how long the person's changes rest before a verified conversion starts
ROLES = ("calibration", "evaluation", "train")


class OptimizePage(QWidget):
    deploy_requested = Signal()  # 'Use for Deploy': the chosen variant goes to the Deploy page

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.last_estimate: Estimate | None = None
        self.shown: Variant | None = None  # the verified variant the result card shows
        self._results: dict[tuple[object, ...], Variant] = {}  # settings + data -> its variant
        self._converting: tuple[object, ...] | None = None  # key of the conversion running
        self._loading: set[str] = set()  # data roles being read
        self._convert_after_load = False
        self.settings = OptimizeSettings()
        scroll = QScrollArea()
        scroll.setWidget(self.settings)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(440)

        self.title = QLabel("Optimize")
        self.title.setObjectName("pageTitle")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.notice = QLabel("")
        self.notice.setObjectName("cardDetail")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.flash_card = Card("Flash (estimate)", "What the optimized model will take in flash")
        self.arena_card = Card("Arena (estimate)", "Working memory (RAM) TFLM will need")
        self.compressed_card = Card("Compressed (estimate)", "What a zip or an OTA update carries")
        self.fit_card = FitCard()
        cards = QHBoxLayout()
        for widget in (self.flash_card, self.arena_card, self.compressed_card):
            cards.addWidget(widget, 2)
        cards.addWidget(self.fit_card, 3)

        self.results = results = VerifiedResults()
        self.result_card, self.details, self.compare = results.result_card, results.details, results.compare
        self.convert_button, self.deploy_button = results.convert_button, results.deploy_button
        self.use_button, self.save_button = results.use_button, results.save_button
        self.accuracy, self.confusion, self.confusion_box = results.accuracy, results.confusion, results.confusion_box
        self.layer_error = results.layer_error

        right = QWidget()
        grid = QGridLayout(right)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.problem, 1, 0, 1, 2)
        grid.addWidget(self.notice, 2, 0, 1, 2)
        grid.addLayout(cards, 3, 0, 1, 2)
        grid.addWidget(self.result_card, 4, 0, 1, 2)
        grid.addWidget(self.details, 5, 0, 1, 2)
        grid.setRowStretch(5, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setSizes([450, 990])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(split)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self.convert)
        self.settings.plan_changed.connect(self.refresh_estimate)
        self.settings.plan_changed.connect(session.state.set_plan)
        self.settings.edited.connect(self._edited)
        self.pickers = self.settings.pickers
        for role, picker in self.pickers.items():
            picker.chosen.connect(lambda path, r=role: self.load_data(r, path, by_person=True))
        self.convert_button.clicked.connect(self.convert)
        self.compare.variant_selected.connect(self._variant_selected)
        self.use_button.clicked.connect(lambda: self._use())
        self.deploy_button.clicked.connect(lambda: self._use(self.shown))
        self.save_button.clicked.connect(self._save)
        session.model_changed.connect(self._model_changed)
        session.analysis_changed.connect(lambda _analysis: self.refresh_estimate())
        session.board_changed.connect(lambda _board: self._show_fit())
        session.variants_changed.connect(self._variants_changed)
        session.jobs.busy_changed.connect(self._jobs_changed)
        session.jobs.progress.connect(self._progress)
        self.convert_button.setEnabled(session.model is not None)
        if session.model is not None:
            self._model_changed(session.model)
        self._show_result(None)

    def _say(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    # -- the open model and its data ----------------------------------------------------------
    def _model_changed(self, model: Model) -> None:
        """A new model keeps the person's settings; its own data beside it is preselected, and
        data chosen before stays when it fits the new model's input."""
        self.timer.stop()
        self.convert_button.setEnabled(True)
        self._results.clear()
        self._converting, self._convert_after_load = None, False
        self._loading.clear()
        self.title.setText(f"Optimize {model.name}")
        self._say(self.notice, "")
        self.settings.set_model_format(model.format)
        shape, outputs = _io(model)
        beside = data_beside(model.path)
        set_aside = []
        for role, picker in self.pickers.items():
            picker.start_dir = str(model.path.parent)
            current = self.settings.data[role]
            if role in beside:
                self.load_data(role, str(beside[role]), by_person=False)
            elif current is not None and not current.fits(shape, outputs):
                self.settings.set_data(role, None)
                set_aside.append(current.name)
        if set_aside:
            self._say(self.notice, f"Set aside {', '.join(set_aside)}: it does not fit {model.name}'s input.")
        self._show_result(None)

    def load_data(self, role: str, path: str | None, by_person: bool = True) -> None:
        """Read a data file (or image folder) for `role` as a job; None drops that role's data.
        A change the person makes starts a verified conversion once the data is read."""
        model = self.session.model
        if model is None:
            return
        if path is None:
            self.session.jobs.cancel(f"data:{role}")
            self._loading.discard(role)
            self.settings.set_data(role, None)
            if by_person:
                self._edited()
            return
        shape, outputs = _io(model)
        self.session.start_for_model(
            f"data:{role}",
            load_dataset,
            path,
            shape,
            outputs,
            on_success=lambda dataset: self._data_loaded(role, dataset, by_person),
            on_error=lambda error: self._data_failed(role, error),
        )
        # After start: a load this one supersedes has already been noticed as ended.
        self.pickers[role].show_loading(path)
        self._loading.add(role)

    def _data_loaded(self, role: str, dataset: Dataset, by_person: bool) -> None:
        self._loading.discard(role)
        self.settings.set_data(role, dataset)
        if self.shown is None and self._converting is None:
            self._show_result(None)  # say what 'Convert now' will measure on
        if by_person:
            self._edited()
        elif self._convert_after_load and not self._loading:
            self.convert()

    def _data_failed(self, role: str, error: WorkbenchError) -> None:
        self._loading.discard(role)
        self.settings.set_data(role, self.settings.data[role])  # what was there before stays
        self._convert_after_load = False
        self.session.error.emit(error)

    def _jobs_changed(self, _busy: bool) -> None:
        """Notice work that ended without a result: cancelled (Esc) or superseded."""
        for role in list(self._loading):
            if not self.session.jobs.running(f"data:{role}"):
                self._loading.discard(role)
                self.settings.set_data(role, self.settings.data[role])
        if self._converting is not None and not self.session.jobs.running("convert"):
            self._converting = None
            self.result_card.set("cancelled", "Press Convert now (F5) to start again.", MUTED)

    # -- estimate (instant) ---------------------------------------------------------------
    def _edited(self) -> None:
        """The person changed a setting or the data: convert once things rest."""
        if self.session.model is not None and not self._problems(self.settings.plan()):
            self.timer.start()

    def _problems(self, plan: Plan) -> list[str]:
        model = self.session.model
        return plan_problems(plan, model.format) if model else ["Open a model first."]

    def refresh_estimate(self, plan: Plan | None = None) -> None:
        plan = plan or self.settings.plan()
        model, analysis = self.session.model, self.session.analysis
        problems = self._problems(plan) if model else []
        self._say(self.problem, f"<span style='color:{BAD}'>⚠ {problems[0]}</span>" if problems else "")
        if model is None or analysis is None or problems:
            self.last_estimate = None
        else:
            self.last_estimate = estimate(model, analysis, plan)
            saved = expert_savings(model, analysis, plan)
            self.settings.expert_note.setText(
                f"Dropping names, signatures and metadata saves {kb(saved['strip'])}. "
                + (
                    f"Per-tensor dense quantization saves {kb(saved['per_tensor_dense'])} of per-channel "
                    "scales and zero points."
                    if plan.quant in ("int8", "int16x8", "dynamic")
                    else "Per-tensor dense applies to quantized models only."
                )
            )
        self._show_estimate()

    def _show_estimate(self) -> None:
        value = self.last_estimate
        analysis = self.session.analysis
        if value is None or analysis is None:
            for card in (self.flash_card, self.arena_card, self.compressed_card):
                card.set("-", "")
            self._show_fit()
            return
        change = (value.flash_bytes - analysis.size_bytes) / analysis.size_bytes
        source = "the original" if self.session.model and self.session.model.format == "tflite" else "float"
        self.flash_card.set(
            kb(value.flash_bytes),
            f"same as {source}" if round(change, 3) == 0 else f"{change:+.0%} vs {source}".replace("-", "−"),
        )
        self.arena_card.set(
            kb(value.arena_bytes),
            "estimate; measured after conversion" if value.arena_bytes else "measuring the float model…",
        )
        self.compressed_card.set(kb(value.compressed_bytes), "zip / OTA size")
        self._show_fit()
        self._title_result()

    def _title_result(self) -> None:
        """Say when the verified result on show is of other settings than the current ones."""
        shown = self.shown
        if shown is None or shown.plan == self.settings.plan():
            self.result_card.title.setText("VERIFIED RESULT")
        else:
            self.result_card.title.setText(f"VERIFIED RESULT OF {shown.label.upper()} (NOT THE CURRENT SETTINGS)")

    def _show_fit(self) -> None:
        """Flash and RAM against the board, and whether TFLM runs it: the verified figures when
        the result shown is of the current settings, else the estimate."""
        board = self.session.board
        plan = self.settings.plan()
        verified = self.shown if self.shown is not None and self.shown.plan == plan else None
        if board is None:
            self.fit_card.show_nothing("Choose a board on the Inspect page to see the fit.")
        elif verified is not None:
            runs, problem = verified.analysis.runs_on_tflm
            actual = verified.actual
            self.fit_card.show_fit(board_fit.fit(actual.flash_bytes, actual.arena_bytes, board, runs, problem), True)
        elif self.last_estimate is not None:
            runs, problem = expected_runs_on_tflm(plan, self.session.analysis)
            value = self.last_estimate
            self.fit_card.show_fit(board_fit.fit(value.flash_bytes, value.arena_bytes, board, runs, problem), False)
        else:
            self.fit_card.show_nothing()

    # -- verified conversion --------------------------------------------------------------
    def _key(self, plan: Plan) -> tuple[object, ...]:
        """Settings and the data they use: equal keys give the same result."""
        data = self.settings.data
        return (plan, tuple((role, data[role].fingerprint if data[role] else None) for role in data_roles(plan)))

    def convert(self) -> None:
        """Convert with the current settings and data, unless the same was already done."""
        self.timer.stop()
        model, analysis = self.session.model, self.session.analysis
        plan = self.settings.plan()
        if model is None or analysis is None:
            return
        problems = self._problems(plan)
        if problems:
            self.result_card.set("cannot convert", problems[0], BAD)
            return
        if self._loading:
            self._convert_after_load = True
            self.result_card.set("waiting for data…", "Converts as soon as the data is read.", MUTED)
            return
        self._convert_after_load = False
        key = self._key(plan)
        done = self._results.get(key)
        if done is not None and done in self.session.variants:
            row = self.session.variants.index(done) + 1
            self._say(self.notice, f"Same settings and data as row {row} of Compare variants: showing that result.")
            self.session.choose_variant(done)
            self._show_result(done)
            return
        if key == self._converting and self.session.jobs.running("convert"):
            return  # already converting exactly this
        data = {role: self.settings.data[role] if role in data_roles(plan) else None for role in ROLES}
        generation = self.session.generation
        self.session.start_for_model(
            "convert",
            partial(
                optimize_model,
                calibration=data["calibration"],
                evaluation=data["evaluation"],
                train=data["train"],
                allow_unsafe=self.session.code_allowed,
            ),
            model,
            analysis,
            plan,
            on_success=lambda variant: self._converted(variant, generation, key),
            on_error=self._failed,
        )
        self._converting = key  # after start: superseding the last one counts as cancelled there
        self._say(self.notice, "")
        self.result_card.set(
            "converting…",
            f"{plan.describe(model.format)} - in the background; keep changing settings, or press Esc to cancel",
            MUTED,
        )

    def _progress(self, key: str, fraction: float, status: str) -> None:
        if key == "convert" and self._converting is not None:
            self.result_card.detail.setText(f"{status} ({fraction:.0%}) - press Esc to cancel")

    def _converted(self, variant: Variant, generation: int, key: tuple[object, ...]) -> None:
        self._converting = None
        if self.session.add_variant(variant, generation):
            self._results[key] = variant
            self.session.choose_variant(variant)
            self._show_result(variant)

    def _failed(self, error: WorkbenchError) -> None:
        self._converting = None
        self.result_card.set("failed", error.message, BAD)
        self.session.error.emit(error)

    def _show_result(self, variant: Variant | None) -> None:
        self.shown = variant
        data = self.settings.data["evaluation"]
        self.results.show_variant(variant, data.name if data is not None else "")
        self._show_fit()
        self._title_result()

    # -- compare, choose, save ------------------------------------------------------------
    def _variants_changed(self) -> None:
        self.compare.show_variants(self.session.variants, self.session.chosen_variant)
        has = self.session.chosen_variant is not None
        self.use_button.setEnabled(has)
        self.save_button.setEnabled(has)
        if not self.session.variants and self.shown is not None:
            self._show_result(None)

    def _variant_selected(self, row: int) -> None:
        if 0 <= row < len(self.session.variants):
            variant = self.session.variants[row]
            self.session.choose_variant(variant)
            self._show_result(variant)

    def _use(self, shown: Variant | None = None) -> None:
        """Carry the chosen variant (or `shown`, the verified result on screen) to Deploy."""
        variant = shown or self.session.chosen_variant
        if variant is None:
            return
        runs, problem = variant.analysis.runs_on_tflm
        if runs is False:
            self.session.error.emit(
                WorkbenchError(
                    f"{variant.label} cannot go to a microcontroller: {problem or 'TFLM cannot run it'}",
                    "Choose a variant whose TFLM column says it runs (full int8 or 16x8), or convert one.",
                )
            )
            return
        self.session.choose_variant(variant)
        self.window().statusBar().showMessage(f"{variant.label} will be used in Deploy", 8000)
        self.deploy_requested.emit()

    def ask_save_path(self, suggested: Path) -> Path | None:
        return save_dialog.ask_save_path(self, suggested)

    def confirm_replace(self, path: Path) -> bool:
        return save_dialog.confirm_replace(self, path)

    def _save(self) -> None:
        variant = self.session.chosen_variant
        model = self.session.model
        if variant is None or model is None:
            return
        name = variant.plan.file_name(model.path.stem)
        path = self.ask_save_path(save_dialog.save_folder(settings(), model.path.parent) / name)
        if path is None:
            return
        if tflite_path(path) != path:  # what Variant.save writes: ask again if that name is taken
            path = tflite_path(path)
            if path.exists() and not self.confirm_replace(path):
                return
        try:
            saved = variant.save(path)
        except WorkbenchError as error:
            self.session.error.emit(error)
            return
        settings().setValue(save_dialog.LAST_FOLDER_KEY, str(saved.parent))
        self._variants_changed()
        self.window().statusBar().showMessage(f"Saved {saved}", 8000)


def _io(model: Model) -> tuple[list[int], int]:
    graph = model.graph.main
    return graph.tensors[graph.inputs[0]].shape, graph.tensors[graph.outputs[0]].elements
