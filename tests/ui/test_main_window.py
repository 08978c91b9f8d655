"""The main window: one place for errors (with details a click away), and no work lost silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from workbench.core.errors import WorkbenchError
from workbench.optimize.convert import Variant, optimize_model
from workbench.optimize.plan import Plan
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
