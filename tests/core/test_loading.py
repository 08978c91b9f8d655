"""Loading: every format, safe mode for Keras code, and one clear line for every bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import child_fault
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.loading import load_model


def test_tflite_keras_h5_and_saved_model_load(built_models: Path, reference_models: Path) -> None:
    assert load_model(reference_models / "person_detect.tflite").format == "tflite"
    keras_model = load_model(built_models / "small_cnn.keras")
    assert keras_model.format == "keras" and "conv" in keras_model.layer_names
    saved = load_model(built_models / "saved_model")
    assert saved.format == "saved_model"
    assert saved.graph.main.tensors[saved.graph.main.inputs[0]].shape == [1, 6]


def test_legacy_keras2_h5_with_depthwise_groups_loads(built_models: Path) -> None:
    import h5py

    with h5py.File(built_models / "legacy.h5") as handle:
        assert b'"groups": 1' in handle.attrs["model_config"].encode()
    model = load_model(built_models / "legacy.h5")
    assert [op.op for op in model.graph.main.operators][0] == "DEPTHWISE_CONV_2D"


def test_lambda_layer_is_refused_unless_allowed(built_models: Path) -> None:
    with pytest.raises(UnsafeModelError, match="Lambda layer 'doubler'"):
        load_model(built_models / "lambda.keras")
    model = load_model(built_models / "lambda.keras", allow_unsafe=True)
    # Its "x * 2" runs on constant weights, which the converter folds into the dense layer.
    assert [op.op for op in model.graph.main.operators] == ["FULLY_CONNECTED"]


def test_unregistered_custom_layer_is_refused_and_never_run(built_models: Path) -> None:
    with pytest.raises(UnsafeModelError, match="custom object 'factory>Doubling'"):
        load_model(built_models / "custom_layer.keras")
    # Even when allowed, a class whose code is not installed cannot load: a clear line, no traceback.
    with pytest.raises(WorkbenchError) as caught:
        load_model(built_models / "custom_layer.keras", allow_unsafe=True)
    assert "custom_layer.keras" in caught.value.message and "\n" not in caught.value.message
    assert "not installed" in caught.value.message


def _one_line(error: WorkbenchError) -> str:
    assert "\n" not in error.message and "Traceback" not in error.message
    return error.message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d, r: d / "missing.tflite", "no such file"),
        (lambda d, r: _write(d / "empty.tflite", b""), "empty"),
        (
            lambda d, r: _write(d / "cut.tflite", (r / "person_detect.tflite").read_bytes()[:40000]),
            "not a valid TFLite",
        ),
        (lambda d, r: _write(d / "notes.tflite", b"hello, this is just text\n" * 10), "not a valid TFLite"),
        (lambda d, r: _write(d / "photo.tflite", b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "not a valid TFLite"),
        (lambda d, r: _mkdir(d / "folder"), "not a SavedModel"),
        (lambda d, r: _write(d / "fake.keras", b"not a zip"), "not a Keras model file"),
        (lambda d, r: _write(d / "fake.h5", b"text"), "not an HDF5 file"),
        (lambda d, r: _write(d / "corrupt.h5", b"\x89HDF\r\n\x1a\n" + b"garbage" * 40), "damaged or truncated"),
        (lambda d, r: _weights_only(d / "weights.h5"), "holds only weights"),
    ],
)
def test_bad_inputs_give_one_line_naming_the_file(tmp_path: Path, reference_models: Path, make, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path, reference_models)
    with pytest.raises(WorkbenchError) as caught:
        load_model(path)
    message = _one_line(caught.value)
    assert expected in message
    assert path.name in message


def test_a_keras_model_opened_before_opens_from_the_cache_without_tensorflow(
    built_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_conversion_cache: Path
) -> None:
    """The second open of the same bytes needs no child: one that would abort proves it."""
    source = tmp_path / "copy.keras"
    shutil.copy(built_models / "small_cnn.keras", source)
    first = load_model(source)
    assert len(list(fresh_conversion_cache.glob("*.tflite"))) == 1
    child_fault(monkeypatch, "keras_convert", "work-abort")
    again = load_model(source)
    assert again.tflite == first.tflite and again.layer_names == first.layer_names
    source.write_bytes(source.read_bytes() + b"\0")  # other content: converted again, in the aborting child
    with pytest.raises(WorkbenchError, match="crashed"):
        load_model(source)


def test_corrupt_flatbuffer_offsets_do_not_crash(tmp_path: Path, reference_models: Path) -> None:
    data = bytearray((reference_models / "micro_speech_quantized.tflite").read_bytes())
    data[20:60] = b"\xff" * 40
    path = _write(tmp_path / "corrupt.tflite", bytes(data))
    with pytest.raises(WorkbenchError):
        load_model(path)


def test_unregistered_custom_operator_is_refused(built_models: Path) -> None:
    with pytest.raises(WorkbenchError, match="custom operator BesselI0"):
        load_model(built_models / "custom_op.tflite")


def test_truncated_keras_archive(tmp_path: Path, built_models: Path) -> None:
    data = (built_models / "small_cnn.keras").read_bytes()
    path = _write(tmp_path / "cut.keras", data[: len(data) // 2])
    with pytest.raises(WorkbenchError, match="cut.keras"):
        load_model(path)


def test_saved_model_copy_without_variables_fails_cleanly(tmp_path: Path, built_models: Path) -> None:
    target = tmp_path / "broken_saved_model"
    shutil.copytree(built_models / "saved_model", target)
    shutil.rmtree(target / "variables")
    with pytest.raises(WorkbenchError):
        load_model(target)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _weights_only(path: Path) -> Path:
    """What Keras' save_weights writes: layer names and weights, no model config."""
    import h5py
    import numpy as np

    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.create_group("dense").create_dataset("kernel:0", data=np.zeros((2, 2), "float32"))
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    (path / "readme.txt").write_text("not a model")
    return path
