"""Flash an ESP32 through esptool's Python API (v5 `esptool.cmds`), in a child process.

`flash_job` runs inside `workbench.core.child_main` (the esptool flasher plugin starts it with
`run_in_child`), because an esptool call cannot be interrupted in a thread: cancel ends the
child. The steps are those of `esptool --chip C --port P --baud B write-flash ADDR FILE`:
detect the chip on the port (and check it is the board's), load the flasher stub, switch to
the fast baud rate, attach the flash, write (esptool checks the MD5 of what it wrote), verify
again with `verify_flash` when asked, and hard-reset the board into the new firmware. esptool's
own lines become log lines and its progress bar the task's progress (`ProgressLogger`).

The helpers above `flash_job` (where a .bin goes, the equivalent command lines, the port of a
board) import nothing from esptool, so the plugin uses them in the app's own process.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

from workbench.core.boards import Board
from workbench.core.child import report_progress
from workbench.core.errors import WorkbenchError

FLASH_BAUD = 460800
ROM_BAUD = 115200  # the ROM bootloader syncs at this rate; the stub then switches to FLASH_BAUD
APP_OFFSET = 0x10000  # where Arduino's and ESP-IDF's default partition tables put the application
# Where each chip's ROM looks for the second-stage bootloader (esptool's BOOTLOADER_FLASH_OFFSET);
# the worker asks esptool itself, this table is for the dry run. Chips not named use 0x0.
BOOTLOADER_OFFSETS = {
    "esp32": 0x1000,
    "esp32s2": 0x1000,
    "esp32c5": 0x2000,
    "esp32p4": 0x2000,
    "esp32h4": 0x2000,
    "esp32s31": 0x2000,
}
IMAGE_MAGIC = 0xE9
APP_DESC_MAGIC = 0xABCD5432
IMAGE_HEADER_BYTES = 24  # esp_image_header_t of the ESP32 family
SEGMENT_HEADER_BYTES = 8

# Image kinds: where a .bin without an explicit address is written.
APP, BOOTLOADER, PADDED = "application", "bootloader-first", "padded from 0x0"

# Progress: connecting and loading the stub, then writing, then verifying and resetting.
WRITE_START, WRITE_END, VERIFY_END = 0.10, 0.90, 0.97


def chip_key(name: str) -> str:
    """esptool's chip argument for a chip name: "ESP32-S3" and "esp32s3" both give "esp32s3"."""
    return name.strip().lower().replace("-", "").replace("_", "")


def chip_title(chip: str) -> str:
    """The chip as esptool names it: "esp32s3" gives "ESP32-S3", "esp32" "ESP32"."""
    key = chip_key(chip)
    if key.startswith("esp32") and len(key) > len("esp32"):
        return f"ESP32-{key[len('esp32') :].upper()}"
    return key.upper()


def image_kind(data: bytes, chip: str) -> str:
    """Where a whole ESP firmware .bin starts: an application alone (APP, goes at 0x10000), an
    image that starts with the bootloader (BOOTLOADER: the bootloader alone, or a merged image made
    from the bootloader's offset) or a merged image padded with 0xFF from address 0 (PADDED).

    An application is told from a bootloader by the esp_app_desc_t (magic 0xABCD5432) that
    ESP-IDF puts at the start of an application's first data segment. Raises WorkbenchError when
    the data is no ESP image at all.
    """
    if data[:1] == bytes([IMAGE_MAGIC]):
        return APP if _has_app_description(data) else BOOTLOADER
    key = chip_key(chip)
    paddings = [BOOTLOADER_OFFSETS.get(key, 0)] if key else sorted(set(BOOTLOADER_OFFSETS.values()))
    for padding in paddings:
        if padding and len(data) > padding and data[padding] == IMAGE_MAGIC and data[:padding].count(0xFF) == padding:
            return PADDED
    raise WorkbenchError(
        "not an ESP firmware image (no 0xE9 image header at its start)",
        "Flash the .bin that Arduino or PlatformIO built for this board (the merged .bin holds everything).",
    )


def _has_app_description(data: bytes) -> bool:
    segments = data[1] if len(data) > 1 else 0
    offset = IMAGE_HEADER_BYTES
    for _ in range(segments):
        if offset + SEGMENT_HEADER_BYTES + 4 > len(data):
            return False
        _, length = struct.unpack_from("<II", data, offset)
        if struct.unpack_from("<I", data, offset + SEGMENT_HEADER_BYTES)[0] == APP_DESC_MAGIC:
            return True
        offset += SEGMENT_HEADER_BYTES + length
    return False


def kind_address(kind: str, bootloader_offset: int) -> int:
    """The flash address for an image of this kind on a chip whose bootloader is at `bootloader_offset`."""
    return {APP: APP_OFFSET, BOOTLOADER: bootloader_offset, PADDED: 0x0}[kind]


def read_image(firmware: Path) -> bytes:
    """The firmware's bytes; WorkbenchError naming the file when it cannot be read or is no .bin."""
    if firmware.suffix.lower() != ".bin":
        raise WorkbenchError(
            f"{firmware}: esptool writes .bin images, not {firmware.suffix or 'files without a suffix'}",
            "Export or build the firmware as a .bin (Arduino: Sketch > Export Compiled Binary).",
        )
    try:
        return firmware.read_bytes()
    except OSError as error:
        raise WorkbenchError(f"{firmware}: cannot read the firmware ({error.strerror or error})") from None


def planned_address(firmware: Path, chip: str, address: int | None) -> int:
    """Where `firmware` will be written on `chip` (the dry run's answer; the worker asks esptool)."""
    if address is not None:
        return address
    data = read_image(firmware)
    try:
        kind = image_kind(data, chip)
    except WorkbenchError as error:
        raise WorkbenchError(f"{firmware}: {error.message}", error.hint) from None
    return kind_address(kind, BOOTLOADER_OFFSETS.get(chip_key(chip), 0))


def command_line(
    command: str, firmware: Path, chip: str, port: str, address: int, baud: int = FLASH_BAUD
) -> tuple[str, ...]:
    """The esptool command line doing what the worker does for `command` ("write-flash", "verify-flash")."""
    argv = ["esptool", "--chip", chip_key(chip) or "auto"]
    if port:
        argv += ["--port", port]
    argv += ["--baud", str(baud), command, f"0x{address:x}", str(firmware)]
    return tuple(argv)


def board_ports(board: Board) -> list[str]:
    """The serial ports whose USB ID is one of the board's (pyserial's list of ports)."""
    from serial.tools import list_ports

    wanted = {usb_id.upper() for usb_id in board.usb_ids}
    found = []
    for port in list_ports.comports():
        if port.vid is not None and port.pid is not None and f"{port.vid:04X}:{port.pid:04X}" in wanted:
            found.append(port.device)
    return sorted(found)


def find_port(board: Board) -> str:
    """The one serial port that looks like `board`; WorkbenchError when there is none or several."""
    ports = board_ports(board)
    if not ports:
        raise WorkbenchError(
            f"no serial port of a {board.name} found",
            "Plug the board in with a data USB cable, or choose its port.",
        )
    if len(ports) > 1:
        raise WorkbenchError(
            f"{len(ports)} serial ports could be the {board.name}: {', '.join(ports)}",
            "Choose one (--port) or unplug the other boards.",
        )
    return ports[0]


def request_for(firmware: Path, board: Board, port: str, address: int | None, verify: bool) -> dict[str, Any]:
    """The child's request for one flash (plain JSON values)."""
    return {
        "firmware": str(firmware),
        "board": board.name,
        "chip": board.chip,
        "port": port,
        "baud": FLASH_BAUD,
        "address": address,
        "verify": verify,
    }


# ---------------------------------------------------------------- inside the child


class LineJoiner:
    """esptool prints pieces of lines ('Connecting...', '.', '.'): join them into whole lines."""

    def __init__(self) -> None:
        self.pending = ""

    def write(self, text: str) -> None:
        self.pending += text
        *complete, self.pending = self.pending.split("\n")
        for line in complete:
            if line.strip():
                print(line.replace("\\[", "["), flush=True)  # esptool escapes Rich markup

    def flush(self) -> None:
        if self.pending.strip():
            print(self.pending.replace("\\[", "["), flush=True)
        self.pending = ""


def esptool_logger(lines: LineJoiner, span: list[float]) -> Any:
    """An esptool logger (its documented TemplateLogger) that prints esptool's lines for the parent
    and turns its progress bar into our progress lines within `span` ([start, end], changeable)."""
    from esptool.logger import TemplateLogger

    class ProgressLogger(TemplateLogger):  # type: ignore[misc]
        def print(self, *args: Any, **kwargs: Any) -> None:
            lines.write(kwargs.get("sep", " ").join(str(a) for a in args) + kwargs.get("end", "\n"))

        def note(self, message: str) -> None:
            lines.flush()
            lines.write(f"Note: {message}\n")

        def warning(self, message: str) -> None:
            lines.flush()
            lines.write(f"Warning: {message}\n")

        def error(self, message: str) -> None:
            lines.flush()
            lines.write(f"Error: {message}\n")

        def stage(self, finish: bool = False) -> None:
            lines.flush()

        def progress_bar(
            self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "", bar_length: int = 30
        ) -> None:
            fraction = cur_iter / total_iters if total_iters else 1.0
            start, end = span
            report_progress(start + (end - start) * min(1.0, fraction), prefix.strip() or "Writing")

        def set_verbosity(self, verbosity: str) -> None:
            pass

    return ProgressLogger()


def flash_job(request: dict[str, Any]) -> dict[str, Any]:
    """Write request['firmware'] through esptool; see the module docstring. Returns what was done."""
    from esptool import cmds
    from esptool.logger import log
    from esptool.util import NotImplementedInROMError

    firmware = Path(request["firmware"])
    port: str = request["port"]
    wanted = chip_key(request.get("chip") or "")
    chip_name = ""
    lines = LineJoiner()
    span = [WRITE_START, WRITE_END]
    log.set_logger(esptool_logger(lines, span))
    data = read_image(firmware)
    try:
        report_progress(0.0, f"Connecting to {port}")
        with cmds.detect_chip(port, ROM_BAUD) as found:
            chip_name = found.CHIP_NAME
            if wanted and chip_key(chip_name) != wanted:
                raise WorkbenchError(
                    f"{port} has an {chip_name}, not the {chip_title(wanted)} of the {request['board']}",
                    "Choose the board that matches the chip, or the port of the right board.",
                )
            address = request["address"]
            if address is None:
                try:
                    kind = image_kind(data, chip_name)
                except WorkbenchError as error:
                    raise WorkbenchError(f"{firmware}: {error.message}", error.hint) from None
                address = kind_address(kind, found.BOOTLOADER_FLASH_OFFSET)
            report_progress(0.05, f"Loading the flasher stub into the {chip_name}")
            esp = cmds.run_stub(found)
            if request["baud"] > ROM_BAUD:
                try:
                    esp.change_baud(request["baud"])
                except NotImplementedInROMError:
                    print(f"The {chip_name} ROM cannot change the baud rate; staying at {ROM_BAUD}.", flush=True)
            cmds.attach_flash(esp)
            report_progress(WRITE_START, f"Writing {firmware.name} at 0x{address:x}")
            cmds.write_flash(esp, [(address, str(firmware))])
            if request["verify"]:
                span[:] = [WRITE_END, VERIFY_END]
                report_progress(WRITE_END, "Verifying")
                cmds.verify_flash(esp, [(address, str(firmware))])
            report_progress(VERIFY_END, f"Resetting the {chip_name}")
            cmds.reset_chip(esp, "hard-reset")
    except WorkbenchError:
        raise
    except Exception as error:  # noqa: BLE001 - every library failure becomes one sentence
        from workbench.flash.api_failures import esptool_failure

        lines.flush()
        raise esptool_failure(error, port=port, chip=chip_name or chip_title(wanted), firmware=firmware.name) from None
    finally:
        lines.flush()
        sys.stdout.flush()
    report_progress(1.0, f"Flashed {firmware.name} to the {chip_name}")
    return {"chip": chip_name, "address": address, "bytes": len(data), "port": port}
