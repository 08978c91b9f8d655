"""The job child's side of `workbench.flash.in_child.run_flasher_job`: a flasher found by name
through this process's plugin registry, one of its methods called on the request.

A job module (listed in workbench.core.launcher.JOB_MODULES). It stands apart from workbench.flash
because it reads the registry, which knows every plugin contract (the monitor's parsers too).
"""

from __future__ import annotations

import logging
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.flash.api import Flasher
from workbench.flash.in_child import defined_in
from workbench.plugins import registry

CONTRACT_METHODS = frozenset(Flasher.__abstractmethods__)  # available, plan, flash: the app's, not a job


def flasher_job(request: dict[str, Any]) -> dict[str, Any]:
    """Run `request["method"]` of the flasher `request["flasher"]` on `request["request"]` (with
    the job's "workdir"); returns the method's dict. WorkbenchError when the flasher is unknown
    here, is not the one the app used, or has no such public method."""
    # The app reported the skipped plugins already; the child's discovery need not repeat them in the log.
    logging.getLogger("workbench.plugins").setLevel(logging.ERROR)
    name, method_name = str(request["flasher"]), str(request["method"])
    flasher = registry().flasher(name)
    expected = str(request.get("defined_in", ""))
    if expected and defined_in(type(flasher)) != expected:
        raise WorkbenchError(
            f"the flasher {name} now comes from {defined_in(type(flasher)) or 'elsewhere'}, not {expected}",
            "The plugins changed since the app loaded them: reload them (File > Reload Plugins) and try again.",
        )
    method = getattr(flasher, method_name, None)
    if method_name.startswith("_") or method_name in CONTRACT_METHODS or not callable(method):
        raise WorkbenchError(f"the flasher {name} has no job {method_name}()")
    result = method({**request["request"], "workdir": request["workdir"]})
    if not isinstance(result, dict):
        raise WorkbenchError(f"the flasher {name}: {method_name}() gave {type(result).__name__}, not a dict")
    return result
