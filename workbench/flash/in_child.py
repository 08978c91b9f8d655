"""Run part of a flasher plugin's work in a child process, from any plugin folder or entry point.

A job child (`workbench.core.child_main`) runs only functions of the app's own job modules, so a
flasher loaded from a file by path (a user's, a built-in) or from an entry point cannot be named
there as `module:function`. `run_flasher_job` names the flasher instead: the child finds it by name
through its own plugin registry (workbench.plugin_jobs, the one job module that reads the registry)
and calls one of its methods on the request, exactly as the built-in flashers run esptool and
pyOCD. The method takes the request dict (with the job's scratch folder under "workdir") and
returns a JSON-able dict; in it, `workbench.core.child.report_progress` reports progress and a
WorkbenchError reaches the parent as itself. Cancel ends the child.
"""

from __future__ import annotations

import sys
from typing import Any

from workbench.core.child import CRASH_HINT, run_in_child
from workbench.core.process import LineCallback
from workbench.flash.api import Flasher
from workbench.tasks import Task

FLASHER_JOB = "workbench.plugin_jobs:flasher_job"


def defined_in(flasher: type[Flasher]) -> str:
    """The file the flasher class was defined in ("" when it has none): the child checks that the
    registry gives it the same flasher the app is using."""
    module = sys.modules.get(flasher.__module__)
    return str(getattr(module, "__file__", "") or "")


def run_flasher_job(
    flasher: Flasher,
    method: str,
    request: dict[str, Any],
    task: Task,
    what: str,
    *,
    timeout_s: float,
    on_line: LineCallback | None = None,
    crash_hint: str = CRASH_HINT,
) -> dict[str, Any]:
    """Call `flasher`'s public method `method` on `request` in a child process and return its dict.

    Raises what run_in_child raises (WorkbenchError, ChildNotStarted, ChildCrashed, Cancelled);
    a WorkbenchError too when the child finds no such flasher or another one by that name.
    """
    job = {"flasher": flasher.name, "defined_in": defined_in(type(flasher)), "method": method, "request": request}
    return run_in_child(FLASHER_JOB, job, task, what, timeout_s=timeout_s, on_line=on_line, crash_hint=crash_hint)
