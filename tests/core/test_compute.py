"""MACs of the recurrent kernels against hand counts, on one-operator models built by hand.

No converter writes these operators from Keras (SVDF, the bidirectional and plain RNN/LSTM
kernels), so each model is written with the TFLite schema; the input orders follow the TFLite
kernels. Real converted LSTM, RNN and 3D convolution models are checked in test_analysis.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.tflite_builder import T, one_op_model
from workbench.core.analysis import Layer, graph_figures
from workbench.core.loading import load_model


def _only_layer(tmp_path: Path, data: bytes) -> Layer:
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    analysis = graph_figures(load_model(path))
    assert len(analysis.layers) == 1
    assert analysis.totals.macs == analysis.layers[0].macs
    return analysis.layers[0]


def _w(*shape: int) -> T:
    return T(list(shape), constant=True)


def _lstm_inputs(
    n_input: int, n_cell: int, n_output: int, *, cifg: bool = False, peephole: bool = False, projection: bool = False
) -> list[T | None]:
    """Inputs 1-17 of an LSTM cell: gate weights, recurrent weights, peepholes, biases, projection."""
    gates = 3 if cifg else 4
    input_weights: list[T | None] = ([None] if cifg else []) + [_w(n_cell, n_input) for _ in range(gates)]
    recurrent: list[T | None] = ([None] if cifg else []) + [_w(n_cell, n_output) for _ in range(gates)]
    peepholes: list[T | None] = (
        [None if cifg else _w(n_cell), _w(n_cell), _w(n_cell)] if peephole else [None, None, None]
    )
    biases: list[T | None] = ([None] if cifg else []) + [_w(n_cell) for _ in range(gates)]
    projected: list[T | None] = [_w(n_output, n_cell), None] if projection else [None, None]
    return input_weights + recurrent + peepholes + biases + projected


def test_svdf_counts_feature_and_time_filters_per_batch_row(tmp_path: Path) -> None:
    """SVDF, batch 2, 10 inputs, 12 filters (rank 2: 6 units), memory 5: each row multiplies its input
    by the 12x10 feature weights and the 12 filters' memories by the 12x5 time weights."""
    layer = _only_layer(
        tmp_path,
        one_op_model(
            "SVDF",
            [T([2, 10]), _w(12, 10), _w(12, 5), _w(6), T([2, 60], variable=True)],
            [T([2, 6])],
            "SVDFOptions",
            rank=2,
        ),
    )
    assert layer.macs == 2 * 12 * (10 + 5)
    assert layer.params == 12 * 10 + 12 * 5 + 6
    assert layer.ops == 0


def test_sequence_lstm_with_cifg_peepholes_and_projection(tmp_path: Path) -> None:
    """4 steps; no input gate (CIFG): 3 gates x 5 cells x (3 inputs + 2 outputs), 2 peepholes of 5,
    a 2x5 projection, per step."""
    inputs = [T([1, 4, 3]), *_lstm_inputs(3, 5, 2, cifg=True, peephole=True, projection=True)]
    inputs += [T([1, 2], variable=True), T([1, 5], variable=True), None, None, None, None]
    assert len(inputs) == 24
    layer = _only_layer(
        tmp_path,
        one_op_model("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [T([1, 4, 2])], "UnidirectionalSequenceLSTMOptions"),
    )
    per_step = 3 * 5 * (3 + 2) + 2 * 5 + 2 * 5
    assert layer.macs == 4 * per_step


def test_bidirectional_sequence_lstm_counts_both_directions(tmp_path: Path) -> None:
    """Time-major [6 steps, batch 1, 3]; each direction 4 gates x 4 cells x (3 inputs + 4 outputs)."""
    direction = _lstm_inputs(3, 4, 4)
    inputs: list[T | None] = [T([6, 1, 3]), *direction, *_lstm_inputs(3, 4, 4)]
    inputs += [T([1, 4], variable=True), T([1, 4], variable=True), T([1, 4], variable=True), T([1, 4], variable=True)]
    inputs += [None] * 9  # no auxiliary input, no auxiliary weights
    assert len(inputs) == 48
    layer = _only_layer(
        tmp_path,
        one_op_model(
            "BIDIRECTIONAL_SEQUENCE_LSTM",
            inputs,
            [T([6, 1, 8])],
            "BidirectionalSequenceLSTMOptions",
            mergeOutputs=True,
            timeMajor=True,
        ),
    )
    assert layer.macs == 6 * 2 * 4 * 4 * (3 + 4)
    assert layer.params == 2 * (4 * 4 * 3 + 4 * 4 * 4 + 4 * 4)


def test_lstm_cell_full_and_basic_kernels(tmp_path: Path) -> None:
    """One step. Full kernel, batch 2: 4 gates x 4 cells x (3 + 4). Basic kernel: one [16, 7] matrix."""
    full = [T([2, 3]), *_lstm_inputs(3, 4, 4), T([2, 4], variable=True), T([2, 4], variable=True)]
    layer = _only_layer(tmp_path, one_op_model("LSTM", full, [T([2, 4])], "LSTMOptions"))
    assert layer.macs == 2 * 4 * 4 * (3 + 4)
    basic = [T([1, 3]), T([1, 4]), _w(16, 7), _w(16), T([1, 4])]
    outputs = [T([1, 4]), T([1, 4]), T([1, 16]), T([1, 7])]
    layer = _only_layer(tmp_path, one_op_model("LSTM", basic, outputs, "LSTMOptions", kernelType=1))
    assert layer.macs == 16 * 7


def test_rnn_kernels_count_input_and_recurrent_weights_per_step(tmp_path: Path) -> None:
    """5 units over 3 inputs: RNN with batch 2; the sequence RNN over 7 steps; the bidirectional one
    over 6 steps with 4 units per direction."""
    rnn = _only_layer(
        tmp_path,
        one_op_model(
            "RNN", [T([2, 3]), _w(5, 3), _w(5, 5), _w(5), T([2, 5], variable=True)], [T([2, 5])], "RNNOptions"
        ),
    )
    assert rnn.macs == 2 * 5 * (3 + 5)
    sequence = _only_layer(
        tmp_path,
        one_op_model(
            "UNIDIRECTIONAL_SEQUENCE_RNN",
            [T([1, 7, 3]), _w(5, 3), _w(5, 5), _w(5), T([1, 5], variable=True)],
            [T([1, 7, 5])],
            "SequenceRNNOptions",
        ),
    )
    assert sequence.macs == 7 * 5 * (3 + 5)
    direction: list[T | None] = [_w(4, 3), _w(4, 4), _w(4), T([1, 4], variable=True)]
    both = _only_layer(
        tmp_path,
        one_op_model(
            "BIDIRECTIONAL_SEQUENCE_RNN",
            [T([1, 6, 3]), *direction, _w(4, 3), _w(4, 4), _w(4), T([1, 4], variable=True), None, None, None],
            [T([1, 6, 4]), T([1, 6, 4])],
            "BidirectionalSequenceRNNOptions",
        ),
    )
    assert both.macs == 6 * 2 * 4 * (3 + 4)
