"""Try it: run the model on typed, pasted or file inputs, or pictures, and show what it predicts.

Every sample runs (a row each); the variant chosen on the Optimize page runs beside the original
in the same child process. A result never outlives what it answered: a new run, an error, another
model or another chosen variant clears it first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import WorkbenchError
from workbench.core.inference import (
    IMAGE_SUFFIXES,
    Prediction,
    image_input_shape,
    labels_for,
    parse_inputs,
    pixel_range,
    run_models,
)
from workbench.core.model import Model
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.convert import Variant
from workbench.optimize.try_inputs import Inputs, read_inputs, shipped_inputs
from workbench.ui.session import Session
from workbench.ui.widgets.cards import BAD, GOOD
from workbench.units import probability, shape

MAX_TEXT_VALUES = 20000  # inputs larger than this are not written into the editor


class TryItPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._shipped: Inputs | None = None  # samples shipped beside the model
        self._sample_index = 0
        self._loaded: Inputs | None = None  # what the editor holds, while it is unchanged
        self._loaded_text = ""
        self._variant_models: dict[int, Model] = {}
        self.hint = QLabel("Open a model to try it.")
        self.hint.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Type or paste input values, separated by commas (one sample per line)")
        self.editor.setMaximumHeight(110)
        self.preview = QLabel()
        self.preview.setFixedSize(96, 96)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.hide()
        self.source = QLabel("")
        self.source.setObjectName("cardDetail")
        self.source.setWordWrap(True)
        self.sample_button = QPushButton("Next sample")
        self.sample_button.setToolTip("Run the next sample shipped beside the model")
        self.all_button = QPushButton("All samples")
        self.all_button.setToolTip("Run every sample shipped beside the model, a row each")
        self.file_button = QPushButton("Open inputs…")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the inputs and the result")
        self.compare_box = QCheckBox("Also run the variant chosen on Optimize")
        self.compare_box.setChecked(True)
        self.compare_box.setToolTip("Run the optimized variant beside the original, on the same samples")
        self.run_button = QPushButton("Run  (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.result = QLabel("")
        self.result.setObjectName("prediction")
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.samples_table = QTableWidget(0, 0)
        self.samples_table.verticalHeader().hide()
        self.samples_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.samples_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.samples_table.setToolTip(
            "One row a sample: the top class and its probability. Select a row for all classes."
        )
        self.table = QTableWidget(0, 0)  # every output of the selected sample
        self.table.verticalHeader().hide()
        for table in (self.samples_table, self.table):
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        inputs_row = QHBoxLayout()
        inputs_row.addWidget(self.preview)
        inputs_row.addWidget(self.editor, 1)
        buttons = QHBoxLayout()
        for button in (self.sample_button, self.all_button, self.file_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.compare_box)
        buttons.addWidget(self.run_button)
        results = QSplitter(Qt.Orientation.Horizontal)
        results.addWidget(self.samples_table)
        results.addWidget(self.table)
        results.setSizes([500, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(inputs_row)
        layout.addWidget(self.source)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(results, 1)
        self.run_button.clicked.connect(self.run)
        self.sample_button.clicked.connect(self.run_next_sample)
        self.all_button.clicked.connect(self.all_samples)
        self.file_button.clicked.connect(self.open_inputs)
        self.clear_button.clicked.connect(self.clear)
        self.samples_table.itemSelectionChanged.connect(self._show_selected)
        self.compare_box.toggled.connect(lambda _checked: self._clear_result())
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        session.model_changed.connect(self.set_model)
        session.variants_changed.connect(self._variant_changed)
        session.jobs.busy_changed.connect(self._jobs_changed)
        self._filter = "Data (*.csv *.npy *.npz *.txt);;All files (*)"
        self._labels: list[str] = []
        self._runs: list[list[Prediction]] = []
        self._names: list[str] = []
        self._inputs: Inputs | None = None
        self._ran_variant: Variant | None = None
        self.set_model(session.model)

    # -- inputs ---------------------------------------------------------------------------
    def set_model(self, model: Model | None) -> None:
        enabled = model is not None
        for widget in (self.editor, self.run_button, self.file_button, self.clear_button):
            widget.setEnabled(enabled)
        self._clear_result()
        self._set_inputs(None)
        self._shipped = None
        self._sample_index = 0
        self._variant_models.clear()
        self._variant_changed()
        if model is None:
            self.sample_button.setEnabled(False)
            self.all_button.setEnabled(False)
            return
        tensor = model.graph.main.tensors[model.graph.main.inputs[0]]
        picture = image_input_shape(model)
        self.hint.setText(
            f"Input: {tensor.elements} values (shape {shape(tensor.shape)}, {tensor.dtype.lower()}). "
            "Float values are quantized for you when the model is integer."
            + (
                f" It takes a picture: open one and it is resized to {picture[2]}×{picture[1]}, "
                f"{'grey' if picture[3] == 1 else 'colour'}, pixels 0..{pixel_range(model):g}."
                if picture
                else ""
            )
        )
        filters = "Data (*.csv *.npy *.npz *.txt)"
        if picture:
            filters = f"Pictures or data (*.csv *.npy *.npz *.txt {' '.join('*' + s for s in IMAGE_SUFFIXES)})"
        self._filter = f"{filters};;All files (*)"
        self.file_button.setToolTip(
            "Open a .csv (one sample a row; labels in <name>_labels.txt beside it), .npy or .npz file"
            + (", or pictures" if picture else "")
        )
        self._shipped = shipped_inputs(model.path)
        self.sample_button.setEnabled(self._shipped is not None)
        self.all_button.setEnabled(self._shipped is not None)
        if self._shipped is not None:
            self.all_button.setText(f"All {len(self._shipped.samples)} samples")
            self.next_sample()

    def next_sample(self) -> None:
        shipped = self._shipped
        if shipped is None or not len(shipped.samples):
            return
        index = self._sample_index % len(shipped.samples)
        self._sample_index += 1
        expected = [shipped.expected[index]] if shipped.expected else None
        source = f"{shipped.source}: sample {index + 1} of {len(shipped.samples)}"
        self._set_inputs(Inputs(shipped.samples[index : index + 1], expected, source))

    def run_next_sample(self) -> None:
        """The 'Next sample' button: fill in the next shipped sample and run it."""
        self.next_sample()
        self.run()

    def all_samples(self) -> None:
        if self._shipped is not None:
            self._set_inputs(self._shipped)
            self.run()

    def open_inputs(self) -> None:
        model = self.session.model
        if model is None:
            return
        start = str(model.path.parent)
        paths, _ = QFileDialog.getOpenFileNames(self, "Open inputs", start, self._filter)
        if not paths:
            return
        self._clear_result()
        self.result.setText(f"Reading {Path(paths[0]).name}…")
        self.session.start_for_model(
            "try-inputs",
            read_inputs,
            paths,
            model,
            on_success=self._inputs_read,
            on_error=self._failed,
        )

    def _inputs_read(self, inputs: Inputs) -> None:
        self.result.setText("")
        self._set_inputs(inputs)

    def _set_inputs(self, inputs: Inputs | None) -> None:
        """Show loaded inputs: as text when small enough to read, else as their source only."""
        self._loaded = inputs
        self.preview.hide()
        if inputs is None:
            self._loaded_text = ""
            self.editor.setReadOnly(False)
            self.editor.clear()
            self.source.setText("")
            return
        if inputs.samples.size <= MAX_TEXT_VALUES and not inputs.pictures:
            text = "\n".join(", ".join(f"{v:g}" for v in row) for row in inputs.samples)
            self.editor.setReadOnly(False)
        else:
            text = f"# {len(inputs.samples)} sample(s) from {inputs.source}; Clear to type your own"
            self.editor.setReadOnly(True)
        self._loaded_text = text
        self.editor.setPlainText(text)
        count = len(inputs.samples)
        known = " with the expected answers" if inputs.expected else ""
        self.source.setText(f"{count} sample{'s' if count != 1 else ''} from {inputs.source}{known}")
        if inputs.pictures:
            pixmap = QPixmap(inputs.pictures[0])
            if not pixmap.isNull():
                self.preview.setPixmap(pixmap.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio))
                self.preview.show()

    def current_inputs(self) -> Inputs:
        """What Run runs: the loaded inputs while the editor still shows them, else the typed
        values. Raises WorkbenchError for text that is not numbers."""
        if self._loaded is not None and self.editor.toPlainText() == self._loaded_text:
            return self._loaded
        text = self.editor.toPlainText()
        if not text.strip():
            raise WorkbenchError("no input: type values, or open a file")
        return Inputs(parse_inputs(text), None, "typed values")

    def clear(self) -> None:
        self._set_inputs(None)
        self._clear_result()

    # -- running --------------------------------------------------------------------------
    def _variant(self) -> Variant | None:
        chosen = self.session.chosen_variant
        return chosen if chosen is not None and self.compare_box.isChecked() else None

    def _variant_model(self, variant: Variant, model: Model) -> Model:
        key = id(variant)
        if key not in self._variant_models:
            self._variant_models[key] = Model(
                path=model.path.with_name(variant.plan.file_name(model.path.stem)),
                format="tflite",
                tflite=variant.tflite,
                graph=parse_tflite(variant.tflite),
            )
        return self._variant_models[key]

    def run(self) -> None:
        model = self.session.model
        if model is None:
            return
        self._clear_result()
        try:
            inputs = self.current_inputs()
        except WorkbenchError as error:
            self._show_error(error.message)
            return
        models, names = [model], ["Original"]
        variant = self._variant()
        if variant is not None:
            models.append(self._variant_model(variant, model))
            names.append(variant.label)
        self.result.setText(f"Running {len(inputs.samples)} sample{'s' if len(inputs.samples) != 1 else ''}…")
        self.run_button.setEnabled(False)
        self.session.start_for_model(
            "try",
            run_models,
            models,
            inputs.samples,
            on_success=lambda runs: self._show(inputs, names, runs, variant),
            on_error=self._failed,
        )

    def _jobs_changed(self, _busy: bool) -> None:
        if not self.session.jobs.running("try") and not self.run_button.isEnabled() and self.session.model:
            self.run_button.setEnabled(True)
            if self.result.text().startswith("Running"):
                self.result.setText("Cancelled.")
                self.result.setStyleSheet("")

    def _failed(self, error: WorkbenchError) -> None:
        self.run_button.setEnabled(self.session.model is not None)
        self._show_error(error.message)
        self.session.error.emit(error)

    def _show_error(self, message: str) -> None:
        self._clear_result()
        self.result.setText(f"⚠ {message}")
        self.result.setStyleSheet(f"color: {BAD};")

    def _clear_result(self) -> None:
        self._runs, self._names, self._inputs, self._ran_variant = [], [], None, None
        self.result.clear()
        self.result.setStyleSheet("")
        for table in (self.samples_table, self.table):
            table.clear()
            table.setRowCount(0)
            table.setColumnCount(0)

    def _variant_changed(self) -> None:
        chosen = self.session.chosen_variant
        self.compare_box.setEnabled(chosen is not None)
        self.compare_box.setText(
            f"Also run {chosen.label} (chosen on Optimize)" if chosen else "Also run the variant chosen on Optimize"
        )
        if self._runs and self._ran_variant is not self._variant():
            self._clear_result()
            self.result.setText("The chosen variant changed: press Run to compare again.")

    # -- showing --------------------------------------------------------------------------
    def _show(self, inputs: Inputs, names: list[str], runs: list[list[Prediction]], variant: Variant | None) -> None:
        self.run_button.setEnabled(True)
        self._runs, self._names, self._inputs, self._ran_variant = runs, names, inputs, variant
        model = self.session.model
        labels = labels_for(Path(model.path)) if model else []
        self._labels = labels
        expected = inputs.expected
        headers = ["#"] + (["Expected"] if expected else []) + names
        self.samples_table.setColumnCount(len(headers))
        self.samples_table.setHorizontalHeaderLabels(headers)
        self.samples_table.setRowCount(len(inputs.samples))
        for row in range(len(inputs.samples)):
            cells = [str(row + 1)] + ([self._class_name(expected[row])] if expected else [])
            cells += [self._top(run[row]) for run in runs]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= len(cells) - len(runs):
                    prediction = runs[column - (len(cells) - len(runs))][row]
                    right = expected[row] if expected else runs[0][row].top_class
                    if len(prediction.outputs[0]) > 1 and prediction.top_class != right:
                        item.setForeground(QColor(BAD))
                self.samples_table.setItem(row, column, item)
        self.result.setText(self._summary(inputs, names, runs))
        self.samples_table.selectRow(0)

    def _class_name(self, index: int) -> str:
        return self._labels[index] if index < len(self._labels) else f"class {index}"

    def _top(self, prediction: Prediction) -> str:
        values = prediction.outputs[0]
        if len(values) == 1:
            return f"{values[0]:.4g}"
        top = prediction.top_class
        score = probability(values[top]) if prediction.is_distribution else f"{values[top]:.4g}"
        return f"{self._class_name(top)}  ({score})"

    def _summary(self, inputs: Inputs, names: list[str], runs: list[list[Prediction]]) -> str:
        first = runs[0][0]
        engines = {run[0].runtime for run in runs}
        where = (
            "ran on TFLM"
            if engines == {"tflm"}
            else "ran on "
            + ", ".join(
                f"{name}: {'TFLM' if run[0].runtime == 'tflm' else 'TensorFlow Lite (TFLM cannot run it)'}"
                for name, run in zip(names, runs, strict=True)
            )
        )
        if len(inputs.samples) == 1:
            if len(first.outputs[0]) > 1:
                text = f"Prediction: {self._top(first)}"
            else:
                text = f"Output: {first.outputs[0][0]:.6g}"
            for name, run in zip(names[1:], runs[1:], strict=True):
                text += f"  ·  {name}: {self._top(run[0])}"
            return f"{text}   ·  {where}"
        parts = [f"{len(inputs.samples)} samples"]
        if len(first.outputs[0]) > 1:
            if inputs.expected:
                for name, run in zip(names, runs, strict=True):
                    right = sum(p.top_class == e for p, e in zip(run, inputs.expected, strict=True))
                    parts.append(f"{name}: {right} of {len(run)} as expected")
            elif len(runs) > 1:
                agree = sum(a.top_class == b.top_class for a, b in zip(runs[0], runs[1], strict=True))
                parts.append(f"{names[1]} agrees with the original on {agree} of {len(runs[0])}")
        return "  ·  ".join(parts) + f"   ·  {where}"

    def _show_selected(self) -> None:
        rows = self.samples_table.selectionModel().selectedRows() if self.samples_table.selectionModel() else []
        if not rows or not self._runs:
            return
        sample = rows[0].row()
        predictions = [run[sample] for run in self._runs]
        values = [np.asarray(p.outputs[0], dtype=np.float64) for p in predictions]
        distribution = all(p.is_distribution for p in predictions)
        headers = ["Class", *self._names] if len(values[0]) > 1 else ["Output", *self._names]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(values[0]))
        top = int(np.argmax(values[0]))
        bold = QFont()
        bold.setBold(True)
        for row in range(len(values[0])):
            cells = [self._class_name(row) if len(values[0]) > 1 else str(row)]
            cells += [probability(v[row]) if distribution else f"{v[row]:.4g}" for v in values]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row == top and len(values[0]) > 1:
                    item.setFont(bold)
                    item.setForeground(QColor(GOOD))
                self.table.setItem(row, column, item)
