"""The Optimize settings: quantization, pruning, data and expert options, as one Plan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.optimize.plan import QUANT_EXPLAINED, QUANT_LABELS, QUANT_MODES, RUNS_ON_TFLM, Plan

DATA_FILTER = "Data (*.npz *.npy *.csv *.txt);;All files (*)"


class DataPicker(QWidget):
    """A file (or image folder) chooser with a clear button; emits the path or None."""

    changed = Signal(object)

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.label = QLabel("none")
        self.label.setObjectName("cardDetail")
        self.label.setToolTip(tooltip)
        self.choose = QPushButton("File…")
        self.folder = QPushButton("Images…")
        self.folder.setToolTip("A folder of images, one subfolder per class")
        self.clear = QPushButton("×")
        self.clear.setFixedWidth(28)
        self.clear.setToolTip(f"Do not use {title.lower()}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        for button in (self.choose, self.folder, self.clear):
            layout.addWidget(button)
        self.choose.clicked.connect(lambda: self._pick(folder=False))
        self.folder.clicked.connect(lambda: self._pick(folder=True))
        self.clear.clicked.connect(lambda: self.set_path(None))
        self._title = title

    def _pick(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, self._title)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self._title, "", DATA_FILTER)
        if path:
            self.set_path(path)

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.label.setText(Path(path).name if path else "none")
        self.changed.emit(path)

    def clear_quietly(self) -> None:
        """Forget the chosen data without announcing it (the page already dropped it)."""
        self.blockSignals(True)
        self.set_path(None)
        self.blockSignals(False)


class OptimizeSettings(QWidget):
    """Emits `plan_changed` on every change; the page estimates at once and converts later."""

    plan_changed = Signal(object)  # Plan

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        quant_box = QGroupBox("Quantization")
        quant_layout = QVBoxLayout(quant_box)
        self.quant_group = QButtonGroup(self)
        self.quant_buttons: dict[str, QRadioButton] = {}
        for mode in QUANT_MODES:
            text = QUANT_LABELS[mode] + ("" if RUNS_ON_TFLM[mode] else "  ⚠ not on TFLM")
            button = QRadioButton(text)
            button.setToolTip(QUANT_EXPLAINED[mode])
            self.quant_group.addButton(button)
            self.quant_buttons[mode] = button
            quant_layout.addWidget(button)
        self.quant_buttons["int8"].setChecked(True)
        self.quant_note = QLabel()
        self.quant_note.setWordWrap(True)
        self.quant_note.setObjectName("cardDetail")
        quant_layout.addWidget(self.quant_note)
        self.float_io = QCheckBox("Keep float input and output")
        self.float_io.setToolTip("The board passes floats; the model quantizes them inside (adds two small operators)")
        quant_layout.addWidget(self.float_io)

        prune_box = QGroupBox("Pruning")
        prune_layout = QFormLayout(prune_box)
        self.sparsity = QSlider(Qt.Orientation.Horizontal)
        self.sparsity.setRange(0, 95)
        self.sparsity.setSingleStep(5)
        self.sparsity.setPageStep(10)
        self.sparsity.setToolTip(
            "Set the smallest conv and dense weights to zero. TFLM stores tensors dense, so flash does "
            "not shrink; the compressed size (zip, OTA update) does."
        )
        self.sparsity_label = QLabel("0%")
        row = QHBoxLayout()
        row.addWidget(self.sparsity, 1)
        row.addWidget(self.sparsity_label)
        prune_layout.addRow("Sparsity", row)
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 50)
        self.epochs.setSuffix(" epochs")
        self.epochs.setToolTip("Fine-tune after pruning so accuracy recovers (needs labelled training data)")
        prune_layout.addRow("Fine-tune", self.epochs)
        self.prune_note = QLabel()
        self.prune_note.setWordWrap(True)
        self.prune_note.setObjectName("cardDetail")
        prune_layout.addRow(self.prune_note)

        data_box = QGroupBox("Your data")
        data_layout = QFormLayout(data_box)
        self.calibration = DataPicker("Calibration data", "Samples the int8 converter measures ranges on")
        self.evaluation = DataPicker("Evaluation data", "Labelled samples (x, y) to measure accuracy")
        self.training = DataPicker("Training data", "Labelled samples to fine-tune after pruning")
        data_layout.addRow("Calibrate on", self.calibration)
        data_layout.addRow("Evaluate on", self.evaluation)
        data_layout.addRow("Fine-tune on", self.training)
        self.data_note = QLabel()
        self.data_note.setWordWrap(True)
        self.data_note.setObjectName("cardDetail")
        data_layout.addRow(self.data_note)

        self.expert_toggle = QToolButton()
        self.expert_toggle.setText("Expert options")
        self.expert_toggle.setCheckable(True)
        self.expert_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.expert_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.expert = QWidget()
        expert_layout = QFormLayout(self.expert)
        self.per_tensor_dense = QCheckBox("Per-tensor quantization for dense layers")
        self.per_tensor_dense.setToolTip(
            "One scale per dense weight matrix instead of one per output: drops the per-channel "
            "quantization parameters, usually at a tiny accuracy cost"
        )
        self.strip = QCheckBox("Drop names, signatures and metadata")
        self.strip.setToolTip("TFLM never reads tensor names, signature defs or conversion metadata")
        self.calibration_samples = QSpinBox()
        self.calibration_samples.setRange(1, 10000)
        self.calibration_samples.setValue(200)
        self.calibration_samples.setSuffix(" samples")
        expert_layout.addRow(self.per_tensor_dense)
        expert_layout.addRow(self.strip)
        expert_layout.addRow("Calibrate with", self.calibration_samples)
        self.expert_note = QLabel()
        self.expert_note.setObjectName("cardDetail")
        self.expert_note.setWordWrap(True)
        expert_layout.addRow(self.expert_note)
        self.expert.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (quant_box, prune_box, data_box, self.expert_toggle, self.expert):
            layout.addWidget(widget)
        layout.addStretch(1)

        self.expert_toggle.toggled.connect(self._toggle_expert)
        self.quant_group.buttonToggled.connect(lambda *_: self.refresh())
        for checkbox in (self.float_io, self.per_tensor_dense, self.strip):
            checkbox.toggled.connect(self.refresh)
        self.sparsity.valueChanged.connect(self.refresh)
        self.epochs.valueChanged.connect(self.refresh)
        self.calibration_samples.valueChanged.connect(self.refresh)
        self.model_format = "keras"

    def _toggle_expert(self, shown: bool) -> None:
        self.expert.setVisible(shown)
        self.expert_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def quant(self) -> str:
        return next(mode for mode, button in self.quant_buttons.items() if button.isChecked())

    def plan(self) -> Plan:
        quant = self.quant()
        return Plan(
            quant=quant,
            float_io=self.float_io.isChecked() and quant == "int8",
            sparsity=self.sparsity.value() / 100.0,
            per_tensor_dense=self.per_tensor_dense.isChecked() and quant in ("int8", "int16x8", "dynamic"),
            strip=self.strip.isChecked(),
            calibration_samples=self.calibration_samples.value(),
            epochs=self.epochs.value() if self.sparsity.value() and self.training.path else 0,
        )

    def state(self) -> dict[str, object]:
        """The choices worth remembering between sessions (not the data files)."""
        return {
            "quant": self.quant(),
            "float_io": self.float_io.isChecked(),
            "per_tensor_dense": self.per_tensor_dense.isChecked(),
            "strip": self.strip.isChecked(),
            "calibration_samples": self.calibration_samples.value(),
            "expert": self.expert_toggle.isChecked(),
        }

    def restore(self, state: dict[str, object]) -> None:
        quant = str(state.get("quant", "int8"))
        if quant in self.quant_buttons:
            self.quant_buttons[quant].setChecked(True)
        self.float_io.setChecked(_truthy(state.get("float_io")))
        self.per_tensor_dense.setChecked(_truthy(state.get("per_tensor_dense")))
        self.strip.setChecked(_truthy(state.get("strip")))
        try:
            self.calibration_samples.setValue(int(str(state.get("calibration_samples", 200))))
        except ValueError:
            pass
        self.expert_toggle.setChecked(_truthy(state.get("expert")))

    def set_model_format(self, fmt: str) -> None:
        """Enable what applies to this kind of model, and say why the rest does not."""
        self.model_format = fmt
        converted = fmt == "tflite"
        for mode, button in self.quant_buttons.items():
            button.setEnabled(not converted or mode == "float32")
        self.quant_buttons["float32"].setText("Keep as converted" if converted else QUANT_LABELS["float32"])
        if converted:
            self.quant_buttons["float32"].setChecked(True)
        self.sparsity.setEnabled(fmt in ("keras", "h5"))
        if converted:
            self.sparsity.setValue(0)
            self.prune_note.setText(
                "A .tflite file is already converted: its weights cannot be pruned or "
                "re-quantized. Open the Keras model to use these."
            )
        elif fmt == "saved_model":
            self.prune_note.setText("Pruning needs a Keras model (.keras or .h5).")
        else:
            self.prune_note.setText("")
        self.refresh()

    def refresh(self) -> None:
        """Update the notes and enabled states, and announce the current plan."""
        quant = self.quant()
        self.sparsity_label.setText(f"{self.sparsity.value()}%")
        self.float_io.setEnabled(quant == "int8")
        self.per_tensor_dense.setEnabled(quant in ("int8", "int16x8", "dynamic"))
        self.epochs.setEnabled(bool(self.sparsity.value()) and self.training.path is not None)
        if self.model_format == "tflite":
            note = (
                "This .tflite file is already converted: its quantization stays as it is. Only "
                "'Drop names, signatures and metadata' (expert options) can still shrink it."
            )
        else:
            note = QUANT_EXPLAINED[quant]
        self.quant_note.setText(note)
        if quant in ("int8", "int16x8") and self.calibration.path is None and self.model_format != "tflite":
            self.data_note.setText(
                "⚠ No calibration data: random inputs will be used, and accuracy cannot be "
                "judged. Add your own samples for a trustworthy result."
            )
        elif self.evaluation.path is None:
            self.data_note.setText("Add labelled evaluation data to compare accuracy with the float model.")
        else:
            self.data_note.setText("")
        self.plan_changed.emit(self.plan())


def _truthy(value: object) -> bool:
    """QSettings gives booleans back as strings from .ini files."""
    return value is True or str(value).lower() in ("true", "1")
