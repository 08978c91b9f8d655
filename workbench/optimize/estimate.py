"""estimate(model, analysis, plan): flash, arena and compressed size in milliseconds, no conversion.

Flash is rebuilt from the float model's own byte accounting: the weight bytes change with the
element size, and quantization adds parameters per tensor (and per channel). Arena scales the
activation part of TFLM's measured float arena by the activation element size. Compressed size
quantizes and prunes a sample of the real weights and compresses it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.core.analysis import Analysis, is_parameter
from workbench.core.arena import PER_CHANNEL_OPS
from workbench.core.model import Model
from workbench.core.tflite_file import BIAS_INPUT, Tensor
from workbench.optimize.plan import QUANT_LABELS, RUNS_ON_TFLM, Plan

# Bytes the converter writes per quantized tensor: a QuantizationParameters table, plus per
# channel a float32 scale and an int64 zero point; 16x8 models also keep float min/max per
# channel of weights and activations. Fitted by least squares on int8 conversions of three
# models (1,050 B to 173 KB of quantization parameters; residual under 2%).
QUANT_TABLE_BYTES = 21
QUANT_CHANNEL_BYTES = 12
MINMAX_CHANNEL_BYTES = 8
# An operator the converter adds (DEQUANTIZE of a float16 constant, QUANTIZE of a float input)
# with its float32 output tensor and that tensor's name.
ADDED_OP_BYTES = 170
VECTOR_PREFIX_BYTES = 4
# Each quantized tensor also gets a `quantization` field in its Tensor table.
TENSOR_FIELD_BYTES = 4
# 16x8 weights and activations carry min and max vectors (two length prefixes, two offsets).
MINMAX_TENSOR_BYTES = 16
# TFLM arena of a quantized model beyond the scaled float activations: persistent per-channel
# data (requantization multipliers and shifts) per output channel of conv and dense layers,
# and a constant (quantization bookkeeping, alignment). Fitted on two models; arena estimates
# are rough, the verified conversion measures the real one.
TFLM_CHANNEL_ARENA_BYTES = {"int8": 4, "int16x8": 27}
TFLM_QUANTIZED_ARENA_BYTES = {"int8": 520, "int16x8": 400}
DYNAMIC_MIN_ELEMENTS = 1024  # the converter leaves smaller weights in float for dynamic range
SAMPLE_LIMIT_BYTES = 64 * 1024  # compress at most this much of the weights, then extrapolate

ACTIVATION_BYTES = {"float32": 4, "float16": 4, "dynamic": 4, "int8": 1, "int16x8": 2}


@dataclass
class Figures:
    """What a model costs: flash, tensor arena and compressed size, in bytes."""

    flash_bytes: int
    arena_bytes: int | None
    compressed_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "flash_bytes": self.flash_bytes,
            "arena_bytes": self.arena_bytes,
            "compressed_bytes": self.compressed_bytes,
        }


@dataclass
class Estimate(Figures):
    """Figures predicted without converting, plus the parts they were built from."""

    weight_bytes: int = 0
    quantization_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "weight_bytes": self.weight_bytes, "quantization_bytes": self.quantization_bytes}


@dataclass
class _Param:
    tensor: Tensor
    op: str
    is_bias: bool
    channel_axis: int | None
    shared: bool  # the same tensor already feeds an earlier operator


def _parameters(model: Model) -> list[_Param]:
    """Every (operator, parameter) use, in order; a tensor used twice is marked shared."""
    graph = model.graph.main
    seen: set[int] = set()
    params = []
    for op in graph.operators:
        for position, index in enumerate(op.inputs):
            if index < 0:
                continue
            tensor = graph.tensors[index]
            if not is_parameter(op, position, tensor):
                continue
            is_bias = BIAS_INPUT.get(op.op) == position
            axis = (0 if is_bias else PER_CHANNEL_OPS.get(op.op)) if op.op in PER_CHANNEL_OPS else None
            params.append(_Param(tensor, op.op, is_bias, axis, index in seen))
            seen.add(index)
    return params


def _counts(param: _Param, plan: Plan) -> bool:
    """Whether this use stores its own tensor: int8 biases are per operator (their scale depends
    on the operator's input), so the converter un-shares them; 16x8 keeps them shared."""
    return not param.shared or (param.is_bias and plan.quant == "int8")


def _quantized_bytes(param: _Param, plan: Plan) -> tuple[int, int]:
    """(data bytes, quantization-parameter bytes) of one float parameter tensor under the plan."""
    tensor = param.tensor
    elements = tensor.elements
    float_bytes = len(tensor.data or b"")
    if tensor.dtype != "FLOAT32" or plan.quant == "float32":
        return float_bytes + VECTOR_PREFIX_BYTES, 0
    channels = 1
    if (
        param.channel_axis is not None
        and tensor.shape
        and not (plan.per_tensor_dense and param.op == "FULLY_CONNECTED")
    ):
        channels = tensor.shape[param.channel_axis]
    quant_bytes = QUANT_TABLE_BYTES + QUANT_CHANNEL_BYTES * channels
    if plan.quant == "float16":
        return elements * 2 + VECTOR_PREFIX_BYTES + ADDED_OP_BYTES, 0
    if plan.quant == "dynamic":
        if param.is_bias or param.channel_axis is None or elements < DYNAMIC_MIN_ELEMENTS:
            return float_bytes + VECTOR_PREFIX_BYTES, 0
        return elements + VECTOR_PREFIX_BYTES, quant_bytes
    if param.is_bias:
        return elements * (8 if plan.quant == "int16x8" else 4) + VECTOR_PREFIX_BYTES, quant_bytes
    if plan.quant == "int16x8":
        quant_bytes += MINMAX_TENSOR_BYTES + MINMAX_CHANNEL_BYTES * channels
    return elements + VECTOR_PREFIX_BYTES, quant_bytes


def _sample_weights(params: list[_Param], plan: Plan) -> tuple[bytes, int]:
    """Quantized, pruned bytes of a sample of the weights, and the total bytes they stand for.

    Each tensor is quantized whole (per channel, as the converter does) and contributes a
    contiguous slice in proportion to its size, so the sample compresses like the whole.
    """
    counted = [p for p in params if _counts(p, plan)]
    total = sum(_quantized_bytes(p, plan)[0] for p in counted)
    fraction = min(1.0, SAMPLE_LIMIT_BYTES / max(total, 1))
    chunks: list[bytes] = []
    for param in counted:
        tensor = param.tensor
        if tensor.dtype != "FLOAT32" or not tensor.data:
            data = bytes(tensor.data or b"")
            chunks.append(data[: int(np.ceil(len(data) * fraction))])
            continue
        values = np.frombuffer(tensor.data, dtype=np.float32)
        if plan.sparsity and not param.is_bias:
            magnitude = np.abs(values[:: max(1, values.size // 4096)])  # the threshold from a subsample
            threshold = np.partition(magnitude, int(plan.sparsity * (magnitude.size - 1)))[
                int(plan.sparsity * (magnitude.size - 1))
            ]
            values = np.where(np.abs(values) <= threshold, np.float32(0), values)
        encoded = _encode(values, param, plan)
        chunks.append(encoded[: int(np.ceil(len(encoded) * fraction))])
    return b"".join(chunks), total


def _encode(values: np.ndarray, param: _Param, plan: Plan) -> bytes:
    """The bytes the converter would store for these (float) values under the plan."""
    if plan.quant == "float32" or (plan.quant == "dynamic" and param.is_bias):
        return values.astype(np.float32).tobytes()
    if plan.quant == "float16":
        return values.astype(np.float16).tobytes()
    if param.is_bias:  # int32 (int64 for 16x8) in units of input scale x weight scale: near-random low bytes
        dtype = np.int64 if plan.quant == "int16x8" else np.int32
        return np.round(values * 2**14).astype(dtype).tobytes()
    channels = param.tensor.shape[param.channel_axis] if param.channel_axis is not None else 1
    axis = param.channel_axis or 0
    shape = list(param.tensor.shape)
    if len(values) == param.tensor.elements and channels > 1:
        grid = np.moveaxis(values.reshape(shape), axis, 0).reshape(channels, -1)
        scale = np.max(np.abs(grid), axis=1, keepdims=True) / 127.0
        quantized = np.round(grid / np.where(scale == 0, 1.0, scale))
        quantized = np.moveaxis(quantized.reshape([channels, *np.delete(shape, axis)]), 0, axis)
    else:
        scale = float(np.max(np.abs(values))) / 127.0 or 1.0
        quantized = np.round(values / scale)
    return np.clip(quantized, -127, 127).astype(np.int8).tobytes()


def _structure_bytes(model: Model) -> bytes:
    """The model file without its constant data: what the graph, names and metadata look like."""
    spans = sorted(
        (t.data_offset, t.data_offset + len(t.data))
        for t in model.graph.main.tensors
        if t.data_offset is not None and t.data is not None
    )
    pieces, position = [], 0
    for start, end in spans:
        if start > position:
            pieces.append(model.tflite[position:start])
        position = max(position, end)
    pieces.append(model.tflite[position:])
    return b"".join(pieces)[:SAMPLE_LIMIT_BYTES]


def estimate(model: Model, analysis: Analysis, plan: Plan) -> Estimate:
    """Instant flash, arena and compressed-size estimate of carrying out `plan` on `model`."""
    params = _parameters(model)
    float_param_bytes = sum(len(p.tensor.data or b"") + VECTOR_PREFIX_BYTES for p in params if not p.shared)
    new_param_bytes = 0
    quant_bytes = 0
    zero_buffers: set[int] = set()  # the converter stores identical (all-zero) buffers once
    for param in params:
        if _counts(param, plan):
            data, quant = _quantized_bytes(param, plan)
            if param.is_bias and param.tensor.data is not None and not any(param.tensor.data):
                if param.tensor.elements in zero_buffers:
                    data = 0
                zero_buffers.add(param.tensor.elements)
            new_param_bytes += data
            quant_bytes += quant
    graph = model.graph.main
    activations = [t for t in graph.tensors if not t.is_constant]
    if plan.quant in ("int8", "int16x8"):
        per_activation = QUANT_TABLE_BYTES + QUANT_CHANNEL_BYTES
        if plan.quant == "int16x8":
            per_activation += MINMAX_TENSOR_BYTES + MINMAX_CHANNEL_BYTES
        quant_bytes += per_activation * len(activations)
        quantized_tensors = len(activations) + sum(1 for p in params if _counts(p, plan))
        quant_bytes += TENSOR_FIELD_BYTES * quantized_tensors
        if plan.quant == "int8" and plan.float_io:
            edges = len(graph.inputs) + len(graph.outputs)
            quant_bytes += (ADDED_OP_BYTES + per_activation) * edges
    breakdown = analysis.flash_breakdown
    stripped = breakdown.get("tensor_names", 0) + breakdown.get("signatures_metadata", 0) if plan.strip else 0
    existing_quant = breakdown.get("quantization", 0) if plan.quant != "float32" and model.format != "tflite" else 0
    if model.format == "tflite":  # only stripping applies to a converted file
        flash = analysis.size_bytes - stripped
        new_param_bytes, quant_bytes = float_param_bytes, breakdown.get("quantization", 0)
    else:
        flash = analysis.size_bytes - float_param_bytes + new_param_bytes - existing_quant + quant_bytes - stripped
    sample, represented = _sample_weights(params, plan)
    ratio = len(zlib.compress(sample, 6)) / max(len(sample), 1) if sample else 1.0
    if "structure_ratio" not in model.cache:  # the same for every plan: compress it once per model
        other = _structure_bytes(model)
        model.cache["structure_ratio"] = len(zlib.compress(other, 6)) / max(len(other), 1)
    other_ratio = model.cache["structure_ratio"]
    compressed = int(represented * ratio + max(flash - represented, 0) * other_ratio)
    return Estimate(
        flash_bytes=int(flash),
        arena_bytes=_arena(analysis, model, plan),
        compressed_bytes=compressed,
        weight_bytes=int(new_param_bytes),
        quantization_bytes=int(quant_bytes),
    )


def _arena(analysis: Analysis, model: Model, plan: Plan) -> int | None:
    """Float arena from TFLM, its tensor part scaled to the new activation size, plus TFLM's
    per-channel data for quantized kernels."""
    report = analysis.tflm
    if report is None or not report.arena_bytes:
        return None
    if model.format == "tflite" or plan.quant not in ("int8", "int16x8"):
        return report.arena_bytes
    parts = report.allocation_parts
    recorded = sum(parts.values())
    activation = max(report.arena_bytes - recorded, 0)
    channels = sum(
        model.graph.main.tensors[op.outputs[0]].shape[-1]
        for op in model.graph.main.operators
        if op.op in PER_CHANNEL_OPS and op.outputs and model.graph.main.tensors[op.outputs[0]].shape
    )
    scale = ACTIVATION_BYTES[plan.quant] / 4
    extra = TFLM_CHANNEL_ARENA_BYTES[plan.quant] * channels + TFLM_QUANTIZED_ARENA_BYTES[plan.quant]
    return int(activation * scale + recorded + extra)


def expert_savings(model: Model, analysis: Analysis, plan: Plan) -> dict[str, int]:
    """Flash bytes each expert option saves on top of `plan` (cheap: no compression)."""
    savings = {
        "strip": analysis.flash_breakdown.get("tensor_names", 0)
        + analysis.flash_breakdown.get("signatures_metadata", 0)
    }
    dense_channels = 0
    if plan.quant in ("int8", "int16x8", "dynamic"):
        for param in _parameters(model):
            if param.op == "FULLY_CONNECTED" and param.channel_axis is not None and _counts(param, plan):
                if plan.quant == "dynamic" and (param.is_bias or param.tensor.elements < DYNAMIC_MIN_ELEMENTS):
                    continue
                dense_channels += max(param.tensor.shape[param.channel_axis] - 1, 0) if param.tensor.shape else 0
    savings["per_tensor_dense"] = QUANT_CHANNEL_BYTES * dense_channels
    return savings


def expected_runs_on_tflm(plan: Plan, analysis: Analysis | None) -> tuple[bool | None, str]:
    """Before a verified conversion, whether TFLM will run the result, and if not why: False for
    modes TFLM has no kernels for, what TFLM said of the model itself where the plan keeps its
    operators, else None (known once converted and measured)."""
    if not RUNS_ON_TFLM[plan.quant]:
        return False, f"TFLM has no kernels for {QUANT_LABELS[plan.quant].split(' (')[0].lower()}"
    runs, problem = analysis.runs_on_tflm if analysis is not None else (None, "")
    if runs is None:
        return None, ""
    if not runs:  # quantizing does not add operators TFLM lacks
        return False, problem
    return (True, "") if plan.quant == "float32" else (None, "")
