"""Which monitored channels are classes, the label rule they are matched by, the top-1 runs."""

from __future__ import annotations

import numpy as np

from workbench.core.inference import Prediction
from workbench.monitor.classes import class_channels, top_runs
from workbench.monitor.sketch_format import printed_label, sketch_line


def test_class_channels_are_the_models_labels_in_its_order_or_class_numbers_or_a_softmax() -> None:
    values = {name: np.array([0.2, 0.5]) for name in ("b_c", "a", "temp", "class10", "class2")}
    values["temp"] = np.array([21.5, 22.0])
    assert class_channels(list(values), values, labels=["a", "b c"]) == ["a", "b_c"]
    assert printed_label("b c:d") == "b_c_d"
    assert class_channels(list(values), values) == ["class2", "class10"]
    softmax = {"yes": np.array([0.1, 0.7]), "no": np.array([0.9, 0.3]), "x": np.array([3.0, 4.0])}
    assert class_channels(list(softmax), softmax) == ["yes", "no"]
    not_softmax = {"ax": np.array([0.1, 0.2]), "ay": np.array([0.3, 0.1])}
    assert class_channels(list(not_softmax), not_softmax) == []


def test_top_runs_break_at_a_new_top_class_a_confidence_drop_or_a_gap_not_at_other_records() -> None:
    times = np.arange(9.0)
    values = {
        "a": np.array([0.9, 0.8, 0.2, 0.5, np.nan, 0.9, np.nan, 0.9, 0.9]),
        "b": np.array([0.1, 0.2, 0.8, 0.5, np.nan, 0.1, np.nan, 0.1, 0.1]),
        "score": np.array([np.nan] * 6 + [201.0] + [np.nan] * 2),  # an event's record: no class values
    }
    assert top_runs(times, ["a", "b"], values, threshold=0.6) == [(0.0, 2.0, 0), (2.0, 3.0, 1), (5.0, 8.0, 0)]


def test_the_monitor_matches_labels_exactly_as_the_exported_sketch_prints_them() -> None:
    labels = ["no speech", "yes:loud", "tab\there"]
    line = sketch_line([0.1, 0.7, 0.2], labels)
    printed = [pair.rsplit(":", 1)[0] for pair in line.split(" ")]
    assert printed == [printed_label(label) for label in labels] == ["no_speech", "yes_loud", "tab_here"]
    values = {name: np.array([value]) for name, value in zip(printed, (0.1, 0.7, 0.2), strict=True)}
    assert class_channels(printed, values, labels=labels) == printed


def test_model_outputs_and_printed_values_read_as_probabilities_by_one_rule() -> None:
    int8_softmax = np.array([0, 0, 254, 1, 0, 0, 0, 0, 0, 0]) / 256  # a dequantized int8 softmax: 0.98
    run = Prediction(outputs=[list(int8_softmax)], runtime="tflm")
    assert run.is_distribution
    values = {f"c{i}": np.array([v]) for i, v in enumerate(int8_softmax)}
    assert class_channels(list(values), values) == list(values)
    assert not Prediction(outputs=[[0.5, 0.3]], runtime="tflm").is_distribution
