"""A flasher that wraps a (made-up) command line tool: `exflash --port PORT --write FILE`."""

from __future__ import annotations

import shutil

from workbench.core.errors import WorkbenchError
from workbench.core.process import run_process
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.tasks import Task

PROGRAM = "exflash"


class ExampleFlasher(Flasher):
    name = "example-flash"
    description = "Write firmware to an Example Sense board with exflash"
    timeout_s = 120.0  # a flash that takes longer is stuck

    def available(self) -> Availability:
        if shutil.which(PROGRAM):
            return Availability(ok=True)
        return Availability(
            ok=False, missing=f"{PROGRAM} is not installed", hint="Install exflash and put it on the PATH."
        )

    def command(self, job: FlashJob) -> tuple[str, ...]:
        if not job.port:
            raise WorkbenchError(
                "exflash needs the board's serial port", "Choose the port (Deploy page) or give --port."
            )
        return (shutil.which(PROGRAM) or PROGRAM, "--port", job.port, "--write", str(job.firmware))

    def plan(self, job: FlashJob) -> list[Step]:
        return [Step(f"Write {job.firmware.name} to {job.board.name} on {job.port}", self.command(job))]

    def flash(self, job: FlashJob, task: Task) -> None:
        task.progress(0.0, f"Writing {job.firmware.name}")
        result = run_process(self.command(job), task, what="exflash", on_line=task.log, timeout_s=self.timeout_s)
        if not result.ok:
            last = result.tail[-1] if result.tail else f"exit code {result.returncode}"
            raise WorkbenchError(f"exflash could not write {job.firmware.name}: {last}", details="\n".join(result.tail))
        task.progress(1.0, "Written")
