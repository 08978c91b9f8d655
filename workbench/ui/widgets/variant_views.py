"""Views of verified variants: accuracy with confusion matrix, per-layer error, compare table."""

from __future__ import annotations

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

from workbench.optimize.convert import Variant
from workbench.ui.widgets.operator_chart import OperatorChart
from workbench.units import kb


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def accuracy_text(variant: Variant) -> str:
    evaluation = variant.evaluation or {}
    if "accuracy" in evaluation:
        acc = evaluation["accuracy"]
        change = 100 * (acc["optimized"] - acc["float"])
        return (
            f"Accuracy on {evaluation['samples']} samples: float {acc['float']:.1%} → optimized "
            f"{acc['optimized']:.1%} ({change:+.1f} points)"
        )
    if "mae" in evaluation:
        mae = evaluation["mae"]
        return f"Mean absolute error: float {mae['float']:.4g} → optimized {mae['optimized']:.4g}"
    if "fidelity" in evaluation:
        fidelity = evaluation["fidelity"]
        snr = "exact" if fidelity["output_snr_db"] is None else f"{fidelity['output_snr_db']:.1f} dB"
        agree = fidelity.get("top1_agreement")
        return (
            "No labels: fidelity to the float model - output SNR "
            + snr
            + (f", same top class {agree:.1%} of the time" if agree is not None else "")
        )
    return "Add evaluation data to see what this costs in accuracy."


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
    """Signal-to-noise ratio of every quantized layer output against the float model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("SNR (dB, higher is better)", parent)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brushes=[], pen=None)
        self.addItem(self.bars)

    def show_layers(self, layers: list[dict[str, Any]]) -> None:
        xs = [layer["index"] for layer in layers]
        snr = [60.0 if layer["snr_db"] is None else max(layer["snr_db"], 0.0) for layer in layers]
        brushes = [pg.mkBrush("#c53030" if s < 20 else "#b7791f" if s < 30 else "#1b873f") for s in snr]
        self.bars.setOpts(x=xs, height=snr, brushes=brushes)
        self.autoRange()


class CompareTable(QTableWidget):
    """Every variant tried for this model; selecting one makes it the one to carry to Deploy."""

    variant_selected = Signal(int)
    HEADERS = ["Settings", "Flash", "Arena", "Compressed", "Accuracy", "TFLM"]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.itemSelectionChanged.connect(self._selected)

    def show_variants(self, variants: list[Variant], chosen: Variant | None) -> None:
        self.blockSignals(True)
        self.setRowCount(len(variants))
        for row, variant in enumerate(variants):
            evaluation = variant.evaluation or {}
            if "accuracy" in evaluation:
                accuracy = f"{evaluation['accuracy']['optimized']:.1%}"
            elif "fidelity" in evaluation and evaluation["fidelity"].get("top1_agreement") is not None:
                accuracy = f"{evaluation['fidelity']['top1_agreement']:.1%} agree"
            else:
                accuracy = "-"
            tflm = variant.analysis.tflm
            cells = [
                variant.label,
                kb(variant.actual.flash_bytes),
                kb(variant.actual.arena_bytes),
                kb(variant.actual.compressed_bytes),
                accuracy,
                "runs" if tflm is not None and tflm.compatible else "no",
            ]
            for column, text in enumerate(cells):
                self.setItem(row, column, _item(text, align_right=column > 0))
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
