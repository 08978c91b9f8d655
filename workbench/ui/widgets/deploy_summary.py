"""The top of the Deploy page: what goes to the board (model or variant), its flash, RAM and
accuracy, how it fits the board, and the offer to optimize when int8 would fit far better."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.fit import Fit
from workbench.export.api import DeployModel
from workbench.ui.widgets.cards import GOOD, MUTED, WARN, Card
from workbench.ui.widgets.fit_card import FitCard
from workbench.units import kb


class DeploySummary(QWidget):
    """Cards for the model about to be deployed; the page says what to show."""

    optimize_requested = Signal()  # 'Optimize for this board'
    original_requested = Signal()  # 'Use the model as opened' instead of the chosen variant

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_card = Card("What goes to the board", "The model as opened, or the variant chosen on Optimize")
        self.original_button = QPushButton("Use the model as opened instead")
        self.original_button.setObjectName("linkButton")
        self.original_button.setFlat(True)
        self.original_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.original_button.setStyleSheet(
            "QPushButton { color: #1d4ed8; text-decoration: underline; border: none; padding: 0; text-align: left; }"
        )
        self.original_button.setToolTip("Deploy the model as it was opened, not the variant chosen on Optimize")
        self.original_button.clicked.connect(self.original_requested.emit)
        self.original_button.hide()
        self.source_card.layout().insertWidget(3, self.original_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.flash_card = Card("Flash", "The model's bytes as they will sit in the board's flash memory")
        self.arena_card = Card("RAM (tensor arena)", "Working memory the model needs on the board, measured by TFLM")
        self.accuracy_card = Card("Accuracy", "How often it predicts right on labelled data, measured on Optimize")
        self.fit_card = FitCard()
        cards = QHBoxLayout()
        cards.setSpacing(8)
        for card, stretch in (
            (self.source_card, 3),
            (self.flash_card, 2),
            (self.arena_card, 2),
            (self.accuracy_card, 2),
            (self.fit_card, 3),
        ):
            cards.addWidget(card, stretch)

        self.suggestion = QFrame()
        self.suggestion.setObjectName("notice")
        self.suggestion_text = QLabel("")
        self.suggestion_text.setWordWrap(True)
        self.suggestion_text.setTextFormat(Qt.TextFormat.RichText)
        self.optimize_button = QPushButton("Optimize for this board")
        self.optimize_button.setToolTip("Go to the Optimize page to make a smaller int8 version for this board")
        self.optimize_button.clicked.connect(self.optimize_requested.emit)
        row = QHBoxLayout(self.suggestion)
        row.setContentsMargins(12, 6, 12, 6)
        row.addWidget(self.suggestion_text, 1)
        row.addWidget(self.optimize_button)
        self.suggestion.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(cards)
        layout.addWidget(self.suggestion)

    def show_nothing(self, text: str) -> None:
        self.source_card.set("nothing yet", text, MUTED)
        self.original_button.hide()
        for card in (self.flash_card, self.arena_card, self.accuracy_card):
            card.set("-", "")
        self.fit_card.show_nothing("")
        self.show_suggestion("")

    def show_model(self, model: DeployModel, what: str, what_detail: str, is_variant: bool) -> None:
        """`model` as it will be exported; `what` names it in a few words ('int8 variant')."""
        self.source_card.set(what, what_detail, GOOD if is_variant else None)
        self.original_button.setVisible(is_variant)
        self.flash_card.set(kb(len(model.tflite)), f"{len(model.tflite):,} bytes of model in the board's flash")
        report = model.analysis.tflm
        if report is None:
            self.arena_card.set("measuring…", "TFLM is measuring the RAM the model needs", MUTED)
        elif report.arena_bytes:
            reserve = report.recommended_arena_bytes or report.arena_bytes
            self.arena_card.set(
                kb(report.arena_bytes),
                f"{report.arena_bytes:,} bytes, measured by TFLM · reserve {kb(reserve)} "
                f"(+{report.margin_percent}% margin)",
            )
        else:
            self.arena_card.set("not measured", "TFLM could not allocate this model (see Inspect)", WARN)

    def show_accuracy(self, value: str, detail: str) -> None:
        """('99.1%', 'on 450 labelled samples …'), or ('', why it is not known)."""
        if value:
            self.accuracy_card.set(value, detail)
        else:
            self.accuracy_card.set("not measured", detail, MUTED)

    def show_fit(self, fit: Fit | None, no_fit_text: str = "") -> None:
        if fit is None:
            self.fit_card.show_nothing(no_fit_text)
        else:
            self.fit_card.show_fit(fit, True)
            self.fit_card.title.setText("BOARD FIT")

    def show_suggestion(self, html: str) -> None:
        """A sentence (rich text) offering Optimize; empty hides the offer."""
        self.suggestion_text.setText(html)
        self.suggestion.setVisible(bool(html))
