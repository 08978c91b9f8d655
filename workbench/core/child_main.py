"""Entry point of child processes: `python -m workbench.core.child_main JOB REQUEST RESULT`."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError

# job name -> "module:function"; each function takes the request dict and returns a dict.
JOBS = {
    "keras_to_tflite": "workbench.core.keras_convert:convert_job",
    "tflm_check": "workbench.core.tflm_worker:check_job",
    "run_model": "workbench.core.inference_worker:run_job",
    "optimize": "workbench.optimize.convert_worker:optimize_job",
}


def main(argv: list[str]) -> int:
    job, request_path, result_path = argv
    module_name, _, function_name = JOBS[job].partition(":")
    request: dict[str, Any] = json.loads(Path(request_path).read_text())
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        result = function(request)
    except WorkbenchError as error:
        result = {"error": error.message, "hint": error.hint, "kind": type(error).__name__}
    except Exception as error:  # noqa: BLE001 - everything must reach the parent as a message
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")}
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
