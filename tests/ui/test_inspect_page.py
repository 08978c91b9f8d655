"""The Inspect page with the real engine: cards, table, chart, fit, errors, superseding loads, Try it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.conftest import SAMPLES
from workbench.ui.main_window import MainWindow


def _wait_measured(qtbot: Any, window: MainWindow, name: str) -> None:
    def done() -> bool:
        analysis = window.session.analysis
        model = window.session.model
        return bool(model and model.name == name and analysis and analysis.tflm is not None)

    qtbot.waitUntil(done, timeout=120000)


def test_person_detect_shows_every_part(qtbot: Any, window: MainWindow, reference_models: Path) -> None:
    window.open(reference_models / "person_detect.tflite")
    _wait_measured(qtbot, window, "person_detect.tflite")
    page = window.inspect
    assert page.table.model().rowCount() == 31
    assert page.flash_card.value.text() == "293.5 KB"
    arena = window.session.analysis.arena_bytes  # type: ignore[union-attr]
    assert page.arena_card.value.text() == f"{arena / 1024:.1f} KB"
    assert page.tflm_card.value.text() == "Yes"
    assert "Quantization parameters" in page.breakdown.text()
    assert len(page.chart.weights.opts["height"]) == 31
    window.session.set_board("raspberry_pi_pico")
    assert page.flash_gauge.percent.text() == f"{100 * 300568 / (2048 * 1024):.1f}%"
    assert page.flash_gauge.text.text() == "293.5 KB of 2048 KB"
    assert "Fits on Raspberry Pi Pico" in page.fit_card.detail.text()
    window.session.set_board("microbit_v2")
    assert "Fits" in page.fit_card.detail.text()


def test_sorting_by_macs_puts_the_heaviest_layer_first(qtbot: Any, window: MainWindow, reference_models: Path) -> None:
    from PySide6.QtCore import Qt

    window.open(reference_models / "person_detect.tflite")
    _wait_measured(qtbot, window, "person_detect.tflite")
    table = window.inspect.table
    table.sortByColumn(7, Qt.SortOrder.DescendingOrder)
    layers = window.session.analysis.layers  # type: ignore[union-attr]
    top = table.model().index(0, 0).data()
    assert int(top) == max(layers, key=lambda layer: layer.macs).index


def test_a_bad_file_shows_a_dialog_and_keeps_the_open_model(
    qtbot: Any, window: MainWindow, tmp_path: Path, reference_models: Path
) -> None:
    window.open(reference_models / "hello_world_int8.tflite")
    _wait_measured(qtbot, window, "hello_world_int8.tflite")
    bad = tmp_path / "holiday.tflite"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    window.open(bad)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=20000)
    dialog = window.findChild(QMessageBox, "errorDialog")
    assert "holiday.tflite" in dialog.text() and "Traceback" not in dialog.text()
    assert window.session.model.name == "hello_world_int8.tflite"  # type: ignore[union-attr]
    assert window.inspect.title.text() == "hello_world_int8.tflite"
    dialog.close()


@pytest.mark.slow  # a TensorFlow child converts the sample
def test_a_second_load_supersedes_the_first(
    qtbot: Any, window: MainWindow, reference_models: Path, fresh_conversion_cache: Path
) -> None:
    shown: list[str] = []
    window.session.model_changed.connect(lambda model: shown.append(model.name))
    window.open(SAMPLES / "digits.keras")  # seconds: TensorFlow converts it in a child process
    window.open(reference_models / "micro_speech_quantized.tflite")
    _wait_measured(qtbot, window, "micro_speech_quantized.tflite")
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=60000)
    assert shown == ["micro_speech_quantized.tflite"]


def test_try_it_runs_the_sample(qtbot: Any, window: MainWindow) -> None:
    window.open(SAMPLES / "digits_int8.tflite")
    _wait_measured(qtbot, window, "digits_int8.tflite")
    panel = window.inspect.try_it
    assert panel.editor.toPlainText().count(",") == 63  # the first bundled sample, 64 pixels
    panel.run()
    qtbot.waitUntil(lambda: panel.result.text().startswith("Prediction"), timeout=60000)
    assert "Prediction: 0" in panel.result.text()  # the first sample is a zero
    assert panel.table.rowCount() == 10


def test_recent_files_and_board_are_remembered(qtbot: Any, reference_models: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    first.open(reference_models / "hello_world_float.tflite")
    _wait_measured(qtbot, first, "hello_world_float.tflite")
    first.session.set_board("esp32s3_devkitc")
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.recent_files()[0].endswith("hello_world_float.tflite")
    assert second.session.board is not None and second.session.board.id == "esp32s3_devkitc"
    second.close()


def test_dropping_a_model_file_opens_it(qtbot: Any, window: MainWindow, reference_models: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(reference_models / "hello_world_int8.tflite"))])
    event = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    _wait_measured(qtbot, window, "hello_world_int8.tflite")


def test_code_in_a_keras_file_is_run_only_after_the_user_allows_it(
    qtbot: Any, window: MainWindow, built_models: Path
) -> None:
    window.open(built_models / "lambda.keras")
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "unsafeDialog") is not None, timeout=120000)
    dialog = window.findChild(QMessageBox, "unsafeDialog")
    assert "Lambda layer 'doubler'" in dialog.text()
    assert window.session.model is None
    dialog.button(QMessageBox.StandardButton.Yes).click()
    _wait_measured(qtbot, window, "lambda.keras")


@pytest.mark.slow  # a TensorFlow child converts the sample
def test_cancel_stops_a_conversion_and_its_child_process(
    qtbot: Any, window: MainWindow, fresh_conversion_cache: Path
) -> None:
    window.open(SAMPLES / "digits.keras")
    qtbot.waitUntil(lambda: window.session.jobs.running("load"), timeout=5000)
    job = window.session.jobs.job("load")
    assert job is not None
    qtbot.waitUntil(lambda: bool(job.task.children), timeout=10000)
    child = job.task.children[0]
    window.cancel_button.click()
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=10000)
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=10000)
    assert window.session.model is None
    assert window.findChild(QMessageBox, "errorDialog") is None


def test_a_model_tflm_cannot_run_is_explained(qtbot: Any, window: MainWindow, built_models: Path) -> None:
    window.open(built_models / "small_cnn_float16.tflite")
    _wait_measured(qtbot, window, "small_cnn_float16.tflite")
    page = window.inspect
    assert page.tflm_card.value.text() == "No"
    assert page.problems.rowCount() == len(window.session.analysis.tflm.problems)  # type: ignore[union-attr]
    assert page.problems.item(0, 1).text() == "DEQUANTIZE"
    assert "re-quantize as full int8" in page.problems.item(0, 3).text()
    assert "Does not run on" in page.fit_card.detail.text() and "float16" in page.fit_card.detail.text()


def test_a_failed_open_says_why_on_the_page_and_leaves_an_open_model_as_it_was(
    qtbot: Any, window: MainWindow, reference_models: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "bad.tflite"
    broken.write_bytes(b"garbage")
    with qtbot.waitSignal(window.session.load_failed, timeout=20000):
        window.open(broken)
    page = window.inspect
    assert page.title.text() == "Could not open bad.tflite"
    assert "not a valid TFLite model" in page.subtitle.text() and "Opening" not in page.subtitle.text()
    window.open(reference_models / "hello_world_int8.tflite")
    _wait_measured(qtbot, window, "hello_world_int8.tflite")
    before = page.subtitle.text()
    with qtbot.waitSignal(window.session.load_failed, timeout=20000):
        window.open(broken)
    assert page.title.text() == "hello_world_int8.tflite" and page.subtitle.text() == before


def test_esc_on_the_measurement_says_so_and_f6_measures_again(
    qtbot: Any, window: MainWindow, reference_models: Path
) -> None:
    with qtbot.waitSignal(window.session.model_changed, timeout=20000):
        window.open(reference_models / "person_detect.tflite")
    page = window.inspect
    qtbot.waitUntil(lambda: window.session.jobs.running("tflm"), timeout=10000)
    window.cancel_button.click()  # the measurement is the job in front
    qtbot.waitUntil(lambda: page.arena_card.value.text() == "not measured", timeout=10000)
    assert "F6" in page.arena_card.detail.text() and page.tflm_card.value.text() == "not checked"
    window.measure_action.trigger()
    _wait_measured(qtbot, window, "person_detect.tflite")
    assert page.tflm_card.value.text() == "Yes"


@pytest.mark.slow  # a TensorFlow child converts the sample
def test_a_cancelled_open_leaves_no_opening_title(qtbot: Any, window: MainWindow, fresh_conversion_cache: Path) -> None:
    window.open(SAMPLES / "digits.keras")
    qtbot.waitUntil(lambda: window.session.jobs.running("load"), timeout=5000)
    with qtbot.waitSignal(window.session.load_cancelled, timeout=10000):
        window.cancel_button.click()
    assert window.inspect.title.text() == "No model open"
    assert "was cancelled" in window.inspect.subtitle.text()
