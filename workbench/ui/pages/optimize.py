"""The Optimize page: settings on the left, instant estimates, the verified result, accuracy,
per-layer error and the compare table on the right.

Every change re-estimates at once (analytic, milliseconds); after the settings rest for a
moment a verified conversion starts in a child process, superseding any older one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.analysis import Analysis
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.optimize.convert import Variant, optimize_model
from workbench.optimize.data import Dataset, load_dataset
from workbench.optimize.estimate import Estimate, estimate, expert_savings
from workbench.optimize.plan import Plan, plan_problems
from workbench.ui.session import Session
from workbench.ui.widgets.cards import BAD, GOOD, MUTED, Card, Gauge
from workbench.ui.widgets.optimize_settings import OptimizeSettings
from workbench.ui.widgets.variant_views import (
    Caption,
    CompareTable,
    ConfusionMatrix,
    LayerErrorChart,
    accuracy_text,
)
from workbench.units import kb

SETTLE_MS = 700  # how long settings rest before a verified conversion starts


class OptimizePage(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.data: dict[str, Dataset | None] = {"calibration": None, "evaluation": None, "train": None}
        self.last_estimate: Estimate | None = None
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
        self.flash_card = Card("Flash (estimate)", "What the optimized model will take in flash")
        self.arena_card = Card("Arena (estimate)", "Working memory TFLM will need")
        self.compressed_card = Card("Compressed (estimate)", "What a zip or an OTA update carries")
        self.flash_gauge = Gauge("Flash")
        self.ram_gauge = Gauge("RAM (arena)")
        gauges = QWidget()
        gauge_layout = QVBoxLayout(gauges)
        gauge_layout.setContentsMargins(0, 0, 0, 0)
        self.board_label = QLabel("")
        self.board_label.setObjectName("cardDetail")
        gauge_layout.addWidget(self.board_label)
        gauge_layout.addWidget(self.flash_gauge)
        gauge_layout.addWidget(self.ram_gauge)
        cards = QHBoxLayout()
        for widget in (self.flash_card, self.arena_card, self.compressed_card):
            cards.addWidget(widget, 1)
        cards.addWidget(gauges, 1)

        self.result_card = Card("Verified result", "Converted in the background and measured by TFLM")
        self.convert_button = QPushButton("Convert now")
        self.convert_button.setToolTip("Start the verified conversion without waiting")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.convert_button)
        self.result_card.layout().addLayout(row)
        self.accuracy = QLabel("")
        self.accuracy.setWordWrap(True)
        self.confusion = ConfusionMatrix()
        self.layer_error = LayerErrorChart()
        self.compare = CompareTable()
        self.use_button = QPushButton("Use for Deploy")
        self.use_button.setToolTip("Carry the selected variant to the Deploy step")
        self.save_button = QPushButton("Save as .tflite…")
        self.save_button.setShortcut("Ctrl+S")
        for button in (self.use_button, self.save_button):
            button.setEnabled(False)
        compare_box = QWidget()
        compare_layout = QVBoxLayout(compare_box)
        compare_layout.setContentsMargins(0, 0, 0, 0)
        compare_layout.addWidget(self.compare, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.save_button)
        compare_layout.addLayout(buttons)

        details = QTabWidget()
        accuracy_box = QWidget()
        accuracy_layout = QVBoxLayout(accuracy_box)
        accuracy_layout.addWidget(self.accuracy)
        self.confusion_box = Caption("Confusion matrix (optimized)", self.confusion)
        accuracy_layout.addWidget(self.confusion_box, 1)
        accuracy_layout.addStretch(0)
        details.addTab(accuracy_box, "Accuracy")
        details.addTab(self.layer_error, "Per-layer error")
        details.addTab(compare_box, "Compare variants")
        self.details = details

        right = QWidget()
        grid = QGridLayout(right)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.problem, 1, 0, 1, 2)
        grid.addLayout(cards, 2, 0, 1, 2)
        grid.addWidget(self.result_card, 3, 0, 1, 2)
        grid.addWidget(details, 4, 0, 1, 2)
        grid.setRowStretch(4, 1)
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
        self.settings.plan_changed.connect(self.plan_changed)
        self.pickers = {
            "calibration": self.settings.calibration,
            "evaluation": self.settings.evaluation,
            "train": self.settings.training,
        }
        for name, picker in self.pickers.items():
            picker.changed.connect(lambda path, n=name: self._data_chosen(n, path))
        self.convert_button.clicked.connect(self.convert)
        self.compare.variant_selected.connect(self._variant_selected)
        self.use_button.clicked.connect(self._use)
        self.save_button.clicked.connect(self._save)
        session.model_changed.connect(self._model_changed)
        session.analysis_changed.connect(self._analysis_changed)
        session.board_changed.connect(lambda _: self._show_estimate())
        session.variants_changed.connect(self._variants_changed)
        if session.model is not None:
            self._model_changed(session.model)
        self._show_result(None)

    # -- inputs ---------------------------------------------------------------------------
    def _model_changed(self, model: Model) -> None:
        self.title.setText(f"Optimize {model.name}")
        self.data = dict.fromkeys(self.data)
        for picker in self.pickers.values():
            picker.clear_quietly()
        self.settings.set_model_format(model.format)
        self._show_result(None)

    def _analysis_changed(self, analysis: Analysis) -> None:
        self.refresh_estimate()

    def _data_chosen(self, name: str, path: str | None) -> None:
        model = self.session.model
        if path is None or model is None:
            self.data[name] = None
        else:
            graph = model.graph.main
            try:
                self.data[name] = load_dataset(
                    path, graph.tensors[graph.inputs[0]].shape, graph.tensors[graph.outputs[0]].elements
                )
            except WorkbenchError as error:
                self.data[name] = None
                self.pickers[name].clear_quietly()
                self.session.error.emit(error)
        self.settings.refresh()

    # -- estimate (instant) ---------------------------------------------------------------
    def plan_changed(self, plan: Plan) -> None:
        self.refresh_estimate(plan)
        if self.session.model is not None and not self._problems(plan):
            self.timer.start()

    def _problems(self, plan: Plan) -> list[str]:
        model = self.session.model
        return plan_problems(plan, model.format) if model else ["Open a model first."]

    def refresh_estimate(self, plan: Plan | None = None) -> None:
        plan = plan or self.settings.plan()
        model, analysis = self.session.model, self.session.analysis
        problems = self._problems(plan)
        self.problem.setText(f"<span style='color:{BAD}'>⚠ {problems[0]}</span>" if problems else "")
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
        board = self.session.board
        if board is None:
            self.board_label.setText("Choose a board on the Inspect page to see the fit.")
            self.flash_gauge.set(None, "")
            self.ram_gauge.set(None, "")
            return
        self.board_label.setText(board.name)
        self.flash_gauge.set(
            100.0 * value.flash_bytes / board.flash_bytes, f"{kb(value.flash_bytes)} of {board.flash_kb} KB"
        )
        if value.arena_bytes:
            self.ram_gauge.set(
                100.0 * value.arena_bytes / board.ram_bytes, f"{kb(value.arena_bytes)} of {board.ram_kb} KB"
            )

    # -- verified conversion --------------------------------------------------------------
    def convert(self) -> None:
        self.timer.stop()
        model, analysis = self.session.model, self.session.analysis
        plan = self.settings.plan()
        if model is None or analysis is None or self._problems(plan):
            return
        self.result_card.set(
            "converting…",
            f"{plan.describe(model.format)} - in the background; keep changing settings or press Esc to cancel",
            MUTED,
        )
        generation = self.session.generation
        self.session.start_for_model(
            "convert",
            _convert,
            model,
            analysis,
            plan,
            self.data["calibration"],
            self.data["evaluation"],
            self.data["train"],
            on_success=lambda variant: self._converted(variant, generation),
            on_error=self._failed,
        )

    def _converted(self, variant: Variant, generation: int) -> None:
        if self.session.add_variant(variant, generation):
            self.session.choose_variant(variant)
            self._show_result(variant)

    def _failed(self, error: WorkbenchError) -> None:
        self.result_card.set("failed", error.message, BAD)

    def _show_result(self, variant: Variant | None) -> None:
        if variant is None:
            self.result_card.set("-", "Change a setting to start a verified conversion.", MUTED)
            self.accuracy.setText("")
            self.confusion.show_matrix(None)
            self.confusion_box.hide()
            self.layer_error.show_layers([])
            return
        actual = variant.actual
        tflm = variant.analysis.tflm
        runs = tflm is not None and tflm.compatible
        detail = (
            f"{variant.label}: flash {actual.flash_bytes:,} B (estimate off by "
            f"{variant.flash_error_pct:+.1f}%), arena {kb(actual.arena_bytes)}, compressed "
            f"{kb(actual.compressed_bytes)}. "
            + (
                "Runs on TFLM."
                if runs
                else "Will NOT run on TFLM" + (f": {tflm.problems[0].message}." if tflm and tflm.problems else ".")
            )
        )
        if variant.plan.sparsity:
            detail += f" {variant.sparsity:.0%} of weights are zero: flash unchanged, compressed size smaller."
        for warning in variant.warnings:
            detail += f" ⚠ {warning}"
        self.result_card.set(kb(actual.flash_bytes), detail, GOOD if runs else BAD)
        self.accuracy.setText(accuracy_text(variant))
        confusion = (variant.evaluation or {}).get("confusion", {})
        self.confusion.show_matrix(confusion.get("optimized"))
        self.confusion_box.setVisible(bool(confusion.get("optimized")))
        self.layer_error.show_layers(variant.per_layer)

    # -- compare, choose, save ------------------------------------------------------------
    def _variants_changed(self) -> None:
        self.compare.show_variants(self.session.variants, self.session.chosen_variant)
        has = self.session.chosen_variant is not None
        self.use_button.setEnabled(has)
        self.save_button.setEnabled(has)

    def _variant_selected(self, row: int) -> None:
        if 0 <= row < len(self.session.variants):
            variant = self.session.variants[row]
            self.session.choose_variant(variant)
            self._show_result(variant)

    def _use(self) -> None:
        variant = self.session.chosen_variant
        if variant is not None:
            self.session.choose_variant(variant)
            self.window().statusBar().showMessage(f"{variant.label} will be used in Deploy", 8000)

    def _save(self) -> None:
        variant = self.session.chosen_variant
        model = self.session.model
        if variant is None or model is None:
            return
        suggested = str(model.path.with_name(f"{model.path.stem}_{variant.plan.quant}.tflite"))
        path, _ = QFileDialog.getSaveFileName(self, "Save the optimized model", suggested, "TFLite (*.tflite)")
        if path:
            try:
                saved = variant.save(Path(path))
            except WorkbenchError as error:
                self.session.error.emit(error)
                return
            self.window().statusBar().showMessage(f"Saved {saved}", 8000)


def _convert(
    model: Model,
    analysis: Analysis,
    plan: Plan,
    calibration: Dataset | None,
    evaluation: Dataset | None,
    train: Dataset | None,
    task,
) -> Variant:  # type: ignore[no-untyped-def]
    return optimize_model(model, analysis, plan, calibration=calibration, evaluation=evaluation, train=train, task=task)
