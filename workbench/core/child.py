"""Run engine jobs that load TensorFlow or TFLM in a child process.

TensorFlow and TFLM can take seconds, hang, print to the C-level stdout or crash the
process outright on a bad model. A child keeps the app alive and makes cancel instant:
cancel() on the Task kills the child. Requests and results travel as JSON files; the
child's command line comes from the one launcher (`workbench.core.launcher`, frozen bundles
too) and it runs under the one process runner (`workbench.core.process`), always with a timeout.
A child that could not start is the app's failure (ChildNotStarted), told apart from one that
crashed on the work (ChildCrashed).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from workbench.core.child_main import STARTED_SUFFIX
from workbench.core.errors import ERROR_KINDS, ChildNotStarted, WorkbenchError
from workbench.core.launcher import job_argv
from workbench.core.process import PROGRESS_MARK, LineCallback, ProcessResult, run_process
from workbench.tasks import Task

log = logging.getLogger(__name__)


CRASH_HINT = "The model may be corrupt or use something the runtime cannot handle; details are in the log."


class ChildCrashed(WorkbenchError):
    """The child process died without writing a result (a segfault or abort in native code)."""

    def __init__(self, message: str, hint: str, process: ProcessResult) -> None:
        super().__init__(message, hint, "\n".join(process.tail))
        self.process = process


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("CUDA_VISIBLE_DEVICES", "")
    env["PYTHONUNBUFFERED"] = "1"
    # The child must import this very copy of the package, wherever it runs from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_in_child(
    job: str,
    request: dict[str, Any],
    task: Task,
    what: str,
    *,
    timeout_s: float,
    on_line: LineCallback | None = None,
    crash_hint: str = CRASH_HINT,
) -> dict[str, Any]:
    """Run `job` ("package.module:function", a function of the request dict, its module listed in
    launcher.JOB_MODULES) in a child process and return its JSON result, with the files it named
    under 'files' read into '_files'. The child is killed after `timeout_s`.

    Raises WorkbenchError with the child's message (also when it ran past `timeout_s`),
    ChildNotStarted if the child could not start the job, ChildCrashed if it died on the work
    without a result, or Cancelled when the task was cancelled.
    """
    with tempfile.TemporaryDirectory(prefix="workbench-") as tmp:
        request_path = Path(tmp) / "request.json"
        result_path = Path(tmp) / "result.json"
        request_path.write_text(json.dumps({**request, "workdir": tmp}))
        process = run_process(
            job_argv(job, str(request_path), str(result_path)),
            task,
            what=what,
            on_line=on_line,
            timeout_s=timeout_s,
            env=child_env(),
        )
        if result_path.exists():
            result: dict[str, Any] = json.loads(result_path.read_text())
            if "error" in result:
                kind = ERROR_KINDS.get(result.get("kind", ""), WorkbenchError)
                error = kind(result["error"], result.get("hint", ""))
                error.details = result.get("details", "")
                if error.details:
                    log.warning("%s: %s\n%s", what, error.message, error.details)
                raise error
            result["_files"] = _collect_outputs(result)
            return result
        log.warning(
            "%s: child exited with %s; last output:\n%s", what, process.returncode, "\n".join(process.tail[-10:])
        )
        if not Path(str(result_path) + STARTED_SUFFIX).exists():
            raise ChildNotStarted(
                f"{what}: the app could not start its worker ({process.reason})", details="\n".join(process.tail)
            )
        raise ChildCrashed(
            f"{what} failed: {process.reason}",
            crash_hint,
            process,
        )


def _collect_outputs(result: dict[str, Any]) -> dict[str, bytes]:
    """Read the files the child named under 'files' before its folder disappears."""
    return {key: Path(path).read_bytes() for key, path in result.get("files", {}).items()}


def report_progress(fraction: float, status: str) -> None:
    """Called inside a child: tell the parent how far the job got."""
    print(f"{PROGRESS_MARK}{fraction:.3f} {status}", file=sys.stderr, flush=True)
