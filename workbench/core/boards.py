"""Boards are data: one TOML file a board (workbench.core.fit says whether a model fits one)."""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.names import unknown_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_USB_ID = re.compile(r"^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$")
FLASHERS = ("uf2", "esptool", "arduino-cli", "platformio", "pyocd", "dfu-util", "openocd")


@dataclass
class Board:
    id: str
    name: str
    mcu: str
    core: str
    clock_mhz: float
    flash_kb: int
    ram_kb: int
    usb_ids: list[str]
    baud: int
    flasher: str
    fqbn: str = ""
    platformio_board: str = ""
    uf2_family: str = ""
    model_offset: str = ""
    model_slot_kb: int = 0  # the slot's size; 0: from model_offset to the end of flash
    chip: str = ""
    target: str = ""
    source: str = ""
    origin: str = ""

    @property
    def flash_bytes(self) -> int:
        return self.flash_kb * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kb * 1024

    @property
    def model_slot_address(self) -> int | None:
        """Where the model slot is in flash (checked when the board file is read); None without one."""
        return int(self.model_offset, 0) if self.model_offset else None

    @property
    def model_slot_in_partition(self) -> bool:
        """The slot is a flash partition the firmware finds at run time (ESP32: flash has no fixed CPU
        address there), not a memory address it can read directly."""
        return bool(self.model_offset) and self.mcu.upper().startswith("ESP32")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BoardProblem:
    """A board file that could not be read: reported, then skipped."""

    path: str
    message: str


@dataclass
class BoardCatalog:
    boards: dict[str, Board] = field(default_factory=dict)
    problems: list[BoardProblem] = field(default_factory=list)

    def get(self, board_id: str) -> Board:
        if board_id not in self.boards:
            described = {key: f"{board.name} {board.mcu}" for key, board in self.boards.items()}
            raise unknown_name("board", board_id, sorted(self.boards), described)
        return self.boards[board_id]


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise ValueError(f"missing '{key}'")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"'{key}' has the wrong type ({type(value).__name__})")
    return value


def board_from_toml(path: Path, origin: str = "") -> Board:
    """Read one board file; raises ValueError with a short reason when it is malformed.

    `origin` says where the file came from (built-in, entry-point or user; see workbench.plugins).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"not valid TOML ({error})") from None
    flash = data.get("flash", {})
    if not isinstance(flash, dict):
        raise ValueError("[flash] must be a table")
    usb_ids = data.get("usb_ids", [])
    if not isinstance(usb_ids, list) or not all(isinstance(u, str) and _USB_ID.match(u) for u in usb_ids):
        raise ValueError("'usb_ids' must be a list of \"VID:PID\" hex strings")
    flash_kb = _require(data, "flash_kb", int)
    ram_kb = _require(data, "ram_kb", int)
    if flash_kb <= 0 or ram_kb <= 0:
        raise ValueError("'flash_kb' and 'ram_kb' must be positive")
    flasher = str(flash.get("flasher", ""))
    model_offset = str(flash.get("model_offset", ""))
    try:
        int(model_offset or "0", 0)
    except ValueError:
        raise ValueError(f"'model_offset' {model_offset!r} is not an address (e.g. \"0x10100000\")") from None
    model_slot_kb = flash.get("model_slot_kb", 0)
    if not isinstance(model_slot_kb, int) or isinstance(model_slot_kb, bool) or model_slot_kb < 0:
        raise ValueError("'model_slot_kb' must be a whole number of KB")
    return Board(
        id=path.stem,
        name=_require(data, "name", str),
        mcu=_require(data, "mcu", str),
        core=str(data.get("core", "")),
        clock_mhz=float(_require(data, "clock_mhz", (int, float))),
        flash_kb=flash_kb,
        ram_kb=ram_kb,
        usb_ids=[u.upper() for u in usb_ids],
        baud=_require(data, "baud", int) if "baud" in data else 115200,
        flasher=flasher,
        fqbn=str(flash.get("fqbn", "")),
        platformio_board=str(flash.get("platformio_board", "")),
        uf2_family=str(flash.get("uf2_family", "")),
        model_offset=model_offset,
        model_slot_kb=model_slot_kb,
        chip=str(flash.get("chip", "")),
        target=str(flash.get("target", "")),
        source=str(path),
        origin=origin,
    )
