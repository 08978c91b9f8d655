"""The flatbuffer reader: operators, tensors, and a flash breakdown that accounts for every byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.flatbuffer import FlatBufferError
from workbench.core.tflite_file import FLASH_CATEGORIES, parse_tflite


@pytest.mark.parametrize("name", ["person_detect", "hello_world_int8", "hello_world_float", "micro_speech_quantized"])
def test_breakdown_adds_up_to_the_file_size(reference_models: Path, name: str) -> None:
    data = (reference_models / f"{name}.tflite").read_bytes()
    graph = parse_tflite(data)
    assert set(graph.flash_breakdown) == set(FLASH_CATEGORIES)
    assert sum(graph.flash_breakdown.values()) == len(data)
    assert all(v >= 0 for v in graph.flash_breakdown.values())


def test_weights_and_biases_are_the_constant_buffers(reference_models: Path) -> None:
    """Weights + biases equal the constant tensor bytes plus each vector's 4-byte length prefix."""
    graph = parse_tflite((reference_models / "hello_world_int8.tflite").read_bytes())
    tensors = graph.main.tensors
    biases = [tensors[op.inputs[2]] for op in graph.main.operators if op.op == "FULLY_CONNECTED"]
    assert [b.dtype for b in biases] == ["INT32"] * 3
    assert graph.flash_breakdown["biases"] == sum(len(b.data or b"") + 4 for b in biases)
    kernels = [tensors[op.inputs[1]] for op in graph.main.operators]
    assert graph.flash_breakdown["weights"] == sum(len(k.data or b"") + 4 for k in kernels)


def test_per_channel_quantization_is_a_visible_share_of_person_detect(reference_models: Path) -> None:
    """person_detect stores per-channel scales and zero points for every conv: several % of the file."""
    data = (reference_models / "person_detect.tflite").read_bytes()
    graph = parse_tflite(data)
    per_channel = [t for t in graph.main.tensors if t.quantization and t.quantization.per_channel]
    floor = sum(4 * len(t.quantization.scales) + 8 * len(t.quantization.zero_points) for t in per_channel)  # type: ignore[union-attr]
    assert graph.flash_breakdown["quantization"] >= floor
    assert graph.flash_breakdown["quantization"] / len(data) > 0.05


def test_operators_come_in_execution_order_with_builtin_names(reference_models: Path) -> None:
    graph = parse_tflite((reference_models / "micro_speech_quantized.tflite").read_bytes())
    assert [op.op for op in graph.main.operators] == ["RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]


@pytest.mark.parametrize("cut", [8, 100, 1000, 5000])
def test_truncated_files_raise_flatbuffer_error(reference_models: Path, cut: int) -> None:
    data = (reference_models / "micro_speech_quantized.tflite").read_bytes()[:cut]
    with pytest.raises(FlatBufferError):
        parse_tflite(data)


def test_text_is_not_a_flatbuffer() -> None:
    with pytest.raises(FlatBufferError, match="TFL3"):
        parse_tflite(b"this is a text file, not a model at all\n" * 3)
