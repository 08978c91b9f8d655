"""Flash a board: choose its flasher, check what can be checked before anything is touched, then run it.

The CLI `flash` command and the Deploy page both go through here. `plan()` says exactly what
`flash()` would do (the dry run); `flash()` does it. A `model_only` request writes just the model,
wrapped in a model slot (workbench.export.model_slot), at the board's `model_offset`, so that
firmware built with the exported model_slot.h picks it up without being rebuilt.

The flashers come from the caller (`flashers`: the plugin registry, workbench.plugins.registry()),
so that flashing never imports the plugin discovery, which knows the monitor's parsers too.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.core.files import write_whole
from workbench.export.api import DeployModel, ExportResult, deploy_refusal
from workbench.flash.api import Flasher, FlasherSource, FlashJob, Step
from workbench.paths import user_home
from workbench.tasks import Task
from workbench.units import kb

TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every .tflite file
PROJECT_FLASHERS = {"arduino": "arduino-cli", "platformio": "platformio"}  # export format -> who builds it


@dataclass(frozen=True)
class FlashRequest:
    """What to flash where. See the module docstring for `model_only`."""

    artifact: Path
    board: Board
    port: str = ""
    drive: str = ""
    flasher: str = ""  # "" = the board's own
    model_only: bool = False


@dataclass
class FlashResult:
    flasher: str
    board: str
    port: str
    drive: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def slot_file(artifact: Path) -> Path:
    """Where a model's slot image is written before it is flashed."""
    return user_home() / "flash" / f"{artifact.stem}.slot.bin"


def model_address(board: Board) -> int:
    """The board's model slot address; WorkbenchError when the board has none."""
    address = board.model_slot_address
    if address is None:
        raise WorkbenchError(
            f"{board.name} has no model slot (model_offset in its board file)",
            "Flash the whole firmware instead, or add model_offset under [flash] in the board's file.",
        )
    return address


def _read_model(artifact: Path) -> bytes:
    if not artifact.is_file():
        raise WorkbenchError(f"{artifact}: is a folder, not a .tflite model", "--model-only writes one .tflite model.")
    data = artifact.read_bytes()
    if not is_model(data):
        raise WorkbenchError(f"{artifact}: not a .tflite model", "--model-only writes a .tflite model to the board.")
    return data


def is_model(data: bytes) -> bool:
    """Whether `data` is a .tflite flatbuffer (its file identifier)."""
    return data[4:8] == TFLITE_IDENTIFIER


def _check_artifact(artifact: Path, flasher: str) -> None:
    """Refuse what would go wrong on the board: a model written as firmware, a folder of source."""
    if artifact.is_dir():
        if flasher not in PROJECT_FLASHERS.values():
            raise WorkbenchError(
                f"{artifact}: is a folder, not a firmware file",
                "Flash the firmware built from it, or export an Arduino library or a PlatformIO project and flash that.",
            )
        return
    with artifact.open("rb") as file:
        head = file.read(8)
    if is_model(head):
        raise WorkbenchError(
            f"{artifact.name} is a model, not firmware: written as firmware it would replace the board's program",
            "Add --model-only (Deploy page: 'Only the model') to write it into the firmware's model slot.",
        )


def slot_space(board: Board, address: int) -> int:
    """Bytes the model slot holds: its stated size, else from its address to the end of flash."""
    from workbench.flash.uf2_format import flash_start

    if board.model_slot_kb:
        return board.model_slot_kb * 1024
    start = flash_start(board.uf2_family or board.mcu)
    return start + board.flash_bytes - address if address >= start else board.flash_bytes - address


def slot_refusal(board: Board, image_bytes: int, what: str) -> WorkbenchError | None:
    """Why a model slot image of `image_bytes` (`what`, for the sentence) cannot be written to the
    board's model slot: it has none, the slot lies outside its flash, or the image is larger."""
    try:
        address = model_address(board)
    except WorkbenchError as error:
        return error
    space = slot_space(board, address)
    if space <= 0:
        return WorkbenchError(
            f"{board.name}: its model slot at 0x{address:08x} lies outside its {kb(board.flash_bytes)} of flash",
            "Correct model_offset (or flash_kb) in the board's file.",
        )
    if image_bytes > space:
        return WorkbenchError(
            f"{what} does not fit the model slot of {board.name}: {kb(image_bytes)} for its {kb(space)} "
            f"at 0x{address:08x}",
            "Make the model smaller on the Optimize page, or flash it compiled into the firmware.",
        )
    return None


def model_only_refusal(model: DeployModel, board: Board) -> WorkbenchError | None:
    """Why `model` cannot be written alone into `board`'s model slot: what stands in the way of
    any deploy (`deploy_refusal`: TFLM cannot run it, it does not fit), then the slot itself."""
    from workbench.export.model_slot import slot_image

    return deploy_refusal(model, board) or slot_refusal(board, len(slot_image(model.tflite)), f"{model.name}.tflite")


def _check_port(port: str) -> None:
    if port.startswith("/dev/") and not os.path.exists(port):
        raise WorkbenchError(
            f"{port}: no such port", "Plug the board in, or pick its port from `tinyml-workbench ports`."
        )


def flasher_name(request: FlashRequest) -> str:
    """Who flashes it: the one asked for; for an exported project, the tool that builds it (an
    Arduino library .zip or sketch: arduino-cli; a PlatformIO project: platformio); else the board's."""
    if request.flasher:
        return request.flasher
    artifact = request.artifact.expanduser()
    if not request.model_only:
        if artifact.suffix.lower() in (".zip", ".ino") or artifact.is_dir() and any(artifact.glob("*.ino")):
            return PROJECT_FLASHERS["arduino"]
        if artifact.is_dir() and (artifact / "platformio.ini").is_file():
            return PROJECT_FLASHERS["platformio"]
    return request.board.flasher


def project_artifact(result: ExportResult) -> Path:
    """What a flasher builds from an export: the Arduino library's .zip, or the project folder."""
    zips = [path for path in result.files if path.suffix == ".zip" and path.parent == result.out_dir]
    return zips[0] if result.format == "arduino" and zips else result.out_dir


def _choose(request: FlashRequest, flashers: FlasherSource) -> tuple[Flasher, WorkbenchError | None]:
    """The flasher, and why it cannot run here (None when it can)."""
    name = flasher_name(request)
    flasher = flashers.flasher(name)
    availability = flasher.available()
    if availability.ok:
        return flasher, None
    return flasher, WorkbenchError(f"{name} cannot run here: {availability.missing}", availability.hint)


def _job(request: FlashRequest, flasher: str, write_slot: bool) -> tuple[FlashJob, list[Step]]:
    artifact = request.artifact.expanduser()
    if not artifact.exists():
        raise WorkbenchError(f"{artifact}: no such file or folder")
    _check_port(request.port)
    if not request.model_only:
        _check_artifact(artifact, flasher)
        return FlashJob(artifact, request.board, request.port, request.drive), []
    from workbench.export.model_slot import slot_image

    address = model_address(request.board)
    image = slot_image(_read_model(artifact))
    refusal = slot_refusal(request.board, len(image), artifact.name)
    if refusal is not None:
        raise refusal
    target = slot_file(artifact)
    if write_slot:
        write_whole(target, image)
    step = Step(
        f"Write the model slot image of {artifact.name} ({len(image):,} bytes, for 0x{address:08x}) to {target}"
    )
    return FlashJob(target, request.board, request.port, request.drive, address=address), [step]


def plan(request: FlashRequest, flashers: FlasherSource) -> list[Step]:
    """Every step flash(request) would take, with command lines and addresses; touches nothing."""
    flasher, missing = _choose(request, flashers)
    job, steps = _job(request, flasher.name, write_slot=False)
    if missing is not None:  # the plan still says what would run, once the tool is there
        steps.insert(0, Step(f"Not ready on this computer: {missing.message.split(': ', 1)[-1]}. {missing.hint}"))
    return steps + flasher.plan(job)


def flash(request: FlashRequest, flashers: FlasherSource, task: Task) -> FlashResult:
    """Flash the board; raises WorkbenchError (one sentence, the tool's log in details) or Cancelled."""
    flasher, missing = _choose(request, flashers)
    if missing is not None:
        raise missing
    job, _ = _job(request, flasher.name, write_slot=True)
    try:
        flasher.flash(job, task)
    finally:
        if request.model_only:
            job.firmware.unlink(missing_ok=True)  # the slot image was made for this flash only
    where = job.port or job.drive
    message = f"Flashed {request.artifact.name} to {request.board.name}" + (f" on {where}" if where else "")
    return FlashResult(flasher.name, request.board.id, job.port, job.drive, message)


def flash_model(model: DeployModel, request: FlashRequest, flashers: FlasherSource, task: Task) -> FlashResult:
    """Flash a model held in memory (a variant) into the board's model slot, after the checks of
    `model_only_refusal`."""
    refusal = model_only_refusal(model, request.board)
    if refusal is not None:
        raise refusal
    with tempfile.TemporaryDirectory(prefix="workbench-flash-") as folder:
        path = Path(folder) / f"{model.name}.tflite"
        path.write_bytes(model.tflite)
        return flash(replace(request, artifact=path, model_only=True), flashers, task)
