"""Which boards are plugged in: serial ports by USB ID, UF2 bootloader drives, and arduino-cli's view.

Three sources, each matched to the board files:

- serial ports from pyserial (`serial.tools.list_ports.comports()`), by the port's USB VID:PID
  against each board's `usb_ids`;
- UF2 drives (a mounted drive holding INFO_UF2.TXT), by what the bootloader says of itself, see
  `boards_for_drive`;
- `arduino-cli board list --format json`, when arduino-cli is on the PATH: the boards it
  recognises (their FQBN against each board's `fqbn`) and the port's USB ID. A missing, slow or
  failing arduino-cli only leaves its part out.

The uf2 flasher finds its drive here too (`uf2_drives`, `drives_for_board`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import shutil
import string
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.core.process import run_process
from workbench.flash.uf2_format import INFO_FILE, DriveInfo, chip_of, normalize_family, parse_info
from workbench.tasks import Task, null_task

log = logging.getLogger(__name__)

ARDUINO_CLI = "arduino-cli"
ARDUINO_CLI_TIMEOUT_S = 15.0
# Linux file systems a UF2 bootloader's drive is mounted as (FAT; fuseblk/exfat for other mounters).
_DRIVE_FILE_SYSTEMS = {"vfat", "msdos", "fat", "exfat", "fuseblk"}
# The RP chips' boot ROMs name the chip only: a drive of theirs stands for every board of that chip.
_BOOT_ROM_BOARD_IDS = {"RPI-RP2": "RP2040", "RP2350": "RP2350"}


@dataclass(frozen=True)
class DetectedDevice:
    """A port or drive found on this computer and the board files it matches."""

    kind: str  # "serial", "uf2-drive" or "arduino-cli"
    location: str  # port device ("/dev/ttyACM0", "COM3") or drive path
    description: str  # what the OS / tool calls it
    usb_id: str  # "2E8A:0003" or ""
    board_ids: tuple[str, ...] = field(default=())  # ids of the board files it matches

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["board_ids"] = list(self.board_ids)
        return data


@dataclass(frozen=True)
class Uf2Drive:
    """A mounted UF2 bootloader drive and what its INFO_UF2.TXT says."""

    path: Path
    info: DriveInfo

    def describe(self) -> str:
        """'UF2 bootloader: Raspberry Pi RP2 (Board-ID RPI-RP2)'."""
        what = self.info.model or self.info.bootloader or "unknown board"
        board_id = f" (Board-ID {self.info.board_id})" if self.info.board_id else ""
        return f"UF2 bootloader: {what}{board_id}"


# --- UF2 drives -------------------------------------------------------------------------------


def candidate_drives() -> list[Path]:
    """Mounted drives where a UF2 bootloader's drive may be on this system (not yet checked)."""
    if sys.platform == "win32":
        return _windows_removable_drives()
    roots = [Path("/Volumes")] if sys.platform == "darwin" else _media_roots()
    drives: list[Path] = [] if sys.platform == "darwin" else _fat_mounts()
    for root in roots:
        try:
            entries = sorted(root.iterdir())
        except OSError:
            continue
        drives += [entry for entry in entries if entry not in drives and entry not in roots]
    return drives


def _media_roots() -> list[Path]:
    """Where desktops mount USB drives: /media/<user>, /run/media/<user> (the user from the
    account when USER is not set), and /media itself."""
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        user = ""
    roots = [Path("/media") / user, Path("/run/media") / user] if user else []
    return [*roots, Path("/media")]


def _fat_mounts() -> list[Path]:
    try:
        return fat_mount_points(Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def fat_mount_points(mounts: str) -> list[Path]:
    """The FAT mount points in a Linux mount table (/proc/self/mounts), wherever they are mounted."""
    points = []
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] in _DRIVE_FILE_SYSTEMS:
            # The table writes a space in a path as \040 (octal), and so on.
            points.append(Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])))
    return points


def _windows_removable_drives() -> list[Path]:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    mask = kernel32.GetLogicalDrives()
    drives = []
    for index, letter in enumerate(string.ascii_uppercase):
        root = f"{letter}:\\"
        if mask & (1 << index) and kernel32.GetDriveTypeW(root) == 2:  # DRIVE_REMOVABLE
            drives.append(Path(root))
    return drives


def info_file(drive: Path) -> Path | None:
    """The drive's INFO_UF2.TXT (any case, as FAT does not care), or None when it has none."""
    try:
        if (drive / INFO_FILE).is_file():
            return drive / INFO_FILE
        for entry in drive.iterdir():
            if entry.name.upper() == INFO_FILE and entry.is_file():
                return entry
    except OSError:  # an empty card reader, a drive that just went away
        return None
    return None


def read_drive(drive: Path) -> Uf2Drive | None:
    """The UF2 drive at `drive`, or None when it is not one (no INFO_UF2.TXT)."""
    path = info_file(drive)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return Uf2Drive(drive, parse_info(text))


def uf2_drives(drives: Iterable[Path] | None = None) -> list[Uf2Drive]:
    """The UF2 bootloader drives among `drives` (default: the mounted drives of this system)."""
    found = []
    for drive in candidate_drives() if drives is None else drives:
        uf2 = read_drive(drive)
        if uf2 is not None:
            found.append(uf2)
    return found


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _name_score(info: DriveInfo, board: Board) -> int:
    """How many words of the board's name (3 letters or more, the chip's name aside) the drive's
    Model and Board-ID lines contain: 'Seeed Wio Terminal' and 'Model: Wio Terminal' share two."""
    chip = _compact(chip_of(board.uf2_family))
    said = _compact(f"{info.model} {info.board_id}")
    words = {w for w in re.findall(r"[0-9a-z]+", board.name.lower()) if len(w) >= 3 and w != chip}
    return sum(word in said for word in words)


def _is_boot_rom(info: DriveInfo) -> bool:
    return info.board_id.upper() in _BOOT_ROM_BOARD_IDS


def drive_chip_matches(info: DriveInfo, board: Board) -> bool:
    """Whether the bootloader behind `info` runs on the chip of `board` (whose uf2_family is set).

    The RP2040 and RP2350 boot ROMs say Board-ID "RPI-RP2" and "RP2350"; other UF2 bootloaders
    follow the specification, whose Board-ID starts with the CPU type ("SAMD51P19A-...",
    "nRF52840-..."), which must start with the board's family name ("SAMD51", "NRF52840").
    """
    if not board.uf2_family or not info.board_id:
        return False
    chip = chip_of(board.uf2_family)
    if _is_boot_rom(info):
        return _BOOT_ROM_BOARD_IDS[info.board_id.upper()] == chip
    return _compact(info.cpu).startswith(_compact(normalize_family(chip)))


def boards_for_drive(info: DriveInfo, boards: Iterable[Board]) -> tuple[str, ...]:
    """Ids of the boards a UF2 drive may belong to.

    The chip must match (`drive_chip_matches`). A boot ROM's drive stands for every board of its
    chip. Behind another bootloader, the boards whose names share the most words with the drive's
    Model and Board-ID lines win ("Wio Terminal", "SeeedXiaoSense"); when no name shares a word,
    every board of the chip is kept.
    """
    same_chip = [board for board in boards if drive_chip_matches(info, board)]
    if _is_boot_rom(info) or len(same_chip) <= 1:
        return tuple(board.id for board in same_chip)
    scores = {board.id: _name_score(info, board) for board in same_chip}
    best = max(scores.values())
    return tuple(board.id for board in same_chip if scores[board.id] == best)


def drives_for_board(board: Board, drives: list[Uf2Drive]) -> list[Uf2Drive]:
    """The drives among `drives` that may be `board`'s bootloader, best first.

    Drives of the board's chip (`drive_chip_matches`); among those of a bootloader that names its
    board, the ones sharing the most words with the board's name, when any does. When no drive is
    of the board's chip, the drives that name no Board-ID at all (a bootloader that does not say);
    never a drive that says it is another chip.
    """
    same_chip = [d for d in drives if drive_chip_matches(d.info, board)]
    if not same_chip:
        return [d for d in drives if not d.info.board_id]
    scores = [0 if _is_boot_rom(d.info) else _name_score(d.info, board) for d in same_chip]
    best = max(scores)
    return [d for d, score in zip(same_chip, scores, strict=True) if score == best]


# --- serial ports and arduino-cli -------------------------------------------------------------


def usb_id(vid: int | None, pid: int | None) -> str:
    """'2E8A:0003' from numbers; '' when either is missing."""
    return f"{vid:04X}:{pid:04X}" if vid is not None and pid is not None else ""


def boards_for_usb_id(usb: str, boards: Iterable[Board]) -> tuple[str, ...]:
    """Ids of the boards that list the USB ID."""
    return tuple(board.id for board in boards if usb and usb.upper() in board.usb_ids)


def serial_devices(boards: list[Board]) -> list[DetectedDevice]:
    """Serial ports pyserial sees, each with the boards its USB ID matches."""
    from serial.tools import list_ports  # 10 ms; only when ports are looked for

    devices = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        usb = usb_id(port.vid, port.pid)
        description = port.description if port.description and port.description != "n/a" else ""
        description = description or port.product or port.manufacturer or Path(port.device).name
        devices.append(DetectedDevice("serial", port.device, description, usb, boards_for_usb_id(usb, boards)))
    return devices


def _hex_id(value: Any) -> int | None:
    try:
        return int(str(value), 16)
    except ValueError:
        return None


def parse_arduino_cli_board_list(text: str) -> list[dict[str, Any]]:
    """The detected ports of `arduino-cli board list --format json` output.

    arduino-cli 0.36 and later wrap them as {"detected_ports": [...]}; 0.19 to 0.35 printed the list
    itself. Text before the JSON (a warning line) is skipped; raises ValueError when there is no JSON.
    """
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON in the output")
    data, _ = json.JSONDecoder().raw_decode(text[min(starts) :])
    ports = data.get("detected_ports", []) if isinstance(data, dict) else data
    if not isinstance(ports, list):
        raise ValueError("'detected_ports' is not a list")
    return [p for p in ports if isinstance(p, dict)]


def arduino_cli_devices(boards: list[Board], task: Task) -> list[DetectedDevice]:
    """What `arduino-cli board list` sees; [] when arduino-cli is missing, fails or prints no JSON."""
    program = shutil.which(ARDUINO_CLI)
    if program is None:
        return []
    lines: list[str] = []
    try:
        result = run_process(
            [program, "board", "list", "--format", "json"],
            task,
            what="arduino-cli board list",
            on_line=lines.append,
            timeout_s=ARDUINO_CLI_TIMEOUT_S,
        )
    except WorkbenchError as error:
        log.warning("board detection goes on without arduino-cli: %s", error.message)
        return []
    text = "\n".join(lines)
    if not result.ok:
        log.warning("arduino-cli board list ended with %s: %s", result.reason, " / ".join(result.tail[-3:]))
        return []
    try:
        ports = parse_arduino_cli_board_list(text)
    except ValueError as error:
        log.warning("arduino-cli board list printed no usable JSON (%s): %.200s", error, text)
        return []
    devices = []
    for entry in ports:
        port = entry.get("port") if isinstance(entry.get("port"), dict) else {}
        assert isinstance(port, dict)
        address = str(port.get("address", ""))
        if not address:
            continue
        properties = port.get("properties") if isinstance(port.get("properties"), dict) else {}
        assert isinstance(properties, dict)
        usb = usb_id(_hex_id(properties.get("vid", "")), _hex_id(properties.get("pid", "")))
        matching = [m for m in entry.get("matching_boards") or [] if isinstance(m, dict)]
        fqbns = {str(m.get("fqbn", "")) for m in matching} - {""}
        names = [str(m["name"]) for m in matching if m.get("name")]
        ids = [board.id for board in boards if board.fqbn and board.fqbn in fqbns]
        ids += [i for i in boards_for_usb_id(usb, boards) if i not in ids]
        description = ", ".join(names) or str(port.get("protocol_label") or port.get("label") or address)
        devices.append(DetectedDevice("arduino-cli", address, description, usb, tuple(ids)))
    return devices


def _merge(serial: list[DetectedDevice], cli: list[DetectedDevice]) -> list[DetectedDevice]:
    """One entry a port: arduino-cli's boards join the serial port pyserial already listed."""
    by_location = {device.location: index for index, device in enumerate(serial)}
    merged = list(serial)
    for device in cli:
        index = by_location.get(device.location)
        if index is None:
            merged.append(device)
            continue
        known = merged[index]
        ids = known.board_ids + tuple(i for i in device.board_ids if i not in known.board_ids)
        merged[index] = DetectedDevice(
            known.kind, known.location, known.description, known.usb_id or device.usb_id, ids
        )
    return merged


def detect_devices(
    boards: list[Board], *, use_arduino_cli: bool = True, task: Task | None = None
) -> list[DetectedDevice]:
    """Serial ports, UF2 drives and (when asked and installed) arduino-cli's ports, with the boards each matches.

    Serial ports come first, then ports only arduino-cli sees, then UF2 drives. Raises Cancelled
    when the task is cancelled; a source that fails is left out (and logged), never fatal.
    """
    task = task or null_task()
    devices: list[DetectedDevice] = []
    try:
        devices = serial_devices(boards)
    except (OSError, ImportError) as error:
        log.warning("cannot list serial ports: %s", error)
    task.check()
    if use_arduino_cli:
        devices = _merge(devices, arduino_cli_devices(boards, task.quiet()))
    task.check()
    uf2_boards = [board for board in boards if board.uf2_family]
    for drive in uf2_drives():
        devices.append(
            DetectedDevice("uf2-drive", str(drive.path), drive.describe(), "", boards_for_drive(drive.info, uf2_boards))
        )
    return devices


def describe_devices(devices: list[DetectedDevice], boards: Iterable[Board] = ()) -> list[str]:
    """One aligned line a device for the `ports` command:
    '/dev/ttyACM0  2E8A:0003  Raspberry Pi Pico (raspberry_pi_pico)'.

    Board names come from `boards`; ids alone when a board is not among them. The middle column
    is the USB ID, or 'UF2 drive' for a bootloader drive; a device no board file matches shows what
    the system calls it.
    """
    names = {board.id: board.name for board in boards}
    rows = []
    for device in devices:
        middle = "UF2 drive" if device.kind == "uf2-drive" else (device.usb_id or "-")
        if device.board_ids:
            matched = " or ".join(f"{names[i]} ({i})" if i in names else i for i in device.board_ids)
            what = f"{matched} - {device.description}" if device.kind == "uf2-drive" else matched
        else:
            what = f"{device.description} (no board file matches)"
        rows.append((device.location, middle, what))
    width = max((len(location) for location, _, _ in rows), default=0)
    middle_width = max((len(middle) for _, middle, _ in rows), default=0)
    return [f"{location:<{width}}  {middle:<{middle_width}}  {what}" for location, middle, what in rows]
