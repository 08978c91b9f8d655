"""esptool's and pyOCD's failures as one sentence a person can act on, the raw text kept as details.

Both libraries say what went wrong in exceptions whose class and words are stable across
releases (esptool's `FatalError("Failed to connect to ESP32-S3: No serial data received.")`,
pyserial's `SerialException("could not open port ...: [Errno 13] Permission denied")`, pyOCD's
`TargetSupportError`, `TransferError`...). The rules below read the class names (the whole MRO,
so a subclass maps like its parent) and the message; the first rule that matches writes the
sentence. Nothing here imports either library: the worker in the child passes the exception in.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.errors import WorkbenchError

UDEV_RULES_URL = "https://github.com/pyocd/pyOCD/tree/main/udev"


def dialout_hint() -> str:
    """What to do about 'permission denied' on a serial port, for this system."""
    if sys.platform.startswith("linux"):
        return (
            "Add yourself to the dialout group (uucp on Arch): sudo usermod -aG dialout $USER, "
            "then log out and back in."
        )
    return "Check that your user may open the port, and that no other program holds it."


def udev_hint() -> str:
    """What to do about a debug probe that cannot be opened, for this system."""
    if sys.platform.startswith("linux"):
        return f"Install pyOCD's udev rules for debug probes ({UDEV_RULES_URL}), then unplug and replug the probe."
    if sys.platform == "win32":
        return "Install the probe's USB driver (ST-LINK: ST's driver; CMSIS-DAP probes need none) and replug it."
    return "Unplug and replug the probe, and close any other debugger using it."


def raw_details(error: BaseException) -> str:
    """The exception as the library raised it, with its traceback: for the log, never the message."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()


def first_line(error: BaseException) -> str:
    """The first non-empty line of an exception's text, or its class name."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def class_names(error: BaseException) -> set[str]:
    """The names of the exception's class and every base class ('FatalError', 'RuntimeError'...)."""
    return {cls.__name__ for cls in type(error).__mro__}


@dataclass(frozen=True)
class Rule:
    """When `classes` (any of them, or any class if empty) and `pattern` (on the text) match,
    `message(match)` and `hint(match)` say what happened."""

    pattern: str
    message: Callable[[re.Match[str]], str]
    hint: Callable[[re.Match[str]], str]
    classes: frozenset[str] = frozenset()

    def match(self, error: BaseException, text: str) -> re.Match[str] | None:
        if self.classes and not self.classes & class_names(error):
            return None
        return re.search(self.pattern, text, re.IGNORECASE | re.DOTALL)


def _apply(rules: list[Rule], error: BaseException, fallback: str, fallback_hint: str) -> WorkbenchError:
    text = f"{type(error).__name__}: {error}"
    for rule in rules:
        found = rule.match(error, text)
        if found is not None:
            return WorkbenchError(rule.message(found), rule.hint(found), raw_details(error))
    return WorkbenchError(f"{fallback}: {first_line(error)}", fallback_hint, raw_details(error))


def esptool_failure(error: BaseException, *, port: str, chip: str, firmware: str) -> WorkbenchError:
    """One sentence for what esptool (or pyserial under it) raised while flashing `firmware`
    to the `chip` ("ESP32-S3", or "" when unknown) on `port`."""
    device = chip or "ESP chip"
    lost = (
        f"the connection to {port} was lost while flashing",
        "Check the USB cable (a data cable, straight into the computer rather than a hub) and try again.",
    )
    rules = [
        Rule(
            r"This chip is ([\w-]+), not ([\w-]+)",
            lambda m: f"{port} has an {m.group(1)}, not the {m.group(2)} this board has",
            lambda m: "Choose the board that matches the chip, or the port of the right board.",
        ),
        # On Windows a port another program holds says "Access is denied": busy, not a permission problem.
        Rule(
            r"Access is denied|Device or resource busy|Errno 16|exclusively lock|Resource temporarily unavailable",
            lambda m: f"{port} is in use by another program",
            lambda m: "Close the serial monitor, the Arduino IDE or any other program using the port, then try again.",
        ),
        Rule(
            r"Permission denied|Errno 13",
            lambda m: f"{port}: permission denied",
            lambda m: dialout_hint(),
        ),
        Rule(
            r"No such file or directory|Errno 2\b|FileNotFoundError|cannot find the file|could not open port",
            lambda m: f"{port}: no such serial port",
            lambda m: "Plug the board in and choose its port (the name can change when it is plugged in again).",
        ),
        Rule(
            r"Wrong boot mode detected|No serial data received|Failed to connect to|Invalid head of packet"
            r"|Timed out waiting for packet|getting no sync reply|Packet content transfer stopped",
            lambda m: f"no {device} answered on {port}",
            lambda m: (
                "Hold BOOT and press RESET to enter the bootloader, then try again; "
                "check that this is the board's port."
            ),
        ),
        Rule(
            r"MD5 of file does not match|Verification failed|written flash region is empty",
            lambda m: f"the flash on {port} does not hold {firmware} after writing",
            lambda m: "Try again; if it happens again, try another USB cable or a lower baud rate.",
        ),
        Rule(
            r"will not fit|does not fit|larger than|exceeds",
            lambda m: f"{firmware} does not fit the flash of the {device} on {port}",
            lambda m: "Check the board's flash size and the address the file is written to.",
        ),
        Rule(
            r"write failed|Input/output error|Errno 5\b|Errno 6\b|Errno 19\b|returned no data|Lost connection"
            r"|ClearCommError|WriteFile failed|device disconnected",
            lambda m: lost[0],
            lambda m: lost[1],
        ),
        Rule(
            r"Secure Download Mode",
            lambda m: f"the {device} on {port} is in Secure Download Mode and refuses this write",
            lambda m: "Flash it with the tools of the project that enabled secure download mode.",
        ),
    ]
    return _apply(rules, error, f"esptool could not flash {port}", "The tool's own words are in the details.")


def pyocd_failure(error: BaseException, *, probe: str, target: str, firmware: str) -> WorkbenchError:
    """One sentence for what pyOCD raised while flashing `firmware` to a `target` ("stm32f746zgtx")
    through the debug probe `probe` (its unique ID, or "" when none was chosen)."""
    named = f"debug probe {probe}" if probe else "debug probe"
    rules = [
        Rule(
            r"Target type \S+ not recognized|not recognized|TargetSupportError",
            lambda m: f"pyOCD has no support for the {target} target installed",
            lambda m: f"Install it once with: pyocd pack install {target}",
        ),
        Rule(
            r"no libusb|NoBackendError|No backend available",
            lambda m: "pyOCD found no libusb library to talk to the debug probe",
            lambda m: "Install libusb (Linux: the libusb-1.0 package; macOS: brew install libusb).",
        ),
        Rule(
            r"Access denied|insufficient permissions|Permission denied|Errno 13|udev rule",
            lambda m: f"the {named} cannot be opened: permission denied",
            lambda m: udev_hint(),
        ),
        Rule(
            r"already connected|already opened|Resource busy|Errno 16",
            lambda m: f"the {named} is in use by another program",
            lambda m: "Close the other debugger (an IDE, OpenOCD, another pyOCD) and try again.",
        ),
        Rule(
            r"disconnected|No such device|Errno 19\b",
            lambda m: f"the {named} was disconnected while flashing",
            lambda m: "Plug it in again (straight into the computer rather than a hub) and try again.",
            frozenset({"ProbeDisconnected", "ProbeError", "USBError", "OSError"}),
        ),
        Rule(
            r"no memory region defined for address (0x[0-9a-f]+)|region at address (0x[0-9a-f]+) is not writable",
            lambda m: f"{firmware}: address {m.group(1) or m.group(2)} is outside the {target}'s flash",
            lambda m: "Check the board's model_offset, or the address the firmware was linked for.",
        ),
        Rule(
            r".",
            lambda m: f"writing the flash of the {target} failed",
            lambda m: (
                "The flash may be write-protected: erase the chip once with "
                f"`pyocd erase --chip -t {target}`, then flash again."
            ),
            frozenset({"FlashFailure", "FlashEraseFailure", "FlashProgramFailure"}),
        ),
        Rule(
            r"No ACK|Get IDCODE error|No device connected|Debug power error|DP error|DP fault|AP fault|AP error"
            r"|Transfer|Failed to connect|Unable to connect|Timeout|not responding|No target",
            lambda m: f"the {named} could not reach the {target} chip",
            lambda m: (
                "Check that the board is powered and its chip is wired to the probe; "
                "if the firmware sleeps or turns debug off, hold RESET while flashing."
            ),
        ),
    ]
    return _apply(rules, error, f"pyOCD could not flash the {target}", "The tool's own words are in the details.")
