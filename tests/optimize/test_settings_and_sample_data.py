"""Settings are normalized in one place and say what they drop; data is read with its labels,
as a cancellable job; the sample ships the held-out data it was measured on."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SAMPLES
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.optimize.convert import data_used
from workbench.optimize.data import data_beside, load_dataset, synthetic_dataset
from workbench.optimize.plan import QUANT_MODES, Plan, calibration_warnings, data_roles, normalize, plan_problems
from workbench.tasks import Task

DIGITS_INPUT = [1, 8, 8, 1]


def test_normalized_plans_are_never_refused_and_every_drop_is_said() -> None:
    """Every combination the GUI's widgets can hold, for every kind of model."""
    for fmt, quant, float_io, per_tensor, sparsity, epochs, train in itertools.product(
        ("keras", "h5", "saved_model", "tflite"), QUANT_MODES, (False, True), (False, True), (0.0, 0.5), (0, 3), (0, 1)
    ):
        raw = Plan(quant=quant, float_io=float_io, per_tensor_dense=per_tensor, sparsity=sparsity, epochs=epochs)
        plan, notes = normalize(raw, fmt, has_training_data=bool(train))
        assert plan_problems(plan, fmt) == [], (raw, fmt)
        changed = {field for field in raw.to_json() if getattr(raw, field) != getattr(plan, field)}
        assert changed == set(notes), (raw, fmt, notes)


def test_an_int8_option_with_float16_is_named_as_not_used() -> None:
    plan, notes = normalize(Plan(quant="float16", float_io=True), "keras", has_training_data=False)
    assert plan.float_io is False
    assert notes == {"float_io": "'Keep float input and output' is not used with Float16 weights."}
    assert plan_problems(Plan(quant="float16", float_io=True), "keras")  # the command line refuses it


def test_fewer_calibration_samples_than_asked_are_warned() -> None:
    plan = Plan(quant="int8", calibration_samples=200)
    assert "fewer than the 200" in calibration_warnings(plan, 10)[0]
    assert calibration_warnings(plan, 300) == []
    assert "random inputs" in calibration_warnings(plan, None)[0]
    assert calibration_warnings(Plan(quant="float16"), None) == []


def test_labels_in_a_file_beside_a_csv_are_read(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((4, 64))
    np.savetxt(tmp_path / "mine.csv", x, delimiter=",")
    assert not load_dataset(tmp_path / "mine.csv", DIGITS_INPUT, 10).labelled
    (tmp_path / "mine_labels.txt").write_text("3\n1\n4\n1\n")
    data = load_dataset(tmp_path / "mine.csv", DIGITS_INPUT, 10)
    assert data.y is not None and list(data.y) == [3, 1, 4, 1]
    (tmp_path / "mine_labels.txt").write_text("3\n1\n")
    with pytest.raises(WorkbenchError, match="has 4 samples but 2 labels"):
        load_dataset(tmp_path / "mine.csv", DIGITS_INPUT, 10)


def test_the_shipped_sample_csv_is_labelled_by_the_file_beside_it() -> None:
    data = load_dataset(SAMPLES / "digits_samples.csv", DIGITS_INPUT, 10)
    assert data.y is not None and list(data.y) == list(range(10))


def test_reading_a_folder_of_images_reports_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "pictures"
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(20):
            Image.new("L", (16, 16), color=i * 10).save(folder / label / f"{i}.png")
    seen: list[tuple[float, str]] = []
    data = load_dataset(folder, DIGITS_INPUT, 2, Task(on_progress=lambda f, s: seen.append((f, s))))
    assert len(data) == 40 and data.class_names == ["a", "b"] and any("Reading images" in s for _, s in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0
    task = Task(on_progress=lambda f, s: task.cancel() if "of 40" in s else None)
    with pytest.raises(Cancelled):
        load_dataset(folder, DIGITS_INPUT, 2, task)


def test_the_same_data_has_the_same_fingerprint_wherever_it_comes_from(tmp_path: Path) -> None:
    x = (np.arange(3 * 64).reshape(3, 64) % 17 / 16).astype("float32")
    np.savez(tmp_path / "a.npz", x=x.reshape(3, 8, 8, 1))
    np.savetxt(tmp_path / "b.csv", x, delimiter=",", fmt="%.4f")
    a, b = (load_dataset(tmp_path / name, DIGITS_INPUT, 10) for name in ("a.npz", "b.csv"))
    assert a.fingerprint == b.fingerprint
    np.savez(tmp_path / "c.npz", x=x.reshape(3, 8, 8, 1)[::-1])
    assert load_dataset(tmp_path / "c.npz", DIGITS_INPUT, 10).fingerprint != a.fingerprint


def test_what_data_a_variant_used_is_recorded() -> None:
    calibration = load_dataset(SAMPLES / "digits_calib.npz", DIGITS_INPUT, 10)
    evaluation = load_dataset(SAMPLES / "digits_eval.npz", DIGITS_INPUT, 10)
    data = {"calibration": calibration, "evaluation": evaluation, "train": None}
    assert data_used(Plan(quant="int8"), data) == {
        "calibration": "digits_calib.npz (200 of 300)",
        "evaluation": "digits_eval.npz (450)",
    }
    assert data_used(Plan(quant="float16"), data) == {"evaluation": "digits_eval.npz (450)"}
    assert data_roles(Plan(quant="int8", sparsity=0.5, epochs=2)) == ("calibration", "evaluation", "train")
    random = {"calibration": synthetic_dataset(DIGITS_INPUT, 200), "evaluation": None}
    assert data_used(Plan(quant="int8"), random) == {"calibration": "random inputs (200)"}


def _train_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("train_digits", SAMPLES / "train_digits.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.split()  # type: ignore[no-any-return]


def test_the_sample_ships_its_held_out_data_small_labelled_and_beside_the_model() -> None:
    assert data_beside(SAMPLES / "digits.keras") == {
        "calibration": SAMPLES / "digits_calib.npz",
        "evaluation": SAMPLES / "digits_eval.npz",
    }
    x_train, x_test, y_train, y_test = _train_digits_split()
    evaluation = load_dataset(SAMPLES / "digits_eval.npz", DIGITS_INPUT, 10)
    calibration = load_dataset(SAMPLES / "digits_calib.npz", DIGITS_INPUT, 10)
    np.testing.assert_array_equal(evaluation.x, x_test)  # float16 holds the k/16 pixels exactly
    np.testing.assert_array_equal(evaluation.y, y_test)  # type: ignore[arg-type]
    np.testing.assert_array_equal(calibration.x, x_train[: len(calibration)])
    assert len(evaluation) == 450 and len(calibration) >= 200 and calibration.labelled
    for name in ("digits_eval.npz", "digits_calib.npz"):
        assert (SAMPLES / name).stat().st_size < 32 * 1024
