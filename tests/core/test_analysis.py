"""analysis figures against independent calculation: MACs by hand, parameters from Keras."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_fused_keras_lstm_counts_four_gates_over_input_and_state(sequence_models: Path) -> None:
    """A Keras 2 LSTM(6) over 8 steps of 4 features converts to one UNIDIRECTIONAL_SEQUENCE_LSTM; per
    step each of the 4 gates multiplies the 4 inputs and the 6 outputs of the last step, for 6 cells."""
    facts = json.loads((sequence_models / "facts.json").read_text())
    analysis = graph_figures(load_model(sequence_models / "lstm_fused.tflite"))
    lstm = analysis.layers[0]
    assert lstm.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    assert lstm.macs == 8 * 4 * 6 * (4 + 6)
    assert lstm.ops == 0
    # The converter stores the three equal zero biases once; the gates still have a bias each.
    assert lstm.params == facts["lstm_fused_params"][0]


@pytest.mark.slow
def test_while_loop_lstm_counts_every_iteration_of_its_body(sequence_models: Path) -> None:
    """Keras 3 writes the same LSTM as a WHILE loop: the body's two matrix products (24x4 on the input,
    24x6 on the state) run once per time step; the trip count comes from the loop condition."""
    facts = json.loads((sequence_models / "facts.json").read_text())
    analysis = graph_figures(load_model(sequence_models / "lstm_while.tflite"))
    loop = next(layer for layer in analysis.layers if layer.op == "WHILE")
    assert loop.macs == 8 * (24 * 4 + 24 * 6)
    body = [layer for layer in analysis.nested_layers if layer.subgraph == loop.calls[0]]
    condition = [layer for layer in analysis.nested_layers if layer.subgraph == loop.calls[1]]
    assert {layer.runs for layer in body} == {8} and {layer.runs for layer in condition} == {9}
    assert sorted(layer.macs for layer in body if layer.op == "FULLY_CONNECTED") == [24 * 4, 24 * 6]
    assert all(layer.called_by == [0, loop.index] for layer in body + condition)
    dense = analysis.layers[-1]
    assert analysis.totals.macs == loop.macs + dense.macs == 8 * 4 * 6 * (4 + 6) + 6 * 2
    assert analysis.totals.params == sum(facts["lstm_while_params"])
    assert any("8 times per inference" in note for note in analysis.notes)


@pytest.mark.slow
def test_simple_rnn_loop_and_3d_convolutions_match_hand_counts(sequence_models: Path) -> None:
    """SimpleRNN(5) over 7 steps of 3 features: 5 units x (3 inputs + 5 states) per step. Conv3D, 4
    filters of 2x3x2 over 2 channels: 4x4x4 outputs per filter. Conv3DTranspose, 3 filters of 2x2x2:
    each of the 4x4x4x2 input values is spread over 2x2x2 positions of 3 filters."""
    facts = json.loads((sequence_models / "facts.json").read_text())
    rnn = graph_figures(load_model(sequence_models / "rnn_while.tflite"))
    assert rnn.totals.macs == 7 * 5 * (3 + 5)
    assert rnn.totals.params == facts["rnn_while_params"]
    conv = graph_figures(load_model(sequence_models / "conv3d.tflite")).layers[0]
    assert conv.op == "CONV_3D" and conv.macs == (4 * 4 * 4 * 4) * (2 * 3 * 2 * 2)
    transposed = graph_figures(load_model(sequence_models / "conv3d_transpose.tflite")).layers[0]
    assert transposed.op == "CONV_3D_TRANSPOSE" and transposed.macs == (4 * 4 * 4 * 2) * (2 * 2 * 2 * 3)


@pytest.mark.slow
def test_table_shows_the_loop_body_under_its_while_row(sequence_models: Path) -> None:
    """The operators of the body follow the WHILE row, numbered subgraph:operator, with their runs."""
    from workbench.text_report import analysis_text

    analysis = graph_figures(load_model(sequence_models / "lstm_while.tflite"))
    text = analysis_text(analysis)
    lines = text.splitlines()
    loop_row = next(i for i, line in enumerate(lines) if line.split()[:2] == ["1", "WHILE"])
    first_inside = lines[loop_row + 1]
    assert first_inside.split()[0] == "2:0" and " x8 " in first_inside
    assert "inside control flow included" in text
    data = analysis.to_json()
    assert len(data["nested_layers"]) == len(analysis.nested_layers) == 19 + 3


@pytest.mark.slow
def test_if_counts_its_larger_branch_and_an_unknown_loop_one_iteration(sequence_models: Path) -> None:
    """tf.cond between a 4x8 and a 4x3 matrix product on a 1x4 input: at most 32 MACs run, both
    matrices are stored (the IF hands them to its branches). A loop that runs until the data says
    stop has no trip count in the graph: one iteration is counted, and the note says so."""
    branches = graph_figures(load_model(sequence_models / "if.tflite"))
    choice = next(layer for layer in branches.layers if layer.op == "IF")
    assert choice.macs == 4 * 8
    assert choice.params == 4 * 8 + 4 * 3
    assert any("larger branch" in note for note in branches.notes)
    loop = graph_figures(load_model(sequence_models / "while_data_dependent.tflite"))
    body = [layer for layer in loop.nested_layers if layer.op == "FULLY_CONNECTED"]
    assert [layer.runs for layer in body] == [None] and loop.totals.macs == 4 * 4
    assert any("per iteration" in note for note in loop.notes)
