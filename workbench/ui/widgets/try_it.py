"""Try it: run the model on typed, pasted or file inputs and show what it predicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import WorkbenchError
from workbench.core.inference import Prediction, labels_for, parse_inputs, run_model, samples_for
from workbench.core.model import Model
from workbench.ui.session import Session
from workbench.units import shape


class TryItPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._samples: np.ndarray | None = None
        self._sample_index = 0
        self.hint = QLabel("Open a model to try it.")
        self.hint.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Type or paste input values, separated by commas (one sample per line)")
        self.editor.setMaximumHeight(110)
        self.sample_button = QPushButton("Next sample")
        self.sample_button.setToolTip("Fill in the next sample shipped beside the model")
        self.file_button = QPushButton("Open inputs…")
        self.file_button.setToolTip("Load inputs from a .csv (one sample per row) or .npy file")
        self.run_button = QPushButton("Run  (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.result = QLabel("")
        self.result.setObjectName("prediction")
        self.result.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Output", "Label", "Value"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        buttons = QHBoxLayout()
        for button in (self.sample_button, self.file_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.editor)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(self.table, 1)
        self.run_button.clicked.connect(self.run)
        self.sample_button.clicked.connect(self.next_sample)
        self.file_button.clicked.connect(self.open_inputs)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        session.model_changed.connect(self.set_model)
        self.set_model(None)

    def set_model(self, model: Model | None) -> None:
        enabled = model is not None
        for widget in (self.editor, self.run_button, self.file_button):
            widget.setEnabled(enabled)
        self.result.clear()
        self.table.setRowCount(0)
        self._samples = None
        self._sample_index = 0
        if model is None:
            self.sample_button.setEnabled(False)
            return
        tensor = model.graph.main.tensors[model.graph.main.inputs[0]]
        self.hint.setText(
            f"Input: {tensor.elements} values (shape {shape(tensor.shape)}, "
            f"{tensor.dtype.lower()}). Float values are quantized for you when the model is int8."
        )
        csv = samples_for(model.path)
        if csv is not None:
            try:
                self._samples = parse_inputs(str(csv))
            except WorkbenchError:
                self._samples = None
        self.sample_button.setEnabled(self._samples is not None)
        if self._samples is not None:
            self.next_sample()

    def next_sample(self) -> None:
        if self._samples is None or not len(self._samples):
            return
        row = self._samples[self._sample_index % len(self._samples)]
        self._sample_index += 1
        self.editor.setPlainText(", ".join(f"{v:g}" for v in row))

    def open_inputs(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open inputs", "", "Inputs (*.csv *.npy *.txt)")
        if path:
            try:
                samples = parse_inputs(path)
            except WorkbenchError as error:
                self.session.error.emit(error)
                return
            self.editor.setPlainText("\n".join(", ".join(f"{v:g}" for v in row) for row in samples))

    def run(self) -> None:
        model = self.session.model
        if model is None:
            return
        try:
            samples = parse_inputs(self.editor.toPlainText())
        except WorkbenchError as error:
            self.result.setText(f"⚠ {error.message}")
            return
        self.result.setText("Running…")
        self.run_button.setEnabled(False)
        self.session.jobs.start("run", run_model, model, samples, on_success=self._show, on_error=self._failed)

    def _failed(self, error: WorkbenchError) -> None:
        self.run_button.setEnabled(True)
        self.result.setText(f"⚠ {error.message}")

    def _show(self, predictions: list[Prediction]) -> None:
        self.run_button.setEnabled(True)
        model = self.session.model
        labels = labels_for(Path(model.path)) if model else []
        last = predictions[-1]
        values = last.outputs[0]
        engine = "TFLM" if last.runtime == "tflm" else "TensorFlow Lite"
        if len(values) > 1:
            top = last.top_class
            label = labels[top] if top < len(labels) else f"class {top}"
            self.result.setText(f"Prediction: {label}  ({values[top]:.1%})   ·  ran on {engine}")
        else:
            self.result.setText(f"Output: {values[0]:.6g}   ·  ran on {engine}")
        self.table.setRowCount(len(values))
        for row, value in enumerate(values):
            for column, text in enumerate((str(row), labels[row] if row < len(labels) else "", f"{value:.6g}")):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
