"""Helpers for the tests of plugin authors (a parser, a flasher, a board), the way the workbench's
own tests try its built-ins: no board, no real tool.

    from workbench.plugin_testing import parse, stand_in_program, try_flash

    records = parse(MyParser(), ["SENSE|t=1|temp=20.5"])
    tool = stand_in_program(tmp_path, "exflash", prints="ok")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")   # where a flasher looks
    lines = try_flash(MyFlasher(), firmware, board_of("my_board"), port="/dev/ttyACM0")
    tool.calls()                                                # the argument lists it was called with
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.core.boards import Board
from workbench.flash.api import Flasher, FlashJob
from workbench.monitor.parse import Parser, Record
from workbench.plugins import registry
from workbench.tasks import Task


def parse(parser: Parser, lines: Sequence[str], time: float = 0.0) -> list[Record]:
    """The records `parser` makes of `lines` (all arrived at `time`), as the Monitor feeds them:
    `feed_lines`, then `flush` (the board stopped)."""
    return parser.feed_lines(list(lines), time).records() + list(parser.flush())


def board_of(board_id: str) -> Board:
    """A board the workbench knows (built-in, from an installed plugin, or the user's own)."""
    return registry().boards().get(board_id)


class StandIn:
    """A small program standing in for a real tool: it writes down how it was called, prints
    `prints` and exits with `exit_code`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.record = path.with_name(f".{path.name}.calls")

    def calls(self) -> list[list[str]]:
        """The argument lists (program name left out) it was called with, oldest first."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


def stand_in_program(folder: Path, name: str, prints: str = "", exit_code: int = 0) -> StandIn:
    """Make the program `name` in `folder` (put the folder first on PATH, e.g. with pytest's
    monkeypatch.setenv, to have a flasher find it); see StandIn."""
    folder.mkdir(parents=True, exist_ok=True)
    stand_in = StandIn(folder / name)
    path = stand_in.path
    script = [
        f"#!{sys.executable}",
        "import json, sys",
        f"with open({str(stand_in.record)!r}, 'a') as calls:",
        "    calls.write(json.dumps(sys.argv[1:]) + '\\n')",
    ]
    if prints:
        script.append(f"print({prints!r})")
    script.append(f"sys.exit({int(exit_code)})")
    path.write_text("\n".join(script) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return stand_in


def try_flash(flasher: Flasher, firmware: Path, board: Board, port: str = "", drive: str = "") -> list[str]:
    """Run `flasher.flash` on one job, as the workbench does; returns the lines it logged (its
    WorkbenchError goes to the caller)."""
    lines: list[str] = []
    flasher.flash(FlashJob(Path(firmware), board, port, drive), Task(on_log=lines.append))
    return lines
