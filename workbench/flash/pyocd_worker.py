"""Flash a Cortex-M board through a debug probe with pyOCD's Python API, in a child process.

`flash_job` runs inside `workbench.core.child_main` (the pyocd flasher plugin starts it with
`run_in_child`): a pyOCD call cannot be interrupted in a thread, so cancel ends the child. The
steps are those of `pyocd flash --target T --uid PROBE [--base-address A] FILE`: find the probe
(never pyOCD's own prompt on stdin: with several probes and none chosen, the job refuses and
names them), open a session with the board's target, reset and halt, program with
`FileProgrammer` (its progress callback becomes the task's progress), read the written ranges
back and compare them when asked (FileProgrammer itself does not verify), and reset into the
new firmware. pyOCD's log lines become log lines of the job.

The helpers above `flash_job` import nothing from pyOCD, so the plugin uses them in the app's process.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from workbench.core.boards import Board
from workbench.core.child import report_progress
from workbench.core.errors import WorkbenchError

FORMATS = {".bin": "bin", ".hex": "hex", ".elf": "elf", ".axf": "axf"}
VERIFY_CHUNK_BYTES = 4096
# Progress: connecting, then pyOCD's erase pass and program pass, then the read-back, then the reset.
ERASE_START, PROGRAM_START, PROGRAM_END, VERIFY_END = 0.10, 0.40, 0.85, 0.97


def file_format(firmware: Path) -> str:
    """pyOCD's format name for the file ("bin", "hex", "elf"); WorkbenchError for anything else."""
    fmt = FORMATS.get(firmware.suffix.lower())
    if fmt is None:
        raise WorkbenchError(
            f"{firmware}: pyOCD writes .bin, .hex and .elf files, not {firmware.suffix or 'files without a suffix'}",
            "Build or export the firmware as one of those.",
        )
    return fmt


def target_of(board: Board) -> str:
    """The board's pyOCD target name; WorkbenchError when its file names none."""
    if not board.target:
        raise WorkbenchError(
            f"{board.name} names no pyOCD target",
            'Add target = "<pyOCD target name>" under [flash] in the board\'s file (pyocd list --targets).',
        )
    return board.target


def command_line(firmware: Path, target: str, probe: str, address: int | None) -> tuple[str, ...]:
    """The pyocd command line doing what the worker does."""
    argv = ["pyocd", "flash", "--target", target]
    if probe:
        argv += ["--uid", probe]
    if address is not None:
        argv += ["--base-address", f"0x{address:x}"]
    return (*argv, str(firmware))


def request_for(firmware: Path, board: Board, probe: str, address: int | None, verify: bool) -> dict[str, Any]:
    """The child's request for one flash (plain JSON values)."""
    return {
        "firmware": str(firmware),
        "format": file_format(firmware),
        "board": board.name,
        "target": target_of(board),
        "probe": probe,
        "address": address,
        "verify": verify,
    }


# ---------------------------------------------------------------- inside the child


class _LogLines(logging.Handler):
    """pyOCD's log records as lines for the parent; warnings are kept to explain an empty probe list."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.warnings.append(message)
        print(message, flush=True)


class _Progress:
    """FileProgrammer reports its erase pass and then its program pass, each from 0 to 1."""

    def __init__(self) -> None:
        self.phase = 0
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if fraction < self.last:
            self.phase = 1  # the program pass started again from 0
        self.last = fraction
        if self.phase == 0:
            report_progress(ERASE_START + (PROGRAM_START - ERASE_START) * fraction, "Erasing")
        else:
            report_progress(PROGRAM_START + (PROGRAM_END - PROGRAM_START) * fraction, "Writing")


def choose_probe(probes: list[Any], wanted: str, warnings: list[str]) -> Any:
    """The one probe to use: `wanted` (pyOCD matches part of a unique ID), or the only one attached.
    WorkbenchError (one sentence) when there is none, or several and none was chosen."""
    if not probes:
        if any("udev" in w or "Access denied" in w or "insufficient permissions" in w for w in warnings):
            from workbench.flash.api_failures import udev_hint

            raise WorkbenchError(
                "a debug probe is attached but cannot be opened: permission denied", udev_hint(), "\n".join(warnings)
            )
        if wanted:
            raise WorkbenchError(
                f"no debug probe with the ID '{wanted}' is attached",
                "Plug it in, or leave the probe empty to use the only one attached.",
                "\n".join(warnings),
            )
        raise WorkbenchError(
            "no debug probe found",
            "Plug the board in by its debug USB port (ST-LINK, DAPLink); "
            "on Linux, pyOCD also needs udev rules to see probes.",
            "\n".join(warnings),
        )
    if len(probes) > 1:
        ids = ", ".join(f"{p.unique_id} ({p.description})" for p in probes)
        matching = f" match '{wanted}'" if wanted else " are attached"
        raise WorkbenchError(
            f"{len(probes)} debug probes{matching}: {ids}",
            "Choose one by its ID (--port), or unplug the others.",
        )
    return probes[0]


def image_ranges(firmware: Path, fmt: str, address: int) -> list[tuple[int, bytes]]:
    """The (address, bytes) ranges the file puts in memory, as FileProgrammer reads them."""
    if fmt == "bin":
        return [(address, firmware.read_bytes())]
    if fmt == "hex":
        from intelhex import IntelHex

        hexfile = IntelHex(str(firmware))
        return [(start, bytes(hexfile.tobinarray(start=start, size=end - start))) for start, end in hexfile.segments()]
    from elftools.elf.elffile import ELFFile

    ranges = []
    with firmware.open("rb") as handle:
        for segment in ELFFile(handle).iter_segments():
            if segment.header.p_type == "PT_LOAD" and segment.header.p_filesz:
                ranges.append((segment["p_paddr"], bytes(segment.data())))
    return ranges


def verify(target: Any, ranges: list[tuple[int, bytes]], firmware: Path, target_name: str) -> None:
    """Read every range back through the probe and compare; WorkbenchError at the first difference."""
    total = sum(len(data) for _, data in ranges) or 1
    done = 0
    for start, data in ranges:
        for offset in range(0, len(data), VERIFY_CHUNK_BYTES):
            expected = data[offset : offset + VERIFY_CHUNK_BYTES]
            actual = bytes(target.read_memory_block8(start + offset, len(expected)))
            if actual != expected:
                first = next(i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b)
                where = start + offset + first
                raise WorkbenchError(
                    f"the flash of the {target_name} differs from {firmware.name} at 0x{where:08x} after writing",
                    "Try again; if it happens again, the flash may be write-protected.",
                    f"0x{where:08x}: read 0x{actual[first]:02x}, expected 0x{expected[first]:02x}",
                )
            done += len(expected)
            report_progress(PROGRAM_END + (VERIFY_END - PROGRAM_END) * done / total, "Verifying")


def flash_job(request: dict[str, Any]) -> dict[str, Any]:
    """Write request['firmware'] through pyOCD; see the module docstring. Returns what was done."""
    from pyocd.core.helpers import ConnectHelper
    from pyocd.flash.file_programmer import FileProgrammer

    firmware = Path(request["firmware"])
    target_name: str = request["target"]
    wanted: str = request["probe"]
    model_only = request["address"] is not None
    handler = _LogLines()
    pyocd_log = logging.getLogger("pyocd")
    pyocd_log.addHandler(handler)
    pyocd_log.setLevel(logging.INFO)
    pyocd_log.propagate = False
    probe_id = wanted
    try:
        report_progress(0.0, "Looking for the debug probe")
        probes = ConnectHelper.get_all_connected_probes(
            blocking=False, unique_id=wanted or None, print_wait_message=False
        )
        probe = choose_probe(list(probes), wanted, handler.warnings)
        probe_id = probe.unique_id
        report_progress(0.05, f"Connecting to the {target_name} through {probe.description}")
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False,
            unique_id=probe_id,
            target_override=target_name,
            options={
                # A model slot must leave the rest of the flash as it is: no mass erase of a locked
                # chip, and what shares an erase sector with the slot is written back.
                "auto_unlock": not model_only,
                "keep_unwritten": model_only,
            },
        )
        if session is None:
            raise WorkbenchError(f"the debug probe {probe_id} went away before it could be opened")
        with session:
            target = session.target
            target.reset_and_halt()
            programmer = FileProgrammer(session, progress=_Progress(), chip_erase="sector", smart_flash=True)
            report_progress(ERASE_START, f"Writing {firmware.name}")
            extra = {"base_address": request["address"]} if request["format"] == "bin" else {}
            programmer.program(str(firmware), file_format=request["format"], **extra)
            if request["verify"]:
                address = request["address"]
                if address is None and request["format"] == "bin":
                    address = target.memory_map.get_boot_memory().start
                verify(target, image_ranges(firmware, request["format"], address or 0), firmware, target_name)
            report_progress(VERIFY_END, f"Resetting the {target_name}")
            target.reset()
    except WorkbenchError:
        raise
    except Exception as error:  # noqa: BLE001 - every library failure becomes one sentence
        from workbench.flash.api_failures import pyocd_failure

        raise pyocd_failure(error, probe=probe_id, target=target_name, firmware=firmware.name) from None
    finally:
        pyocd_log.removeHandler(handler)
        sys.stdout.flush()
    report_progress(1.0, f"Flashed {firmware.name} to the {target_name}")
    return {"probe": probe_id, "target": target_name, "bytes": firmware.stat().st_size}
