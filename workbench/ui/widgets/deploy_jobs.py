"""The work the Deploy page runs as jobs, and what it keeps of an export: plain functions that
take a Task (no Qt), so they run in the job runner's threads."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from workbench.core.boards import Board
from workbench.export.api import ExportResult
from workbench.flash.service import FlashRequest, FlashResult, flash
from workbench.tasks import Task

if TYPE_CHECKING:
    from workbench.flash.detect import DetectedDevice

PROJECT_FLASHERS = {"arduino": "arduino-cli", "platformio": "platformio"}  # format -> who builds and uploads it


class Exported(NamedTuple):
    """What the export folder holds: which model, format and board, and what a flasher builds."""

    tflite: bytes
    format: str
    folder: Path
    board: str
    project: Path  # the Arduino library .zip (arduino-cli builds its example), else the folder


def project(result: ExportResult) -> Path:
    """What a flasher builds from an export: the Arduino library's .zip, or the project folder."""
    zips = [path for path in result.files if path.suffix == ".zip" and path.parent == result.out_dir]
    return zips[0] if result.format == "arduino" and zips else result.out_dir


def flash_model_only(tflite: bytes, name: str, request: FlashRequest, task: Task) -> FlashResult:
    """Flash only the model (into the firmware's model slot): the bytes go through a temporary file."""
    with tempfile.TemporaryDirectory(prefix="workbench-flash-") as folder:
        path = Path(folder) / f"{name}.tflite"
        path.write_bytes(tflite)
        return flash(replace(request, artifact=path), task)


def detect(boards: list[Board], task: Task) -> list[DetectedDevice]:
    """Serial ports and UF2 drives with the boards they may be (may run arduino-cli)."""
    from workbench.flash.detect import detect_devices

    return detect_devices(boards, use_arduino_cli=True, task=task)
