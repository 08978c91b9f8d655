"""The Deploy page's two actions as panels: Export (format, folder, result) and Flash (what to
flash, progress, cancel, the tool's live log, then Monitor). The page drives them."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.export.api import FORMATS
from workbench.ui.deploy_rules import FIRMWARE, MODEL_ONLY, PROJECT
from workbench.ui.widgets.cards import BAD, GOOD, MUTED
from workbench.ui.widgets.deploy_log import FlashLog
from workbench.ui.widgets.deploy_target import section

FORMAT_WORDS = {  # what each format is for, in the words of someone who has not exported before
    "c": "C source and header: add them to any firmware project",
    "arduino": "Arduino library (.zip) with an example sketch for the Arduino IDE",
    "platformio": "PlatformIO project, ready to build and upload",
    "cmake": "CMake project for a desktop or vendor toolchain build",
    "report": "HTML report of the model and its fit, to share",
}
PRIMARY_STYLE = (  # the one action of a panel stands out; a disabled one says so by its grey
    "QPushButton#primaryButton { background: #1d4ed8; color: white; font-weight: 600; padding: 5px 18px;"
    " border: 1px solid #1d4ed8; border-radius: 5px; }"
    "QPushButton#primaryButton:disabled { background: #e5e7eb; color: #9ca3af; border-color: #d1d5db; }"
)


def _status(label: QLabel, text: str, color: str = "") -> None:
    label.setText(f"<span style='color:{color}'>{text}</span>" if color and text else text)
    label.setVisible(bool(text))


class ExportPanel(QWidget):
    export_requested = Signal()
    choose_folder_requested = Signal()
    open_folder_requested = Signal()
    format_chosen = Signal(str)  # by the person

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        frame, layout = section("2  Export code")
        self.format = QComboBox()
        for format_id, (_module, words) in FORMATS.items():
            self.format.addItem(words, format_id)
            self.format.setItemData(
                self.format.count() - 1, FORMAT_WORDS.get(format_id, ""), Qt.ItemDataRole.ToolTipRole
            )
        self.format.setToolTip("What to write: C files, a project to build, or a report")
        self.format_note = QLabel("")
        self.format_note.setObjectName("cardDetail")
        self.format_note.setWordWrap(True)
        self.folder = QLineEdit()
        self.folder.setToolTip("The folder the files are written to (created when missing)")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setToolTip("Pick another folder")
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("primaryButton")
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the exported files in the file manager")
        self.open_button.hide()
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("Format"), 0, 0)
        grid.addWidget(self.format, 0, 1, 1, 2)
        grid.addWidget(self.format_note, 1, 1, 1, 2)
        grid.addWidget(QLabel("Folder"), 2, 0)
        grid.addWidget(self.folder, 2, 1)
        grid.addWidget(self.choose_button, 2, 2)
        layout.addLayout(grid)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.setStyleSheet(PRIMARY_STYLE)
        self.export_button.clicked.connect(self.export_requested.emit)
        self.choose_button.clicked.connect(self.choose_folder_requested.emit)
        self.open_button.clicked.connect(self.open_folder_requested.emit)
        self.format.activated.connect(lambda _index: self.format_chosen.emit(self.format_id()))
        self.format.currentIndexChanged.connect(
            lambda _index: self.format_note.setText(FORMAT_WORDS.get(self.format_id(), ""))
        )

    def format_id(self) -> str:
        return str(self.format.currentData())

    def set_format(self, format_id: str) -> None:
        self.format.setCurrentIndex(max(self.format.findData(format_id), 0))

    def show_running(self, text: str) -> None:
        self.open_button.hide()
        _status(self.result, escape(text), MUTED)

    def show_done(self, folder: Path, files: list[Path], notes: list[str]) -> None:
        names = [escape(str(p.relative_to(folder))) for p in files[:6]]
        more = f" and {len(files) - 6} more" if len(files) > 6 else ""
        text = (
            f"<span style='color:{GOOD}'>✔ Wrote {len(files)} file{'s' if len(files) != 1 else ''}</span> to "
            f"{escape(str(folder))}: {', '.join(names)}{more}."
        )
        text += "".join(f"<br>{escape(note)}" for note in notes)
        _status(self.result, text)
        self.open_button.show()

    def show_failed(self, message: str) -> None:
        _status(self.result, f"✖ {escape(message)}", BAD)

    def show_cancelled(self) -> None:
        _status(self.result, "Export cancelled: nothing was written.", MUTED)

    def clear(self) -> None:
        """Forget the last export's outcome (the model or the board changed)."""
        self.open_button.hide()
        _status(self.result, "", MUTED)


class FlashPanel(QWidget):
    flash_requested = Signal()
    cancel_requested = Signal()
    choose_firmware_requested = Signal()
    monitor_requested = Signal()
    source_chosen = Signal(str)  # by the person

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        frame, layout = section("3  Flash the board")
        self.source = QComboBox()
        self.source.addItem("Build the exported project and upload it", PROJECT)
        self.source.addItem("Only the model, into the firmware already on the board", MODEL_ONLY)
        self.source.addItem("A firmware file you built (.uf2, .bin, .hex, .elf)", FIRMWARE)
        self.source.setToolTip("What goes onto the board")
        self.source_note = QLabel("")
        self.source_note.setObjectName("cardDetail")
        self.source_note.setWordWrap(True)
        self.firmware = QLineEdit()
        self.firmware.setPlaceholderText("the firmware file to flash")
        self.firmware_button = QPushButton("Choose…")
        self.flash_button = QPushButton("Flash")
        self.flash_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop flashing (Esc)")
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(12)
        self.progress.hide()
        self.note = QLabel("")  # why Flash cannot run yet
        self.note.setObjectName("cardDetail")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.status = QLabel("")  # what is running, or how the last flash ended
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.monitor_button = QPushButton("Open Monitor")
        self.monitor_button.setObjectName("primaryButton")
        self.monitor_button.setToolTip("Watch what the board sends back over USB")
        self.monitor_button.hide()
        self.log_button = QPushButton("Hide log")
        self.log_button.setToolTip("What the flashing tool printed")
        self.log = FlashLog()
        self._filler = QWidget()  # takes the log's room while it is hidden, so the rest stays on top
        self._filler.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._filler.hide()
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("What"), 0, 0)
        grid.addWidget(self.source, 0, 1, 1, 2)
        grid.addWidget(self.source_note, 1, 1, 1, 2)
        grid.addWidget(self.firmware, 2, 1)
        grid.addWidget(self.firmware_button, 2, 2)
        layout.addLayout(grid)
        buttons = QHBoxLayout()
        buttons.addWidget(self.flash_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(0)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        after = QHBoxLayout()
        after.addWidget(self.monitor_button)
        after.addStretch(1)
        after.addWidget(self.log_button)
        layout.addLayout(after)
        layout.addWidget(self.log, 1)
        layout.addWidget(self._filler, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.setStyleSheet(PRIMARY_STYLE)
        self.flash_button.clicked.connect(self.flash_requested.emit)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.firmware_button.clicked.connect(self.choose_firmware_requested.emit)
        self.monitor_button.clicked.connect(self.monitor_requested.emit)
        self.log_button.clicked.connect(lambda: self.show_log(self.log.isHidden()))
        self.source.activated.connect(lambda _index: self.source_chosen.emit(self.source_id()))
        self.source.currentIndexChanged.connect(lambda _index: self._show_firmware_row())
        self._show_firmware_row()
        _status(self.status, "")
        self.set_note("")

    def source_id(self) -> str:
        return str(self.source.currentData())

    def set_source(self, source: str) -> None:
        self.source.setCurrentIndex(max(self.source.findData(source), 0))

    def enable_source(self, source: str, enabled: bool, why: str = "") -> None:
        item = self.source.model().item(self.source.findData(source))  # type: ignore[attr-defined]
        item.setEnabled(enabled)
        item.setToolTip(why)

    def _show_firmware_row(self) -> None:
        visible = self.source_id() == FIRMWARE
        self.firmware.setVisible(visible)
        self.firmware_button.setVisible(visible)

    def show_log(self, visible: bool) -> None:
        self.log.setVisible(visible)
        self._filler.setVisible(not visible)
        self.log_button.setText("Hide log" if visible else "Show log")

    def set_note(self, text: str) -> None:
        """Why Flash cannot run yet, or '' when it can."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def show_running(self, text: str) -> None:
        self.monitor_button.hide()
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        _status(self.status, escape(text), MUTED)

    def show_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if text:
            _status(self.status, f"{escape(text)} ({fraction:.0%}) - Esc cancels", MUTED)

    def _ended(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def show_done(self, message: str, port: str) -> None:
        self._ended()
        _status(self.status, f"✔ {escape(message)}.", GOOD)
        self.monitor_button.setText(f"Open Monitor on {port}" if port else "Open Monitor")
        self.monitor_button.show()

    def show_failed(self, message: str) -> None:
        self._ended()
        _status(self.status, f"✖ {escape(message)}", BAD)

    def show_cancelled(self) -> None:
        self._ended()
        _status(self.status, "Flashing was cancelled. If the board does not start as before, flash it again.", MUTED)

    def clear(self) -> None:
        """Forget the last flash's outcome (the model or the board changed)."""
        self._ended()
        self.monitor_button.hide()
        _status(self.status, "", MUTED)
