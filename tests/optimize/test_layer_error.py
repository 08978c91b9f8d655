"""The per-layer error in words: a layer stands out against the model's own spread, and it is an
alarm only when accuracy did not hold."""

from __future__ import annotations

from workbench.core.fit import BAD, GOOD, TIGHT
from workbench.optimize.layer_error import OK, OUTLIER_DB, WATCH, axis_name, layer_errors, short_name

# As per_layer_snr reports them for an int8 CNN: most layers 20-28 dB, one far below.
LAYERS = [
    {"index": 0, "op": "CONV_2D", "tensor": "sequential/conv1/Relu", "snr_db": 27.5},
    {"index": 1, "op": "MAX_POOL_2D", "tensor": "sequential/pool1/MaxPool", "snr_db": 27.9},
    {"index": 2, "op": "CONV_2D", "tensor": "sequential/conv2/Relu", "snr_db": 9.0},
    {"index": 3, "op": "FULLY_CONNECTED", "tensor": "sequential/dense/MatMul", "snr_db": 22.1},
    {"index": 4, "op": "SOFTMAX", "tensor": "Identity", "snr_db": None},  # identical output
]


def test_only_the_layer_far_below_the_others_stands_out_and_the_note_names_it() -> None:
    judged = layer_errors(LAYERS, BAD)
    assert judged.threshold_db == 27.5 - OUTLIER_DB  # the median of 27.5, 27.9, 9.0, 22.1 and 60 (exact)
    assert judged.flags == [OK, OK, BAD, OK, OK]
    assert "Lowest: #2 conv2/Relu (CONV_2D, 9.0 dB)" in judged.note
    assert judged.note.index("conv2/Relu") < judged.note.index("dense/MatMul")  # worst first
    assert "16x8" in judged.note and "calibration" in judged.note  # what to do about it


def test_when_accuracy_held_nothing_is_an_alarm() -> None:
    judged = layer_errors(LAYERS, GOOD)
    assert BAD not in judged.flags and judged.flags[2] == WATCH
    assert "accuracy held" in judged.note and "nothing needs doing" in judged.note
    assert layer_errors(LAYERS, TIGHT).flags[2] == BAD


def test_an_evenly_spread_error_names_no_culprit_and_no_data_says_what_is_missing() -> None:
    even = [dict(layer, snr_db=24.0 + layer["index"]) for layer in LAYERS]
    judged = layer_errors(even, BAD)
    assert set(judged.flags) == {OK} and "spread evenly" in judged.note
    empty = layer_errors([], None)
    assert empty.flags == [] and empty.threshold_db is None and "evaluation data" in empty.note


def test_long_names_are_cut_in_the_middle() -> None:
    long = {"op": "CONV_2D", "tensor": "model/MobilenetV1/Conv2d_13_pointwise/Relu6"}
    assert short_name(long) == "Conv2d…e/Relu6" and len(short_name(long)) == 14
    assert short_name({"op": "ADD", "tensor": ""}) == "add"
    assert axis_name(long) == "Conv…twise" and axis_name({"op": "SOFTMAX", "tensor": "Identity"}) == "Identity"
