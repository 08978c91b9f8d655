"""Legacy Keras 2 .h5 files (written by TensorFlow 2.x's Keras) open as the graph TensorFlow's own
converter made from them: batch norm folded into CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED,
no resource-variable operators, the right parameters and MACs, runnable on TFLM."""

from __future__ import annotations

import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from math import prod
from pathlib import Path
from typing import Any

import h5py
import pytest

from tests.conftest import SAMPLES
from tests.legacy_h5 import BENCHMARK_MODELS, RESOURCE_OR_UNFOLDED, facts
from workbench.core.analysis import analyze
from workbench.core.converter_messages import converter_error
from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.keras_config import check_h5_model, keras_version, written_by_keras2
from workbench.core.keras_loading import keras_packages_for
from workbench.core.loading import load_model
from workbench.core.tflite_file import BIAS_INPUT, TfliteFile, parse_tflite


@pytest.fixture(scope="module")
def opened(legacy: Path) -> dict[str, Any]:
    """Each benchmark model opened and analyzed as the Inspect page does, and the error opening the
    unconvertible one: two at a time, as each is a TensorFlow child (and a TFLM child)."""

    def open_one(name: str) -> Any:
        try:
            model = load_model(legacy / f"{name}.h5")
        except WorkbenchError as error:
            return error
        return model, analyze(model)

    names = [*BENCHMARK_MODELS, "unconvertible"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(open_one, names), strict=True))


def _ops(graph: TfliteFile) -> list[str]:
    return [op.op for op in graph.main.operators]


def _float_constants(graph: TfliteFile) -> Counter[bytes]:
    return Counter(t.data for t in graph.main.tensors if t.is_constant and t.dtype == "FLOAT32" and t.data)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARK_MODELS)
def test_keras2_h5_converts_to_the_graph_tensorflows_converter_made(
    name: str, legacy: Path, opened: dict[str, Any]
) -> None:
    """Same operators and the same folded weights as tf_keras + TFLiteConverter wrote for the model;
    only the RESHAPE of a Flatten that batch size 1 makes a no-op may be gone."""
    model, _ = opened[name]
    direct = parse_tflite((legacy / f"{name}_direct.tflite").read_bytes())
    ours = _ops(model.graph)
    assert not RESOURCE_OR_UNFOLDED & set(ours), ours
    assert [op for op in ours if op != "RESHAPE"] == [op for op in _ops(direct) if op != "RESHAPE"]
    assert ours.count("RESHAPE") <= _ops(direct).count("RESHAPE")
    assert _float_constants(model.graph) == _float_constants(direct)
    assert model.graph.main.tensors[model.graph.main.inputs[0]].shape == facts(legacy)[name]["input_shape"]


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARK_MODELS)
def test_keras2_h5_parameters_macs_and_layer_names_match_tf_keras(
    name: str, legacy: Path, opened: dict[str, Any]
) -> None:
    """Parameters: tf_keras' count_params() less the batch-norm parameters folded away (4 per channel:
    gamma, beta, moving mean and variance), plus the bias folding gives a bias-free conv. MACs of every
    conv/dense: output positions times kernel elements, from tf_keras' shapes. Each weighted operator
    carries its Keras layer's name."""
    _, analysis = opened[name]
    told = facts(legacy)[name]
    expected_params = told["count_params"] - told["batch_norm_params"] + told["folded_new_biases"]
    assert analysis.totals.params == expected_params
    weighted_ops = [layer for layer in analysis.layers if layer.op in BIAS_INPUT]
    assert [layer.name for layer in weighted_ops] == [w["name"] for w in told["weighted_layers"]]
    for layer, keras_layer in zip(weighted_ops, told["weighted_layers"], strict=True):
        positions = prod(keras_layer["output"][1:-1])  # output pixels of a conv, 1 for a dense layer
        assert layer.macs == positions * keras_layer["kernel_elements"], layer.name


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARK_MODELS)
def test_keras2_h5_runs_on_tflm(name: str, opened: dict[str, Any]) -> None:
    """TFLM's interpreter prepares and runs the converted model and measures its arena."""
    _, analysis = opened[name]
    assert analysis.tflm is not None and analysis.tflm.compatible, analysis.tflm
    assert analysis.arena_bytes and analysis.arena_bytes > 0
    assert analysis.totals.weight_bytes == 4 * analysis.totals.params  # float32 weights, in the file


@pytest.mark.slow
def test_h5_that_keras3_refuses_opens_with_tf_keras(legacy: Path, opened: dict[str, Any]) -> None:
    """The MobileNet calls `tf.nn.relu6` (a TFOpLambda layer to tf.keras) and its file does not even
    say which Keras wrote it: Keras 3 refuses it, the workbench opens it (checked with the other
    benchmark models above) and the layer is fused into the convolution as TensorFlow's converter did."""
    path = legacy / "mobilenet_v1.h5"
    assert "TFOpLambda" in facts(legacy)["mobilenet_v1"]["keras3_refusal"]
    assert keras_version(path, "h5") is None and not written_by_keras2(path, "h5")
    model, _ = opened["mobilenet_v1"]
    assert _ops(model.graph)[0] == "CONV_2D" and "RELU6" not in _ops(model.graph)


@pytest.mark.slow
def test_each_file_goes_to_the_keras_that_wrote_it(legacy: Path) -> None:
    """Keras 2 files (a .h5, or tf_keras' own .keras) load with tf_keras first; a .h5 that does not
    say who wrote it tries Keras 3, then tf_keras; a Keras 3 file only Keras 3."""
    assert keras_packages_for(legacy / "autoencoder.h5", "h5") == ["tf_keras", "keras"]
    assert keras_packages_for(legacy / "resnet8_keras2.keras", "keras") == ["tf_keras", "keras"]
    assert keras_packages_for(legacy / "mobilenet_v1.h5", "h5") == ["keras", "tf_keras"]
    assert keras_packages_for(SAMPLES / "digits.keras", "keras") == ["keras"]


@pytest.mark.slow
def test_lambda_layer_in_keras2_h5_is_refused(legacy: Path) -> None:
    """tf_keras would run a Lambda's stored bytecode from a .h5; the file is refused before loading."""
    with pytest.raises(UnsafeModelError, match="Lambda layer 'doubler'"):
        load_model(legacy / "lambda.h5")


@pytest.mark.slow
def test_tensorflow_call_that_loads_native_code_is_refused(legacy: Path, tmp_path: Path) -> None:
    """tf.keras stores `tf.nn.relu6(x)` as a layer naming the function; the same layer naming
    `tf.load_op_library` would load a shared library: refused, before any Keras is imported."""
    path = tmp_path / "native.h5"
    shutil.copy(legacy / "mobilenet_v1.h5", path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = handle.attrs["model_config"].replace('"nn.relu6"', '"load_op_library"')
    with pytest.raises(UnsafeModelError, match="TensorFlow call 'tf.load_op_library'"):
        load_model(path)


@pytest.mark.slow
def test_converter_failure_is_one_plain_line_with_the_converter_log_in_details(opened: dict[str, Any]) -> None:
    """An operation TFLite cannot express: the person reads what failed and why in one line and what
    to try in the hint; the converter's own words are in the details only."""
    error = opened["unconvertible"]
    assert isinstance(error, WorkbenchError), error
    assert error.message.startswith("unconvertible.h5: the conversion to TFLite failed")
    assert "tf.Erfinv" in error.message and "\n" not in error.message and "op is neither" not in error.message
    assert error.hint
    assert "'tf.Erfinv' op is neither a custom op nor a flex op" in error.details


def test_calibration_on_resource_variables_reads_as_one_plain_line() -> None:
    """The calibration failure of a graph with resource variables (the converter's text as it reached
    people before) becomes a sentence; the raw text goes to the details."""
    raw = (
        "tensorflow/lite/kernels/read_variable.cc:67 variable != nullptr was not true.\n"
        "Node number 56 (READ_VARIABLE) failed to invoke."
    )
    error = converter_error("ae.h5: the int8 conversion", RuntimeError(raw), log="calibrating 200 samples\n")
    assert error.message.startswith("ae.h5: the int8 conversion failed: ")
    assert "resource variables" in error.message
    assert "\n" not in error.message and "read_variable.cc" not in error.message
    assert raw in error.details and "calibrating 200 samples" in error.details and error.hint


def test_damaged_and_weights_only_h5_files_are_named_plainly(tmp_path: Path) -> None:
    """An HDF5 signature followed by garbage, and a file of weights only, each refused in one line."""
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(WorkbenchError) as caught:
        check_h5_model(damaged)
    assert caught.value.message.startswith("damaged.h5: the .h5 file is damaged or truncated")
    assert "h5py" in caught.value.details
    weights = tmp_path / "weights.h5"
    with h5py.File(weights, "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.attrs["keras_version"] = b"2.15.0"
        handle.create_group("dense")
    assert written_by_keras2(weights, "h5")
    with pytest.raises(WorkbenchError, match="holds only weights"):
        check_h5_model(weights)
