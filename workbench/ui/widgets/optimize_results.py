"""The Optimize page's verified result: the result card with Convert now and Use for Deploy, and
the tabs beside it (accuracy with its interval and confusion matrix, per-layer error, the compare
table with Use for Deploy and Save). `show_variant()` fills them from one verified variant."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from workbench.core import fit as board_fit
from workbench.optimize.convert import Variant
from workbench.ui.widgets.cards import LEVEL_COLORS, MUTED, Card
from workbench.ui.widgets.variant_views import (
    Caption,
    CompareTable,
    ConfusionMatrix,
    LayerErrorView,
    accuracy_html,
)
from workbench.units import kb


class VerifiedResults:
    """The widgets of the verified result (the page lays them out: `result_card`, `details`)."""

    def __init__(self) -> None:
        self.result_card = Card("Verified result", "Converted in the background and measured by TFLM")
        self.convert_button = QPushButton("Convert now")
        self.convert_button.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.convert_button.setToolTip(
            "Convert with these settings, measure the result in TFLM and its accuracy on your data (F5)"
        )
        self.deploy_button = QPushButton("Use for Deploy")
        self.deploy_button.setToolTip("Take this result to the Deploy step: export it or flash it")
        self.deploy_button.setEnabled(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.convert_button)
        row.addWidget(self.deploy_button)
        self.result_card.layout().addLayout(row)
        self.accuracy = QLabel("")
        self.accuracy.setWordWrap(True)
        self.accuracy.setToolTip(
            "95% interval: given how many samples were measured, the true figure lies in this range "
            "19 times out of 20. More samples make it narrower."
        )
        self.accuracy.setTextFormat(Qt.TextFormat.RichText)
        self.accuracy.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confusion = ConfusionMatrix()
        self.layer_error = LayerErrorView()
        self.compare = CompareTable()
        self.use_button = QPushButton("Use for Deploy")
        self.use_button.setToolTip("Carry the selected variant to the Deploy step")
        self.save_button = QPushButton("Save as .tflite…")
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.setToolTip("Save the selected variant (Ctrl+S)")
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
        self.confusion_box = Caption("Confusion matrix (optimized): rows true class, columns predicted", self.confusion)
        accuracy_layout.addWidget(self.confusion_box, 1)
        accuracy_layout.addStretch(0)
        details.addTab(accuracy_box, "Accuracy")
        details.addTab(self.layer_error, "Per-layer error")
        details.addTab(compare_box, "Compare variants")
        self.details = details

    def show_variant(self, variant: Variant | None, evaluation_data: str = "") -> None:
        """Show a verified variant, or (None) what a conversion will show; `evaluation_data` names
        the data its accuracy will be measured on."""
        self.deploy_button.setEnabled(variant is not None)
        self.deploy_button.setEnabled(variant is not None)
        if variant is None:
            on = f" and measure its accuracy on {evaluation_data}" if evaluation_data else ""
            self.result_card.set(
                "not converted yet",
                f"Press Convert now (F5) to convert with these settings{on}; changing a setting also starts it.",
                MUTED,
            )
            self.accuracy.setText(
                "Accuracy against the float model, with how far it can be trusted, appears here after a "
                "verified conversion."
            )
            self.confusion.show_matrix(None)
            self.confusion_box.hide()
            self.layer_error.show_variant(None)
            return
        actual = variant.actual
        verdict = variant.verdict
        arena = kb(actual.arena_bytes) if actual.arena_bytes else "not measured (TFLM cannot allocate it)"
        figures = (
            f"{variant.label}: flash {actual.flash_bytes:,} B (estimate off by {variant.flash_error_pct:+.1f}%), "
            f"arena {arena}, compressed {kb(actual.compressed_bytes)}."
        )
        if variant.plan.sparsity:
            figures += f" {variant.sparsity:.0%} of weights are zero: flash unchanged, compressed size smaller."
        marks = {board_fit.BAD: "✖ ", board_fit.TIGHT: "⚠ ", board_fit.UNKNOWN: "• ", board_fit.GOOD: "✔ "}
        reasons = [marks[level] + what for level, what in verdict.findings]
        self.result_card.set(kb(actual.flash_bytes), "\n".join([figures, *reasons]), LEVEL_COLORS[verdict.level])
        self.accuracy.setText(accuracy_html(variant))
        confusion = variant.evaluation.confusion if variant.evaluation is not None else None
        self.confusion.show_matrix(confusion["optimized"] if confusion else None)
        self.confusion_box.setVisible(bool(confusion))
        self.layer_error.show_variant(variant)
