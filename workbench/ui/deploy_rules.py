"""What the Deploy page may do, decided without the screen: whether Export and Flash can run and,
when not, the one sentence that says why; which flasher and which source a flash uses.

The verdicts about the model itself come from the engine (export.api `deploy_refusal` and
`not_measured`, flash.service `model_only_refusal`); these rules add what the page knows: the
folder typed, the source chosen (a project built and uploaded, only the model into the
firmware's slot, or a firmware file) and whether the flasher can run on this computer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.export.api import FORMATS, DeployModel, deploy_refusal, not_measured
from workbench.flash.api import Availability
from workbench.flash.service import PROJECT_FLASHERS, model_only_refusal
from workbench.plugins import PluginCatalog

log = logging.getLogger(__name__)

PROJECT, MODEL_ONLY, FIRMWARE = "project", "model", "file"  # what a flash puts onto the board


@dataclass(frozen=True)
class DeployChoice:
    """What the page shows chosen: the model, the board, the export format and folder, the flash
    source and the firmware file."""

    model: DeployModel | None
    board: Board | None
    format: str
    folder: str
    source: str
    firmware: str = ""


class FlasherChecks:
    """Whether each flasher of a catalog can run here, asked once per flasher until `forget()`
    (Find boards asks again: someone may have installed the tool)."""

    def __init__(self, catalog: PluginCatalog) -> None:
        self.catalog = catalog
        self._known: dict[str, tuple[str, Availability]] = {}

    def check(self, name: str) -> tuple[str, Availability | None]:
        """The flasher's description and whether it can run (None: no such flasher)."""
        if name not in self._known:
            try:
                plugin = self.catalog.get("flasher", name)
            except WorkbenchError:
                return "", None
            try:
                availability = self.catalog.flasher(name).available()
            except Exception as error:  # noqa: BLE001 - plugin code may raise anything
                log.warning("flasher %s could not say whether it can run", name, exc_info=True)
                availability = Availability(False, f"{name} could not check whether it can run ({error})")
            self._known[name] = (plugin.description, availability)
        return self._known[name]

    def forget(self) -> None:
        self._known.clear()


def sentence(error: WorkbenchError) -> str:
    """An engine's refusal (which begins with a name) as the sentence under a button, with its way out."""
    return f"{error.message}." + (f" {error.hint}" if error.hint else "")


def export_blocker(choice: DeployChoice) -> str:
    """Why Export cannot run yet ("" when it can): no model, TFLM still measuring, no folder."""
    if choice.model is None:
        return "Open a model first."
    pending = not_measured(choice.model)
    if pending:
        return f"Waiting: {pending} (press F6 if it was cancelled)."
    if not choice.folder.strip():
        return "Choose a folder to export to."
    return ""


def flasher_name(choice: DeployChoice) -> str:
    """The flasher a flash uses: the project's builder, else the board's own ("" without a board)."""
    board = choice.board
    if board is None:
        return ""
    if choice.source == PROJECT:
        return PROJECT_FLASHERS.get(choice.format, board.flasher)
    return board.flasher


def flash_blocker(choice: DeployChoice, availability: Callable[[str], Availability | None]) -> str:
    """Why Flash cannot run yet ("" when it can); `availability(name)` says whether a flasher can
    run here (None: this installation has no such flasher)."""
    board, source = choice.board, choice.source
    blocker = export_blocker(choice) if source != FIRMWARE else ""
    if blocker or board is None:
        return blocker or "Choose the board first."
    if source == PROJECT:
        if choice.format not in PROJECT_FLASHERS:
            return "To build and upload, choose Arduino library or PlatformIO project as the export format."
        if choice.format == "arduino" and not board.fqbn:
            return f"{board.name} has no Arduino board name (fqbn) in its board file: choose another format."
        if choice.format == "platformio" and not board.platformio_board:
            return f"{board.name} has no PlatformIO board name in its board file: choose another format."
    if source == FIRMWARE and not Path(choice.firmware.strip()).is_file():
        return "Choose the firmware file to flash."
    if source != FIRMWARE and choice.model is not None:
        refusal = (model_only_refusal if source == MODEL_ONLY else deploy_refusal)(choice.model, board)
        if refusal is not None:
            return sentence(refusal)
    name = flasher_name(choice)
    if not name:
        return f"{board.name}'s board file names no flasher."
    can = availability(name)
    if can is None:
        return f"Flashing needs the {name} flasher, which this installation does not have."
    if not can.ok:
        missing = can.missing or f"{name} lacks something it needs"
        how = f" How to get it: {can.hint.rstrip('.')}." if can.hint else ""
        return f"Cannot flash yet: {missing}.{how}"
    return ""


def has_slot(board: Board | None) -> bool:
    """Whether only the model can be flashed: the board's file names a model slot."""
    return board is not None and board.model_slot_address is not None


def default_source(board: Board | None, format_id: str) -> str:
    """The source a flash starts with: the project when the board is flashed by building one (or
    the format is a project it can build), else only the model when it has a slot, else a file."""
    if board is not None and board.flasher in PROJECT_FLASHERS.values():
        return PROJECT
    if board is not None and format_id in PROJECT_FLASHERS and board.fqbn:
        return PROJECT
    return MODEL_ONLY if has_slot(board) else FIRMWARE


def source_note(source: str, format_id: str) -> str:
    """What flashing from `source` does, in a sentence."""
    if source == PROJECT:
        words = FORMATS.get(format_id, ("", "project"))[1]
        return f"Exports the {words} to the folder on the left if needed, builds it and uploads it."
    if source == MODEL_ONLY:
        return "Replaces just the model in firmware you built from an earlier export (no rebuild)."
    return "Flashes a firmware file as it is, with the board's own flasher."
