"""esptool: write a .bin to an ESP32-family board over its serial port, through esptool's Python API.

The work happens in a child process (workbench/flash/esptool_worker.py) so that cancel can end
it in the middle of an esptool call. A .bin with no address is placed by what it holds: an
application at 0x10000, an image starting with the bootloader at the chip's bootloader offset
(0x1000 on ESP32/ESP32-S2, 0x0 on most others), a merged image padded from 0x0 at 0x0. A model
slot (--model-only) is written at its own address and nothing else is touched.
"""

from __future__ import annotations

import importlib.util
import shlex

from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.esptool_worker import (
    chip_title,
    command_line,
    find_port,
    planned_address,
    read_image,
    request_for,
)
from workbench.tasks import Task
from workbench.units import kb


def esptool_installed() -> bool:
    """Whether the esptool package can be imported by this Python (and so by its children)."""
    try:
        return importlib.util.find_spec("esptool") is not None
    except (ImportError, ValueError):
        return False


class EsptoolFlasher(Flasher):
    name = "esptool"
    description = "Write a .bin to an ESP32 board over its serial port (esptool, Python package)"

    timeout_s = 600.0  # a whole flash erased and written over a slow link stays well under this

    def available(self) -> Availability:
        if esptool_installed():
            return Availability(ok=True)
        return Availability(ok=False, missing="the esptool Python package is not installed", hint="pip install esptool")

    def plan(self, job: FlashJob) -> list[Step]:
        chip = job.board.chip
        address = planned_address(job.firmware, chip, job.address)
        where = job.port or "the board's serial port (found when flashing)"
        what = "the model slot" if job.address is not None else job.firmware.name
        steps = [
            Step(
                f"Connect to the {chip_title(chip) or 'ESP chip'} on {where}, load esptool's flasher stub "
                f"and write {what} at 0x{address:x}",
                command_line("write-flash", job.firmware, chip, job.port, address),
            )
        ]
        if job.verify:
            steps.append(
                Step(
                    f"Compare the flash at 0x{address:x} with {job.firmware.name}",
                    command_line("verify-flash", job.firmware, chip, job.port, address),
                )
            )
        steps.append(Step(f"Reset the {job.board.name} into its firmware (esptool's hard reset)"))
        return steps

    def flash(self, job: FlashJob, task: Task) -> None:
        board = job.board
        size = len(read_image(job.firmware))
        address = planned_address(job.firmware, board.chip, job.address)
        if address + size > board.flash_bytes:
            raise WorkbenchError(
                f"{job.firmware.name} ({kb(size)} at 0x{address:x}) does not fit the {kb(board.flash_bytes)} "
                f"flash of the {board.name}",
                "Check that the firmware was built for this board.",
            )
        port = job.port or find_port(board)
        task.log(shlex.join(command_line("write-flash", job.firmware, board.chip, port, address)))
        result = run_in_child(
            "workbench.flash.esptool_worker:flash_job",
            request_for(job.firmware, board, port, job.address, job.verify),
            task,
            what=f"Flashing the {board.name} with esptool",
            timeout_s=self.timeout_s,
            on_line=task.log,
            crash_hint="esptool itself stopped; its last lines are under Show Details. Unplug the board, plug it in "
            "and try again.",
        )
        task.log(f"Wrote {result['bytes']:,} bytes at 0x{result['address']:x} of the {result['chip']} on {port}")
