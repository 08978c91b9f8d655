"""The Monitor's controls: port, baud, format, Connect; Record, Pause, Clear; time window; exports."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from workbench.ui.widgets.monitor_ports import PortChoice

BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000)
DEFAULT_BAUD = 115200
WINDOWS = (("10 s", 10.0), ("30 s", 30.0), ("2 min", 120.0), ("10 min", 600.0), ("all", None))
DEFAULT_WINDOW = "30 s"


class MonitorControls(QWidget):
    connect_requested = Signal()
    disconnect_requested = Signal()
    refresh_requested = Signal()
    record_requested = Signal(bool)  # True: start (asks for a file), False: stop
    pause_toggled = Signal(bool)
    clear_requested = Signal()
    follow_requested = Signal()
    export_png_requested = Signal()
    export_csv_requested = Signal()
    port_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = QComboBox()
        self.port.setEditable(True)
        self.port.setMinimumContentsLength(26)
        self.port.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.port.setToolTip("The board's serial port, a pyserial URL (socket://host:port), or the virtual board")
        self.port.lineEdit().setPlaceholderText("/dev/ttyACM0, COM3 or socket://host:port")
        self.refresh = QToolButton()
        self.refresh.setText("↻")
        self.refresh.setToolTip("Look for serial ports again")
        self.baud = QComboBox()
        self.baud.setEditable(True)
        self.baud.addItems([str(b) for b in BAUDS])
        self.baud.setToolTip("The speed the sketch set with Serial.begin() (remembered for each port)")
        self.format = QComboBox()
        self.format.setToolTip("How to read the lines: auto-detected, or a parser chosen by name")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("primary")
        self.record = QPushButton("Record…")
        self.record.setCheckable(True)
        self.record.setToolTip("Write every record to a CSV file while the monitor runs")
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Stop drawing (the buffer and the recording go on)")
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Empty the plots and the buffer (a recording goes on)")
        self.window = QComboBox()
        for text, seconds in WINDOWS:
            self.window.addItem(text, seconds)
        self.window.setCurrentText(DEFAULT_WINDOW)
        self.window.setToolTip("How much of the history the plots follow")
        self.follow = QPushButton("Follow")
        self.follow.setToolTip("Zoomed or panned: back to following the newest data with autoscale")
        self.follow.setEnabled(False)
        self.export_png = QPushButton("PNG…")
        self.export_png.setToolTip("Save the plots as they are now as a PNG image")
        self.export_csv = QPushButton("CSV…")
        self.export_csv.setToolTip("Save the data in view as a CSV file")

        first = QHBoxLayout()
        first.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Port"), self.port, self.refresh, QLabel("Baud"), self.baud):
            first.addWidget(widget)
        first.addWidget(QLabel("Format"))
        first.addWidget(self.format)
        first.addWidget(self.connect_button)
        first.addStretch(1)
        second = QHBoxLayout()
        second.setContentsMargins(0, 0, 0, 0)
        for widget in (self.record, self.pause, self.clear):
            second.addWidget(widget)
        second.addSpacing(16)
        second.addWidget(QLabel("Window"))
        second.addWidget(self.window)
        second.addWidget(self.follow)
        second.addStretch(1)
        second.addWidget(QLabel("Export"))
        second.addWidget(self.export_png)
        second.addWidget(self.export_csv)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(first)
        layout.addLayout(second)

        self.connect_button.clicked.connect(self._connect_clicked)
        self.refresh.clicked.connect(self.refresh_requested.emit)
        self.record.clicked.connect(lambda: self.record_requested.emit(self.record.isChecked()))
        self.pause.toggled.connect(self.pause_toggled.emit)
        self.clear.clicked.connect(self.clear_requested.emit)
        self.follow.clicked.connect(self.follow_requested.emit)
        self.export_png.clicked.connect(self.export_png_requested.emit)
        self.export_csv.clicked.connect(self.export_csv_requested.emit)
        self.port.activated.connect(lambda _index: self.port_chosen.emit(self.port_id()))
        self.set_connected(False)

    # -- choices --------------------------------------------------------------------------------
    def set_ports(self, choices: Sequence[PortChoice], keep: str = "") -> None:
        """Offer `choices`; keep `keep` (or what was chosen or typed) selected."""
        current = keep or self.port_id()
        self.port.blockSignals(True)
        self.port.clear()
        for choice in choices:
            self.port.addItem(choice.text, choice.port)
        self.port.blockSignals(False)
        self.select_port(current)

    def select_port(self, port: str) -> None:
        """Choose `port`: one of the offered ones, or typed in when it is not offered."""
        if not port:
            return
        index = self.port.findData(port)
        if index >= 0:
            self.port.setCurrentIndex(index)
        else:
            self.port.setEditText(port)

    def port_id(self) -> str:
        """The chosen port's id: the offered item's data, or the text typed in."""
        text = self.port.currentText().strip()
        index = self.port.currentIndex()
        if index >= 0 and self.port.itemText(index) == text:
            return str(self.port.itemData(index))
        return text

    def set_formats(self, names: Sequence[str]) -> None:
        self.format.clear()
        self.format.addItem("auto", "auto")
        for name in names:
            self.format.addItem(name, name)

    def format_name(self) -> str:
        return str(self.format.currentData() or self.format.currentText() or "auto")

    def set_baud(self, baud: int) -> None:
        self.baud.setCurrentText(str(baud))

    def baud_rate(self) -> int | None:
        """The baud rate typed or chosen, or None when it is not a whole positive number."""
        text = self.baud.currentText().strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def window_s(self) -> float | None:
        """How many seconds the plots follow (None: the whole history)."""
        value = self.window.currentData()
        return None if value is None else float(value)

    # -- state ----------------------------------------------------------------------------------
    def set_connected(self, connected: bool, connecting: bool = False) -> None:
        self.connect_button.setText("Disconnect" if connected or connecting else "Connect")
        self.connect_button.setToolTip(
            "Stop reading the port" if connected else "Stop starting" if connecting else "Start reading the port"
        )
        for widget in (self.port, self.refresh, self.baud, self.format):
            widget.setEnabled(not connected and not connecting)
        self.record.setEnabled(connected)
        if not connected:
            self.set_recording(False)

    def set_recording(self, recording: bool) -> None:
        self.record.blockSignals(True)
        self.record.setChecked(recording)
        self.record.blockSignals(False)
        self.record.setText("Stop recording" if recording else "Record…")

    def set_following(self, following: bool) -> None:
        self.follow.setEnabled(not following)

    def _connect_clicked(self) -> None:
        if self.connect_button.text() == "Connect":
            self.connect_requested.emit()
        else:
            self.disconnect_requested.emit()
