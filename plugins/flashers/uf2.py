"""UF2 drag and drop: copy a .uf2 file to the USB drive a board shows in bootloader mode.

Needs no program: the board's bootloader (RP2040/RP2350 BOOTSEL, Adafruit's nRF52 and SAMD
bootloaders) writes the file to flash. The file is checked first: 512-byte UF2 blocks with their
magic numbers and, when the board's UF2 family is known, the family ID the bootloader will demand.
Format: https://github.com/microsoft/uf2
"""

from __future__ import annotations

import os
import string
import struct
import sys
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.tasks import Task

BLOCK_BYTES = 512
MAGIC_START = (0x0A324655, 0x9E5D5157)
MAGIC_END = 0x0AB16F30
FLAG_NOT_MAIN_FLASH = 0x00000001
FLAG_FAMILY_ID = 0x00002000
INFO_FILE = "INFO_UF2.TXT"
COPY_CHUNK_BYTES = 64 * 1024

# Family IDs from microsoft/uf2 utils/uf2families.json, for the families boards name in [flash] uf2_family.
FAMILIES = {
    "RP2040": 0xE48BFF56,
    "RP2350_ARM_S": 0xE48BFF59,
    "RP2350_RISCV": 0xE48BFF5A,
    "NRF52840": 0xADA52840,
    "NRF52833": 0x621E937A,
    "SAMD21": 0x68ED2B88,
    "SAMD51": 0x55114460,
    "ESP32S2": 0xBFDD4EEE,
    "ESP32S3": 0xC47E5767,
}


def family_id(name: str) -> int | None:
    """The UF2 family ID for a board's `uf2_family` ("RP2350-ARM-S" and "rp2350_arm_s" alike)."""
    return FAMILIES.get(name.strip().upper().replace("-", "_"))


def check_uf2(path: Path, family: str = "") -> int:
    """The number of UF2 blocks in `path`; raises WorkbenchError if it is not UF2 or not for `family`."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WorkbenchError(f"{path}: cannot read the firmware ({error.strerror or error})") from None
    if not data or len(data) % BLOCK_BYTES:
        raise WorkbenchError(f"{path}: not a UF2 file (not whole 512-byte blocks)", "Build or export a .uf2 file.")
    families = set()
    for offset in range(0, len(data), BLOCK_BYTES):
        start0, start1, flags = struct.unpack_from("<III", data, offset)
        (end,) = struct.unpack_from("<I", data, offset + BLOCK_BYTES - 4)
        if (start0, start1) != MAGIC_START or end != MAGIC_END:
            raise WorkbenchError(f"{path}: not a UF2 file (block {offset // BLOCK_BYTES} has no UF2 magic)")
        if flags & FLAG_FAMILY_ID and not flags & FLAG_NOT_MAIN_FLASH:
            families.add(struct.unpack_from("<I", data, offset + 28)[0])
    wanted = family_id(family) if family else None
    if wanted is not None and families and wanted not in families:
        found = ", ".join(f"0x{f:08x}" for f in sorted(families))
        raise WorkbenchError(
            f"{path}: UF2 family {found} is not the board's {family} (0x{wanted:08x})",
            "The bootloader would ignore it: build the firmware for this board.",
        )
    return len(data) // BLOCK_BYTES


def candidate_drives() -> list[Path]:
    """Mounted drives where a UF2 bootloader drive may appear on this system."""
    if sys.platform == "win32":
        return [Path(f"{letter}:\\") for letter in string.ascii_uppercase]
    if sys.platform == "darwin":
        roots = [Path("/Volumes")]
    else:
        user = os.environ.get("USER", "")
        roots = [Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/mnt")]
    drives: list[Path] = []
    for root in roots:
        try:
            drives += [entry for entry in root.iterdir() if entry not in drives]
        except OSError:
            continue
    return drives


def find_drive(drives: list[Path] | None = None) -> Path:
    """The one drive holding INFO_UF2.TXT; raises WorkbenchError when there is none or several."""
    found = []
    for drive in candidate_drives() if drives is None else drives:
        try:
            if (drive / INFO_FILE).is_file():
                found.append(drive)
        except OSError:  # an empty card reader or a drive that went away
            continue
    if not found:
        raise WorkbenchError(
            "no UF2 drive found",
            "Put the board in bootloader mode (hold BOOTSEL while plugging it in, or double-tap reset); "
            "a drive with INFO_UF2.TXT appears.",
        )
    if len(found) > 1:
        raise WorkbenchError(
            f"{len(found)} UF2 drives found: {', '.join(map(str, found))}", "Choose one (--drive) or unplug the others."
        )
    return found[0]


class Uf2Flasher(Flasher):
    name = "uf2"
    description = "Copy a UF2 file to the board's USB drive in bootloader mode (nothing to install)"

    def available(self) -> Availability:
        return Availability(ok=True)

    def plan(self, job: FlashJob) -> list[Step]:
        family = f" for {job.board.uf2_family}" if job.board.uf2_family else ""
        drive = job.drive or f"the drive holding {INFO_FILE}"
        return [
            Step(f"Check that {job.firmware} is a UF2 file{family}"),
            Step(f"Put {job.board.name} in bootloader mode (hold BOOTSEL while plugging it in, or double-tap reset)"),
            Step(f"Copy {job.firmware.name} to {drive}; the board restarts into it"),
        ]

    def flash(self, job: FlashJob, task: Task) -> None:
        task.progress(0.0, f"Checking {job.firmware.name}")
        check_uf2(job.firmware, job.board.uf2_family)
        drive = Path(job.drive) if job.drive else find_drive()
        if not drive.is_dir():
            raise WorkbenchError(f"{drive}: no such drive", "Put the board in bootloader mode and try again.")
        total = job.firmware.stat().st_size
        copied = 0
        task.progress(0.0, f"Copying to {drive}")
        with job.firmware.open("rb") as source, (drive / job.firmware.name).open("wb") as target:
            while chunk := source.read(COPY_CHUNK_BYTES):
                task.check()
                target.write(chunk)
                copied += len(chunk)
                task.progress(copied / total, f"Copying to {drive}")
            target.flush()
            os.fsync(target.fileno())  # the bootloader starts flashing once the file is complete
        task.progress(1.0, f"Copied {job.firmware.name} to {drive}")
