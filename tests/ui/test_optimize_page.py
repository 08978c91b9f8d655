"""The Optimize page driven as a person would: sliders, verified conversions, cancel, a crash,
data read as jobs, results that belong to their model, and honest accuracy and fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import SAMPLES, child_fault
from workbench.core.fit import BAD, GOOD
from workbench.optimize.convert import optimize_model
from workbench.optimize.plan import Plan, plan_problems
from workbench.ui.main_window import MainWindow
from workbench.ui.widgets.cards import LEVEL_COLORS, MUTED


def _ready(window: MainWindow) -> bool:
    analysis = window.session.analysis
    return analysis is not None and analysis.tflm is not None and not window.optimize._loading


def _open_window(qtbot: Any, path: Path) -> MainWindow:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    main.open(path)
    qtbot.waitUntil(lambda: main.session.model is not None and main.session.model.path == path, timeout=120000)
    qtbot.waitUntil(lambda: _ready(main), timeout=60000)
    main.steps.setCurrentIndex(1)
    return main


def _close(main: MainWindow) -> None:
    main._closing_confirmed = True  # variants left unsaved on purpose
    main.close()


@pytest.fixture
def window(qtbot: Any) -> MainWindow:
    """The sample Keras model (TensorFlow converts it once; the cache serves it after)."""
    main = _open_window(qtbot, SAMPLES / "digits.keras")
    yield main
    _close(main)


@pytest.fixture
def tflite_window(qtbot: Any) -> MainWindow:
    """The sample as float .tflite: no TensorFlow involved."""
    main = _open_window(qtbot, SAMPLES / "digits_float.tflite")
    yield main
    _close(main)


@pytest.mark.slow
def test_opening_the_sample_preselects_its_data_and_starts_no_conversion(window: MainWindow) -> None:
    page = window.optimize
    assert "digits_calib.npz" in page.settings.calibration.label.text()
    assert page.settings.evaluation.label.text() == "digits_eval.npz · 450 labelled samples"
    evaluation = page.settings.data["evaluation"]
    assert evaluation is not None and evaluation.labelled and len(evaluation) == 450
    assert not page.timer.isActive() and not window.session.jobs.running("convert")
    assert page.result_card.value.text() == "not converted yet"
    assert "digits_eval.npz" in page.result_card.detail.text()
    assert page.convert_button.isVisible() and page.convert_button.text() == "Convert now"
    window.steps.setCurrentIndex(0)  # the Inspect page neither
    assert not page.timer.isActive() and window.session.variants == []


@pytest.mark.slow
def test_moving_the_slider_updates_the_estimate_at_once_and_converts_once_settled(window: MainWindow) -> None:
    page = window.optimize
    page.timer.setInterval(10**6)  # keep the background conversion out of this test
    before = page.compressed_card.value.text()
    flash_before = page.flash_card.value.text()
    page.settings.sparsity.setValue(80)  # no event loop turn: the estimate must already be there
    assert page.compressed_card.value.text() != before
    assert page.flash_card.value.text() == flash_before  # TFLM stores tensors dense: flash is unchanged
    assert page.timer.isActive()  # a person's change: a conversion once the settings rest
    page.settings.quant_buttons["float32"].setChecked(True)
    assert page.flash_card.value.text() == "39.5 KB"
    assert window.session.state.plan == page.settings.plan()  # the session holds the plan on screen
    assert (window.session.state.plan.quant, window.session.state.plan.sparsity) == ("float32", 0.8)


@pytest.mark.slow
def test_a_verified_result_shows_its_interval_is_reused_for_the_same_settings_and_saves(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = window.optimize
    page.convert_button.click()
    qtbot.waitUntil(lambda: len(window.session.variants) == 1, timeout=120000)
    variant = window.session.variants[0]
    assert page.result_card.value.text() == f"{variant.actual.flash_bytes / 1024:.1f} KB"
    assert LEVEL_COLORS[GOOD] in page.result_card.value.styleSheet()
    assert "Runs on TFLM" in page.result_card.detail.text()
    assert "Accuracy on 450 labelled samples" in page.accuracy.text() and "95% interval" in page.accuracy.text()
    assert page.compare.rowCount() == 1 and page.confusion.rowCount() == 10
    assert page.compare.item(0, 1).text() == (
        "calibrated on digits_calib.npz (200 of 300) · evaluated on digits_eval.npz (450)"
    )
    assert window.session.chosen_variant is variant
    assert page.fit_card.title.text() == "BOARD FIT (VERIFIED)"

    page.convert()  # the same settings on the same data: no second row
    assert len(window.session.variants) == 1 and not window.session.jobs.running("convert")
    assert "Same settings and data" in page.notice.text()

    asked: list[Path] = []
    target = tmp_path / "out" / "mine.tflite"
    target.parent.mkdir()
    monkeypatch.setattr(page, "ask_save_path", lambda suggested: asked.append(suggested) or target)
    page.save_button.click()
    assert target.read_bytes() == variant.tflite and variant.saved_to == target
    assert not str(asked[0]).startswith(str(SAMPLES))  # never inside the app's own files
    assert page.compare.item(0, 7).text() == "mine.tflite" and window.session.unsaved_variants() == []
    page.save_button.click()
    assert asked[1].parent == target.parent  # the last folder saved to
    target.write_bytes(b"keep me")
    questions: list[Path] = []
    monkeypatch.setattr(page, "ask_save_path", lambda suggested: target.with_suffix(".bin"))
    monkeypatch.setattr(page, "confirm_replace", lambda path: questions.append(path) or False)
    page.save_button.click()  # 'mine.bin' would be written as mine.tflite: asked, and declined
    assert questions == [target] and target.read_bytes() == b"keep me"


@pytest.mark.slow
def test_float16_does_not_fit_and_an_int8_option_is_said_not_used(window: MainWindow) -> None:
    page = window.optimize
    page.timer.setInterval(10**6)
    settings = page.settings
    settings.float_io.setChecked(True)
    settings.quant_buttons["float16"].setChecked(True)
    assert page.fit_card.verdict.text().startswith("Does not run on Arduino Nano 33 BLE Sense")
    assert LEVEL_COLORS[BAD] in page.fit_card.verdict.styleSheet()
    assert MUTED in page.fit_card.flash_gauge.bar.styleSheet()  # not a green bar for a model that cannot run
    plan = settings.plan()
    assert plan.float_io is False and plan_problems(plan, "keras") == []
    assert settings.float_io.isChecked() and not settings.float_io.isEnabled()  # the choice is kept
    assert "not used with Float16" in settings.unused_note.text() and not settings.unused_note.isHidden()
    settings.quant_buttons["int8"].setChecked(True)
    assert settings.plan().float_io is True and settings.unused_note.isHidden()


@pytest.mark.slow
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
    assert page.result_card.value.text() == "cancelled"
    assert window.session.variants == []


@pytest.mark.slow
def test_a_converter_crash_reaches_the_one_error_place_and_the_app_lives(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real child process that dies (SIGABRT) in the middle of the optimize job."""
    child_fault(monkeypatch, "optimize_job", "work-abort")
    page = window.optimize
    with qtbot.waitSignal(window.session.error, timeout=60000) as caught:
        page.convert()
    assert "crashed" in caught.args[0].message
    assert page.result_card.value.text() == "failed" and "crashed" in page.result_card.detail.text()
    monkeypatch.delenv("WORKBENCH_FAULT")
    page.settings.sparsity.setValue(30)  # the page still works
    assert page.last_estimate is not None


@pytest.mark.slow
def test_a_result_for_one_model_never_lands_in_another(qtbot: Any, window: MainWindow) -> None:
    page = window.optimize
    page.timer.setInterval(10**6)
    generation = window.session.generation
    page.convert()  # for digits.keras
    job = window.session.jobs.job("convert")
    assert job is not None
    qtbot.waitUntil(lambda: bool(job.task.children), timeout=20000)
    child = job.task.children[0]
    window.open(SAMPLES / "digits_float.tflite")
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.format == "tflite", timeout=30000)
    qtbot.waitUntil(lambda: child.poll() is not None and not window.session.jobs.running("convert"), timeout=30000)
    qtbot.waitUntil(lambda: _ready(window), timeout=30000)
    assert window.session.variants == [] and window.session.chosen_variant is None
    assert page.compare.rowCount() == 0 and page.shown is None
    # Even a result that does arrive, late, for the model open before is dropped.
    model, analysis = window.session.model, window.session.analysis
    late = optimize_model(model, analysis, Plan(quant="float32", strip=True))  # type: ignore[arg-type]
    page._converted(late, generation, page._key(late.plan))
    assert window.session.variants == [] and page.compare.rowCount() == 0 and page.shown is None


def test_data_is_read_as_a_job_and_a_bad_file_reaches_the_one_error_place(
    qtbot: Any, tflite_window: MainWindow, tmp_path: Path
) -> None:
    from PIL import Image

    window, page = tflite_window, tflite_window.optimize
    assert page.settings.data["evaluation"] is not None  # the sample's data, found beside it
    before = page.settings.data["evaluation"]
    pixels = np.load(SAMPLES / "digits_eval.npz")["x"][:40].astype("float32")
    labels = np.load(SAMPLES / "digits_eval.npz")["y"][:40]
    for index, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        folder = tmp_path / "pictures" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image[..., 0] * 255).astype("uint8")).resize((32, 32)).save(folder / f"{index}.png")
    page.load_data("evaluation", str(tmp_path / "pictures"))
    assert page.settings.data["evaluation"] is before  # not read on the GUI thread
    assert page.settings.evaluation.label.text() == "reading pictures…"
    qtbot.waitUntil(lambda: page.settings.data["evaluation"] is not before, timeout=30000)
    assert len(page.settings.data["evaluation"]) == 40 and page.settings.data["evaluation"].labelled  # type: ignore[arg-type]
    assert page.timer.isActive()  # the person's data: a conversion once things rest
    page.timer.stop()
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with qtbot.waitSignal(window.session.error, timeout=30000) as caught:
        page.load_data("evaluation", str(tmp_path / "bad.npz"))
    assert caught.args[0].message.startswith("bad.npz")
    assert len(page.settings.data["evaluation"]) == 40  # type: ignore[arg-type]  # what was there stays
    assert page.settings.evaluation.label.text().startswith("pictures · 40 labelled samples")


def test_few_calibration_samples_and_few_evaluation_samples_are_warned_before_converting(
    qtbot: Any, tflite_window: MainWindow, tmp_path: Path
) -> None:
    page = tflite_window.optimize
    np.savez(tmp_path / "ten.npz", x=np.zeros((10, 8, 8, 1), "float32"), y=np.arange(10))
    page.load_data("evaluation", str(tmp_path / "ten.npz"))
    qtbot.waitUntil(lambda: len(page.settings.data["evaluation"] or []) == 10, timeout=30000)
    assert "Only 10 labelled evaluation samples" in page.settings.data_note.text()
    page.timer.stop()


@pytest.mark.slow
def test_a_tflite_model_keeps_the_keras_choices_for_later(qtbot: Any, window: MainWindow) -> None:
    settings = window.optimize.settings
    window.optimize.timer.setInterval(10**6)
    settings.quant_buttons["int16x8"].setChecked(True)
    settings.sparsity.setValue(40)
    window.open(SAMPLES / "digits_int8.tflite")
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.format == "tflite", timeout=30000)
    assert not settings.sparsity.isEnabled() and "already converted" in settings.prune_note.text()
    assert not settings.quant_buttons["int8"].isEnabled() and settings.quant() == "float32"
    assert settings.state()["quant"] == "int16x8"
    window.open(SAMPLES / "digits.keras")
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.format == "keras", timeout=60000)
    assert settings.quant() == "int16x8" and settings.sparsity.value() == 40
    assert not window.optimize.timer.isActive()  # opening a model converts nothing


def test_optimize_choices_are_remembered(qtbot: Any, isolated_home: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    settings = first.optimize.settings
    settings.quant_buttons["int16x8"].setChecked(True)
    settings.strip.setChecked(True)
    settings.sparsity.setValue(30)
    first.close()
    assert first.settings.fileName() == str(isolated_home / "settings.ini")  # this test's own
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.optimize.settings.quant() == "int16x8"
    assert again.optimize.settings.strip.isChecked() and again.optimize.settings.sparsity.value() == 30
    again.close()
