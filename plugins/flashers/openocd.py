"""OpenOCD: write firmware through a debug probe (ST-LINK, CMSIS-DAP, J-Link) and check it.

Runs `openocd -f interface/<probe>.cfg -f target/<chip>.cfg -c "program {FILE} [ADDRESS] verify reset exit"`
(https://openocd.org/doc/html/Flash-Programming.html). OpenOCD's `program` writes, reads back and
compares (verify), resets the board and exits; its milestones (`** Programming Started **`...)
are the progress. OpenOCD prints to stderr; the process runner reads both streams.

Which configuration files:
- The board's `target` under [flash], when it names an OpenOCD file: "board/st_nucleo_h743zi.cfg"
  (a board file sets up both the probe and the chip) or "target/stm32h7x.cfg" (the probe then
  comes from the rules below). pyOCD target names there ("stm32h743zitx") are not OpenOCD's and
  are ignored.
- Otherwise the chip from the board's `mcu` (STM32F7 -> target/stm32f7x.cfg, nRF52 -> target/nrf52.cfg,
  RP2040 -> target/rp2040.cfg...) and the probe from its usb_ids (ST-LINK 0483:374x -> interface/stlink.cfg,
  DAPLink 0D28:0204 -> interface/cmsis-dap.cfg, SEGGER 1366:* -> interface/jlink.cfg), else the probe
  such boards carry (ST-LINK on STM32 boards, CMSIS-DAP for nRF, RP2040/RP2350 and SAM).
- A .bin has no address of its own: it goes to the job's address, else to the chip's flash base.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.tool_failures import run_tool
from workbench.flash.tool_progress import OPENOCD_SPANS, openocd_reading
from workbench.tasks import Task

PROGRAM = "openocd"
STLINK, CMSIS_DAP, JLINK = "interface/stlink.cfg", "interface/cmsis-dap.cfg", "interface/jlink.cfg"
INSTALL_HINT = (
    "Install OpenOCD: `sudo apt install openocd` (Debian/Ubuntu), `sudo dnf install openocd` (Fedora), "
    "`brew install open-ocd` (macOS), or the xPack build (https://xpack-dev-tools.github.io/openocd-xpack/) "
    "on Windows; RP2350 needs Raspberry Pi's OpenOCD (from the Pico SDK tools). Then make sure `openocd` is "
    "on the PATH."
)
FILE_TYPES = (".elf", ".hex", ".ihex", ".bin")
# `program` reports these and, before OpenOCD 0.11, may still exit with 0.
FAILURE_MARKERS = (
    "** Programming Failed **",
    "** Verify Failed **",
    "** OpenOCD init failed **",
    "** Unable to reset target **",
)

# Chip family (the start of the board's mcu, upper case) -> OpenOCD target file, probe, flash base.
CHIPS: tuple[tuple[str, str, str, int], ...] = (
    ("STM32F0", "target/stm32f0x.cfg", STLINK, 0x08000000),
    ("STM32F1", "target/stm32f1x.cfg", STLINK, 0x08000000),
    ("STM32F2", "target/stm32f2x.cfg", STLINK, 0x08000000),
    ("STM32F3", "target/stm32f3x.cfg", STLINK, 0x08000000),
    ("STM32F4", "target/stm32f4x.cfg", STLINK, 0x08000000),
    ("STM32F7", "target/stm32f7x.cfg", STLINK, 0x08000000),
    ("STM32G0", "target/stm32g0x.cfg", STLINK, 0x08000000),
    ("STM32G4", "target/stm32g4x.cfg", STLINK, 0x08000000),
    ("STM32H7", "target/stm32h7x.cfg", STLINK, 0x08000000),
    ("STM32L0", "target/stm32l0.cfg", STLINK, 0x08000000),
    ("STM32L1", "target/stm32l1.cfg", STLINK, 0x08000000),
    ("STM32L4", "target/stm32l4x.cfg", STLINK, 0x08000000),
    ("STM32L5", "target/stm32l5x.cfg", STLINK, 0x08000000),
    ("STM32U5", "target/stm32u5x.cfg", STLINK, 0x08000000),
    ("STM32WB", "target/stm32wbx.cfg", STLINK, 0x08000000),
    ("STM32WL", "target/stm32wlx.cfg", STLINK, 0x08000000),
    ("NRF51", "target/nrf51.cfg", CMSIS_DAP, 0x00000000),
    ("NRF52", "target/nrf52.cfg", CMSIS_DAP, 0x00000000),
    ("RP2040", "target/rp2040.cfg", CMSIS_DAP, 0x10000000),
    ("RP2350", "target/rp2350.cfg", CMSIS_DAP, 0x10000000),
    ("ATSAMD51", "target/atsame5x.cfg", CMSIS_DAP, 0x00000000),
    ("ATSAME5", "target/atsame5x.cfg", CMSIS_DAP, 0x00000000),
    ("ATSAMD21", "target/at91samdXX.cfg", CMSIS_DAP, 0x00000000),
)

# Debug probes by USB ID (upper case); a vendor alone ("1366") matches all its products.
PROBES = {
    "0483:3748": STLINK,
    "0483:374B": STLINK,
    "0483:374D": STLINK,
    "0483:374E": STLINK,
    "0483:374F": STLINK,
    "0483:3752": STLINK,
    "0483:3753": STLINK,
    "0483:3754": STLINK,
    "0D28:0204": CMSIS_DAP,
    "2E8A:000C": CMSIS_DAP,
    "1366": JLINK,
}

# Commands a chip's configuration needs before `program` (Raspberry Pi's getting-started guide for
# the Pico sets the CMSIS-DAP probe's clock; without it OpenOCD crawls at 100 kHz).
SETUP_COMMANDS = {"target/rp2040.cfg": "adapter speed 5000", "target/rp2350.cfg": "adapter speed 5000"}

SET_TARGET_HINT = (
    'Set target under [flash] in the board\'s file to its OpenOCD configuration, e.g. target = "target/stm32f4x.cfg", '
    'or a whole board (probe and chip): target = "board/st_nucleo_f4.cfg".'
)


def _chip(board: Board) -> tuple[str, str, str, int] | None:
    mcu = board.mcu.upper().replace("-", "")
    return next((chip for chip in CHIPS if mcu.startswith(chip[0])), None)


def _probe(board: Board) -> str:
    for usb_id in board.usb_ids:
        found = PROBES.get(usb_id.upper()) or PROBES.get(usb_id.upper().split(":")[0])
        if found:
            return found
    chip = _chip(board)
    return chip[2] if chip else ""


def config_files(board: Board) -> tuple[str, ...]:
    """The OpenOCD -f files for `board`; WorkbenchError naming the board field to set when unknown."""
    target = board.target.strip()
    if target.endswith(".cfg") and target.startswith("board/"):
        return (target,)
    chip = _chip(board)
    if not target.endswith(".cfg"):
        if chip is None:
            raise WorkbenchError(f"OpenOCD does not know which chip {board.name} has ({board.mcu})", SET_TARGET_HINT)
        target = chip[1]
    probe = _probe(board)
    if not probe:
        raise WorkbenchError(f"OpenOCD does not know which debug probe {board.name} has", SET_TARGET_HINT)
    return (probe, target)


def flash_base(board: Board) -> int:
    """Where a .bin goes when the job gives no address: the start of the chip's flash."""
    chip = _chip(board)
    if chip is None:
        raise WorkbenchError(
            f"OpenOCD needs the address to write a .bin to on {board.name} ({board.mcu})",
            "Flash an .elf or .hex file instead: they carry their addresses.",
        )
    return chip[3]


def _program() -> str:
    return shutil.which(PROGRAM) or PROGRAM


class OpenOcdFlasher(Flasher):
    name = "openocd"
    description = "Write and verify firmware through a debug probe (ST-LINK, CMSIS-DAP, J-Link) with OpenOCD"

    timeout_s = 600.0

    def available(self) -> Availability:
        if shutil.which(PROGRAM):
            return Availability(ok=True)
        return Availability(
            ok=False, missing="OpenOCD is not installed (openocd not found on the PATH)", hint=INSTALL_HINT
        )

    def command(self, job: FlashJob) -> tuple[str, ...]:
        """The exact OpenOCD command line for `job`."""
        suffix = job.firmware.suffix.lower()
        if suffix not in FILE_TYPES:
            raise WorkbenchError(
                f"{job.firmware}: OpenOCD writes {', '.join(FILE_TYPES)} files, not {suffix or 'this file'}",
                "Use the .elf, .hex or .bin the build made, or the board's other flasher.",
            )
        files = config_files(job.board)
        address = ""
        if suffix == ".bin":
            address = f" 0x{(job.address if job.address is not None else flash_base(job.board)):08x}"
        actions = "verify reset exit" if job.verify else "reset exit"
        script = f"program {{{job.firmware}}}{address} {actions}"
        setup = tuple(part for cfg in files if cfg in SETUP_COMMANDS for part in ("-c", SETUP_COMMANDS[cfg]))
        return (_program(), *(part for cfg in files for part in ("-f", cfg)), *setup, "-c", script)

    def plan(self, job: FlashJob) -> list[Step]:
        command = self.command(job)
        checked = ", read it back to check it" if job.verify else ""
        return [
            Step(f"Connect {job.board.name}'s debug probe ({', '.join(c for c in command if c.endswith('.cfg'))})"),
            Step(f"Write {job.firmware.name} with OpenOCD{checked}, then reset the board", command),
        ]

    def flash(self, job: FlashJob, task: Task) -> None:
        if not Path(job.firmware).is_file():
            raise WorkbenchError(f"{job.firmware}: no such file")
        command = self.command(job)
        task.progress(0.0, "Connecting to the debug probe")
        run_tool(
            command,
            task,
            tool=PROGRAM,
            what=f"Writing {job.firmware.name} to {job.board.name} with OpenOCD",
            reader=openocd_reading,
            spans=OPENOCD_SPANS,
            timeout_s=self.timeout_s,
            install_hint=INSTALL_HINT,
            failure_markers=FAILURE_MARKERS,
        )
        task.progress(1.0, f"Wrote {job.firmware.name}" + (" and checked it" if job.verify else ""))
