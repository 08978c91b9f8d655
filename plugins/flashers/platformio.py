"""PlatformIO: build an exported PlatformIO project and upload it with the board's own upload tool.

Runs `pio run -d PROJECT -e ENV -t upload [--upload-port PORT]`
(https://docs.platformio.org/en/latest/core/userguide/cmd_run.html). PlatformIO installs the
platform and tools the project needs on first use, builds, then uploads with the tool its
platform chose for the board (esptool, BOSSA, OpenOCD, dfu-util...), whose output is the
progress. Whether the upload is read back and checked is that tool's choice (esptool checks a
hash, OpenOCD verifies); PlatformIO has no switch for it.

The program is `pio` or `platformio` on the PATH, else the one the PlatformIO IDE installs
(~/.platformio/penv), else `python -m platformio` when this Python has it.

ENV is the project's environment whose `board` is the board's platformio_board, else its only
environment, else the first of its `default_envs`.
"""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import sys
from pathlib import Path

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.tool_failures import run_tool
from workbench.flash.tool_progress import PLATFORMIO_SPANS, platformio_reading
from workbench.tasks import Task

INSTALL_HINT = (
    "Install PlatformIO Core with `pip install platformio` (or the PlatformIO IDE for VS Code) and make sure "
    "`pio` is on the PATH."
)


def program() -> tuple[str, ...] | None:
    """How to start PlatformIO here, or None when it is not installed."""
    for name in ("pio", "platformio"):
        found = shutil.which(name)
        if found:
            return (found,)
    scripts = Path.home() / ".platformio" / "penv" / ("Scripts" if sys.platform == "win32" else "bin")
    for name in ("pio", "pio.exe"):
        if (scripts / name).is_file():
            return (str(scripts / name),)
    if importlib.util.find_spec("platformio") is not None:
        return (sys.executable, "-m", "platformio")
    return None


def project_folder(firmware: Path) -> Path:
    """The PlatformIO project `firmware` names (its folder, or its platformio.ini)."""
    folder = firmware.parent if firmware.name == "platformio.ini" else firmware
    if not (folder / "platformio.ini").is_file():
        raise WorkbenchError(
            f"{firmware}: not a PlatformIO project (no platformio.ini)",
            "The PlatformIO flasher builds and uploads an exported PlatformIO project folder.",
        )
    return folder


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def environment(project: Path, board: Board) -> str:
    """The project's environment to build for `board` (see the module docstring)."""
    config = configparser.ConfigParser(
        interpolation=None, strict=False, allow_no_value=True, inline_comment_prefixes=(";", "#")
    )
    try:
        config.read(project / "platformio.ini", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as error:
        raise WorkbenchError(f"{project / 'platformio.ini'}: cannot be read ({error})") from None
    envs = [section[4:] for section in config.sections() if section.startswith("env:")]
    if not envs:
        raise WorkbenchError(f"{project / 'platformio.ini'}: has no [env:...] environment to build")
    common_board = config.get("env", "board", fallback="") if config.has_section("env") else ""

    def board_of(env: str) -> str:
        return config.get(f"env:{env}", "board", fallback=common_board)

    if board.platformio_board:
        for env in envs:
            if board_of(env) == board.platformio_board:
                return env
    defaults = [env for env in _list(config.get("platformio", "default_envs", fallback="")) if env in envs]
    for env in envs if len(envs) == 1 else defaults:
        if not board.platformio_board or not board_of(env):
            return env
        raise WorkbenchError(
            f"{project.name}: the project is for the PlatformIO board {board_of(env)} ({env}), not for {board.name}",
            "Export the project for this board, or choose the board it was made for.",
        )
    raise WorkbenchError(
        f"{project / 'platformio.ini'}: none of its environments ({', '.join(envs)}) is for {board.name}",
        f"Set `board = {board.platformio_board or '<board id>'}` in one of them, or set default_envs.",
    )


class PlatformIOFlasher(Flasher):
    name = "platformio"
    description = "Build an exported PlatformIO project and upload it with `pio run -t upload`"

    timeout_s = 3600.0  # the first run downloads the platform's toolchain

    def available(self) -> Availability:
        if program() is not None:
            return Availability(ok=True)
        return Availability(ok=False, missing="PlatformIO is not installed (no pio on the PATH)", hint=INSTALL_HINT)

    def command(self, job: FlashJob) -> tuple[str, ...]:
        """The exact PlatformIO command line for `job`."""
        project = project_folder(job.firmware)
        env = environment(project, job.board)
        port = ("--upload-port", job.port) if job.port else ()
        return (*(program() or ("pio",)), "run", "-d", str(project), "-e", env, "-t", "upload", *port)

    def plan(self, job: FlashJob) -> list[Step]:
        command = self.command(job)
        env = command[command.index("-e") + 1]
        where = f" on {job.port}" if job.port else " (PlatformIO looks for its port)"
        steps = [
            Step(
                f"Build the PlatformIO project {project_folder(job.firmware).name} (environment {env}) and upload "
                f"it to {job.board.name}{where}; the first run installs the platform's tools",
                command,
            )
        ]
        if job.verify:
            steps.append(Step("Whether the upload is read back and checked is up to the board's upload tool"))
        return steps

    def flash(self, job: FlashJob, task: Task) -> None:
        command = self.command(job)
        env = command[command.index("-e") + 1]
        task.progress(0.0, f"Building {env} with PlatformIO")
        run_tool(
            command,
            task,
            tool="PlatformIO",
            what=f"Building and uploading {env} to {job.board.name} with PlatformIO",
            reader=platformio_reading,
            spans=PLATFORMIO_SPANS,
            timeout_s=self.timeout_s,
            install_hint=INSTALL_HINT,
            port=job.port,
        )
        task.progress(1.0, f"Uploaded {env} to {job.board.name}")
