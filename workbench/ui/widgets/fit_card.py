"""Board-fit gauges (Inspect and Optimize) and the Optimize page's fit card: verdict and gauges.

The verdict and its level come from `workbench.core.fit`; a model TFLM cannot run gets a red
verdict and grey bars, never green ones.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from workbench.core.fit import Fit
from workbench.ui.widgets.cards import LEVEL_COLORS, MUTED, Card, Gauge
from workbench.units import kb


class FitGauge(Gauge):
    """A gauge whose bar turns grey when the model cannot run on the board at all: its memory
    use is then beside the point, and a green bar would say the opposite."""

    def set_fit(self, percent: float | None, text: str, runs: bool | None) -> None:
        self.set(percent, text)
        if runs is False and percent is not None:
            self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {MUTED}; border-radius: 5px; }}")


class FitCard(Card):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Board fit", "Model flash against the board's flash, arena against its RAM", parent)
        self.value.hide()
        self.flash_gauge = FitGauge("Flash")
        self.ram_gauge = FitGauge("RAM (arena)")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        layout = self.layout()
        layout.insertWidget(1, self.verdict)
        layout.insertWidget(2, self.flash_gauge)
        layout.insertWidget(3, self.ram_gauge)

    def show_nothing(self, text: str = "") -> None:
        """No figures to show; `text` says why (e.g. no board chosen)."""
        self.title.setText("BOARD FIT")
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {MUTED};")
        self.flash_gauge.set(None, "")
        self.ram_gauge.set(None, "")

    def show_fit(self, result: Fit, verified: bool) -> None:
        """The fit of the verified result (`verified`) or of the instant estimate."""
        self.title.setText("BOARD FIT (VERIFIED)" if verified else "BOARD FIT (ESTIMATE)")
        self.verdict.setText(result.verdict)
        self.verdict.setStyleSheet(f"color: {LEVEL_COLORS[result.level]}; font-weight: 600;")
        flash_text = f"{kb(result.flash_bytes)} of {result.flash_capacity_bytes // 1024} KB"
        self.flash_gauge.set_fit(result.flash_used_pct, flash_text, result.runs)
        if result.ram_bytes:
            ram_text = f"{kb(result.ram_bytes)} of {result.ram_capacity_bytes // 1024} KB"
            self.ram_gauge.set_fit(result.ram_used_pct, ram_text, result.runs)
        else:
            self.ram_gauge.set(
                None, "not measured: TFLM cannot allocate it" if verified else "measured after conversion"
            )
