"""analysis figures against independent calculation: MACs by hand, parameters from Keras."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.core.analysis import analyze, graph_figures
from workbench.core.loading import load_model

# small_cnn (tests/model_factory.py), input 12x12x3, counted by hand:
HAND_MACS = {
    "conv": 10 * 10 * 8 * (3 * 3 * 3),  # valid 3x3 conv, 8 filters over 3 channels
    "depthwise": 8 * 8 * 8 * (3 * 3),  # 3x3 depthwise on 8 channels
    "pointwise": 8 * 8 * 4 * 8,  # 1x1 conv 8 -> 4
    "classes": 64 * 5,  # dense 64 -> 5
}


def test_keras_model_macs_match_hand_count(built_models: Path) -> None:
    analysis = graph_figures(load_model(built_models / "small_cnn.keras"))
    by_name = {layer.name: layer for layer in analysis.layers}
    for name, macs in HAND_MACS.items():
        assert by_name[name].macs == macs, name
    assert analysis.totals.macs == sum(HAND_MACS.values())
    assert by_name["pool"].ops == 4 * 4 * 4 * (2 * 2)


def test_parameter_counts_agree_with_keras(built_models: Path) -> None:
    facts = json.loads((built_models / "facts.json").read_text())["small_cnn"]
    analysis = graph_figures(load_model(built_models / "small_cnn.keras"))
    by_name = {layer.name: layer for layer in analysis.layers}
    for name, params in facts["params_by_layer"].items():
        if params:
            assert by_name[name].params == params, name
    assert analysis.totals.params == facts["params"]


def test_keras_input_is_converted_with_batch_one_and_no_shape_ops(built_models: Path) -> None:
    """A dynamic batch would turn Flatten into SHAPE/STRIDED_SLICE/PACK/RESHAPE."""
    model = load_model(built_models / "small_cnn.keras")
    ops = [op.op for op in model.graph.main.operators]
    assert "SHAPE" not in ops and "PACK" not in ops
    assert model.graph.main.tensors[model.graph.main.inputs[0]].shape == [1, 12, 12, 3]


def test_person_detect_analysis_is_consistent(reference_models: Path) -> None:
    analysis = analyze(load_model(reference_models / "person_detect.tflite"))
    assert len(analysis.layers) == 31
    assert analysis.totals.macs == sum(layer.macs for layer in analysis.layers)
    # every conv's MACs follow output elements x kernel volume
    first = analysis.layers[0]
    assert first.op == "DEPTHWISE_CONV_2D" and first.output == [1, 48, 48, 8]
    assert first.macs == 48 * 48 * 8 * 3 * 3
    assert analysis.tflm is not None and analysis.tflm.compatible
    assert analysis.arena_bytes and analysis.arena_bytes < 136 * 1024  # the example's hand-picked arena


def test_json_has_the_documented_fields(reference_models: Path) -> None:
    data = analyze(load_model(reference_models / "hello_world_int8.tflite")).to_json()
    for key in ("file", "format", "size_bytes", "layers", "totals", "flash_breakdown", "arena_bytes", "tflm"):
        assert key in data
    layer = data["layers"][0]
    for key in (
        "index",
        "name",
        "op",
        "inputs",
        "output",
        "dtype",
        "params",
        "weight_bytes",
        "macs",
        "activation_bytes",
    ):
        assert key in layer
    assert data["layers"][0]["macs"] == 16  # FC 1 -> 16
    assert data["totals"]["macs"] == 16 + 16 * 16 + 16


def test_default_keras_layer_names_map_to_their_operators(built_models: Path) -> None:
    """conv2d and conv2d_1 against TensorFlow scopes conv2d_1 and conv2d_1_1: each op gets its own layer."""
    expected = json.loads((built_models / "facts.json").read_text())["residual_layers"]
    analysis = graph_figures(load_model(built_models / "residual.keras"))
    assert [layer.op for layer in analysis.layers] == [
        "CONV_2D",
        "CONV_2D",
        "ADD",
        "TRANSPOSE_CONV",
        "MEAN",
        "FULLY_CONNECTED",
    ]
    assert [layer.name for layer in analysis.layers] == expected
