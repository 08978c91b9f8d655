"""The Flasher contract: what a flasher plugin declares and the three things it does.

A flasher plugin is a subclass of `Flasher` in a file under a plugin folder's `flashers/`, or
named by an entry point (see workbench/plugins.py). It declares `name` (the id boards use in
`[flash] flasher = ...`) and `description`, and implements:

- `available()`: whether it can run here, and if not what is missing and how to get it;
- `plan(job)`: the steps it would take, each a sentence and, when it runs a program, the
  command line (what `--dry-run` prints);
- `flash(job, task)`: do it, reporting progress through `task` and stopping when it is cancelled;
  problems a person can act on are raised as `WorkbenchError`.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from workbench.core.boards import Board
from workbench.tasks import Task


@dataclass(frozen=True)
class Availability:
    """Whether a flasher can run on this computer; `missing` and `hint` say why not."""

    ok: bool
    missing: str = ""
    hint: str = ""


@dataclass(frozen=True)
class FlashJob:
    """One firmware file for one board. Empty `port` or `drive` means: find it.

    `port` is the serial port, or for a debug-probe flasher (pyOCD) the probe's unique ID.
    `address` is where a raw binary goes in the board's memory (the model slot for --model-only);
    None means the file is a whole image that says where it goes (.uf2, .hex, .elf), or a .bin
    for the tool's default place. `verify` asks the tool to read back and compare where it can.
    """

    firmware: Path
    board: Board
    port: str = ""
    drive: str = ""
    address: int | None = None
    verify: bool = True


@dataclass(frozen=True)
class Step:
    """One step of a flash: a sentence for people, and the command line when it runs a program."""

    description: str
    command: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.description}: {shlex.join(self.command)}" if self.command else self.description


class Flasher(ABC):
    """Base of every flasher plugin; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def available(self) -> Availability:
        """Whether this flasher can run here (its programs are installed, and so on)."""

    @abstractmethod
    def plan(self, job: FlashJob) -> list[Step]:
        """The steps `flash(job, ...)` would take, without doing anything."""

    @abstractmethod
    def flash(self, job: FlashJob, task: Task) -> None:
        """Write the firmware to the board; raises WorkbenchError on a problem a person can fix."""


class FlasherSource(Protocol):
    """Where flashers are found by name: the plugin registry (workbench.plugins.registry())."""

    def flasher(self, name: str) -> Flasher:
        """A new instance of the flasher `name`; WorkbenchError when there is none."""
        ...
