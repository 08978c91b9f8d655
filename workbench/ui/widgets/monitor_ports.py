"""Where the Monitor reads from: the serial ports (boards recognised by USB ID first) and the virtual
board, a `simulate` child process that runs a model and serves what it predicts as a port.

The virtual board is its own process (`python -m workbench simulate MODEL --link PATH`): it makes a
pty, links it at PATH, and prints predictions there like an exported sketch does. The page
connects to PATH once the link appears, and ends the child when it disconnects or closes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.core.launcher import command_argv

log = logging.getLogger(__name__)

VIRTUAL = "virtual"  # the port id of the virtual board
VIRTUAL_START_TIMEOUT_S = 120.0  # loading TFLM and the model; the child says why when it fails
STOP_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class PortChoice:
    """A port the picker offers: its id (device path, URL or VIRTUAL) and what it shows."""

    port: str
    text: str
    board: str = ""  # the board name when its USB ID is known


def port_choices(boards: list[Board]) -> list[PortChoice]:
    """Serial ports with a recognised board first, then the other serial ports, then the virtual board."""
    from workbench.flash.detect import serial_devices

    try:
        devices = serial_devices(boards)
    except Exception:  # noqa: BLE001 - a port listing that fails leaves the virtual board and typing
        log.warning("listing serial ports failed", exc_info=True)
        devices = []
    names = {board.id: board.name for board in boards}
    known, other = [], []
    for device in devices:
        board = ", ".join(names.get(b, b) for b in device.board_ids)
        if board:
            known.append(PortChoice(device.location, f"{board} ({device.location})", board))
        else:
            other.append(PortChoice(device.location, f"{device.location} - {device.description}"))
    return [*known, *other, PortChoice(VIRTUAL, "Virtual board (runs the model here)")]


def simulate_command(model: Path, link: Path, inputs: Path | None = None) -> tuple[str, list[str]]:
    """The program and arguments that start the virtual board on `model`, linked at `link`."""
    arguments = ["simulate", str(model), "--link", str(link)]
    if inputs is not None:
        arguments += ["--input", str(inputs)]
    program, *rest = command_argv(arguments, end_with_parent=True)  # never outlives a crashed app
    return program, rest


class VirtualBoard(QObject):
    """The `simulate` child process: `ready(port)` once its port exists; `failed(error)` when it
    ends on its own (before or after it was ready), saying why."""

    ready = Signal(str)
    failed = Signal(object)  # WorkbenchError

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.folder: Path | None = None
        self.link: Path | None = None
        self.model: Path | None = None
        self._waited_s = 0.0
        self._output = ""
        self._ending: set[QProcess] = set()  # stopped, not ended yet
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._check)

    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(
        self, model: Path, tflite: bytes | None = None, labels: list[str] | None = None, inputs: Path | None = None
    ) -> None:
        """Start the child on `model` (cycling through `inputs` when given); when `tflite` is given
        (a model opened as .keras), those bytes are written beside the labels in a folder of its
        own and run instead."""
        self.stop()
        self.folder = Path(tempfile.mkdtemp(prefix="workbench-virtual-"))
        self.link = self.folder / "port"
        if tflite is not None:
            self.model = self.folder / f"{model.stem}.tflite"
            self.model.write_bytes(tflite)
            if labels:
                self.model.with_suffix(".labels.txt").write_text("\n".join(labels) + "\n")
        else:
            self.model = model
        program, arguments = simulate_command(self.model, self.link, inputs)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self._output = ""
        self._waited_s = 0.0
        log.info("starting the virtual board: %s %s", program, " ".join(arguments))
        self.process.start(program, arguments)
        self._poll.start()

    def _read(self) -> None:
        if self.process is not None:
            self._output += bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
            self._output = self._output[-20000:]

    def _check(self) -> None:
        self._waited_s += self._poll.interval() / 1000
        if self.link is not None and self.link.exists():
            self._poll.stop()
            self.ready.emit(str(self.link))
        elif self._waited_s > VIRTUAL_START_TIMEOUT_S:
            self._poll.stop()
            details = self._output
            self.stop()
            self.failed.emit(
                WorkbenchError(
                    f"The virtual board did not start within {VIRTUAL_START_TIMEOUT_S:.0f} s.", details=details
                )
            )

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._poll.stop()  # (stop() disconnects this slot first: here the child ended on its own)
        self._read()
        lines = [line.strip() for line in self._output.splitlines() if line.strip()]
        said = next((line for line in reversed(lines) if line.lower().startswith("error:")), "")
        if said:
            reason = said.split(":", 1)[1].strip()
        elif status == QProcess.ExitStatus.CrashExit:
            reason = "its process crashed or was killed"
        else:
            reason = f"its process ended (exit code {code})"
        self.failed.emit(WorkbenchError(f"The virtual board stopped: {reason}", details=self._output))

    def output(self) -> str:
        """What the child printed (for the log and error details)."""
        self._read()
        return self._output

    def stop(self, wait: bool = False) -> None:
        """End the child and remove its folder: SIGTERM at once, a kill STOP_TIMEOUT_MS later if it
        is still there. Returns at once (running() is False from now on) unless `wait` (the window
        is closing), when it waits for the end."""
        self._poll.stop()
        process, self.process = self.process, None
        folder, self.folder = self.folder, None
        if process is None:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return
        process.finished.disconnect(self._finished)
        if process.state() == QProcess.ProcessState.NotRunning:
            self._ended(process, folder)
            return
        self._ending.add(process)
        process.finished.connect(lambda _code, _status: self._ended(process, folder))
        process.terminate()
        if wait:
            if not process.waitForFinished(STOP_TIMEOUT_MS):
                process.kill()
                process.waitForFinished(STOP_TIMEOUT_MS)
        else:
            QTimer.singleShot(STOP_TIMEOUT_MS, self, lambda: self._kill_if_running(process))

    def _kill_if_running(self, process: QProcess) -> None:
        if process in self._ending:
            log.warning("the virtual board did not end on SIGTERM within %d ms: killing it", STOP_TIMEOUT_MS)
            process.kill()

    def _ended(self, process: QProcess, folder: Path | None) -> None:
        self._ending.discard(process)
        process.deleteLater()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
