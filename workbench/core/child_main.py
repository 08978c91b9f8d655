"""Entry point of job children: `python -m workbench.core.child_main MODULE:FUNCTION REQUEST RESULT`
(from a frozen bundle: the bundle's executable with the launcher's job flag, see workbench.core.launcher).

The function takes the request dict and returns a dict, written as JSON to RESULT. Only functions
of the modules in launcher.JOB_MODULES can be named, so a child never imports code from elsewhere.
Once the job's function is imported the child leaves RESULT.started: a child that ends without it
could not start (the app's failure), one that ends after it without a result crashed on the work.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.core.editions import missing_tensorflow
from workbench.core.errors import ChildNotStarted, NeedsFullEdition, WorkbenchError
from workbench.core.launcher import JOB_MODULES

STARTED_SUFFIX = ".started"


def run_child(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    job, request_path, result_path = argv
    try:
        function = _job_function(job)
    except (ChildNotStarted, NeedsFullEdition) as error:
        _write(result_path, _error_result(error))
        return 0
    Path(result_path + STARTED_SUFFIX).touch()
    request: dict[str, Any] = json.loads(Path(request_path).read_text())
    try:
        result = function(request)
    except WorkbenchError as error:
        result = _error_result(error)
    except Exception as error:  # noqa: BLE001 - everything must reach the parent as a message
        lite = missing_tensorflow(error)
        result = _error_result(lite) if lite is not None else _unexpected(error)
    _write(result_path, result)
    return 0


def _unexpected(error: Exception) -> dict[str, Any]:
    traceback.print_exc()
    first = str(error).splitlines()[0] if str(error) else ""
    return {
        "error": f"Unexpected error in the worker: {type(error).__name__}",
        "hint": "Details are in the log file.",
        "details": f"{type(error).__name__}: {first}\n{traceback.format_exc()}",
    }


def _job_function(job: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    module_name, _, function_name = job.partition(":")
    if module_name not in JOB_MODULES or not function_name:
        raise ChildNotStarted(f"not a workbench job: {job}")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 - an import that fails is the installation's problem
        lite = missing_tensorflow(error)
        if lite is not None:  # the lite edition: not a fault, a feature it leaves out
            raise lite from None
        traceback.print_exc()
        raise ChildNotStarted(
            f"the worker {module_name} cannot be loaded ({type(error).__name__}: {error})",
            details=traceback.format_exc(),
        ) from None
    if not callable(function):
        raise ChildNotStarted(f"not a workbench job: {job}")
    return function  # type: ignore[no-any-return]


def _error_result(error: WorkbenchError) -> dict[str, Any]:
    return {"error": error.message, "hint": error.hint, "details": error.details, "kind": type(error).__name__}


def _write(result_path: str, result: dict[str, Any]) -> None:
    partial = Path(result_path + ".partial")  # a child killed while writing leaves no half result
    partial.write_text(json.dumps(result))
    partial.replace(result_path)


if __name__ == "__main__":
    sys.exit(run_child(sys.argv[1:]))
