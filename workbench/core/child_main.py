"""Entry point of child processes: `python -m workbench.core.child_main MODULE:FUNCTION REQUEST RESULT`.

The function takes the request dict and returns a dict, written as JSON to RESULT. Only
functions of this package can be named, so a child never imports code from elsewhere.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError


def main(argv: list[str]) -> int:
    job, request_path, result_path = argv
    module_name, _, function_name = job.partition(":")
    request: dict[str, Any] = json.loads(Path(request_path).read_text())
    try:
        if not module_name.startswith("workbench.") or not function_name:
            raise WorkbenchError(f"not a workbench job: {job}")
        function = getattr(importlib.import_module(module_name), function_name)
        result = function(request)
    except WorkbenchError as error:
        result = {"error": error.message, "hint": error.hint, "details": error.details, "kind": type(error).__name__}
    except Exception as error:  # noqa: BLE001 - everything must reach the parent as a message
        traceback.print_exc()
        first = str(error).splitlines()[0] if str(error) else ""
        result = {
            "error": f"Unexpected error in the worker: {type(error).__name__}",
            "hint": "Details are in the log file.",
            "details": f"{type(error).__name__}: {first}\n{traceback.format_exc()}",
        }
    partial = Path(result_path + ".partial")  # a child killed while writing leaves no half result
    partial.write_text(json.dumps(result))
    partial.replace(result_path)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
