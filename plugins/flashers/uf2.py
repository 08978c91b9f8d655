"""UF2 drag and drop: write a .uf2 file to the USB drive a board shows in bootloader mode.

Needs no program: the board's bootloader (RP2040/RP2350 BOOTSEL, Adafruit's nRF52 and SAMD
bootloaders) writes the file to flash and restarts the board, and its drive goes away.

- A .uf2 is checked first (UF2 blocks with their magic numbers, and a family the board's
  bootloader takes). A raw binary (.bin, a model slot image) is converted to UF2 in a temporary
  file first, at the job's address or the chip's usual place (workbench.flash.uf2_format).
- The drive is the board's own: the one whose INFO_UF2.TXT matches the board
  (workbench.flash.detect), never every UF2 drive there is. A drive given by hand must be a UF2
  drive of the board's chip.
- The copy is flushed and synced; a cancelled or failed copy removes its partial file. Then the
  flasher waits for the drive to go away (the board restarting), and says so when it does not.

Format: https://github.com/microsoft/uf2
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.core.boards import Board
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.detect import drive_chip_matches, drives_for_board, info_file, read_drive, uf2_drives
from workbench.flash.uf2_format import (
    FAMILY_ABSOLUTE,
    INFO_FILE,
    RP2350_E10_BLOCK_ADDRESS,
    binary_to_uf2,
    check_family,
    chip_of,
    default_binary_address,
    erase_bytes,
    family_id,
    family_name,
    flash_start,
    looks_like_uf2,
    read_uf2,
    summarize,
    uf2_bytes_for,
)
from workbench.tasks import Task

COPY_CHUNK_BYTES = 64 * 1024  # a multiple of the 512-byte block
BOOTLOADER_HINT = (
    "Put the board in bootloader mode (Raspberry Pi boards: hold BOOTSEL while plugging it in; others: "
    f"double-tap reset); a drive with {INFO_FILE} appears."
)


def bootloader_step(board: Board) -> str:
    """How to put this board in bootloader mode, in its own words."""
    if board.mcu.upper().startswith("RP2"):
        return f"Put {board.name} in bootloader mode: hold BOOTSEL while plugging it in"
    return f"Put {board.name} in bootloader mode: double-tap its reset button"


NOT_UF2_SUFFIXES = {
    ".hex": "an Intel HEX file",
    ".ihex": "an Intel HEX file",
    ".elf": "an ELF file",
    ".axf": "an ELF file",
}


@dataclass(frozen=True)
class BinaryLayout:
    """Where a raw binary goes and under which family, with the RP2350-E10 block or not."""

    address: int
    family: int
    e10_address: int | None

    def describe(self, size: int | None) -> str:
        """'118 blocks of 256 bytes for 0x10100000-0x10107530, family RP2040 (0xe48bff56)'; with no
        size (a file not written yet) 'blocks of 256 bytes from 0x10100000, ...'."""
        where = (
            f"{(size + 255) // 256} blocks of 256 bytes for 0x{self.address:08x}-0x{self.address + size:08x}"
            if size is not None
            else f"blocks of 256 bytes from 0x{self.address:08x}"
        )
        e10 = f", after the RP2350-E10 block for 0x{self.e10_address:08x}" if self.e10_address is not None else ""
        return f"{where}, family {family_name(self.family)} (0x{self.family:08x}){e10}"


def is_uf2_file(path: Path) -> bool:
    """Whether `path` is to be copied as a UF2 file (its suffix or its first bytes say so), rather
    than converted; raises WorkbenchError for the image formats this flasher does not take."""
    try:
        with path.open("rb") as file:
            head = file.read(8)
    except OSError:
        head = b""
    if path.suffix.lower() == ".uf2" or looks_like_uf2(head):
        return True
    kind = NOT_UF2_SUFFIXES.get(path.suffix.lower(), "an ELF file" if head.startswith(b"\x7fELF") else "")
    if kind:
        raise WorkbenchError(
            f"{path}: the uf2 flasher takes a .uf2 file or a raw binary, not {kind}",
            "Use the .uf2 (or .bin) the build made next to it.",
        )
    return False


def _family(board: Board) -> tuple[str, int]:
    if not board.uf2_family:
        raise WorkbenchError(
            f"{board.name} has no UF2 family in its board file",
            "Add uf2_family under [flash] in the board file (RP2040, RP2350-ARM-S, NRF52840, SAMD51...).",
        )
    found = family_id(board.uf2_family)
    if found is None:
        raise WorkbenchError(f"{board.name}: UF2 family '{board.uf2_family}' is not in the UF2 family list")
    return board.uf2_family, found


def binary_layout(job: FlashJob, size: int) -> BinaryLayout:
    """Where a raw binary of `size` bytes goes on the job's board; WorkbenchError when it cannot.

    The address is the job's, else the chip's usual place for a whole image. On RP2350, data
    away from the start of flash (the model slot) goes with the "absolute" family, which the boot
    ROM writes where it says whatever partition table the chip holds; an image at the start of
    flash goes with the board's family and the RP2350-E10 block, as the SDK's own UF2s for the
    Pico 2 do.
    """
    family, own_id = _family(job.board)
    address = job.address if job.address is not None else default_binary_address(family)
    if address is None:
        raise WorkbenchError(
            f"{job.firmware}: a raw binary for {family} needs the address it goes to",
            "Build a .uf2 file (it says where it goes); where a .bin starts depends on this board's bootloader.",
        )
    alignment = erase_bytes(family)
    if address % alignment:
        raise WorkbenchError(
            f"{job.firmware}: address 0x{address:08x} is not a multiple of {alignment} bytes",
            "The bootloader erases whole sectors: the bytes in front of it would be lost. Use an aligned address.",
        )
    start = flash_start(family)
    end = start + job.board.flash_bytes
    if address < start or address + size > end:
        raise WorkbenchError(
            f"{job.firmware}: {size:,} bytes at 0x{address:08x} do not fit {job.board.name}'s flash "
            f"(0x{start:08x}-0x{end:08x})"
        )
    if chip_of(family) == "RP2350":
        if address == start:
            return BinaryLayout(address, own_id, RP2350_E10_BLOCK_ADDRESS)
        return BinaryLayout(address, FAMILY_ABSOLUTE, None)
    return BinaryLayout(address, own_id, None)


def find_drive(drives: list[Path] | None = None, board: Board | None = None) -> Path:
    """The one UF2 drive to write to: among `drives` (default: the mounted ones), the one of `board`
    (see workbench.flash.detect.drives_for_board), or the only UF2 drive when no board is given.
    Raises WorkbenchError when there is none or several."""
    found = uf2_drives(drives)
    if not found:
        raise WorkbenchError("no UF2 drive found", BOOTLOADER_HINT)
    candidates = drives_for_board(board, found) if board is not None and board.uf2_family else found
    if not candidates:
        assert board is not None
        others = ", ".join(f"{d.path} ({d.info.board_id})" for d in found)
        raise WorkbenchError(f"no UF2 drive of {board.name} found; the UF2 drives here are another chip's: {others}")
    if len(candidates) > 1:
        raise WorkbenchError(
            f"{len(candidates)} UF2 drives found: {', '.join(str(d.path) for d in candidates)}",
            "Choose one (--drive) or unplug the others.",
        )
    return candidates[0].path


def check_drive(drive: Path, board: Board) -> None:
    """Raises WorkbenchError unless `drive` is a UF2 drive that may be `board`'s."""
    if not drive.is_dir():
        raise WorkbenchError(f"{drive}: no such drive", BOOTLOADER_HINT)
    uf2 = read_drive(drive)
    if uf2 is None:
        raise WorkbenchError(f"{drive} is not a UF2 bootloader drive (it has no {INFO_FILE})", BOOTLOADER_HINT)
    if board.uf2_family and uf2.info.board_id and not drive_chip_matches(uf2.info, board):
        raise WorkbenchError(
            f"{drive} is the drive of another chip's bootloader ({uf2.info.board_id}), not {board.name}'s "
            f"({board.uf2_family})",
            "Choose this board's drive, or the board file of the board that is plugged in.",
        )


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class Uf2Flasher(Flasher):
    name = "uf2"
    description = "Copy a UF2 file to the board's USB drive in bootloader mode (nothing to install)"
    reboot_timeout_s: float = 30.0  # seconds the drive may stay after the copy; an instance may change it
    poll_interval_s: float = 0.05

    def available(self) -> Availability:
        return Availability(ok=True)

    def plan(self, job: FlashJob) -> list[Step]:
        board = job.board
        family = f" for {board.uf2_family}" if board.uf2_family else ""
        steps = []
        if is_uf2_file(job.firmware):
            if job.address is not None:
                raise WorkbenchError(f"{job.firmware}: a UF2 file says where it goes; an address is for a raw binary")
            name = job.firmware.name
            if job.firmware.is_file():
                blocks = read_uf2(job.firmware)
                if board.uf2_family:
                    check_family(blocks, board.uf2_family, str(job.firmware))
                size = len(blocks) * 512
                steps.append(Step(f"Check that {job.firmware} is a UF2 file{family}: {summarize(blocks).describe()}"))
            else:
                size = 0
                steps.append(Step(f"Check that {job.firmware} is a UF2 file{family}"))
        else:
            name = f"{job.firmware.stem}.uf2"
            exists = job.firmware.is_file()
            size = job.firmware.stat().st_size if exists else 0
            layout = binary_layout(job, size)
            what = layout.describe(size if exists else None)
            size_text = f" ({size:,} bytes)" if exists else ""
            steps.append(Step(f"Convert {job.firmware}{size_text} to UF2 in a temporary {name}: {what}"))
            size = uf2_bytes_for(size, e10=layout.e10_address is not None) if exists else 0
        steps.append(Step(bootloader_step(board)))
        bytes_text = f" ({size:,} bytes)" if size else ""
        steps.append(Step(f"Write {name}{bytes_text} {self._planned_target(job, name)}, then sync it"))
        steps.append(
            Step(f"Wait up to {self.reboot_timeout_s:g} s for the drive to go away as {board.name} restarts into it")
        )
        return steps

    def _planned_target(self, job: FlashJob, name: str) -> str:
        """'as /media/me/RPI-RP2/blink.uf2', or which drive it will be when none is there yet."""
        try:
            drive = Path(job.drive) if job.drive else find_drive(board=job.board)
        except WorkbenchError:
            family = f" of a {job.board.uf2_family} chip" if job.board.uf2_family else ""
            return f"to the UF2 drive{family} (the one holding {INFO_FILE}) once it appears"
        return f"as {drive / name}"

    def flash(self, job: FlashJob, task: Task) -> None:
        task.progress(0.0, f"Checking {job.firmware.name}")
        with tempfile.TemporaryDirectory(prefix="workbench-uf2-") as temporary:
            source = self._uf2_source(job, Path(temporary), task)
            task.check()
            drive = Path(job.drive) if job.drive else find_drive(board=job.board)
            check_drive(drive, job.board)
            target = drive / source.name
            task.log(f"Writing {source.name} to {drive}")
            self._copy(source, target, task.span(0.05, 0.9))
        task.log(f"Wrote {target}; waiting for {job.board.name} to restart")
        self._wait_for_restart(drive, job.board, task.span(0.9, 1.0))
        task.log(f"{drive} went away: {job.board.name} restarted")
        task.progress(1.0, f"{job.board.name} restarted with {source.name}")

    def _uf2_source(self, job: FlashJob, folder: Path, task: Task) -> Path:
        """The checked .uf2 to copy: the job's own, or its raw binary converted into `folder`."""
        if is_uf2_file(job.firmware):
            if job.address is not None:
                raise WorkbenchError(f"{job.firmware}: a UF2 file says where it goes; an address is for a raw binary")
            blocks = read_uf2(job.firmware)
            if job.board.uf2_family:
                check_family(blocks, job.board.uf2_family, str(job.firmware))
            task.log(f"{job.firmware.name}: {summarize(blocks).describe()}")
            return job.firmware
        try:
            data = job.firmware.read_bytes()
        except OSError as error:
            raise WorkbenchError(f"{job.firmware}: cannot read the firmware ({error.strerror or error})") from None
        if not data:
            raise WorkbenchError(f"{job.firmware}: the file is empty")
        layout = binary_layout(job, len(data))
        task.progress(0.02, f"Converting {job.firmware.name} to UF2")
        target = folder / f"{job.firmware.stem}.uf2"
        target.write_bytes(binary_to_uf2(data, layout.address, layout.family, e10_block_address=layout.e10_address))
        task.log(f"Converted {job.firmware.name} to UF2: {layout.describe(len(data))}")
        return target

    def _copy(self, source: Path, target: Path, task: Task) -> None:
        """Copy with progress, flushed and synced; a cancelled or failed copy leaves no partial file."""
        total = source.stat().st_size
        copied = 0
        status = f"Writing {source.name} to {target.parent}"
        try:
            with source.open("rb") as reader, target.open("wb") as writer:
                while chunk := reader.read(COPY_CHUNK_BYTES):
                    task.check()
                    writer.write(chunk)
                    copied += len(chunk)
                    task.progress(copied / total, status)
                writer.flush()
                os.fsync(writer.fileno())  # the bootloader has the whole file before we wait for it
        except Cancelled:
            _remove(target)
            raise
        except OSError as error:
            if copied == total and info_file(target.parent) is None:
                return  # the board restarted on the last block, before the file was closed
            _remove(target)
            raise WorkbenchError(
                f"{target}: writing stopped after {copied:,} of {total:,} bytes ({error.strerror or error})",
                "Keep the board plugged in and in bootloader mode, then try again.",
            ) from None

    def _wait_for_restart(self, drive: Path, board: Board, task: Task) -> None:
        """Wait until the drive is gone (the bootloader took the file and restarted the board)."""
        started = time.monotonic()
        while info_file(drive) is not None:
            waited = time.monotonic() - started
            if waited >= self.reboot_timeout_s:
                raise WorkbenchError(
                    f"{drive} is still there {self.reboot_timeout_s:g} s after the copy: {board.name} did not restart",
                    "The bootloader may have ignored the file (built for another chip or place). "
                    "Unplug the board, put it in bootloader mode again and retry.",
                )
            task.progress(waited / self.reboot_timeout_s, f"Waiting for {board.name} to restart")
            time.sleep(self.poll_interval_s)
