"""The Deploy page: what goes to the board (the variant chosen on Optimize, or the open model as
analyzed), the board and its port, Export to a folder, and Flash with progress, live log and
cancel; after a flash, one click to the Monitor on that port.

The page never takes a variant of another model: only a variant the session still holds for the
open model (opening a model clears them). Export and Flash run as jobs; errors go to the one
error place (the session's `error` signal).
"""

from __future__ import annotations

import dataclasses
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from workbench.core import fit as board_fit
from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.core.launcher import external_environment
from workbench.export.api import FORMATS, DeployModel, ExportOptions, ExportResult, export
from workbench.export.staging import WouldReplace
from workbench.flash import detect
from workbench.flash.service import PROJECT_FLASHERS, FlashRequest, FlashResult, flash, flash_model, project_artifact
from workbench.optimize.deploy import accuracy_figures, deploy_model, int8_offer
from workbench.plugins import registry
from workbench.tasks import Task
from workbench.ui.deploy_rules import (
    MODEL_ONLY,
    PROJECT,
    DeployChoice,
    FlasherChecks,
    default_source,
    export_blocker,
    flash_blocker,
    flasher_name,
    has_slot,
    source_note,
)
from workbench.ui.session import Session
from workbench.ui.settings import settings
from workbench.ui.widgets.deploy_actions import ExportPanel, FlashPanel
from workbench.ui.widgets.deploy_summary import DeploySummary
from workbench.ui.widgets.deploy_target import TargetPanel
from workbench.units import kb

if TYPE_CHECKING:
    from workbench.flash.detect import DetectedDevice
    from workbench.optimize.convert import Variant
    from workbench.session import DeployTarget


EXPORT_ROOT_KEY = "deploy/export_root"  # the folder exports go under, one subfolder a model
FIRMWARE_KEY = "deploy/firmware"


class Exported(NamedTuple):
    """What the export folder holds: which model, format and board, and what a flasher builds."""

    tflite: bytes
    format: str
    folder: Path
    board: str
    project: Path  # the Arduino library .zip (arduino-cli builds its example), else the folder


def find_devices(boards: list[Board], task: Task) -> list[DetectedDevice]:
    """Serial ports and UF2 drives with the boards they may be (may run arduino-cli)."""
    return detect.detect_devices(boards, use_arduino_cli=True, task=task)


def default_export_root() -> Path:
    return Path.home() / "TinyML Workbench exports"


class DeployPage(QWidget):
    monitor_requested = Signal(str)  # port ("" when unknown) to watch after a flash
    optimize_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.flashers = FlasherChecks(registry().catalog())
        self.deployed: DeployModel | None = None
        self.exported: Exported | None = None  # what the export folder holds
        self._folder_for = ""  # the deploy name the folder field was filled for
        self._format_by_person = self._source_by_person = False
        self._flash_after_export = False
        self._flashed_port = ""
        self._searched = False
        self.title = QLabel("Deploy")
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)
        self.summary = DeploySummary()
        self.target = TargetPanel(session.catalog)
        self.export_panel = ExportPanel()
        self.flash_panel = FlashPanel()
        left = QVBoxLayout()
        left.addWidget(self.target)
        left.addWidget(self.export_panel)
        left.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(self.flash_panel, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.summary)
        layout.addLayout(columns, 1)

        self.summary.optimize_requested.connect(self.optimize_requested.emit)
        self.summary.original_requested.connect(lambda: session.choose_variant(None))
        self.target.board_chosen.connect(session.set_board)
        self.target.find_requested.connect(self.find_boards)
        self.export_panel.export_requested.connect(self.export)
        self.export_panel.choose_folder_requested.connect(self._choose_folder)
        self.export_panel.open_folder_requested.connect(self._open_folder)
        self.export_panel.format_chosen.connect(self._format_chosen)
        self.export_panel.folder.textEdited.connect(lambda _text: self._update_actions())
        self.target.port.currentTextChanged.connect(lambda _text: self._update_actions())
        self.flash_panel.flash_requested.connect(self.flash)
        self.flash_panel.cancel_requested.connect(self.cancel)
        self.flash_panel.choose_firmware_requested.connect(self._choose_firmware)
        self.flash_panel.monitor_requested.connect(lambda: self.monitor_requested.emit(self._flashed_port))
        self.flash_panel.source_chosen.connect(self._source_chosen)
        self.flash_panel.firmware.textChanged.connect(lambda _text: self._update_actions())
        self.flash_panel.firmware.setText(str(settings().value(FIRMWARE_KEY, "") or ""))
        session.model_changed.connect(lambda _model: self.refresh())
        session.analysis_changed.connect(lambda _analysis: self.refresh())
        session.variants_changed.connect(self.refresh)
        session.measurement_cancelled.connect(self.refresh)
        session.board_changed.connect(self._board_changed)
        session.jobs.progress.connect(self._progress)
        session.jobs.log.connect(self._log)
        session.jobs.cancelled.connect(self._cancelled)
        session.jobs.busy_changed.connect(lambda _busy: self._update_actions())
        self._board_changed(session.board)

    def plugins_reloaded(self) -> None:
        """Offer the boards and flashers of the reloaded registry (File > Reload Plugins)."""
        self.flashers = FlasherChecks(registry().catalog())
        self.target.set_catalog(self.session.catalog, self.session.board)
        self._board_changed(self.session.board)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        super().showEvent(event)
        if not self._searched:  # look for boards the first time the page is seen, not at start-up
            self._searched = True
            self.find_boards()

    # -- what is deployed -----------------------------------------------------------------
    def refresh(self) -> None:
        """Show what the session now holds: the chosen variant or the open model, and its fit."""
        session = self.session
        model, analysis, variant = session.model, session.analysis, self._variant()
        evaluations = [v.evaluation for v in session.variants if v.evaluation is not None]
        before = self.deployed.tflite if self.deployed is not None else None
        self.deployed = (
            None if model is None or analysis is None else deploy_model(model, analysis, variant, evaluations)
        )
        if (self.deployed.tflite if self.deployed is not None else None) != before and not self._busy():
            self.export_panel.clear()  # what was exported or flashed was another model
            self.flash_panel.clear()
        if model is None or self.deployed is None:
            self.title.setText("Deploy")
            self.subtitle.setText("Open a model first (File > Open Model, Ctrl+O), or the sample.")
            self.summary.show_nothing("No model open yet.")
        else:
            self.title.setText(f"Deploy {model.name}")
            self.subtitle.setText(
                "Check what goes to the board and the board itself, then Export the code for your own "
                "project, or Flash it straight onto the board."
            )
            if variant is None:
                what, detail = (
                    "The model as opened",
                    f"{self.deployed.origin}. Optimize can make it smaller; 'Use for Deploy' there brings that here.",
                )
            else:
                quant = "stripped" if variant.source_format == "tflite" else variant.plan.quant
                what, detail = (
                    f"{quant} variant",
                    (
                        f"Chosen on Optimize: {variant.label}; {kb(len(variant.tflite))} instead of the "
                        f"{kb(len(model.tflite))} of the model as opened."
                    ),
                )
            self.summary.show_model(self.deployed, what, detail, variant is not None)
            self.summary.show_accuracy(*accuracy_figures(variant, evaluations))
            self._fill_folder(self.deployed.name)
        self._show_fit()
        self._update_actions()

    def _show_fit(self) -> None:
        board, model, analysis = self.session.board, self.session.model, self.session.analysis
        if self.deployed is None or board is None:
            self.summary.show_fit(None, "Choose the board below." if self.deployed else "")
            self.summary.show_suggestion("")
            return
        self.summary.show_fit(board_fit.analysis_fit(self.deployed.analysis, board))
        headline, detail = "", ""
        if self._variant() is None and model is not None and analysis is not None:
            headline, detail = int8_offer(model, analysis, board)
        self.summary.show_suggestion(f"<b>{escape(headline)}</b>: {escape(detail)}" if headline else "")

    def _variant(self) -> Variant | None:
        """The chosen variant when it is one of the open model's (never one of another model)."""
        chosen = self.session.chosen_variant
        return chosen if chosen is not None and any(v is chosen for v in self.session.variants) else None

    def _board_changed(self, board: Board | None) -> None:
        if not self._busy():
            self.export_panel.clear()
            self.flash_panel.clear()
        self.target.set_board(board)
        if not self._format_by_person:
            self.export_panel.set_format("arduino" if board is not None and board.fqbn else "c")
        self._show_fit()
        self._update_actions()

    # -- what can run ---------------------------------------------------------------------
    def _busy(self) -> bool:
        jobs = self.session.jobs
        return jobs.running("export") or jobs.running("flash") or self._flash_after_export

    def _choice(self) -> DeployChoice:
        return DeployChoice(
            self.deployed,
            self.session.board,
            self.export_panel.format_id(),
            self.export_panel.folder.text(),
            self.flash_panel.source_id(),
            self.flash_panel.firmware.text(),
        )

    def _export_blocker(self) -> str:
        return export_blocker(self._choice())

    def _flash_blocker(self) -> str:
        return flash_blocker(self._choice(), lambda name: self.flashers.check(name)[1])

    def _update_actions(self) -> None:
        board = self.session.board
        offset = has_slot(board)
        if not self._source_by_person or (self.flash_panel.source_id() == MODEL_ONLY and not offset):
            self.flash_panel.set_source(default_source(board, self.export_panel.format_id()))
        self.flash_panel.enable_source(
            MODEL_ONLY,
            offset,
            "For firmware built from an export of this app: writes only the model, at the board's model slot."
            if offset
            else "This board has no model slot (model_offset) in its board file.",
        )
        name = flasher_name(self._choice())
        port, _drive = self.target.location()
        self.session.state.set_target(
            format=self.export_panel.format_id(),
            folder=self.export_panel.folder.text().strip(),
            port=port or "",
            flasher=name,
        )
        description, availability = self.flashers.check(name) if name else ("", None)
        self.target.show_flasher(name, description, availability)
        self.flash_panel.source_note.setText(source_note(self.flash_panel.source_id(), self.export_panel.format_id()))
        busy = self._busy()
        export_blocker, flash_blocker = self._export_blocker(), self._flash_blocker()
        self.export_panel.export_button.setEnabled(not busy and not export_blocker)
        self.export_panel.export_button.setToolTip(export_blocker or "Write the files to the folder (Ctrl+E)")
        self.flash_panel.flash_button.setEnabled(not busy and not flash_blocker)
        self.flash_panel.flash_button.setToolTip(flash_blocker or "Put the model onto the board (Ctrl+U)")
        short = flash_blocker.split(" How to get it:")[0]  # the how-to is under Board and connection
        self.flash_panel.set_note("" if busy else short)

    def apply_target(self, target: DeployTarget) -> None:
        """Take a saved target (a project's): its export format and folder, as if chosen here."""
        if target.format in FORMATS:
            self.export_panel.set_format(target.format)
            self._format_by_person = True
        if target.folder:
            self.export_panel.folder.setText(target.folder)
            self._folder_for = self.deployed.name if self.deployed is not None else self._folder_for
        self._update_actions()

    def _format_chosen(self, _format_id: str) -> None:
        self._format_by_person = True
        self._update_actions()

    def _source_chosen(self, _source: str) -> None:
        self._source_by_person = True
        self._update_actions()

    # -- folders and files ----------------------------------------------------------------
    def _fill_folder(self, name: str) -> None:
        if name == self._folder_for:
            return
        self._folder_for = name
        root = Path(str(settings().value(EXPORT_ROOT_KEY, "") or default_export_root()))
        self.export_panel.folder.setText(str(root / name))

    def _choose_folder(self) -> None:
        current = self.export_panel.folder.text().strip() or str(default_export_root())
        folder = QFileDialog.getExistingDirectory(self, "Export to which folder?", current)
        if folder:
            self.export_panel.folder.setText(folder)
            self._update_actions()

    def _open_folder(self) -> None:
        if self.exported is not None:
            with external_environment():  # the file manager is not the bundle's program
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.exported.folder)))

    def _choose_firmware(self) -> None:
        start = self.flash_panel.firmware.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Flash which firmware?", start, "Firmware (*.uf2 *.bin *.hex *.elf);;All files (*)"
        )
        if path:
            self.flash_panel.firmware.setText(path)
            settings().setValue(FIRMWARE_KEY, path)

    # -- detection ------------------------------------------------------------------------
    def find_boards(self) -> None:
        """Look for boards on USB as a job; the board's device is preselected when found."""
        self.flashers.forget()
        self._update_actions()
        self.target.show_finding()
        self.session.jobs.start(
            "detect",
            find_devices,
            list(self.session.catalog.boards.values()),
            on_success=self._found,
            on_error=lambda error: self.target.show_find_failed(error.message),
        )

    def _found(self, devices: list[DetectedDevice]) -> None:
        suggested = self.target.show_devices(devices, self.session.board)
        if suggested is not None and suggested in self.session.catalog.boards:
            self.session.set_board(suggested)

    # -- export ---------------------------------------------------------------------------
    def _options(self, format_id: str) -> ExportOptions:
        folder = Path(self.export_panel.folder.text().strip()).expanduser()
        return ExportOptions(format_id, folder, self.session.board)

    def export(self) -> None:
        """Write the chosen format into the folder, as a job (File > Export, Ctrl+E)."""
        blocker = self._export_blocker()
        if blocker or self._busy() or self.deployed is None:
            if blocker:
                self.export_panel.show_failed(f"Cannot export yet: {blocker}")
            return
        self._start_export(self._options(self.export_panel.format_id()))

    def _start_export(self, options: ExportOptions) -> None:
        assert self.deployed is not None
        model = self.deployed
        self.session.start_for_model(
            "export",
            export,
            model,
            options,
            on_success=lambda result: self._exported(model, result),
            on_error=lambda error: self._export_failed(error, options),
        )
        self.export_panel.show_running(f"Exporting {FORMATS[options.format][1]} to {options.out_dir}…")
        self._update_actions()

    def _exported(self, model: DeployModel, result: ExportResult) -> None:
        board = self.session.board
        self.exported = Exported(
            model.tflite, result.format, result.out_dir, board.id if board else "", project_artifact(result)
        )
        settings().setValue(EXPORT_ROOT_KEY, str(result.out_dir.parent))
        self.export_panel.show_done(result.out_dir, result.files, result.notes)
        if self._flash_after_export:
            self._flash_after_export = False
            self._start_flash()
        self._update_actions()

    def _export_failed(self, error: WorkbenchError, options: ExportOptions | None = None) -> None:
        if isinstance(error, WouldReplace) and options is not None:
            shown = "\n".join(error.files[:8]) + ("\n…" if len(error.files) > 8 else "")
            answer = QMessageBox.question(
                self,
                "Replace files?",
                f"{options.out_dir} already holds files this export would replace:\n\n{shown}\n\n"
                "They were not written by an export. Replace them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Yes:
                self._start_export(dataclasses.replace(options, replace=True))
                return
            error = WorkbenchError("Export cancelled: the files in the folder were left as they were.")
            self.export_panel.show_failed(error.message)
            if self._flash_after_export:
                self._flash_after_export = False
                self.flash_panel.clear()
            self._update_actions()
            return
        self.export_panel.show_failed(error.message)
        if self._flash_after_export:
            self._flash_after_export = False
            self.flash_panel.show_failed(f"the export before it failed: {error.message}")
        self._update_actions()
        self.session.error.emit(error)

    # -- flash ----------------------------------------------------------------------------
    def flash(self) -> None:
        """Put the model onto the board (File > Flash): exports the project first when needed."""
        blocker = self._flash_blocker()
        if blocker or self._busy():
            return  # the note under the button says why
        self.flash_panel.log.clear()
        self.flash_panel.show_log(True)
        if self.flash_panel.source_id() == PROJECT and not self._export_current():
            self._flash_after_export = True
            self.flash_panel.show_running("Exporting the project first…")
            self._start_export(self._options(self.export_panel.format_id()))
            return
        self._start_flash()

    def _export_current(self) -> bool:
        """The folder holds this very model in the chosen format for this board."""
        board = self.session.board
        if self.exported is None or self.deployed is None or board is None:
            return False
        done, options = self.exported, self._options(self.export_panel.format_id())
        same = (done.format, done.folder, done.board) == (options.format, options.out_dir, board.id)
        return same and done.tflite == self.deployed.tflite and done.project.exists()

    def _start_flash(self) -> None:
        board, model = self.session.board, self.deployed
        if board is None:
            return
        port, drive = self.target.location()
        source = self.flash_panel.source_id()
        if source == PROJECT:
            assert self.exported is not None
            flasher = PROJECT_FLASHERS[self.exported.format]
            request = FlashRequest(self.exported.project, board, port, drive, flasher)
            function, args = flash, (request, registry())
        elif source == MODEL_ONLY and model is not None:
            request = FlashRequest(Path(f"{model.name}.tflite"), board, port, drive, model_only=True)
            function, args = flash_model, (model, request, registry())  # type: ignore[assignment]
        else:
            request = FlashRequest(Path(self.flash_panel.firmware.text().strip()), board, port, drive)
            function, args = flash, (request, registry())
        self.session.jobs.start("flash", function, *args, on_success=self._flashed, on_error=self._flash_failed)
        where = port or drive or "the board"
        self.flash_panel.show_running(f"Flashing {board.name} ({where})…")
        self._update_actions()

    def _flashed(self, result: FlashResult) -> None:
        self._flashed_port = result.port  # a UF2 drive is no port: the Monitor then looks for the board
        self.flash_panel.show_done(result.message, self._flashed_port)
        self._update_actions()

    def _flash_failed(self, error: WorkbenchError) -> None:
        self.flash_panel.show_failed(error.message)
        self._update_actions()
        self.session.error.emit(error)

    def cancel(self) -> None:
        for key in ("flash", "export"):
            self.session.jobs.cancel(key)

    # -- job events -----------------------------------------------------------------------
    def _progress(self, key: str, fraction: float, status: str) -> None:
        if key == "flash" or (key == "export" and self._flash_after_export):
            self.flash_panel.show_progress(fraction, status)
        elif key == "export":
            self.export_panel.show_running(f"{status} ({fraction:.0%})")

    def _log(self, key: str, line: str) -> None:
        if key == "flash":
            self.flash_panel.log.add_line(line)

    def _cancelled(self, key: str) -> None:
        if key == "export":
            self.export_panel.show_cancelled()
            if self._flash_after_export:
                self._flash_after_export = False
                self.flash_panel.show_cancelled()
        elif key == "flash":
            self.flash_panel.show_cancelled()
        elif key == "detect":
            self.target.show_find_failed("cancelled")
        self._update_actions()
