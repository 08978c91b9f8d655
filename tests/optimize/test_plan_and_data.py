"""Settings that cannot combine are explained; bad data is refused before any conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.core.errors import WorkbenchError
from workbench.optimize.data import load_dataset
from workbench.optimize.plan import Plan, plan_problems

DIGITS_INPUT = [1, 8, 8, 1]


def test_pruning_a_tflite_file_is_explained() -> None:
    problems = plan_problems(Plan(quant="float32", sparsity=0.5), "tflite")
    assert any("pruning needs the Keras model" in p for p in problems)
    assert plan_problems(Plan(quant="float32", strip=True), "tflite") == []
    assert any("re-quantize" in p for p in plan_problems(Plan(quant="int8"), "tflite"))


def test_settings_that_cannot_combine() -> None:
    assert any("fine-tuning" in p for p in plan_problems(Plan(epochs=3), "keras"))
    assert any("float input/output" in p for p in plan_problems(Plan(quant="float16", float_io=True), "keras"))
    assert any("between 0 and 0.95" in p for p in plan_problems(Plan(sparsity=0.99), "keras"))
    assert plan_problems(Plan(quant="int8", sparsity=0.5, epochs=2, per_tensor_dense=True, strip=True), "keras") == []


def test_npz_npy_and_csv_are_read_and_shaped(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((5, 64)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(5))
    np.save(tmp_path / "d.npy", x.reshape(5, 8, 8, 1))
    np.savetxt(tmp_path / "d.csv", np.hstack([x, np.arange(5)[:, None]]), delimiter=",")
    for name, labelled in (("d.npz", True), ("d.npy", False), ("d.csv", True)):
        data = load_dataset(tmp_path / name, DIGITS_INPUT, 10)
        assert data.x.shape == (5, 8, 8, 1) and data.labelled == labelled
        np.testing.assert_allclose(data.x.reshape(5, -1), x, rtol=1e-6)


def test_a_folder_of_images_is_read_with_class_labels(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "pictures"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (16, 16), color=60 * i + (100 if label == "dog" else 0)).save(folder / label / f"{i}.png")
    data = load_dataset(folder, DIGITS_INPUT, 2)
    assert data.x.shape == (4, 8, 8, 1) and list(data.y) == [0, 0, 1, 1]  # type: ignore[arg-type]
    assert data.class_names == ["cat", "dog"]
    assert data.x.max() <= 1.0


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 10))}, "needs 64"),
        ({"x": np.full((3, 64), np.nan)}, "NaN"),
        ({"x": np.zeros((3, 64)), "y": np.array([1, 2, 10])}, "label 10 is outside"),
        ({"x": np.zeros((3, 64)), "y": np.array([1, 2])}, "3 samples but 2 labels"),
        ({"y": np.zeros(3)}, "no array named 'x'"),
        ({"x": np.zeros((0, 64))}, "no samples"),
    ],
)
def test_bad_data_gets_one_clear_line(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(WorkbenchError, match=message) as caught:
        load_dataset(tmp_path / "bad.npz", DIGITS_INPUT, 10)
    assert "bad.npz" in caught.value.message and "\n" not in caught.value.message


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(WorkbenchError, match="empty"):
        load_dataset(tmp_path / "empty.csv", DIGITS_INPUT, 10)
    with pytest.raises(WorkbenchError, match="no such file"):
        load_dataset(tmp_path / "nothing.npz", DIGITS_INPUT, 10)


def test_keras_input_shape_is_read_without_tensorflow(built_models: Path) -> None:
    from tests.conftest import SAMPLES
    from workbench.core.keras_config import keras_io_shapes

    assert keras_io_shapes(SAMPLES / "digits.keras", "keras") == ([1, 8, 8, 1], 10)
    assert keras_io_shapes(built_models / "small_cnn.keras", "keras") == ([1, 12, 12, 3], 5)
    assert keras_io_shapes(built_models / "legacy.h5", "h5") == ([1, 10, 10, 2], 3)


def test_csv_problems_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "words.csv").write_text("x1,x2\n" + ",".join(["0.5"] * 64) + "\n" + ",".join(["n/a"] * 64) + "\n")
    with pytest.raises(WorkbenchError, match="'n/a' on line 3 is not a number"):
        load_dataset(tmp_path / "words.csv", DIGITS_INPUT, 10)
    (tmp_path / "ragged.csv").write_text("1,2,3\n1,2\n")
    with pytest.raises(WorkbenchError, match=r"different lengths \(2, 3\)"):
        load_dataset(tmp_path / "ragged.csv", DIGITS_INPUT, 10)


def test_a_saved_name_ends_in_tflite_without_losing_part_of_it() -> None:
    from workbench.optimize.convert import tflite_path

    cases = {"m.bin": "m.tflite", "resnet.v2": "resnet.v2.tflite", "a.tflite": "a.tflite", "model": "model.tflite"}
    assert {name: tflite_path(Path(name)).name for name in cases} == cases


def test_before_converting_tflm_support_is_known_only_where_it_can_be(reference_models: Path) -> None:
    from workbench.core.analysis import analyze
    from workbench.core.loading import load_model
    from workbench.optimize.estimate import expected_runs_on_tflm
    from workbench.optimize.plan import Plan

    analysis = analyze(load_model(reference_models / "hello_world_float.tflite"))
    assert expected_runs_on_tflm(Plan(quant="float16"), analysis)[0] is False  # no float16 kernels
    assert expected_runs_on_tflm(Plan(quant="float32"), analysis) == (True, "")  # measured as it is
    assert expected_runs_on_tflm(Plan(quant="int8"), analysis) == (None, "")  # known once converted
    assert expected_runs_on_tflm(Plan(quant="int8"), None) == (None, "")
