"""The main window: one place for errors (with details a click away), and no work lost silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from workbench.core.errors import WorkbenchError
from workbench.optimize.convert import Variant, optimize_model
from workbench.optimize.plan import Plan
from workbench.plugins import builtin_plugin_dir
from workbench.ui.main_window import MainWindow


def _stripped_variant(window: MainWindow) -> Variant:
    """A real verified variant of a .tflite model (stripped, measured by TFLM; no TensorFlow)."""
    model, analysis = window.session.model, window.session.analysis
    assert model is not None and analysis is not None
    return optimize_model(model, analysis, Plan(quant="float32", strip=True))


def _dialog(window: MainWindow, name: str) -> QMessageBox | None:
    return next((box for box in window.findChildren(QMessageBox, name) if box.isVisible()), None)


def test_an_error_shows_message_hint_and_the_raw_log_one_click_away(
    qtbot: Any, window: MainWindow, caplog: pytest.LogCaptureFixture
) -> None:
    window.session.error.emit(
        WorkbenchError(
            "model.h5: the converter could not quantize it", "Try int16x8.", "read_variable.cc:67 was not true"
        )
    )
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None, timeout=5000)
    box = _dialog(window, "errorDialog")
    assert box is not None
    assert box.text() == "model.h5: the converter could not quantize it"
    assert box.informativeText() == "Try int16x8." and box.detailedText() == "read_variable.cc:67 was not true"
    assert "read_variable.cc:67" not in window.statusBar().currentMessage()
    assert "read_variable.cc:67" in caplog.text  # what goes to the log file
    box.close()


def _open_with_a_variant(qtbot: Any, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(path)
    assert window.session.add_variant(_stripped_variant(window), window.session.generation)


def test_opening_another_model_asks_before_discarding_unsaved_variants(
    qtbot: Any, window: MainWindow, reference_models: Path
) -> None:
    _open_with_a_variant(qtbot, window, reference_models / "hello_world_int8.tflite")
    window.open(reference_models / "hello_world_float.tflite")
    qtbot.waitUntil(lambda: _dialog(window, "discardDialog") is not None, timeout=5000)
    box = _dialog(window, "discardDialog")
    assert box is not None and "as converted, stripped" in box.text() and "not saved" in box.text()
    assert not window.session.jobs.running("load")  # nothing happens before the answer
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.session.model is not None and window.session.model.name == "hello_world_int8.tflite"
    assert len(window.session.variants) == 1

    window.open(reference_models / "hello_world_float.tflite")
    qtbot.waitUntil(lambda: _dialog(window, "discardDialog") is not None, timeout=5000)
    box = _dialog(window, "discardDialog")
    assert box is not None
    open_anyway = next(b for b in box.buttons() if b.text() == "Open Anyway")
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        open_anyway.click()
    assert window.session.model is not None and window.session.model.name == "hello_world_float.tflite"
    assert window.session.variants == []


def test_quitting_with_unsaved_variants_asks_and_cancel_keeps_the_window(
    qtbot: Any, window: MainWindow, reference_models: Path
) -> None:
    _open_with_a_variant(qtbot, window, reference_models / "hello_world_int8.tflite")
    window.close()
    qtbot.waitUntil(lambda: _dialog(window, "discardDialog") is not None, timeout=5000)
    assert window.isVisible()
    box = _dialog(window, "discardDialog")
    assert box is not None
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible() and len(window.session.variants) == 1
    window.close()
    qtbot.waitUntil(lambda: _dialog(window, "discardDialog") is not None, timeout=5000)
    quit_anyway = next(b for b in _dialog(window, "discardDialog").buttons() if b.text() == "Quit Anyway")  # type: ignore[union-attr]
    quit_anyway.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_a_saved_variant_is_discarded_without_a_question(
    qtbot: Any, window: MainWindow, reference_models: Path, tmp_path: Path
) -> None:
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(reference_models / "hello_world_int8.tflite")
    variant = _stripped_variant(window)
    variant.save(tmp_path / "kept.tflite")
    window.session.add_variant(variant, window.session.generation)
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(reference_models / "hello_world_float.tflite")
    assert _dialog(window, "discardDialog") is None


LAB_FLASHER = """
from workbench.flash.api import Availability, Flasher, Step

class Lab(Flasher):
    name = "lab"
    description = "Writes to the lab board"
    def available(self): return Availability(ok=True)
    def plan(self, job): return [Step("lab")]
    def flash(self, job, task): pass
"""
LAB_PARSER = """
from workbench.monitor.parse import Parser, Record

class LabLines(Parser):
    name = "lab-lines"
    description = "The lab board's lines"
    def sniff(self, lines): return 0.0
    def feed(self, line, time): return [Record(time, {"line": 1.0})]
"""
LAB_BOARD = 'name = "Lab Board"\nmcu = "X"\nclock_mhz = 64\nflash_kb = 1024\nram_kb = 256\n[flash]\nflasher = "lab"\n'


def test_reload_plugins_offers_new_boards_flashers_and_parsers_on_every_page_and_reports_the_skipped(
    qtbot: Any, window: MainWindow, isolated_home: Path
) -> None:
    inspect, deploy, monitor = window.inspect, window.deploy, window.monitor
    window.session.set_board("raspberry_pi_pico")
    pickers = (inspect.board_picker, deploy.target.board)
    assert all(picker.findData("lab_board") < 0 for picker in pickers)
    assert monitor.controls.format.findData("lab-lines") < 0
    folder = isolated_home / "plugins"
    for kind in ("boards", "flashers", "parsers"):
        (folder / kind).mkdir(parents=True)
    (folder / "boards" / "lab_board.toml").write_text(LAB_BOARD)
    (folder / "flashers" / "lab.py").write_text(LAB_FLASHER)
    (folder / "parsers" / "lab_lines.py").write_text(LAB_PARSER)
    (folder / "parsers" / "broken.py").write_text("import not_a_module\n")

    window.reload_plugins_action.trigger()

    assert all(picker.findData("lab_board") >= 0 for picker in pickers)
    assert all(picker.currentData() == "raspberry_pi_pico" for picker in pickers), "the chosen board is kept"
    assert window.session.board is not None and window.session.board.id == "raspberry_pi_pico"
    assert monitor.controls.format.findData("lab-lines") >= 0
    message = window.statusBar().currentMessage()
    boards = len(list((builtin_plugin_dir() / "boards").glob("*.toml"))) + 1
    assert message.startswith(f"Plugins reloaded: {boards} boards")
    assert "Skipped a parser plugin: broken.py: could not be loaded (ModuleNotFoundError" in message
    window.session.set_board("lab_board")
    assert "Writes to the lab board" in deploy.target.flasher.text()

    (folder / "boards" / "lab_board.toml").unlink()
    (folder / "parsers" / "broken.py").unlink()
    window.reload_plugins_action.trigger()
    assert window.session.board is None, "a board whose file is gone is no longer chosen"
    assert all(picker.findData("lab_board") < 0 and picker.currentData() is None for picker in pickers)
    assert "Skipped" not in window.statusBar().currentMessage()


def test_ctrl_and_a_number_goes_to_that_step_and_the_view_menu_lists_them(qtbot: Any, window: MainWindow) -> None:
    from PySide6.QtCore import Qt

    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    listed = [a.text() for a in view_menu.actions() if a.shortcut().toString()]
    assert listed[:4] == ["&1 Inspect", "&2 Optimize", "&3 Deploy", "&4 Monitor"]
    window.activateWindow()
    for number in (4, 2, 3, 1):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert window.steps.currentIndex() == number - 1


def test_the_window_fits_a_1366x768_laptop_screen_on_every_page(qtbot: Any, window: MainWindow) -> None:
    """Long card titles and sample descriptions wrap rather than widen the window past the screen."""
    from tests.conftest import SAMPLES

    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(SAMPLES / "digits_int8.tflite")  # has samples beside it: Try it describes them
    qtbot.waitUntil(lambda: window.session.analysis.tflm is not None, timeout=60000)
    window.session.set_board("raspberry_pi_pico")
    for page in (window.inspect, window.optimize, window.deploy, window.monitor):
        window.steps.setCurrentWidget(page)
        hint = window.minimumSizeHint()  # 768 less a panel and a title bar; the welcome panel shown
        assert window.welcome.isVisible() and hint.width() <= 1366 and hint.height() <= 700, (type(page).__name__, hint)


def test_inspect_ends_with_its_next_step(qtbot: Any, window: MainWindow, reference_models: Path) -> None:
    assert not window.inspect.next_step.isVisible()  # nothing open: nothing comes next yet
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(reference_models / "hello_world_int8.tflite")
    link = window.inspect.next_step
    assert link.isVisible() and "Optimize" in link.text() and "Deploy" in link.text()
    link.linkActivated.emit("optimize")
    assert window.steps.currentWidget() is window.optimize
    window.steps.setCurrentWidget(window.inspect)
    link.linkActivated.emit("deploy")
    assert window.steps.currentWidget() is window.deploy
