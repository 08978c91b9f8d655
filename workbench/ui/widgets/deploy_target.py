"""Where the Deploy page sends the model: the board (the session's, shared with Inspect and
Optimize), its port or UF2 drive (found by detection, or typed), and the flasher with whether it
can run on this computer."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.boards import Board, BoardCatalog
from workbench.flash.api import Availability
from workbench.ui.widgets.cards import BAD, GOOD, MUTED

if TYPE_CHECKING:
    from workbench.flash.detect import DetectedDevice

SEPARATOR = "  —  "  # between a port and its description in the port list


def section(title: str) -> tuple[QFrame, QVBoxLayout]:
    """A white card with a small title, for one part of the page."""
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(12, 8, 12, 10)
    label = QLabel(title.upper())
    label.setObjectName("cardTitle")
    layout.addWidget(label)
    return frame, layout


def board_picker(catalog: BoardCatalog) -> QComboBox:
    """Every board by name, with its memory in the tooltip; item data is the board id."""
    picker = QComboBox()
    picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    picker.setMinimumContentsLength(24)
    fill_boards(picker, catalog)
    return picker


def fill_boards(picker: QComboBox, catalog: BoardCatalog, chosen: str | None = None) -> None:
    """Fill `picker` with "Choose a board…" and every board of `catalog`, and select `chosen`
    (a board id) without a signal: refilling is not a person's choice."""
    picker.blockSignals(True)
    picker.clear()
    picker.addItem("Choose a board…", None)
    for board in sorted(catalog.boards.values(), key=lambda b: b.name.lower()):
        picker.addItem(board.name, board.id)
        picker.setItemData(
            picker.count() - 1,
            f"{board.mcu}, {board.clock_mhz:g} MHz, {board.flash_kb} KB flash, {board.ram_kb} KB RAM",
            Qt.ItemDataRole.ToolTipRole,
        )
    picker.setCurrentIndex(max(picker.findData(chosen), 0))
    picker.blockSignals(False)


def match(devices: list[DetectedDevice], board: Board | None) -> tuple[DetectedDevice | None, str | None]:
    """The device to preselect and the board it suggests: a device of the chosen board first,
    else the first device that matches any known board (then its board id), else none."""
    if board is not None:
        for device in devices:
            if board.id in device.board_ids:
                return device, None
    for device in devices:
        if device.board_ids:
            return device, device.board_ids[0]
    return None, None


class TargetPanel(QWidget):
    """Board, port and flasher; `find_requested` asks the page to run detection."""

    board_chosen = Signal(object)  # board id or None
    find_requested = Signal()

    def __init__(self, catalog: BoardCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.devices: list[DetectedDevice] = []
        frame, layout = section("1  Board and connection")
        self.board = board_picker(catalog)
        self.board.setToolTip("The board to deploy to (the same choice as on Inspect and Optimize)")
        self.port = QComboBox()
        self.port.setEditable(True)
        self.port.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.port.setMinimumContentsLength(24)
        self.port.lineEdit().setPlaceholderText("not found yet: plug the board in, or type its port")
        self.port.setToolTip("The USB serial port (e.g. /dev/ttyACM0 or COM3), or the board's USB drive for UF2")
        self.find_button = QPushButton("Find boards")
        self.find_button.setToolTip("Look for boards plugged into this computer's USB ports")
        self.find_button.clicked.connect(self.find_requested.emit)
        self.port_label = QLabel("Port")
        self.found = QLabel("")
        self.found.setObjectName("cardDetail")
        self.found.setWordWrap(True)
        self.flasher = QLabel("")
        self.flasher.setWordWrap(True)
        self.flasher.setTextFormat(Qt.TextFormat.RichText)
        self.flasher.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("Board"), 0, 0)
        grid.addWidget(self.board, 0, 1, 1, 2)
        grid.addWidget(self.port_label, 1, 0)
        grid.addWidget(self.port, 1, 1)
        grid.addWidget(self.find_button, 1, 2)
        grid.addWidget(self.found, 2, 1, 1, 2)
        grid.addWidget(QLabel("Flashed with"), 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.flasher, 3, 1, 1, 2)
        layout.addLayout(grid)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.board.currentIndexChanged.connect(lambda _index: self.board_chosen.emit(self.board.currentData()))

    # -- board ------------------------------------------------------------------------------
    def set_catalog(self, catalog: BoardCatalog, board: Board | None) -> None:
        """Offer the boards of a new catalog (plugins reloaded), `board` chosen."""
        self.catalog = catalog
        fill_boards(self.board, catalog, board.id if board else None)

    def set_board(self, board: Board | None) -> None:
        index = self.board.findData(board.id if board else None)
        if index >= 0 and index != self.board.currentIndex():
            self.board.blockSignals(True)
            self.board.setCurrentIndex(index)
            self.board.blockSignals(False)

    # -- port -------------------------------------------------------------------------------
    def show_finding(self) -> None:
        self.find_button.setEnabled(False)
        self.found.setText("Looking for boards on USB…")

    def show_devices(self, devices: list[DetectedDevice], board: Board | None) -> str | None:
        """List what was found, preselect the board's device; returns a board id to choose
        when a device of another known board was found and none of the chosen one."""
        self.find_button.setEnabled(True)
        self.devices = list(devices)
        typed = self.location_text()
        device, suggested = match(self.devices, board)
        self.port.clear()
        for found in self.devices:
            self.port.addItem(f"{found.location}{SEPARATOR}{found.description or found.kind}", found)
        if device is not None:
            self.port.setCurrentIndex(self.devices.index(device))
        elif typed:
            self.port.setEditText(typed)  # keep what the person typed
        else:
            self.port.setCurrentIndex(-1)
        names = self.catalog.boards
        if device is None:
            others = len(self.devices)
            self.found.setText(
                "No board found. Plug it in with a USB data cable and press Find boards, or type its port."
                if not others
                else f"No known board found ({others} other port{'s' if others > 1 else ''} in the list): "
                "plug the board in and press Find boards, or pick or type its port."
            )
        else:
            name = names[suggested].name if suggested in names else board.name if board else "a board"
            self.found.setText(
                f"Found {name} on {device.location}" + (" and chose it as the board." if suggested else ".")
            )
        return suggested

    def show_find_failed(self, message: str) -> None:
        self.find_button.setEnabled(True)
        self.found.setText(f"Could not look for boards: {message}. Type the port instead.")

    def location_text(self) -> str:
        return self.port.currentText().split(SEPARATOR)[0].strip()

    def location(self) -> tuple[str, str]:
        """(port, drive) for a flash: a found UF2 drive is a drive, a typed folder too."""
        text = self.location_text()
        index = self.port.currentIndex()
        device = self.port.itemData(index) if index >= 0 else None
        if device is not None and device.location == text:
            return ("", text) if device.kind == "uf2-drive" else (text, "")
        if text and Path(text).is_dir():
            return "", text
        return text, ""

    # -- flasher ----------------------------------------------------------------------------
    def show_flasher(self, name: str, description: str, availability: Availability | None) -> None:
        """The flasher that will run: ready, missing something (and how to get it), or unknown."""
        uf2 = name == "uf2"  # copies to the board's USB drive; every other flasher talks to a port
        self.port_label.setText("USB drive" if uf2 else "Port")
        self.port.lineEdit().setPlaceholderText(
            "not found yet: put the board in bootloader mode, or type the drive's folder"
            if uf2
            else "not found yet: plug the board in, or type its port"
        )
        if not name:
            self.flasher.setText(f"<span style='color:{MUTED}'>Choose a board first.</span>")
        elif availability is None:
            self.flasher.setText(
                f"<b>{escape(name)}</b> <span style='color:{BAD}'>✖ not part of this installation</span>"
                "<br>Add a flasher plugin of that name, or export and flash with your own tools."
            )
        elif availability.ok:
            self.flasher.setText(
                f"<b>{escape(name)}</b> <span style='color:{GOOD}'>✔ ready</span>"
                f"<br><span style='color:{MUTED}'>{escape(description)}</span>"
            )
        else:
            missing = escape(availability.missing or "something it needs is missing")  # a clause
            hint = f"<br><span style='color:{MUTED}'>How to get it: {escape(availability.hint)}</span>"
            self.flasher.setText(
                f"<b>{escape(name)}</b> <span style='color:{BAD}'>✖ {missing}</span>"
                + (hint if availability.hint else "")
            )
