"""Running models on inputs: pictures become the input's shape, several models run side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SAMPLES
from workbench.core.errors import WorkbenchError
from workbench.core.inference import (
    Prediction,
    check_samples,
    image_input_shape,
    labels_beside,
    parse_inputs,
    pixel_range,
    read_image,
    run_models,
)
from workbench.core.loading import load_model


def test_a_picture_is_resized_and_converted_to_the_input(tmp_path: Path) -> None:
    from PIL import Image

    picture = Image.new("RGB", (40, 24), color=(255, 255, 255))
    picture.paste((0, 0, 0), (0, 0, 20, 24))  # left half black
    picture.save(tmp_path / "half.png")
    grey = read_image(tmp_path / "half.png", [1, 8, 8, 1])
    assert grey.shape == (8, 8, 1) and grey.dtype == np.float32
    assert grey[:, 0, 0].max() == 0.0 and grey[:, -1, 0].min() == 1.0
    colour = read_image(tmp_path / "half.png", [1, 6, 10, 3], white=255.0)
    assert colour.shape == (6, 10, 3) and colour.max() == 255.0
    (tmp_path / "not.png").write_text("no picture")
    with pytest.raises(WorkbenchError, match="not.png: is not a readable image"):
        read_image(tmp_path / "not.png", [1, 8, 8, 1])
    with pytest.raises(WorkbenchError, match="image input"):
        read_image(tmp_path / "half.png", [1, 64])


def test_the_sample_takes_a_picture_with_pixels_in_0_to_1() -> None:
    model = load_model(SAMPLES / "digits_int8.tflite")
    assert image_input_shape(model) == [1, 8, 8, 1]
    assert pixel_range(model) == 1.0
    pictures = np.zeros((3, 8, 8, 1))
    assert check_samples(model, pictures).shape == (3, 64)
    with pytest.raises(WorkbenchError, match="expects 64"):
        check_samples(model, np.zeros((2, 10)))


def test_labels_beside_a_data_file() -> None:
    assert labels_beside(SAMPLES / "digits_samples.csv") == SAMPLES / "digits_samples_labels.txt"
    assert labels_beside(SAMPLES / "digits_eval.npz") is None


def test_probabilities_are_recognised() -> None:
    assert Prediction([[0.1, 0.9]], "tflm").is_distribution
    assert not Prediction([[2.5, -1.0]], "tflm").is_distribution
    assert not Prediction([[0.7]], "tflm").is_distribution


@pytest.mark.slow
def test_the_original_and_its_int8_version_run_side_by_side_in_one_child() -> None:
    original = load_model(SAMPLES / "digits_float.tflite")
    int8 = load_model(SAMPLES / "digits_int8.tflite")
    samples = parse_inputs(str(SAMPLES / "digits_samples.csv"))
    expected = [int(v) for v in (SAMPLES / "digits_samples_labels.txt").read_text().split()]
    runs = run_models([original, int8], samples)
    assert [len(run) for run in runs] == [10, 10]
    for run in runs:
        assert run[0].runtime == "tflm"
        assert sum(p.top_class == e for p, e in zip(run, expected, strict=True)) >= 8
        assert all(p.is_distribution for p in run)  # de-quantized softmax outputs, also for int8
