"""On PYTHONPATH of a test's child processes: a job child dies for real, at the moment the test
asks for, when its job name contains $WORKBENCH_FAULT_JOB.

$WORKBENCH_FAULT says how and when:
- `start-abort`: SIGABRT as the interpreter starts, before any of the app's code runs (a broken
  installation: the child never starts its job);
- `work-abort` / `work-segv`: SIGABRT / SIGSEGV once the job has started (its started-file
  exists), as the child reads its request: a crash on the work, as native code crashes.

The app itself carries no such switch.
"""

import json
import os
import signal
import sys
from pathlib import Path

_job = os.environ.get("WORKBENCH_FAULT_JOB", "")
_fault = os.environ.get("WORKBENCH_FAULT", "")
_SIGNALS = {"abort": signal.SIGABRT, "segv": signal.SIGSEGV}


def _die(how: str) -> None:
    print(f"about to crash ({how})", file=sys.stderr, flush=True)
    os.kill(os.getpid(), _SIGNALS[how])


if _job and any(_job in argument and ":" in argument for argument in sys.argv):
    when, _, how = _fault.partition("-")
    if when == "start":
        _die(how)
    elif when == "work":
        _loads = json.loads

        def _crashing_loads(*args, **kwargs):  # type: ignore[no-untyped-def]
            if any(Path(argument + ".started").exists() for argument in sys.argv[1:]):
                _die(how)
            return _loads(*args, **kwargs)

        json.loads = _crashing_loads
