"""dfu-util: write a raw .bin (or a DfuSe .dfu file) to a board in USB DFU bootloader mode.

Runs `dfu-util -a 0 [-d VID:PID] -s ADDRESS:leave -D FILE` (https://dfu-util.sourceforge.net):
alternate setting 0 is the internal flash of STM32 and Arduino Portenta/Nicla bootloaders, and
`:leave` starts the new firmware once it is written.

- ADDRESS is the job's address (the model slot for --model-only), else where the board's own
  firmware goes: 0x08040000 on Arduino's STM32H7 boards (their bootloader takes the first 256 KB;
  ArduinoCore-mbed boards.txt, upload.address) and 0x08000000, the flash base, on other STM32s.
  A .dfu file carries its own addresses, so it gets `-s :leave` alone.
- `-d VID:PID` is added when the board's usb_ids name its DFU bootloader (Arduino's 0x03xx
  product IDs, ST's ROM bootloader 0483:DF11), so another DFU device plugged in is left alone.
- dfu-util cannot read the flash back in the same call, so the write is not verified; the plan says so.
- Leaving DFU mode resets the board under dfu-util's feet, and some bootloaders make dfu-util 0.9
  end with "Error during download get_status" (exit code 74) after "File downloaded successfully":
  that is success, and is logged as such.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.tool_failures import run_tool
from workbench.flash.tool_progress import DFU_SPANS, dfu_util_reading
from workbench.tasks import Task

PROGRAM = "dfu-util"
STM32_FLASH_BASE = 0x08000000
ARDUINO_SKETCH_BASE = 0x08040000  # after the Arduino bootloader on Portenta H7 / Nicla Vision / Opta
ARDUINO_VID, ST_VID = "2341", "0483"
INSTALL_HINT = (
    "Install dfu-util: `sudo apt install dfu-util` (Debian/Ubuntu), `sudo dnf install dfu-util` (Fedora), "
    "`brew install dfu-util` (macOS), or a build from https://dfu-util.sourceforge.net/releases/ (Windows); "
    "then make sure `dfu-util` is on the PATH."
)
ENTER_DFU = (
    "double-tap reset on Arduino Portenta and Nicla boards (the LED fades in and out), or hold BOOT0 while "
    "pressing reset on other STM32 boards"
)


def dfu_device(board: Board) -> str:
    """The VID:PID of the board's DFU bootloader from its usb_ids ("2341:035b"), or "" when none is known."""
    for usb_id in board.usb_ids:
        vendor, product = usb_id.lower().split(":")
        if (vendor == ARDUINO_VID and product.startswith("03")) or (vendor == ST_VID and product == "df11"):
            return f"{vendor}:{product}"
    return ""


def default_address(board: Board) -> int:
    """Where a whole-firmware .bin goes on `board`; WorkbenchError when it is not known."""
    if board.mcu.upper().startswith("STM32"):
        arduino = any(usb_id.upper().startswith(f"{ARDUINO_VID}:") for usb_id in board.usb_ids)
        return ARDUINO_SKETCH_BASE if arduino else STM32_FLASH_BASE
    raise WorkbenchError(
        f"dfu-util needs the flash address for {board.name} ({board.mcu}), which is not known",
        "Flash a .dfu file instead (it carries its addresses), or use the board's own flasher.",
    )


def _program() -> str:
    return shutil.which(PROGRAM) or PROGRAM


def _downloaded_then_left(lines: Sequence[str]) -> bool:
    """dfu-util 0.9 and some bootloaders: the file was written, then the board left DFU mode
    before dfu-util asked for its status."""
    done = any("File downloaded successfully" in line for line in lines)
    return done and bool(lines) and "get_status" in lines[-1]


class DfuUtilFlasher(Flasher):
    name = "dfu-util"
    description = "Write a .bin to a board in USB DFU bootloader mode with dfu-util (STM32, Arduino Portenta/Nicla)"

    timeout_s = 600.0

    def available(self) -> Availability:
        if shutil.which(PROGRAM):
            return Availability(ok=True)
        return Availability(ok=False, missing="dfu-util is not installed (not found on the PATH)", hint=INSTALL_HINT)

    def command(self, job: FlashJob) -> tuple[str, ...]:
        """The exact dfu-util command line for `job`; WorkbenchError for a file dfu-util cannot write."""
        suffix = job.firmware.suffix.lower()
        if suffix == ".dfu":
            where = ":leave"
        elif suffix == ".bin":
            address = job.address if job.address is not None else default_address(job.board)
            where = f"0x{address:08x}:leave"
        else:
            raise WorkbenchError(
                f"{job.firmware}: dfu-util writes .bin or .dfu files, not {suffix or 'this file'}",
                "Convert it to a raw binary (`arm-none-eabi-objcopy -O binary firmware.elf firmware.bin`), "
                "or flash it with the board's other flasher.",
            )
        device = dfu_device(job.board)
        return (
            _program(),
            "-a",
            "0",
            *(("-d", device) if device else ()),
            "-s",
            where,
            "-D",
            str(job.firmware),
        )

    def plan(self, job: FlashJob) -> list[Step]:
        command = self.command(job)
        where = command[command.index("-s") + 1].removesuffix(":leave") or "the addresses in the file"
        steps = [
            Step(f"Put {job.board.name} in DFU bootloader mode: {ENTER_DFU}"),
            Step(f"Write {job.firmware.name} at {where} with dfu-util, then leave DFU mode to start it", command),
        ]
        if job.verify:
            steps.append(Step("dfu-util cannot read the flash back in the same call: the write is not verified"))
        return steps

    def flash(self, job: FlashJob, task: Task) -> None:
        if not Path(job.firmware).is_file():
            raise WorkbenchError(f"{job.firmware}: no such file")
        command = self.command(job)
        task.progress(0.0, "Looking for the board in DFU mode")
        result = run_tool(
            command,
            task,
            tool=PROGRAM,
            what=f"Writing {job.firmware.name} to {job.board.name} with dfu-util",
            reader=dfu_util_reading,
            spans=DFU_SPANS,
            timeout_s=self.timeout_s,
            install_hint=INSTALL_HINT,
            succeeded=_downloaded_then_left,
        )
        if not result.ok:
            task.log(
                "dfu-util lost the board after the download: it left DFU mode to start the new firmware, as asked "
                "(:leave); the file was written."
            )
        task.progress(1.0, f"Wrote {job.firmware.name}; {job.board.name} restarts into it")
