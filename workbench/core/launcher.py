"""The one launcher of the app's own child processes, from a source install and a frozen bundle alike.

Two kinds of child run the app's own code:
- a **job**: one engine function of a request dict (TensorFlow conversion, TFLM measurement,
  inference, flashing through a tool's Python API), run by `workbench.core.child_main`;
- a **command**: a CLI subcommand that serves until it is stopped (`simulate`), started by the
  Monitor.

From a source install a child is `python -m ...`. A frozen bundle has no `-m`: its executable is
started again with a first argument that only the launcher knows, and `dispatch(argv)` (the first
thing `workbench/__main__.py` does, before the CLI or the GUI is imported, as
multiprocessing.freeze_support does) runs a job child and exits, so a child request can never open
the GUI by accident.

Every module a job may name is listed in JOB_MODULES, the one place a bundler reads to collect them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

CHILD_JOB = "--workbench-child-job"  # then: MODULE:FUNCTION REQUEST RESULT
END_WITH_PARENT = "--workbench-end-with-parent"  # =PID, then a CLI command line
CONSOLE_EXECUTABLE = "tinyml-workbench.exe"  # Windows: beside the windowed "TinyML Workbench.exe"

JOB_MODULES = (
    "workbench.core.keras_convert",
    "workbench.core.tflm_worker",
    "workbench.core.inference_worker",
    "workbench.optimize.convert_worker",
    "workbench.flash.esptool_worker",
    "workbench.flash.pyocd_worker",
    "workbench.plugin_jobs",  # a flasher plugin's own job, found by name (workbench.flash.in_child)
)


def frozen() -> bool:
    """True inside a bundle made by PyInstaller (or any freezer that sets sys.frozen)."""
    return bool(getattr(sys, "frozen", False))


def own_executable() -> str:
    """The executable a frozen bundle starts its children with: itself, except on Windows, where the
    windowed GUI executable (no console) starts the console one beside it, whose output the app reads."""
    if sys.platform == "win32":
        console = Path(sys.executable).with_name(CONSOLE_EXECUTABLE)
        if console.exists():
            return str(console)
    return sys.executable


def job_argv(job: str, request_path: str, result_path: str) -> list[str]:
    """The command line of a child that runs `job` ("module:function") on the request file."""
    if frozen():
        return [own_executable(), CHILD_JOB, job, request_path, result_path]
    return [sys.executable, "-m", "workbench.core.child_main", job, request_path, result_path]


def command_argv(arguments: list[str], *, end_with_parent: bool = False) -> list[str]:
    """The command line of a child that runs the CLI with `arguments`. With `end_with_parent`, on
    Linux the child is ended (SIGTERM) when this process dies without stopping it (killed,
    crashed), so it never outlives the app; elsewhere the app stops it when it closes."""
    prefix = [own_executable()] if frozen() else [sys.executable, "-m", "workbench"]
    if end_with_parent and sys.platform.startswith("linux"):
        prefix.append(f"{END_WITH_PARENT}={os.getpid()}")
    return [*prefix, *arguments]


# What a frozen bundle's bootloader changes so that its own libraries are found first; a program
# from outside the bundle (a flasher, QEMU, a compiler) must see the user's values instead.
LOADER_VARIABLES = ("LD_LIBRARY_PATH", "LIBPATH")


def outside_program(argv: list[str]) -> bool:
    """True for a program from outside the bundle this process runs in (never from a source install)."""
    if not frozen() or not argv:
        return False
    return os.path.realpath(argv[0]) not in {os.path.realpath(sys.executable), os.path.realpath(own_executable())}


def external_env(argv: list[str], env: dict[str, str] | None) -> dict[str, str] | None:
    """The environment for `argv`: unchanged from a source install or for the bundle's own
    executable; for any other program started from a bundle, the loader paths it had before the
    bundle started (PyInstaller keeps them as NAME_ORIG), or none (on Windows see `outside_dlls`)."""
    if not outside_program(argv):
        return env
    restored = dict(os.environ if env is None else env)
    for name in LOADER_VARIABLES:
        original = restored.get(name + "_ORIG")
        if original is None:
            restored.pop(name, None)
        else:
            restored[name] = original
    return restored


_DLL_LOCK = threading.Lock()


@contextlib.contextmanager
def outside_dlls(argv: list[str]) -> Iterator[None]:
    """While it lasts (around starting `argv`), a Windows bundle's DLL folder, which a child
    inherits, is the system's again (SetDllDirectoryW(None)); then the bundle's, for its own later
    imports. Nothing happens elsewhere, or for the bundle's own executable."""
    if sys.platform != "win32" or not outside_program(argv):
        yield
        return
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    with _DLL_LOCK:
        kernel32.SetDllDirectoryW(None)
        try:
            yield
        finally:
            kernel32.SetDllDirectoryW(getattr(sys, "_MEIPASS", None))


@contextlib.contextmanager
def external_environment() -> Iterator[None]:
    """While it lasts, os.environ is what `external_env` gives an outside program: for programs a
    library starts on the app's behalf (Qt opening a folder in the file manager)."""
    outside = external_env(["outside"], None)
    if outside is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(outside)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def dispatch(argv: list[str]) -> int | None:
    """Run the job child that `argv` (the arguments after the program) asks for and return its exit
    code; None when it asks for none, and the CLI or the GUI starts on `cli_arguments(argv)`."""
    if argv[:1] == [CHILD_JOB]:
        from workbench.core.child_main import run_child

        return run_child(argv[1:])
    return None


def cli_arguments(argv: list[str]) -> list[str]:
    """`argv` without the launcher's own first argument; a command child asked to end with its
    parent is linked to it first."""
    if argv and argv[0].startswith(END_WITH_PARENT + "="):
        _end_with(int(argv[0].partition("=")[2]))
        return argv[1:]
    return argv


def _end_with(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG); exit at once if it
    already has (our parent is then someone else)."""
    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(0)
