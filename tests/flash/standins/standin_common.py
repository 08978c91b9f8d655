"""Shared by the stand-in tools: record the command line, act out a hang, print like a C tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def record() -> list[str]:
    """Append this run's command line to $STANDIN_LOG; return the arguments after the program."""
    path = os.environ.get("STANDIN_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(sys.argv) + "\n")
    return sys.argv[1:]


def failure() -> str:
    return os.environ.get("STANDIN_FAIL", "")


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def err(text: str = "", end: str = "\n") -> None:
    sys.stderr.write(text + end)
    sys.stderr.flush()


def option(args: list[str], *names: str) -> str:
    """The value after the first of `names` (`-p PORT`), or after `--name=`; "" when absent."""
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return ""


def hang_if_asked() -> None:
    """With $STANDIN_HANG set: start a helper (a tool's own child), say both IDs, wait for an hour."""
    if not os.environ.get("STANDIN_HANG"):
        return
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    pid_file = os.environ["STANDIN_PID"]
    with open(pid_file + ".partial", "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {helper.pid}\n")
    os.replace(pid_file + ".partial", pid_file)
    time.sleep(3600)
    sys.exit(0)
