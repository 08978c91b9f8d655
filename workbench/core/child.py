"""Run engine jobs that load TensorFlow or TFLM in a child process.

TensorFlow and TFLM can take seconds, hang, print to the C-level stdout or crash the
process outright on a bad model. A child keeps the app alive and makes cancel instant:
cancel() on the Task kills the child. Requests and results travel as JSON files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from workbench.core.errors import ERROR_KINDS, Cancelled, WorkbenchError
from workbench.tasks import Task

log = logging.getLogger(__name__)

PROGRESS_MARK = "\x1eprogress "


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
    job: str, request: dict[str, Any], task: Task, what: str, timeout_s: float | None = None
) -> dict[str, Any]:
    """Run `job` (a name in workbench.core.child_main.JOBS) and return its JSON result.

    Raises WorkbenchError with the child's message, or a plain one if the child crashed;
    raises Cancelled when the task was cancelled.
    """
    task.check()
    with tempfile.TemporaryDirectory(prefix="workbench-") as tmp:
        request_path = Path(tmp) / "request.json"
        result_path = Path(tmp) / "result.json"
        request_path.write_text(json.dumps({**request, "workdir": tmp}))
        child = subprocess.Popen(
            [sys.executable, "-m", "workbench.core.child_main", job, str(request_path), str(result_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        task.adopt(child)
        tail: list[str] = []
        reader = threading.Thread(target=_read_stderr, args=(child, task, tail), daemon=True)
        reader.start()
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise WorkbenchError(f"{what} took longer than {timeout_s:.0f} s and was stopped") from None
        finally:
            task.release(child)
            reader.join(timeout=5)
        if task.cancelled:
            raise Cancelled()
        if result_path.exists():
            result: dict[str, Any] = json.loads(result_path.read_text())
            if "error" in result:
                kind = ERROR_KINDS.get(result.get("kind", ""), WorkbenchError)
                raise kind(result["error"], result.get("hint", ""))
            result["_files"] = _collect_outputs(result)
            return result
        log.error("%s: child exited with %s; last output:\n%s", what, child.returncode, "\n".join(tail))
        raise WorkbenchError(
            f"{what} crashed ({_exit_reason(child.returncode)})",
            "The model may be corrupt or use something the runtime cannot handle; details are in the log.",
        )


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"the runtime aborted with {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _collect_outputs(result: dict[str, Any]) -> dict[str, bytes]:
    """Read the files the child named under 'files' before its folder disappears."""
    return {key: Path(path).read_bytes() for key, path in result.get("files", {}).items()}


def _read_stderr(child: subprocess.Popen[bytes], task: Task, tail: list[str]) -> None:
    assert child.stderr is not None
    for raw in child.stderr:
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line.startswith(PROGRESS_MARK):
            fraction, _, status = line[len(PROGRESS_MARK) :].partition(" ")
            with contextlib.suppress(Cancelled, ValueError):
                task.progress(float(fraction), status)
            continue
        tail.append(line)
        del tail[:-40]


def report_progress(fraction: float, status: str) -> None:
    """Called inside a child: tell the parent how far the job got."""
    print(f"{PROGRESS_MARK}{fraction:.3f} {status}", file=sys.stderr, flush=True)
