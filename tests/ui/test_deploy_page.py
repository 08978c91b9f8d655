"""The Deploy page driven as a person would: it says what goes to the board, exports for real,
refuses a model too big for the board, takes only the open model's variant, finds the board,
and flashes through a stand-in flasher plugin with live log, progress, cancel and the Monitor."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.conftest import SAMPLES
from workbench.flash import detect
from workbench.flash.detect import DetectedDevice
from workbench.optimize.convert import optimize_model
from workbench.optimize.plan import Plan
from workbench.ui.main_window import MainWindow, settings
from workbench.ui.pages.deploy import EXPORT_ROOT_KEY, DeployPage
from workbench.ui.widgets.deploy_actions import FIRMWARE, MODEL_ONLY
from workbench.units import kb

STAND_IN_FLASHER = '''
import time

from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, Step


class StandIn(Flasher):
    """Pretends to flash: what the firmware file says decides how it goes (ok, fail or hang)."""

    name = "standin"
    description = "Pretends to flash a board"

    def available(self):
        return Availability(ok=True)

    def plan(self, job):
        return [Step("pretend")]

    def flash(self, job, task):
        mode = job.firmware.read_text().strip()
        for block in range(5):
            task.log(f"writing block {block}")
            task.progress((block + 1) / 10, "Writing")
        if mode == "fail":
            raise WorkbenchError("the stand-in board did not answer", details="block 5: timeout")
        while mode == "hang":
            task.check()
            time.sleep(0.01)
        task.progress(1.0, "Done")


class NeedsTool(Flasher):
    name = "needs-tool"
    description = "Needs a program that is not installed"

    def available(self):
        return Availability(ok=False, missing="standin-tool is not installed", hint="Install it with: pip install standin-tool")

    def plan(self, job):
        return []

    def flash(self, job, task):
        raise AssertionError("never runs")
'''

BOARD = """
name = "{name}"
mcu = "nRF52840"
clock_mhz = 64
flash_kb = {flash_kb}
ram_kb = {ram_kb}

[flash]
flasher = "{flasher}"
"""


def _board(
    folder: Path, board_id: str, name: str, flasher: str, flash_kb: int = 1024, ram_kb: int = 256, slot: str = ""
) -> None:
    text = BOARD.format(name=name, flash_kb=flash_kb, ram_kb=ram_kb, flasher=flasher) + slot + "\n"
    (folder / "boards" / f"{board_id}.toml").write_text(text)


@pytest.fixture
def plugins(isolated_home: Path) -> Path:
    """A stand-in flasher, one that cannot run, and boards using them, in this test's user folder."""
    folder = isolated_home / "plugins"
    for kind in ("boards", "flashers"):
        (folder / kind).mkdir(parents=True)
    (folder / "flashers" / "standin.py").write_text(textwrap.dedent(STAND_IN_FLASHER))
    _board(folder, "standin_board", "Stand-in Board", "standin")
    _board(folder, "needs_tool_board", "Board Needing A Tool", "needs-tool")
    _board(folder, "tiny_board", "Tiny Board", "standin", flash_kb=8)
    _board(folder, "snug_board", "Snug Board", "standin", flash_kb=48)
    _board(folder, "slot_board", "Slot Board", "standin", slot='model_offset = "0x80000"')
    _board(
        folder, "small_slot_board", "Small Slot Board", "standin", slot='model_offset = "0x80000"\nmodel_slot_kb = 1'
    )
    return folder


def _open(qtbot: Any, path: Path) -> MainWindow:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    main.open(path)
    qtbot.waitUntil(lambda: main.session.model is not None and main.session.model.path == path, timeout=120000)
    qtbot.waitUntil(lambda: main.session.analysis is not None and main.session.analysis.tflm is not None, timeout=60000)
    main.steps.setCurrentWidget(main.deploy)
    qtbot.waitUntil(lambda: not main.session.jobs.running("detect"), timeout=60000)
    return main


@pytest.fixture
def window(qtbot: Any, plugins: Path) -> MainWindow:
    """The shipped int8 sample (a .tflite: no TensorFlow), on the Deploy page."""
    main = _open(qtbot, SAMPLES / "digits_int8.tflite")
    yield main
    main._closing_confirmed = True
    main.close()


def _dialog(window: MainWindow) -> QMessageBox | None:
    return next((box for box in window.findChildren(QMessageBox, "errorDialog") if box.isVisible()), None)


def _flash_setup(window: MainWindow, tmp_path: Path, mode: str) -> DeployPage:
    page = window.deploy
    window.session.set_board("standin_board")
    firmware = tmp_path / f"{mode}.bin"
    firmware.write_text(mode)
    page.flash_panel.firmware.setText(str(firmware))
    page.target.port.setEditText("sim0")
    return page


def test_the_page_says_what_goes_to_the_board_with_its_size_arena_and_fit(window: MainWindow) -> None:
    page = window.deploy
    analysis = window.session.analysis
    assert analysis is not None and analysis.arena_bytes
    assert window.steps.currentWidget() is page and window.steps.tabText(2) == "3  Deploy"
    assert page.title.text() == "Deploy digits_int8.tflite"
    assert page.summary.source_card.value.text() == "The model as opened"
    assert page.summary.flash_card.value.text() == kb(analysis.size_bytes)
    assert page.summary.arena_card.value.text() == kb(analysis.arena_bytes)
    assert page.summary.accuracy_card.value.text() == "not measured"
    assert page.summary.fit_card.verdict.text() == "Fits on Arduino Nano 33 BLE Sense"
    assert page.target.board.currentText() == "Arduino Nano 33 BLE Sense"  # the session's board
    assert page.export_panel.format_id() == "arduino", "a board with an Arduino name gets the Arduino library"
    assert Path(page.export_panel.folder.text()) == Path.home() / "TinyML Workbench exports" / "digits_int8"
    window.session.set_board("standin_board")  # no Arduino name: C source
    assert page.export_panel.format_id() == "c"
    assert page.summary.fit_card.verdict.text() == "Fits on Stand-in Board"


def test_export_writes_c_source_into_the_folder_and_remembers_where(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page = window.deploy
    page.export_panel.set_format("c")
    page.export_panel.folder.setText(str(tmp_path / "out"))
    window.steps.setCurrentIndex(0)
    window.export_action.trigger()  # File > Export (Ctrl+E) opens the page and exports
    assert window.steps.currentWidget() is page
    qtbot.waitUntil(lambda: page.export_panel.open_button.isVisible(), timeout=60000)
    header = tmp_path / "out" / "model_data.h"
    assert header.is_file() and "kTensorArenaSize" in header.read_text()
    assert "model_data.h" in page.export_panel.result.text()
    assert settings().value(EXPORT_ROOT_KEY) == str(tmp_path)
    assert _dialog(window) is None
    target = window.session.state.target  # what the page shows is the session's deploy target
    assert (target.format, target.folder) == ("c", str(tmp_path / "out"))


def test_a_model_too_big_for_the_board_is_refused_with_the_reason(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page = window.deploy
    window.session.set_board("tiny_board")
    assert page.summary.fit_card.verdict.text().startswith("Does not fit on Tiny Board")
    page.export_panel.set_format("c")
    page.export_panel.folder.setText(str(tmp_path / "out"))
    page.export_panel.export_button.click()
    qtbot.waitUntil(lambda: _dialog(window) is not None, timeout=60000)
    box = _dialog(window)
    assert box is not None and "does not fit Tiny Board" in box.text() and "over its 8.0 KB of flash" in box.text()
    assert "does not fit Tiny Board" in page.export_panel.result.text()
    assert not (tmp_path / "out").exists()
    box.close()


def test_use_for_deploy_brings_the_variant_and_another_model_clears_it(qtbot: Any, window: MainWindow) -> None:
    session, page = window.session, window.deploy
    model, analysis = session.model, session.analysis
    assert model is not None and analysis is not None
    variant = optimize_model(model, analysis, Plan(quant="float32", strip=True))  # real, measured by TFLM
    assert session.add_variant(variant, session.generation)
    window.steps.setCurrentWidget(window.optimize)
    assert not window.optimize.deploy_button.isEnabled(), "nothing verified on screen yet"
    window.optimize._show_result(variant)  # the verified result card, as after a conversion
    window.optimize.deploy_button.click()  # 'Use for Deploy' beside 'Convert now'
    assert window.steps.currentWidget() is page and session.chosen_variant is variant
    window.steps.setCurrentWidget(window.optimize)
    window.optimize.use_button.click()  # and the one under the compare table
    assert window.steps.currentWidget() is page
    assert page.summary.source_card.value.text() == "stripped variant"
    assert variant.label in page.summary.source_card.detail.text()
    assert page.summary.flash_card.value.text() == kb(len(variant.tflite))
    assert page.deployed is not None and page.deployed.tflite == variant.tflite
    assert page.deployed.reference is analysis and page.export_panel.folder.text().endswith("stripped")
    assert page.summary.original_button.isVisible()

    session.variants.remove(variant)  # a variant the open model no longer holds is never deployed
    page.refresh()
    assert page.summary.source_card.value.text() == "The model as opened"
    session.variants.append(variant)

    with qtbot.waitSignal(session.model_changed, timeout=60000):
        session.open(SAMPLES / "digits_float.tflite")
    assert session.chosen_variant is None
    session.chosen_variant = variant  # even if something set it: not a variant of this model
    page.refresh()
    assert page.title.text() == "Deploy digits_float.tflite"
    assert page.summary.source_card.value.text() == "The model as opened"
    assert page.deployed is not None and page.deployed.tflite == session.model.tflite  # type: ignore[union-attr]
    assert not page.summary.original_button.isVisible()


def test_a_found_board_is_chosen_with_its_port(qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        DetectedDevice("serial", "/dev/ttyS0", "ttyS0", ""),
        DetectedDevice("serial", "/dev/ttyACM7", "Board in BOOTSEL", "2E8A:000A", ("raspberry_pi_pico",)),
    ]
    monkeypatch.setattr(detect, "detect_devices", lambda boards, use_arduino_cli, task: found)
    page = window.deploy
    page.target.find_button.click()
    qtbot.waitUntil(lambda: window.session.board is not None and window.session.board.id == "raspberry_pi_pico")
    assert page.target.location() == ("/dev/ttyACM7", "")
    assert "Found Raspberry Pi Pico on /dev/ttyACM7" in page.target.found.text()
    assert page.target.board.currentText() == "Raspberry Pi Pico"
    assert window.inspect.board_picker.currentText() == "Raspberry Pi Pico"  # one board for every page


def test_flash_streams_the_log_and_progress_cancels_and_then_offers_the_monitor(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page = _flash_setup(window, tmp_path, "hang")
    panel = page.flash_panel
    assert page.flash_panel.source_id() == FIRMWARE  # no project to build, no model slot on this board
    assert "standin" in page.target.flasher.text() and "ready" in page.target.flasher.text()
    assert panel.flash_button.isEnabled(), panel.flash_button.toolTip()
    panel.flash_button.click()
    qtbot.waitUntil(lambda: len(panel.log.lines()) == 5 and panel.progress.value() >= 500, timeout=30000)
    assert panel.log.lines() == [f"writing block {block}" for block in range(5)]
    assert panel.log.isReadOnly() and panel.log.isVisible()
    assert panel.cancel_button.isVisible() and not panel.flash_button.isEnabled()
    assert "Writing" in panel.status.text()
    window.cancel_button.click()  # Esc: the job in front is the flash
    assert "cancelled" in panel.status.text()
    qtbot.waitUntil(lambda: not window.session.jobs.busy and panel.flash_button.isEnabled(), timeout=10000)
    assert not panel.monitor_button.isVisible() and not panel.cancel_button.isVisible()

    _flash_setup(window, tmp_path, "ok")
    window.flash_action.trigger()  # File > Flash (Ctrl+U)
    qtbot.waitUntil(lambda: panel.monitor_button.isVisible(), timeout=30000)
    assert panel.log.lines() == [f"writing block {block}" for block in range(5)], "a new flash starts a new log"
    assert "Flashed ok.bin to Stand-in Board on sim0" in panel.status.text()
    assert panel.monitor_button.text() == "Open Monitor on sim0"
    panel.monitor_button.click()
    assert window.steps.currentIndex() == 3 and window.steps.isTabEnabled(3)
    assert window.steps.currentWidget() is window.monitor and window.monitor.controls.port_id() == "sim0"


def test_a_failed_flash_reaches_the_error_place_and_keeps_its_log(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page = _flash_setup(window, tmp_path, "fail")
    panel = page.flash_panel
    panel.flash_button.click()
    qtbot.waitUntil(lambda: _dialog(window) is not None, timeout=30000)
    box = _dialog(window)
    assert box is not None and box.text() == "the stand-in board did not answer"
    assert box.detailedText() == "block 5: timeout"
    assert "✖ the stand-in board did not answer" in panel.status.text()
    assert not panel.monitor_button.isVisible()
    panel.log_button.click()  # hide, then show again: the tool's lines are still there
    assert panel.log.isHidden() and panel.log_button.text() == "Show log"
    panel.log_button.click()
    assert panel.log.isVisible() and len(panel.log.lines()) == 5
    box.close()


def test_a_flasher_that_cannot_run_disables_flash_and_says_what_is_missing(window: MainWindow, tmp_path: Path) -> None:
    page = _flash_setup(window, tmp_path, "ok")
    window.session.set_board("needs_tool_board")
    button = page.flash_panel.flash_button
    assert not button.isEnabled()
    assert "standin-tool" in button.toolTip() and "pip install standin-tool" in button.toolTip()
    assert "✖ standin-tool is not installed" in page.target.flasher.text()
    assert "pip install standin-tool" in page.target.flasher.text()
    assert page.flash_panel.note.text() == "Cannot flash yet: standin-tool is not installed."
    window.flash_action.trigger()  # the menu cannot start it either
    assert not window.session.jobs.running("flash")


@pytest.mark.slow
def test_a_float_model_that_fits_a_board_tightly_is_offered_optimize(qtbot: Any, plugins: Path) -> None:
    main = _open(qtbot, SAMPLES / "digits.keras")
    try:
        page = main.deploy
        assert not page.summary.suggestion.isVisible(), "it fits the Nano 33 comfortably"
        main.session.set_board("snug_board")
        assert page.summary.suggestion.isVisible()
        assert "fits only tightly on Snug Board" in page.summary.suggestion_text.text()
        page.summary.optimize_button.click()
        assert main.steps.currentWidget() is main.optimize
    finally:
        main._closing_confirmed = True
        main.close()


ARDUINO_STAND_IN = '''
from workbench.flash.api import Availability, Flasher, Step


class ArduinoStandIn(Flasher):
    """Replaces the built-in arduino-cli flasher: says what it was given to build."""

    name = "arduino-cli"
    description = "Stands in for arduino-cli"

    def available(self):
        return Availability(ok=True)

    def plan(self, job):
        return [Step("pretend")]

    def flash(self, job, task):
        task.log(f"building {job.firmware}")
        task.progress(1.0, "Uploaded")
'''


def test_flashing_the_project_exports_the_arduino_library_first_and_builds_its_zip(
    qtbot: Any, plugins: Path, tmp_path: Path
) -> None:
    (plugins / "flashers" / "arduino_standin.py").write_text(textwrap.dedent(ARDUINO_STAND_IN))
    main = _open(qtbot, SAMPLES / "digits_int8.tflite")
    try:
        page, panel = main.deploy, main.deploy.flash_panel
        assert main.session.board is not None and main.session.board.fqbn  # the Nano 33 BLE Sense
        assert page.export_panel.format_id() == "arduino" and panel.source_id() == "project"
        page.export_panel.folder.setText(str(tmp_path / "out"))
        page.target.port.setEditText("sim0")
        panel.flash_button.click()
        qtbot.waitUntil(lambda: panel.monitor_button.isVisible(), timeout=60000)
        zips = sorted((tmp_path / "out").glob("*.zip"))
        assert len(zips) == 1 and panel.log.lines() == [f"building {zips[0]}"]
        assert page.export_panel.open_button.isVisible()  # the export is shown as done too
        written = zips[0].stat().st_mtime_ns, zips[0].stat().st_ino
        panel.flash_button.click()  # the same model again: the export is not repeated
        assert not panel.monitor_button.isVisible() and not main.session.jobs.running("export")
        qtbot.waitUntil(lambda: panel.monitor_button.isVisible(), timeout=30000)
        assert (zips[0].stat().st_mtime_ns, zips[0].stat().st_ino) == written
        assert panel.log.lines() == [f"building {zips[0]}"]
    finally:
        main._closing_confirmed = True
        main.close()


def test_export_asks_before_replacing_files_no_export_wrote(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = window.deploy
    folder = tmp_path / "my_firmware"
    folder.mkdir()
    (folder / "model_data.h").write_text("// mine\n")
    page.export_panel.set_format("c")
    page.export_panel.folder.setText(str(folder))
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    page.export_panel.export_button.click()
    qtbot.waitUntil(lambda: len(asked) == 1 and page.export_panel.export_button.isEnabled(), timeout=60000)
    assert "model_data.h" in asked[0] and (folder / "model_data.h").read_text() == "// mine\n"
    assert "left as they were" in page.export_panel.result.text()
    page.export_panel.export_button.click()
    qtbot.waitUntil(lambda: page.export_panel.open_button.isVisible(), timeout=60000)
    assert len(asked) == 2 and "kTensorArenaSize" in (folder / "model_data.h").read_text()


def test_only_the_model_goes_to_a_slot_it_fits_and_the_note_says_when_it_does_not(window: MainWindow) -> None:
    """The Flash button follows the engine's verdict (flash.service.model_only_refusal): enabled
    for a slot the model fits, disabled with the engine's sentence for a slot too small."""
    page = window.deploy
    page.target.port.setEditText("sim0")
    window.session.set_board("slot_board")
    assert page.flash_panel.source_id() == MODEL_ONLY
    assert page.flash_panel.flash_button.isEnabled(), page.flash_panel.note.text()
    window.session.set_board("small_slot_board")
    assert page.flash_panel.source_id() == MODEL_ONLY
    assert not page.flash_panel.flash_button.isEnabled()
    note = page.flash_panel.note.text()
    assert note.startswith("digits_int8.tflite does not fit the model slot of Small Slot Board: ") and "1.0 KB" in note
    window.session.set_board("standin_board")  # no slot: only whole firmware
    assert page.flash_panel.source_id() == FIRMWARE
