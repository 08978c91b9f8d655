"""The tensor arena: the one owner of how big it is planned, measured or not.

- Measured: TFLM's own interpreter finds the smallest arena that works (core.tflm); firmware
  reserves `recommended_arena(measured)`: that plus ARENA_MARGIN, in whole KB. This is the
  kTensorArenaSize an export writes and the RAM a board fit counts.
- Not measured: `estimate_arena_bytes(graph)`: the most activation bytes alive at once (not the
  largest single activation, which is `Totals.activation_peak_bytes`) plus TFLM's bookkeeping,
  reserved with the larger ESTIMATE_MARGIN (`estimated_arena`).

PER_CHANNEL_OPS is the one list of operators whose weights the converter quantizes per channel
(with the axis of those channels), read by the arena's bookkeeping and by Optimize's estimates.
"""

from __future__ import annotations

import math

from workbench.core.arena_plan import aligned, buffer_lifetimes, live_bytes_peak
from workbench.core.tflite_file import TfliteFile

ARENA_MARGIN = 0.10  # recommended arena = measured + 10%, rounded up to whole KB
ESTIMATE_MARGIN = 0.25  # an estimated arena gets more margin than a measured one
# TFLM's bookkeeping in the arena, per tensor and per operator (64-bit host figures, which
# are larger than a 32-bit board's), and what operators with per-channel quantization keep per
# output channel (a multiplier and a shift). Fitted on TFLM's own example models.
EVAL_TENSOR_BYTES = 24
NODE_BYTES = 64
OP_DATA_BYTES = 32
CHANNEL_OP_DATA_BYTES = 128
PER_CHANNEL_BYTES = 8
FIXED_OVERHEAD_BYTES = 1280
# Operator -> the axis of its weights' output channels.
PER_CHANNEL_OPS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0, "TRANSPOSE_CONV": 0, "CONV_3D": 4}


def recommended_arena(measured_bytes: int) -> int:
    """Measured arena plus the margin, rounded up to a whole kilobyte."""
    return _whole_kb(measured_bytes * (1 + ARENA_MARGIN))


def estimated_arena(activations: int, bookkeeping: int) -> int:
    """The arena to reserve for an estimate: with ESTIMATE_MARGIN, rounded up to a whole kilobyte."""
    return _whole_kb((activations + bookkeeping) * (1 + ESTIMATE_MARGIN))


def _whole_kb(size: float) -> int:
    return int(math.ceil(size / 1024) * 1024)


def live_activation_peak_bytes(graph: TfliteFile, subgraph: int = 0) -> int:
    """The most bytes of non-constant tensors alive at once in one subgraph, each rounded up to 16
    bytes, with TFLM's lifetimes (`arena_plan.buffer_lifetimes`), plus the variables, which TFLM
    keeps for the whole run."""
    variables = sum(aligned(t.nbytes) for t in graph.subgraphs[subgraph].tensors if t.is_variable)
    return live_bytes_peak(buffer_lifetimes(graph, subgraph)) + variables


def bookkeeping_bytes(graph: TfliteFile) -> int:
    """TFLM's own data in the arena, estimated: per tensor, per operator, per quantized channel."""
    total = FIXED_OVERHEAD_BYTES
    for sub in graph.subgraphs:
        total += EVAL_TENSOR_BYTES * len(sub.tensors)
        for op in sub.operators:
            total += NODE_BYTES
            if op.op in PER_CHANNEL_OPS and op.outputs and op.outputs[0] >= 0:
                shape = sub.tensors[op.outputs[0]].shape
                total += CHANNEL_OP_DATA_BYTES + PER_CHANNEL_BYTES * (shape[-1] if shape else 1)
            else:
                total += OP_DATA_BYTES
    return total


def estimate_arena_bytes(graph: TfliteFile) -> tuple[int, int]:
    """(activations, bookkeeping): the arena estimated from the graph alone, without TFLM.

    Subgraphs other than the main one (WHILE bodies, IF branches) are counted as if all their
    activations were alive beside the main graph's, which over-counts rather than under-counts.
    """
    activations = sum(live_activation_peak_bytes(graph, index) for index in range(len(graph.subgraphs)))
    return activations, bookkeeping_bytes(graph)
