"""The Inspect page: graph, layer table and chart, summary cards, flash breakdown, board fit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.analysis import Analysis
from workbench.core.arena_plan import plan_note
from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.ui.session import Session
from workbench.ui.widgets.cards import BAD, GOOD, LEVEL_COLORS, MUTED, WARN, Card
from workbench.ui.widgets.deploy_target import fill_boards
from workbench.ui.widgets.fit_card import FitGauge
from workbench.ui.widgets.graph_in_browser import make_graph_view
from workbench.ui.widgets.layer_table import LayerBytesChart, LayerTable
from workbench.ui.widgets.try_it import TryItPanel
from workbench.units import FLASH_LABELS, count, kb

_BREAKDOWN_COLORS = {
    "weights": "#2563eb",
    "biases": "#60a5fa",
    "quantization": "#f59e0b",
    "tensor_names": "#a855f7",
    "signatures_metadata": "#ec4899",
    "graph_structure": "#9ca3af",
}


SHORT_LABELS = {"quantization": "Quantization params", "signatures_metadata": "Signatures, metadata"}


NEXT_STEP = (
    "Next: <a href='optimize'>make it smaller (2 Optimize)</a> or "
    "<a href='deploy'>put it on the board as it is (3 Deploy)</a>"
)


class InspectPage(QWidget):
    optimize_requested = Signal()  # the next step, from the page's own link
    deploy_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel("No model open")
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel("Open a .tflite, .keras or .h5 file or a SavedModel folder (Ctrl+O), or drop it here.")
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)

        self.flash_card = Card(
            "Storage needed (flash)", "The model as it would be stored in the board's flash (the .tflite file's bytes)"
        )
        self.arena_card = Card(
            "RAM needed while it runs (tensor arena)",
            "Working memory for the layers' inputs and outputs, measured by the interpreter that runs on "
            "the board: TensorFlow Lite for Microcontrollers (TFLM)",
        )
        self.compute_card = Card("Work per prediction (MACs)", "Multiply-accumulate operations for one prediction")
        self.tflm_card = Card(
            "Runs on the board's runtime?",
            "Every operator prepared and run once by TensorFlow Lite for Microcontrollers (TFLM)",
        )
        self.breakdown_card = Card("Where the flash goes", "What the bytes of the .tflite file are made of")
        self.breakdown = QLabel()
        self.breakdown.setTextFormat(Qt.TextFormat.RichText)
        self.breakdown_card.layout().insertWidget(2, self.breakdown)
        self.breakdown_card.value.hide()
        self.fit_card = Card(
            "Fits the board?", "The model's flash against the board's flash, its RAM against the board's RAM"
        )
        self.fit_card.value.hide()
        self.board_picker = QComboBox()
        self.board_picker.setToolTip("The board to check the fit against")
        self.board_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.board_picker.setMinimumContentsLength(18)
        fill_boards(self.board_picker, session.catalog)
        self.flash_gauge = FitGauge("Flash")
        self.ram_gauge = FitGauge("RAM (arena)")
        fit_layout = self.fit_card.layout()
        fit_layout.insertWidget(1, self.board_picker)
        fit_layout.insertWidget(2, self.flash_gauge)
        fit_layout.insertWidget(3, self.ram_gauge)

        cards = QHBoxLayout()
        cards.setSpacing(8)
        for card, stretch in (
            (self.flash_card, 2),
            (self.arena_card, 2),
            (self.compute_card, 2),
            (self.tflm_card, 2),
            (self.breakdown_card, 3),
            (self.fit_card, 3),
        ):
            cards.addWidget(card, stretch)

        self.graph = make_graph_view()  # embedded, or in the browser where QtWebEngine is left out
        self.table = LayerTable()
        self.chart = LayerBytesChart()
        layers_split = QSplitter(Qt.Orientation.Vertical)
        layers_split.addWidget(self.table)
        layers_split.addWidget(self.chart)
        layers_split.setSizes([380, 220])
        self.problems = QTableWidget(0, 4)
        self.problems.setHorizontalHeaderLabels(["Node", "Op", "Problem", "Fix"])
        self.problems.verticalHeader().hide()
        self.problems.setWordWrap(True)
        header = self.problems.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.problems_note = QLabel("")
        self.problems_note.setWordWrap(True)
        preflight = QWidget()
        preflight_layout = QVBoxLayout(preflight)
        preflight_layout.addWidget(self.problems_note)
        preflight_layout.addWidget(self.problems, 1)
        self.try_it = TryItPanel(session)
        self.tabs = QTabWidget()
        self.tabs.addTab(layers_split, "Layers")
        self.tabs.addTab(preflight, "TFLM pre-flight")
        try_it_scroll = QScrollArea()  # its rows scroll rather than make the page taller than a laptop screen
        try_it_scroll.setWidget(self.try_it)
        try_it_scroll.setWidgetResizable(True)
        try_it_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(try_it_scroll, "Try it")
        main_split = QSplitter(Qt.Orientation.Horizontal)
        main_split.addWidget(self.graph)
        main_split.addWidget(self.tabs)
        main_split.setSizes([430, 900])
        main_split.setChildrenCollapsible(False)

        self.next_step = QLabel(NEXT_STEP)
        self.next_step.setObjectName("nextStep")
        self.next_step.setTextFormat(Qt.TextFormat.RichText)
        self.next_step.setToolTip("Ctrl+2 and Ctrl+3 go there too")
        self.next_step.linkActivated.connect(
            lambda link: (self.optimize_requested if link == "optimize" else self.deploy_requested).emit()
        )
        self.next_step.hide()
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.next_step, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(header)
        layout.addWidget(self.subtitle)
        layout.addLayout(cards)
        layout.addWidget(main_split, 1)

        session.model_loading.connect(self._loading)
        session.load_failed.connect(self._load_failed)
        session.load_cancelled.connect(self._load_cancelled)
        # Deferred: a measurement superseded by a new one is cancelled before the new one starts.
        session.measurement_cancelled.connect(lambda: QTimer.singleShot(0, self._measurement_cancelled))
        session.model_changed.connect(self._model_changed)
        session.analysis_changed.connect(self._analysis_changed)
        session.board_changed.connect(self._board_changed)
        self.board_picker.currentIndexChanged.connect(lambda _: session.set_board(self.board_picker.currentData()))
        self.table.layer_selected.connect(self._layer_selected)
        self.chart.layer_clicked.connect(self.table.select_layer)
        # Show what the session already holds (the page may be built after a model opened).
        if session.model is not None:
            self._model_changed(session.model)
        if session.analysis is not None:
            self._analysis_changed(session.analysis)
        self._board_changed(session.board)

    # -- session events -------------------------------------------------------------------
    def _loading(self, path: str) -> None:
        if self.session.model is None:  # nothing on screen yet: say what is coming
            self.title.setText(f"Opening {Path(path).name}…")
        self.subtitle.setText(f"Opening {path}… (progress in the status bar; Esc cancels)")

    def _load_failed(self, path: str, error: WorkbenchError) -> None:
        model = self.session.model
        if model is None:  # nothing else to show: the page itself says what went wrong
            self.title.setText(f"Could not open {Path(path).name}")
            self.subtitle.setText(error.message + (f" · {error.hint}" if error.hint else ""))
        else:  # the open model stays; the dialog and the status bar tell about the failed one
            self._subtitle(model, self.session.analysis.notes if self.session.analysis else model.notes)

    def _load_cancelled(self, path: str) -> None:
        model = self.session.model
        if model is None:
            self.title.setText("No model open")
            self.subtitle.setText(f"Opening {Path(path).name} was cancelled. Open a model (Ctrl+O) or the sample.")
        else:
            self._subtitle(model, self.session.analysis.notes if self.session.analysis else model.notes)

    def _measurement_cancelled(self) -> None:
        analysis = self.session.analysis
        if analysis is None or analysis.tflm is not None or self.session.jobs.running("tflm"):
            return
        self.arena_card.set("not measured", "cancelled: press F6 to measure it in TFLM", MUTED)
        self.tflm_card.set("not checked", "cancelled: press F6 to check it in TFLM", MUTED)
        self.problems_note.setText("The TFLM check was cancelled. Press F6 (Model > Measure in TFLM) to run it.")
        self.ram_gauge.set(None, "not measured (F6 measures it)")

    def _model_changed(self, model: Model) -> None:
        self.title.setText(model.name)
        self.next_step.show()
        self._subtitle(model, model.notes)
        self.graph.show_model(model.tflite, model.name)

    def _subtitle(self, model: Model, notes: list[str]) -> None:
        text = " ".join(notes)
        self.subtitle.setText(f"{model.format} · {model.path.parent}" + (f" · {text}" if text else ""))

    def _analysis_changed(self, analysis: Analysis) -> None:
        if self.session.model is not None:
            self._subtitle(self.session.model, analysis.notes)
        self.table.set_layers(analysis.layers)
        self.chart.set_layers(analysis.layers)
        totals = analysis.totals
        self.flash_card.set(kb(analysis.size_bytes), f"{analysis.size_bytes:,} bytes · {totals.params:,} parameters")
        self.compute_card.set(
            f"{count(totals.macs)}MACs".replace(" M", " M ").replace(" k", " k "),
            f"{totals.macs:,} multiply-adds and {count(totals.ops)} other operations per prediction",
        )
        self._show_breakdown(analysis)
        self._show_tflm(analysis)
        self._show_fit()

    def _show_breakdown(self, analysis: Analysis) -> None:
        rows = []
        for key, value in analysis.flash_breakdown.items():
            share = 100.0 * value / max(analysis.size_bytes, 1)
            bar = f"<span style='background:{_BREAKDOWN_COLORS[key]}'>{'&nbsp;' * max(1, round(share / 7))}</span>"
            rows.append(
                f"<tr><td>{FLASH_LABELS[key]}</td><td align='right'>&nbsp;{kb(value)}</td>"
                f"<td align='right'>&nbsp;{share:.1f}%</td><td>&nbsp;{bar}</td></tr>"
            )
        self.breakdown.setText(f"<table cellspacing='0' cellpadding='0'>{''.join(rows)}</table>")

    def _show_tflm(self, analysis: Analysis) -> None:
        report = analysis.tflm
        self.problems.setRowCount(0)
        if report is None:
            self.arena_card.set("measuring…", "TFLM is preparing the model", MUTED)
            self.tflm_card.set("checking…", "TFLM is preparing and running the model once", MUTED)
            self.problems_note.setText("TFLM is preparing the model…")
            return
        if report.arena_bytes:
            guess = 10 * analysis.size_bytes
            self.arena_card.set(
                kb(report.arena_bytes),
                f"measured exactly: {report.arena_bytes:,} bytes; the exported code reserves "
                f"{kb(report.recommended_arena_bytes)} ({report.margin_percent}% to spare)",
            )
            model = self.session.model
            planning, saves = plan_note(model.graph) if model is not None else ("", False)
            if saves:  # a saving is worth saying on the card itself
                self.arena_card.detail.setText(f"{self.arena_card.detail.text()}. {planning}")
            self.arena_card.detail.setToolTip(
                f"A common rule of thumb reserves ten times the model's size ({kb(guess)}); this is the figure "
                "TFLM's own interpreter needed to allocate and run the model, so the board keeps the rest."
                + (f"\n\n{planning}" if planning else "")
            )
        else:
            self.arena_card.set("n/a", "TFLM could not allocate this model (see pre-flight)", BAD)
        if report.crash_note:
            self.arena_card.detail.setText(
                f"exact: {report.arena_bytes:,} bytes · reserve {kb(report.recommended_arena_bytes)}: "
                "below it TFLM crashes instead of failing, so keep the margin"
            )
            self.arena_card.value.setStyleSheet(f"color: {WARN};")
        if report.compatible:
            self.tflm_card.set("Yes", f"all {len(analysis.layers)} operators prepare and run", GOOD)
            self.problems_note.setText(
                f"✔ All {len(analysis.layers)} operators prepared and ran once in TFLM {report.tflm_version}."
                + (f"<br><b style='color:{WARN}'>⚠ {report.crash_note}</b>" if report.crash_note else "")
            )
        else:
            self.tflm_card.set("No", f"{len(report.problems)} problem(s) - see TFLM pre-flight", BAD)
            self.problems_note.setText(
                "These operators will not run on a microcontroller with TFLM. "
                "Without this check you would find out when AllocateTensors() fails on the board."
            )
        self.problems.setRowCount(len(report.problems))
        for row, problem in enumerate(report.problems):
            cells = ["" if problem.node is None else str(problem.node), problem.op, problem.message, problem.fix]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.problems.setItem(row, column, item)
        self.problems.resizeRowsToContents()

    def plugins_reloaded(self) -> None:
        """Offer the boards of the session's new catalog (File > Reload Plugins)."""
        board = self.session.board
        fill_boards(self.board_picker, self.session.catalog, board.id if board else None)

    def _board_changed(self, board: Board | None) -> None:
        index = self.board_picker.findData(board.id if board else None)
        if index >= 0 and index != self.board_picker.currentIndex():
            self.board_picker.setCurrentIndex(index)
        self._show_fit()

    def _show_fit(self) -> None:
        board_fit = self.session.fit()
        board = self.session.board
        if board_fit is None or board is None:
            self.flash_gauge.set(None, "choose a board" if board is None else "-")
            self.ram_gauge.set(None, "")
            self.fit_card.detail.setText("")
            return
        self.flash_gauge.set_fit(
            board_fit.flash_used_pct, f"{kb(board_fit.flash_bytes)} of {board.flash_kb} KB", board_fit.runs
        )
        measured = self.session.analysis is not None and self.session.analysis.tflm is not None
        if board_fit.ram_bytes is None:
            self.ram_gauge.set(None, "unknown: TFLM could not allocate this model" if measured else "measuring…")
        else:
            self.ram_gauge.set_fit(
                board_fit.ram_used_pct, f"{kb(board_fit.ram_bytes)} of {board.ram_kb} KB", board_fit.runs
            )
        color = LEVEL_COLORS[board_fit.level]
        self.fit_card.detail.setText(
            f"<b style='color:{color}'>{board_fit.verdict}</b>: {board_fit.headroom} for your firmware and the "
            "TFLM runtime."
        )

    def _layer_selected(self, index: int) -> None:
        self.chart.mark(index)
        self.graph.select_node(index)
