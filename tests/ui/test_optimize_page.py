"""The Optimize page driven as a person would: sliders, verified conversions, cancel, a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from workbench.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot: Any) -> MainWindow:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    main.open(SAMPLES / "digits.keras")
    qtbot.waitUntil(
        lambda: main.session.analysis is not None and main.session.analysis.tflm is not None, timeout=120000
    )
    main.steps.setCurrentIndex(1)
    yield main
    main.close()


def test_moving_the_slider_updates_the_estimate_at_once(window: MainWindow) -> None:
    page = window.optimize
    page.timer.setInterval(10**6)  # keep the background conversion out of this test
    before = page.compressed_card.value.text()
    flash_before = page.flash_card.value.text()
    page.settings.sparsity.setValue(80)  # no event loop turn: the estimate must already be there
    assert page.compressed_card.value.text() != before
    assert page.flash_card.value.text() == flash_before  # TFLM stores tensors dense: flash is unchanged
    page.settings.quant_buttons["float32"].setChecked(True)
    assert page.flash_card.value.text() == "39.5 KB"


def test_a_verified_result_arrives_and_can_be_saved(
    qtbot: Any, window: MainWindow, digits_data: dict[str, Path], tmp_path: Path
) -> None:
    page = window.optimize
    page.settings.calibration.set_path(str(digits_data["calib"]))
    page.settings.evaluation.set_path(str(digits_data["eval"]))
    page.convert()
    qtbot.waitUntil(lambda: len(window.session.variants) == 1, timeout=120000)
    variant = window.session.variants[0]
    assert page.result_card.value.text() == f"{variant.actual.flash_bytes / 1024:.1f} KB"
    assert "Runs on TFLM" in page.result_card.detail.text()
    assert "Accuracy on 450 samples" in page.accuracy.text()
    assert page.compare.rowCount() == 1 and page.confusion.rowCount() == 10
    assert window.session.chosen_variant is variant
    saved = variant.save(tmp_path / "chosen.tflite")
    assert saved.read_bytes() == variant.tflite


def test_newer_settings_supersede_and_cancel_stops_the_child(qtbot: Any, window: MainWindow) -> None:
    page = window.optimize
    page.timer.setInterval(10**6)
    page.convert()
    job = window.session.jobs.job("convert")
    assert job is not None
    qtbot.waitUntil(lambda: bool(job.task.children), timeout=20000)
    child = job.task.children[0]
    page.settings.quant_buttons["float16"].setChecked(True)
    page.convert()  # supersedes the int8 conversion
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=20000)
    newer = window.session.jobs.job("convert")
    assert newer is not None and newer is not job
    qtbot.waitUntil(lambda: bool(newer.task.children), timeout=20000)
    second = newer.task.children[0]
    window.cancel_button.click()
    qtbot.waitUntil(lambda: second.poll() is not None, timeout=20000)
    qtbot.wait(300)
    assert window.session.variants == []


def test_a_converter_crash_leaves_the_app_alive(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real child process that dies (SIGABRT) in the middle of the optimize job."""
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "sitecustomize.py").write_text(
        "import os, sys\nif any('optimize_job' in a for a in sys.argv):\n"
        "    os.abort()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(crash))
    page = window.optimize
    page.convert()
    qtbot.waitUntil(lambda: page.result_card.value.text() == "failed", timeout=60000)
    assert "crashed" in page.result_card.detail.text()
    monkeypatch.delenv("PYTHONPATH")
    page.settings.sparsity.setValue(30)  # the page still works
    assert page.last_estimate is not None


def test_a_tflite_model_explains_why_pruning_is_unavailable(qtbot: Any, window: MainWindow) -> None:
    window.open(SAMPLES / "digits_int8.tflite")
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.format == "tflite", timeout=30000)
    settings = window.optimize.settings
    assert not settings.sparsity.isEnabled()
    assert "already converted" in settings.prune_note.text()
    assert not settings.quant_buttons["int8"].isEnabled()


def test_optimize_choices_are_remembered(qtbot: Any, window: MainWindow) -> None:
    settings = window.optimize.settings
    window.optimize.timer.setInterval(10**6)
    settings.quant_buttons["int16x8"].setChecked(True)
    settings.strip.setChecked(True)
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.optimize.settings.quant() == "int16x8"
    assert again.optimize.settings.strip.isChecked()
    again.optimize.settings.quant_buttons["int8"].setChecked(True)  # leave the defaults for other tests
    again.optimize.settings.strip.setChecked(False)
    again.close()
