"""The sortable per-operator table and the per-layer bytes chart."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from workbench.core.analysis import Layer
from workbench.ui.widgets.operator_chart import OperatorChart
from workbench.units import count, kb, shape

Index = QModelIndex | QPersistentModelIndex

COLUMNS: list[tuple[str, str]] = [
    ("#", "Execution order"),
    ("Layer", "Keras layer or output tensor name"),
    ("Op", "TFLite operator"),
    ("Output", "Output shape"),
    ("Type", "Output data type"),
    ("Params", "Learned values (weights and biases)"),
    ("Weights", "Bytes of constant data this operator reads from flash"),
    ("MACs", "Multiply-accumulates per inference"),
    ("Other ops", "Pooling, reductions and elementwise operations per inference"),
    ("Activations", "Bytes of this operator's output tensor(s) in the arena"),
]


class LayerTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.layers: list[Layer] = []

    def set_layers(self, layers: list[Layer]) -> None:
        self.beginResetModel()
        self.layers = list(layers)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.layers)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section][0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        layer = self.layers[index.row()]
        column = index.column()
        sort_values = [
            layer.index,
            layer.name,
            layer.op,
            layer.activation_bytes,
            layer.dtype,
            layer.params,
            layer.weight_bytes,
            layer.macs,
            layer.ops,
            layer.activation_bytes,
        ]
        if role == Qt.ItemDataRole.UserRole:
            return sort_values[column]
        if role == Qt.ItemDataRole.DisplayRole:
            return [
                str(layer.index),
                layer.name,
                layer.op,
                shape(layer.output),
                layer.dtype.lower(),
                f"{layer.params:,}",
                kb(layer.weight_bytes),
                count(layer.macs) if layer.macs else "",
                count(layer.ops) if layer.ops else "",
                kb(layer.activation_bytes),
            ][column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return layer.name
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 5, 6, 7, 8, 9):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class LayerTable(QTableView):
    layer_selected = Signal(int)  # operator index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = LayerTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long name keeps its start and its end
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.selectionModel().currentRowChanged.connect(self._row_changed)

    def set_layers(self, layers: list[Layer]) -> None:
        self.source.set_layers(layers)

    def select_layer(self, index: int) -> None:
        source_index = self.source.index(index, 0)
        self.selectRow(self.proxy.mapFromSource(source_index).row())

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            row = self.proxy.mapToSource(current).row()
            self.layer_selected.emit(self.source.layers[row].index)


class LayerBytesChart(OperatorChart):
    """Per-layer weight bytes and activation bytes, in KB, side by side."""

    layer_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("KB", parent)
        self.legend = self.addLegend(offset=(-10, 10))
        self.weights = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#2563eb", pen=None, name="weights")
        self.activations = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#f59e0b", pen=None, name="activations")
        self.addItem(self.weights)
        self.addItem(self.activations)
        self.highlight = pg.InfiniteLine(angle=90, pen=pg.mkPen("#dc2626", width=1, style=Qt.PenStyle.DashLine))
        self.highlight.hide()
        self.addItem(self.highlight)
        self.scene().sigMouseClicked.connect(self._clicked)
        self._count = 0

    def set_layers(self, layers: list[Layer]) -> None:
        xs = [layer.index for layer in layers]
        self.weights.setOpts(x=[x - 0.2 for x in xs], height=[layer.weight_bytes / 1024 for layer in layers])
        self.activations.setOpts(x=[x + 0.2 for x in xs], height=[layer.activation_bytes / 1024 for layer in layers])
        self._count = len(layers)
        self.highlight.hide()
        self.autoRange()

    def mark(self, index: int) -> None:
        self.highlight.setValue(index)
        self.highlight.show()

    def _clicked(self, event: Any) -> None:
        point = self.plotItem.vb.mapSceneToView(event.scenePos())
        index = int(round(point.x()))
        if 0 <= index < self._count:
            self.layer_clicked.emit(index)
