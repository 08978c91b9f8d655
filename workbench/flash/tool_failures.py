"""A flashing tool's failure in one plain sentence, with what to do about it.

`run_tool()` runs a command-line flashing tool under a Task (through run_process: own session,
cancel kills the tree, output split on CR/LF), reads its progress (workbench.flash.tool_progress)
and, when it fails, turns its output and exit code into `WorkbenchError(message, hint, details)`
with the tool's own last lines as details. `explain()` does the reading; the texts it knows are
the tools' own (dfu-util, OpenOCD, arduino-cli, PlatformIO, and the upload tools they run:
BOSSA, avrdude, esptool, pyserial), so a person reads "permission denied on /dev/ttyACM0" and
how to fix it rather than "exit status 1".
"""

from __future__ import annotations

import re
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.core.errors import WorkbenchError
from workbench.core.process import TAIL_LINES, ProcessResult, exit_reason, run_process
from workbench.flash.tool_progress import ProgressMeter, Reader, Spans
from workbench.tasks import Task

NOTABLE_LINES = 20  # early error lines kept besides the tail: a compiler's first error may scroll away

# Third-party Arduino cores: the package index arduino-cli needs before `core install` finds them.
ARDUINO_INDEX_URLS = {
    "rp2040": "https://github.com/earlephilhower/arduino-pico/releases/download/global/package_rp2040_index.json",
    "esp32": "https://espressif.github.io/arduino-esp32/package_esp32_index.json",
    "Seeeduino": "https://files.seeedstudio.com/arduino/package_seeeduino_boards_index.json",
}

_PORT = re.compile(r"(/dev/(?:tty|cu\.)[\w.\-]+|\bCOM\d+\b)")
_USB_ID = re.compile(r"\b([0-9a-fA-F]{4}):[0-9a-fA-F]{4}\b")
_COMPILE_ERROR = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^\s:][^:]*):(?P<line>\d+)(?::\d+)?: (?P<kind>fatal error|error): (?P<text>.+)$"
)
_NO_DEVICE_ON = re.compile(r"No device found on (\S+)")
_MISSING_HEADER = re.compile(r"^(?P<header>[\w./-]+\.h(?:pp)?): No such file or directory")
_PLATFORM_MISSING = re.compile(r"Platform '([^']+)' not found: platform not installed")
_PLATFORM_UNKNOWN = re.compile(r"Platform '?([^'\s]+)'? is not found in any known index")
_FQBN = re.compile(r"(?:Unknown|Invalid) FQBN: (.+)")
_PIO_ENV = re.compile(r"Unknown environment names '([^']*)'\. Valid names are '([^']*)'")
_PIO_BOARD = re.compile(r"Unknown board ID '([^']*)'")
_PIO_PLATFORM = re.compile(r"Unknown development platform '([^']*)'")
_PIO_PACKAGE = re.compile(r"Could not find the package with '([^']*)' requirements for your system '([^']*)'")
_OPENOCD_CFG = re.compile(r"Can't find ([\w./\-]+\.cfg)")
_NOTABLE = re.compile(r"error|denied|failed|not found|no such|can't|cannot|unable", re.IGNORECASE)


@dataclass(frozen=True)
class ToolFailure:
    """Why a tool failed, in words that finish "<what> failed: ...", and what to do."""

    reason: str
    hint: str


def serial_permission_hint(port: str) -> str:
    """How to get permission to open a serial port on this system."""
    if sys.platform.startswith("linux"):
        return (
            "Add yourself to the 'dialout' group ('uucp' on Arch Linux) with `sudo usermod -aG dialout $USER`, "
            "then log out and back in."
        )
    return f"Close other programs that have {port or 'the port'} open, and check the board's USB driver."


def usb_permission_hint(vendor_id: str = "") -> str:
    """How to get permission to open a USB device (a DFU bootloader, a debug probe) on this system."""
    if sys.platform.startswith("linux"):
        vendor = vendor_id.lower() or "<vendor id>"
        return (
            f'Allow your user to open it with a udev rule such as `SUBSYSTEM=="usb", ATTRS{{idVendor}}=="{vendor}", '
            'MODE="0660", TAG+="uaccess"` in /etc/udev/rules.d/60-tinyml-workbench.rules, run '
            "`sudo udevadm control --reload-rules && sudo udevadm trigger`, and plug the board in again."
        )
    if sys.platform == "win32":
        return "Install the WinUSB driver for the device with Zadig (https://zadig.akeo.ie), then try again."
    return "Close other programs that use the device (IDEs, debuggers), then try again."


def arduino_core_install(platform: str) -> str:
    """The command that installs an Arduino core, with its package index when it is a third-party one."""
    url = ARDUINO_INDEX_URLS.get(platform.split(":", 1)[0], "")
    return f"arduino-cli core install {platform}" + (f" --additional-urls {url}" if url else "")


def _find(pattern: re.Pattern[str], lines: Sequence[str]) -> re.Match[str] | None:
    for line in lines:
        if match := pattern.search(line):
            return match
    return None


def _has(lines: Sequence[str], *needles: str) -> str:
    """The first line holding any of `needles` (case-insensitive), or ""."""
    lowered = [n.lower() for n in needles]
    for line in lines:
        if any(n in line.lower() for n in lowered):
            return line
    return ""


def _port_in(line: str, port: str) -> str:
    match = _PORT.search(line)
    return match[1] if match else port


def _permission(lines: Sequence[str], port: str) -> ToolFailure | None:
    usb = _has(lines, "LIBUSB_ERROR_ACCESS", "Cannot open DFU device")
    if usb:
        vendor = _USB_ID.search(usb)
        return ToolFailure(
            "no permission to open the board's USB device", usb_permission_hint(vendor[1] if vendor else "")
        )
    for line in lines:
        if ("permission denied" in line.lower() or "[errno 13]" in line.lower()) and _PORT.search(line):
            device = _port_in(line, port)
            return ToolFailure(f"permission denied on {device}", serial_permission_hint(device))
    return None


def _bootloader(lines: Sequence[str]) -> ToolFailure | None:
    if _has(lines, "More than one DFU capable USB device found"):
        return ToolFailure("more than one board is in DFU mode", "Unplug all but the board to flash, then try again.")
    if _has(lines, "No DFU capable USB device available", "Lost device after RESET"):
        return ToolFailure(
            "no board in DFU (bootloader) mode was found",
            "Put the board in its bootloader: double-tap reset on Arduino Portenta and Nicla boards (the LED "
            "fades in and out), or hold BOOT0 while pressing reset on other STM32 boards; `dfu-util -l` lists "
            "what it sees.",
        )
    if _has(lines, "No serial data received", "Wrong boot mode detected"):
        return ToolFailure(
            "the board did not answer in its download mode",
            "Hold BOOT, press and release RESET (EN), release BOOT, then try again.",
        )
    return None


def _openocd(lines: Sequence[str]) -> ToolFailure | None:
    if match := _find(_OPENOCD_CFG, lines):
        return ToolFailure(
            f"OpenOCD has no configuration file {match[1]}",
            "Set target under [flash] in the board's file to an OpenOCD .cfg that your OpenOCD has (see its "
            "scripts/target and scripts/board folders), or install a newer OpenOCD.",
        )
    probe = ("Error: open failed", "unable to find a matching CMSIS-DAP device", "No J-Link device found")
    if _has(lines, *probe, "unable to open ftdi device", "** OpenOCD init failed **") and not _has(
        lines, "unable to connect to the target", "Error connecting DP"
    ):
        return ToolFailure(
            "no debug probe was found",
            "Connect the board's debug USB port (the ST-LINK on Nucleo boards), check the cable, and close other "
            "debuggers (STM32CubeIDE, pyOCD) that may hold the probe.",
        )
    if _has(
        lines,
        "unable to connect to the target",
        "Error connecting DP",
        "Target not examined yet",
        "** Unable to reset target **",
    ):
        return ToolFailure(
            "the debug probe could not reach the chip",
            "Check that the board is powered and the probe's SWD wires; if the firmware puts the chip to sleep, "
            "hold reset while flashing.",
        )
    if _has(lines, "** Programming Failed **"):
        return ToolFailure(
            "OpenOCD could not write the flash",
            "The chip may be write-protected (read-out protection) or the file built for another chip; OpenOCD's "
            "errors are in the details.",
        )
    return None


def _verify(lines: Sequence[str]) -> ToolFailure | None:
    if _has(lines, "** Verify Failed **", "Verify failed", "MD5 of file does not match", "Hash of data does not match"):
        return ToolFailure(
            "the board's flash did not read back what was written (verify failed)",
            "Try again with a short, good USB cable; if it persists, the flash may be write-protected.",
        )
    return None


def _arduino(lines: Sequence[str], fqbn: str) -> ToolFailure | None:
    platform = _find(_PLATFORM_MISSING, lines) or _find(_PLATFORM_UNKNOWN, lines)
    if platform:
        return ToolFailure(
            f"the Arduino core {platform[1]} is not installed",
            f"Install it with `{arduino_core_install(platform[1])}`, then try again.",
        )
    if fqbn_error := _find(_FQBN, lines):
        board = fqbn or fqbn_error[1]
        return ToolFailure(
            f"arduino-cli does not know the board {board}",
            "Check fqbn under [flash] in the board's file; `arduino-cli board listall` lists the boards of the "
            "installed cores.",
        )
    return None


def _platformio(lines: Sequence[str]) -> ToolFailure | None:
    if env := _find(_PIO_ENV, lines):
        return ToolFailure(f"the PlatformIO project has no environment '{env[1]}'", f"Its environments are: {env[2]}.")
    if board := _find(_PIO_BOARD, lines):
        return ToolFailure(
            f"PlatformIO does not know the board '{board[1]}'",
            "Check platformio_board in the board's file and `board =` in platformio.ini (`pio boards` lists them).",
        )
    if platform := _find(_PIO_PLATFORM, lines):
        return ToolFailure(
            f"PlatformIO does not know the platform '{platform[1]}'",
            "Check `platform =` in platformio.ini (https://registry.platformio.org lists the platforms).",
        )
    if package := _find(_PIO_PACKAGE, lines):
        return ToolFailure(
            f"PlatformIO has no {package[1]} for this computer ({package[2]})",
            "Use a computer the board's tools support, or choose another upload_protocol in platformio.ini.",
        )
    return None


def _compile(lines: Sequence[str]) -> ToolFailure | None:
    match = _find(_COMPILE_ERROR, lines)
    if match is None:
        return None
    file_name = re.split(r"[/\\]", match["file"])[-1]  # a Windows path read on any system too
    where = f"{file_name}:{match['line']}"
    text = match["text"].strip()
    if header := _MISSING_HEADER.match(text):
        return ToolFailure(
            f"the code did not compile: {where}: {text}",
            f"It includes {header['header']}, which no installed library provides: install the library that has "
            "it (`arduino-cli lib search`, or lib_deps in platformio.ini), then try again.",
        )
    return ToolFailure(
        f"the code did not compile: {where}: {text}",
        "Fix the first error in the code; the compiler's whole output is in the details.",
    )


def _serial_port(lines: Sequence[str], port: str) -> ToolFailure | None:
    busy = _has(lines, "Device or resource busy", "Resource busy", "Serial port busy")
    if busy:
        device = _port_in(busy, port)
        return ToolFailure(
            f"{device or 'the serial port'} is in use by another program",
            "Close the serial monitor and other programs using the port, then try again.",
        )
    if _has(lines, "no upload port provided", "Please specify `upload_port`", "Could not find the upload port"):
        return ToolFailure(
            "no serial port was given for the board and none was found",
            "Plug the board in and choose its port (--port, or on the Deploy page); `tinyml-workbench ports` "
            "lists the ports.",
        )
    missing = _has(
        lines,
        "No such file or directory",
        "No device found on",
        "the port is busy or doesn't exist",
        "Serial port not found",
        "could not open port",
        "can't open device",
    )
    if missing and (_PORT.search(missing) or _NO_DEVICE_ON.search(missing)):
        bossa = _NO_DEVICE_ON.search(missing)
        device = _port_in(missing, port) or (bossa[1] if bossa else "")
        return ToolFailure(
            f"no board answered on {device or 'the serial port'}",
            "Check that the board is plugged in and that this is its port (`tinyml-workbench ports` lists them); "
            "some boards need a double-tap of reset to enter their bootloader.",
        )
    return None


def _last_error_line(lines: Sequence[str]) -> str:
    for line in reversed(lines):
        if _NOTABLE.search(line):
            return line.strip()
    return lines[-1].strip() if lines else ""


def explain(lines: Sequence[str], returncode: int, *, tool: str, port: str = "", fqbn: str = "") -> ToolFailure:
    """Why `tool` failed, read from its output `lines` (in order) and its exit code."""
    for check in (
        lambda: _permission(lines, port),
        lambda: _bootloader(lines),
        lambda: _openocd(lines),
        lambda: _verify(lines),
        lambda: _arduino(lines, fqbn),
        lambda: _platformio(lines),
        lambda: _compile(lines),
        lambda: _serial_port(lines, port),
    ):
        failure = check()
        if failure is not None:
            return failure
    ended = f"stopped with exit code {returncode}" if returncode >= 0 else exit_reason(returncode).removeprefix("it ")
    last = _last_error_line(lines)
    if len(last) > 160:
        last = last[:157] + "..."
    return ToolFailure(f"{tool} {ended}" + (f" ({last})" if last else ""), "The tool's own output is in the details.")


def timeout_failure(tool: str, timeout_s: float) -> ToolFailure:
    """A tool that ran past its time limit and was stopped."""
    return ToolFailure(
        f"{tool} took longer than {timeout_s:.0f} s and was stopped",
        "Unplug the board and plug it in again (in its bootloader mode if it has one), then try again.",
    )


class _Lines:
    """The last lines of a run, and its first notable ones (a compiler's first error scrolls away)."""

    def __init__(self) -> None:
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.notable: list[str] = []

    def add(self, line: str) -> None:
        self.tail.append(line)
        if len(self.notable) < NOTABLE_LINES and _NOTABLE.search(line):
            self.notable.append(line)

    def ordered(self) -> list[str]:
        early = [line for line in self.notable if line not in self.tail]
        return early + list(self.tail)

    def details(self) -> str:
        early = [line for line in self.notable if line not in self.tail]
        return "\n".join(early + (["..."] if early else []) + list(self.tail))


def run_tool(
    argv: Sequence[str],
    task: Task,
    *,
    tool: str,
    what: str,
    reader: Reader,
    spans: Spans,
    timeout_s: float,
    install_hint: str = "",
    port: str = "",
    fqbn: str = "",
    succeeded: Callable[[Sequence[str]], bool] | None = None,
    failure_markers: tuple[str, ...] = (),
) -> ProcessResult:
    """Run one flashing tool to its end; every line goes to `task.log`, its progress to `task.progress`.

    Raises WorkbenchError("<what> failed: <reason>", hint, details=the tool's last lines) when it
    fails, or when it runs past `timeout_s`; Cancelled when the task is cancelled (the tool and
    whatever it started are killed). `succeeded(lines)` may accept a non-zero exit that is in fact
    success (dfu-util's complaint after the board left DFU mode); a line holding one of
    `failure_markers` is a failure even when the exit code is 0 (OpenOCD before 0.11).
    """
    lines = _Lines()
    meter = ProgressMeter(task, reader, spans)

    def on_line(line: str) -> None:
        lines.add(line)
        meter(line)

    started = time.monotonic()
    try:
        result = run_process(argv, task, what=what, on_line=on_line, timeout_s=timeout_s)
    except WorkbenchError as error:
        if time.monotonic() - started >= timeout_s:
            failure = timeout_failure(tool, timeout_s)
            raise WorkbenchError(f"{what} failed: {failure.reason}", failure.hint, lines.details()) from None
        raise WorkbenchError(error.message, install_hint or error.hint, error.details) from None
    marked = bool(failure_markers) and bool(_has(lines.ordered(), *failure_markers))
    if (result.ok and not marked) or (not result.ok and succeeded is not None and succeeded(lines.ordered())):
        return result
    failure = explain(lines.ordered(), result.returncode, tool=tool, port=port, fqbn=fqbn)
    raise WorkbenchError(f"{what} failed: {failure.reason}", failure.hint, lines.details())
