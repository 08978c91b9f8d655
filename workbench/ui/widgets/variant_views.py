"""Views of verified variants: accuracy with confusion matrix, per-layer error, compare table.

The words come from the engine (`Evaluation.summary`/`short`, `Variant.verdict`): these views
only lay them out and colour them.
"""

from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.fit import BAD
from workbench.optimize.convert import Variant
from workbench.optimize.layer_error import OK, WATCH, LayerErrors, axis_name, layer_errors, layer_snr
from workbench.ui.widgets.cards import LEVEL_COLORS, MUTED, WARN
from workbench.ui.widgets.operator_chart import OperatorChart
from workbench.units import kb

MAX_NAMED_LAYERS = 12


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


ROLE_SHORT = {"calibration": "calibrated on", "evaluation": "evaluated on", "train": "fine-tuned on"}


def accuracy_html(variant: Variant) -> str:
    """The evaluation summary, with what limits trust in it in the warning colour."""
    evaluation = variant.evaluation
    if evaluation is None:
        if variant.source_format == "tflite":
            return "A .tflite file is compared with nothing: its accuracy is what it was before."
        return "Add evaluation data (Your data, on the left) to see what this costs in accuracy."
    color = LEVEL_COLORS[evaluation.level]
    lines = [f"<b style='color:{color}'>{html.escape(evaluation.verdict)}</b>", html.escape(evaluation.summary)]
    lines += [f"<span style='color:{WARN}'>⚠ {html.escape(w)}</span>" for w in evaluation.warnings]
    lines.append(
        f"<span style='color:{MUTED}'>95% interval: given {evaluation.samples} samples, the true figure lies in "
        "this range 19 times out of 20; more samples make it narrower.</span>"
    )
    return "<br>".join(lines)


def data_text(variant: Variant) -> str:
    """'calibrated on digits_calib.npz (200 of 300) · evaluated on digits_eval.npz (450)'."""
    return " · ".join(f"{ROLE_SHORT.get(role, role)} {what}" for role, what in variant.data.items()) or "-"


class ConfusionMatrix(QTableWidget):
    """Rows: true class; columns: predicted class; darker = more samples."""

    def show_matrix(self, matrix: list[list[int]] | None) -> None:
        self.clear()
        if not matrix:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        size = len(matrix)
        self.setRowCount(size)
        self.setColumnCount(size)
        labels = [str(i) for i in range(size)]
        self.setHorizontalHeaderLabels(labels)
        self.setVerticalHeaderLabels(labels)
        peak = max(max(row) for row in matrix) or 1
        for r, row in enumerate(matrix):
            for c, value in enumerate(row):
                item = _item(str(value) if value else "", align_right=False)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(235 - 180 * value / peak) if value else 250
                item.setBackground(
                    QColor(shade, shade + 10 if shade < 245 else 250, 255)
                    if r == c or not value
                    else QColor(255, shade, shade)
                )
                self.setItem(r, c, item)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setToolTip(
            "Rows: the true class. Columns: what the optimized model predicted. Off-diagonal cells (red) are mistakes."
        )


class LayerErrorChart(OperatorChart):
    """Signal-to-noise ratio of every quantized layer output against the float model, the layers
    named on the axis, the ones that stand out coloured, and the line they fall under."""

    COLORS = {OK: "#2563eb", WATCH: WARN, BAD: "#c53030"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("SNR (dB, higher is closer to float)", parent)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brushes=[], pen=None)
        self.addItem(self.bars)
        self.line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#6b7280", style=Qt.PenStyle.DashLine))
        self.line.hide()
        self.addItem(self.line)

    def show_layers(self, layers: list[dict[str, Any]], judged: LayerErrors) -> None:
        xs = [layer["index"] for layer in layers]
        self.bars.setOpts(
            x=xs,
            height=[layer_snr(layer) for layer in layers],
            brushes=[pg.mkBrush(self.COLORS[f]) for f in judged.flags],
        )
        named = len(layers) <= MAX_NAMED_LAYERS  # beyond that the names would overlap: numbers only
        ticks = [(x, f"{x} {axis_name(layer)}" if named else str(x)) for x, layer in zip(xs, layers, strict=True)]
        self.getAxis("bottom").setTicks([ticks] if ticks else None)
        self.setLabel("bottom", "layer" if named else "operator #")
        if judged.threshold_db is None:
            self.line.hide()
        else:
            self.line.setPos(judged.threshold_db)
            self.line.show()
        self.autoRange()


class LayerErrorView(QWidget):
    """The per-layer error chart with what it means and what to do underneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = LayerErrorChart()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.note)

    def show_variant(self, variant: Variant | None) -> None:
        layers = variant.per_layer if variant is not None else []
        level = variant.evaluation.level if variant is not None and variant.evaluation is not None else None
        judged = layer_errors(layers, level)
        self.chart.show_layers(layers, judged)
        self.note.setText(judged.note)


class CompareTable(QTableWidget):
    """Every variant tried for this model, with the data it used; selecting one makes it the one
    to carry to Deploy."""

    variant_selected = Signal(int)
    HEADERS = ["Settings", "Data", "Flash", "Arena", "Compressed", "Accuracy", "TFLM", "Saved"]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Select a row to carry that variant to Deploy")
        self.itemSelectionChanged.connect(self._selected)

    def show_variants(self, variants: list[Variant], chosen: Variant | None) -> None:
        self.blockSignals(True)
        self.clearSelection()
        self.setRowCount(len(variants))
        for row, variant in enumerate(variants):
            evaluation = variant.evaluation
            tflm = variant.analysis.tflm
            runs = tflm is not None and tflm.compatible
            cells = [
                variant.label,
                data_text(variant),
                kb(variant.actual.flash_bytes),
                kb(variant.actual.arena_bytes),
                kb(variant.actual.compressed_bytes),
                evaluation.short if evaluation is not None else "not measured",
                "runs" if runs else "does not run",
                variant.saved_to.name if variant.saved_to else "",
            ]
            for column, text in enumerate(cells):
                item = _item(text, align_right=column in (2, 3, 4))
                self.setItem(row, column, item)
            self.item(row, 1).setToolTip("\n".join(f"{role}: {what}" for role, what in variant.data.items()))
            accuracy = self.item(row, 5)
            if evaluation is not None:
                accuracy.setForeground(QColor(LEVEL_COLORS[evaluation.level]))
                accuracy.setToolTip(evaluation.summary)
            self.item(row, 6).setForeground(QColor(LEVEL_COLORS["good" if runs else "bad"]))
            if variant.saved_to:
                self.item(row, 7).setToolTip(str(variant.saved_to))
        if chosen in variants:
            self.selectRow(variants.index(chosen))
        self.blockSignals(False)

    def _selected(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            self.variant_selected.emit(rows[0].row())


class Caption(QWidget):
    """A small titled block."""

    def __init__(self, title: str, body: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(title.upper())
        label.setObjectName("cardTitle")
        layout.addWidget(label)
        layout.addWidget(body, 1)
