"""The Optimize settings: quantization, pruning, data and expert options, as one Plan.

The widgets keep what the person chose even where it does not apply (an int8-only option while
float16 is picked, the quantization while a .tflite file is open), so it comes back when it
applies again; the plan they send is `normalize`d, and the notes say what is not used.
`plan_changed` follows every change, `edited` only the person's own (not a model opening).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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

from workbench.optimize.data import WHERE_LABELS_GO, Dataset
from workbench.optimize.evaluation import MIN_TRUSTED_SAMPLES
from workbench.optimize.plan import (
    NEEDS_CALIBRATION,
    QUANT_EXPLAINED,
    QUANT_LABELS,
    QUANT_MODES,
    RUNS_ON_TFLM,
    Plan,
    calibration_warnings,
    normalize,
    option_applies,
)

DATA_FILTER = "Data (*.npz *.npy *.csv *.txt);;All files (*)"
WARN_COLOR = "#b7791f"


class DataPicker(QWidget):
    """A file (or image folder) chooser with a clear button.

    `chosen` carries the person's pick (a path, or None when cleared); the page loads it as a job
    and reports back with `show_loading`, `show_data` or `show_none`.
    """

    chosen = Signal(object)  # str | None

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.start_dir = ""  # where the file dialogs open: the model's folder
        self._title = title
        self.label = QLabel("none")
        self.label.setObjectName("cardDetail")
        self.label.setToolTip(f"{tooltip}\n{WHERE_LABELS_GO}")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(80)
        self.choose = QPushButton("File…")
        self.choose.setToolTip(f"A .npz (arrays x and y), .npy or .csv file.\n{WHERE_LABELS_GO}")
        self.folder = QPushButton("Images…")
        self.folder.setToolTip("A folder of images, one subfolder per class (the subfolder names are the labels)")
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
        self.clear.clicked.connect(lambda: self.chosen.emit(None))

    def _pick(self, folder: bool) -> None:
        start = str(Path(self.path).parent) if self.path else self.start_dir
        if folder:
            path = QFileDialog.getExistingDirectory(self, self._title, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self._title, start, DATA_FILTER)
        if path:
            self.chosen.emit(path)

    def show_loading(self, path: str) -> None:
        self.path = path
        self.label.setText(f"reading {Path(path).name}…")
        self.label.setToolTip(path)

    def show_data(self, dataset: Dataset) -> None:
        self.path = dataset.source
        labelled = "labelled samples" if dataset.labelled else "samples, no labels"
        self.label.setText(f"{dataset.name} · {len(dataset)} {labelled}")
        self.label.setToolTip(f"{dataset.source}\n{WHERE_LABELS_GO}")

    def show_none(self) -> None:
        self.path = None
        self.label.setText("none")


class OptimizeSettings(QWidget):
    """Emits `plan_changed` on every change and `edited` on the person's own changes; the page
    estimates at once on the first and converts after the second."""

    plan_changed = Signal(object)  # Plan
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._quiet = 0  # > 0 while the program (not the person) changes widgets
        self.model_format = "keras"
        self._keras_choice: tuple[str, int] | None = None  # quantization and sparsity while a .tflite is open
        self.data: dict[str, Dataset | None] = {"calibration": None, "evaluation": None, "train": None}
        self.notes: dict[str, str] = {}  # the settings the current plan does not use, and why

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
        self.float_io.setToolTip(
            "Full integer (int8) only: the board passes floats; the model quantizes them inside "
            "(adds two small operators)"
        )
        quant_layout.addWidget(self.float_io)
        self.unused_note = QLabel()
        self.unused_note.setWordWrap(True)
        self.unused_note.setObjectName("cardDetail")
        quant_layout.addWidget(self.unused_note)

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
        self.sparsity_label.setMinimumWidth(36)
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
        self.prune_unused = QLabel()
        self.prune_unused.setWordWrap(True)
        self.prune_unused.setObjectName("cardDetail")
        prune_layout.addRow(self.prune_unused)

        data_box = QGroupBox("Your data")
        data_layout = QFormLayout(data_box)
        self.calibration = DataPicker(
            "Calibration data", "Samples of real inputs: the int8 converter measures value ranges on them"
        )
        self.evaluation = DataPicker(
            "Evaluation data", "Labelled samples the models have not been trained on, to measure accuracy"
        )
        self.training = DataPicker("Training data", "Labelled samples to fine-tune on after pruning")
        data_layout.addRow("Calibrate on", self.calibration)
        data_layout.addRow("Evaluate on", self.evaluation)
        data_layout.addRow("Fine-tune on", self.training)
        self.pickers = {"calibration": self.calibration, "evaluation": self.evaluation, "train": self.training}
        self.data_note = QLabel()
        self.data_note.setWordWrap(True)
        self.data_note.setObjectName("cardDetail")
        self.data_note.setTextFormat(Qt.TextFormat.RichText)
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
            "int8, 16x8 and dynamic range only: one scale per dense weight matrix instead of one per "
            "output drops the per-channel quantization parameters, usually at a tiny accuracy cost"
        )
        self.strip = QCheckBox("Drop names, signatures and metadata")
        self.strip.setToolTip("TFLM never reads tensor names, signature defs or conversion metadata")
        self.calibration_samples = QSpinBox()
        self.calibration_samples.setRange(1, 10000)
        self.calibration_samples.setValue(200)
        self.calibration_samples.setSuffix(" samples")
        self.calibration_samples.setToolTip("How many calibration samples the int8 and 16x8 converters measure")
        expert_layout.addRow(self.per_tensor_dense)
        expert_layout.addRow(self.strip)
        expert_layout.addRow("Calibrate with", self.calibration_samples)
        self.expert_note = QLabel()
        self.expert_note.setObjectName("cardDetail")
        self.expert_note.setWordWrap(True)
        expert_layout.addRow(self.expert_note)
        self.expert_unused = QLabel()
        self.expert_unused.setWordWrap(True)
        self.expert_unused.setObjectName("cardDetail")
        expert_layout.addRow(self.expert_unused)
        self.expert.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (quant_box, prune_box, data_box, self.expert_toggle, self.expert):
            layout.addWidget(widget)
        layout.addStretch(1)

        self.expert_toggle.toggled.connect(self._toggle_expert)
        self.quant_group.buttonToggled.connect(lambda _button, checked: checked and self._changed())
        for checkbox in (self.float_io, self.per_tensor_dense, self.strip):
            checkbox.toggled.connect(self._changed)
        self.sparsity.valueChanged.connect(self._changed)
        self.epochs.valueChanged.connect(self._changed)
        self.calibration_samples.valueChanged.connect(self._changed)

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Changes made inside are the program's: they refresh the plan but are not `edited`."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _changed(self, *_: object) -> None:
        self.refresh()
        if not self._quiet:
            self.edited.emit()

    def _toggle_expert(self, shown: bool) -> None:
        self.expert.setVisible(shown)
        self.expert_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def quant(self) -> str:
        return next(mode for mode, button in self.quant_buttons.items() if button.isChecked())

    def raw_plan(self) -> Plan:
        """The widgets as they are, options that do not apply included."""
        return Plan(
            quant=self.quant(),
            float_io=self.float_io.isChecked(),
            sparsity=self.sparsity.value() / 100.0,
            per_tensor_dense=self.per_tensor_dense.isChecked(),
            strip=self.strip.isChecked(),
            calibration_samples=self.calibration_samples.value(),
            epochs=self.epochs.value(),
        )

    def plan(self) -> Plan:
        """The plan to carry out: `raw_plan` without what does not apply (see `notes`)."""
        train = self.data["train"]
        return normalize(self.raw_plan(), self.model_format, train is not None and train.labelled)[0]

    def state(self) -> dict[str, object]:
        """The choices worth remembering between sessions (not the data files)."""
        quant, sparsity = self._keras_choice or (self.quant(), self.sparsity.value())
        return {
            "quant": quant,
            "float_io": self.float_io.isChecked(),
            "sparsity": sparsity,
            "epochs": self.epochs.value(),
            "per_tensor_dense": self.per_tensor_dense.isChecked(),
            "strip": self.strip.isChecked(),
            "calibration_samples": self.calibration_samples.value(),
            "expert": self.expert_toggle.isChecked(),
        }

    def restore(self, state: dict[str, object]) -> None:
        with self.quietly():
            quant = str(state.get("quant", "int8"))
            if self.model_format == "tflite":
                self._keras_choice = (quant if quant in QUANT_MODES else "int8", _number(state.get("sparsity"), 0))
            elif quant in self.quant_buttons:
                self.quant_buttons[quant].setChecked(True)
                self.sparsity.setValue(_number(state.get("sparsity"), 0))
            self.float_io.setChecked(_truthy(state.get("float_io")))
            self.per_tensor_dense.setChecked(_truthy(state.get("per_tensor_dense")))
            self.strip.setChecked(_truthy(state.get("strip")))
            self.epochs.setValue(_number(state.get("epochs"), 0))
            self.calibration_samples.setValue(_number(state.get("calibration_samples"), 200))
            self.expert_toggle.setChecked(_truthy(state.get("expert")))
        self.refresh()

    def set_model_format(self, fmt: str) -> None:
        """Enable what applies to this kind of model and say why the rest does not; the person's
        quantization and sparsity wait while a .tflite file is open, and come back after."""
        converted = fmt == "tflite"
        with self.quietly():
            if converted and self._keras_choice is None:
                self._keras_choice = (self.quant(), self.sparsity.value())
            self.model_format = fmt
            for mode, button in self.quant_buttons.items():
                button.setEnabled(not converted or mode == "float32")
            self.quant_buttons["float32"].setText("Keep as converted" if converted else QUANT_LABELS["float32"])
            if converted:
                self.quant_buttons["float32"].setChecked(True)
                self.sparsity.setValue(0)
            elif self._keras_choice is not None:
                quant, sparsity = self._keras_choice
                self._keras_choice = None
                self.quant_buttons[quant].setChecked(True)
                self.sparsity.setValue(sparsity)
            self.sparsity.setEnabled(fmt in ("keras", "h5"))
        if converted:
            self.prune_note.setText(
                "A .tflite file is already converted: its weights cannot be pruned or "
                "re-quantized. Open the Keras model to use these."
            )
        elif fmt == "saved_model":
            self.prune_note.setText("Pruning needs a Keras model (.keras or .h5).")
        else:
            self.prune_note.setText("")
        self.refresh()

    def set_data(self, role: str, dataset: Dataset | None) -> None:
        """The data the page holds for a role (None: none); updates the notes and the plan."""
        self.data[role] = dataset
        if dataset is None:
            self.pickers[role].show_none()
        else:
            self.pickers[role].show_data(dataset)
        self.refresh()

    def refresh(self) -> None:
        """Update the notes and enabled states, and announce the current plan."""
        raw = self.raw_plan()
        quant = raw.quant
        train = self.data["train"]
        plan, self.notes = normalize(raw, self.model_format, train is not None and train.labelled)
        self.sparsity_label.setText(f"{self.sparsity.value()}%")
        self.float_io.setEnabled(option_applies("float_io", quant))
        self.per_tensor_dense.setEnabled(option_applies("per_tensor_dense", quant))
        self.epochs.setEnabled(bool(self.sparsity.value()) and self.sparsity.isEnabled())
        self.calibration_samples.setEnabled(quant in NEEDS_CALIBRATION)
        if self.model_format == "tflite":
            note = (
                "This .tflite file is already converted: its quantization stays as it is. Only "
                "'Drop names, signatures and metadata' (expert options) can still shrink it."
            )
        else:
            note = QUANT_EXPLAINED[quant]
        self.quant_note.setText(note)
        for label, options in (
            (self.unused_note, ("float_io",)),
            (self.prune_unused, ("sparsity", "epochs")),
            (self.expert_unused, ("per_tensor_dense",)),
        ):
            texts = [self.notes[o] for o in options if o in self.notes]
            label.setText(" ".join(texts))
            label.setVisible(bool(texts))
        self.data_note.setText(self._data_note(plan))
        self.plan_changed.emit(plan)

    def _data_note(self, plan: Plan) -> str:
        lines: list[tuple[str, bool]] = []  # text, is a warning
        calibration, evaluation = self.data["calibration"], self.data["evaluation"]
        if plan.quant in NEEDS_CALIBRATION and self.model_format != "tflite":
            for warning in calibration_warnings(plan, None if calibration is None else len(calibration)):
                lines.append((warning, True))
        if evaluation is None:
            lines.append(("Add labelled evaluation data to see what the optimization costs in accuracy.", False))
        elif not evaluation.labelled:
            lines.append(
                (f"{evaluation.name} has no labels: only agreement with the float model can be measured.", True)
            )
        elif len(evaluation) < MIN_TRUSTED_SAMPLES:
            lines.append(
                (
                    f"Only {len(evaluation)} labelled evaluation samples: accuracy will be uncertain; "
                    f"{MIN_TRUSTED_SAMPLES} or more give a figure to trust.",
                    True,
                )
            )
        return "<br>".join(
            f"<span style='color:{WARN_COLOR}'>⚠ {text}</span>" if warn else text for text, warn in lines
        )


def _truthy(value: object) -> bool:
    """QSettings gives booleans back as strings from .ini files."""
    return value is True or str(value).lower() in ("true", "1")


def _number(value: object, default: int) -> int:
    try:
        return int(str(value)) if value is not None else default
    except ValueError:
        return default
