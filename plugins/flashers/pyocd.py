"""pyOCD: write a .bin, .hex or .elf to a Cortex-M board through its debug probe (ST-LINK, DAPLink...).

The work happens in a child process (workbench/flash/pyocd_worker.py) so that cancel can end it
in the middle of a pyOCD call. The job's port is the probe's unique ID; empty means the only
probe attached. A .bin goes to the start of the flash unless the job gives an address (the model
slot for --model-only, written without touching the rest of the flash).
"""

from __future__ import annotations

import importlib.util
import shlex

from workbench.core.child import run_in_child
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.api_failures import UDEV_RULES_URL
from workbench.flash.pyocd_worker import command_line, file_format, request_for, target_of
from workbench.tasks import Task


def pyocd_installed() -> bool:
    """Whether the pyocd package can be imported by this Python (and so by its children)."""
    try:
        return importlib.util.find_spec("pyocd") is not None
    except (ImportError, ValueError):
        return False


class PyocdFlasher(Flasher):
    name = "pyocd"
    description = "Write firmware through the board's debug probe, ST-LINK or DAPLink (pyOCD, Python package)"

    timeout_s = 600.0  # a whole flash erased and written over a slow link stays well under this

    def available(self) -> Availability:
        if pyocd_installed():
            return Availability(ok=True)
        return Availability(
            ok=False,
            missing="the pyocd Python package is not installed",
            hint=f"pip install pyocd; on Linux the debug probe also needs pyOCD's udev rules ({UDEV_RULES_URL}).",
        )

    def plan(self, job: FlashJob) -> list[Step]:
        target = target_of(job.board)
        fmt = file_format(job.firmware)
        probe = f"debug probe {job.port}" if job.port else "the only debug probe attached"
        if job.address is not None:
            where = f"at 0x{job.address:x}, keeping the rest of the flash"
        elif fmt == "bin":
            where = "at the start of the flash"
        else:
            where = f"where the .{fmt} file says"
        steps = [
            Step(
                f"Connect to the {target} through {probe}, reset and halt it, and write {job.firmware.name} {where}",
                command_line(job.firmware, target, job.port, job.address if fmt == "bin" else None),
            )
        ]
        if job.verify:
            steps.append(Step("Read the written flash back through the probe and compare it with the file"))
        steps.append(Step(f"Reset the {job.board.name} into its firmware"))
        return steps

    def flash(self, job: FlashJob, task: Task) -> None:
        request = request_for(job.firmware, job.board, job.port, job.address, job.verify)
        address = job.address if request["format"] == "bin" else None
        task.log(shlex.join(command_line(job.firmware, request["target"], job.port, address)))
        result = run_in_child(
            "workbench.flash.pyocd_worker:flash_job",
            request,
            task,
            what=f"Flashing the {job.board.name} with pyOCD",
            timeout_s=self.timeout_s,
            on_line=task.log,
            crash_hint="pyOCD itself stopped; its last lines are under Show Details. Unplug the board, plug it in "
            "and try again.",
        )
        task.log(f"Wrote {job.firmware.name} ({result['bytes']:,} bytes) through probe {result['probe']}")
