"""How much arithmetic one operator does: multiply-accumulates, and other element operations.

MACs are counted for the operators that multiply weights (convolutions, fully connected,
transpose convolution, batched matmul). Pooling, reductions and elementwise operators
get their own count ("ops"), since a max or an add is not a multiply-accumulate.
"""

from __future__ import annotations

import logging
import math

from workbench.core.tflite_file import Operator, Tensor

log = logging.getLogger(__name__)

# Operators that only move or reinterpret data: no arithmetic.
_NO_COMPUTE = frozenset(
    {
        "RESHAPE",
        "SQUEEZE",
        "EXPAND_DIMS",
        "SHAPE",
        "CONCATENATION",
        "PACK",
        "UNPACK",
        "SPLIT",
        "SPLIT_V",
        "SLICE",
        "STRIDED_SLICE",
        "GATHER",
        "GATHER_ND",
        "TRANSPOSE",
        "PAD",
        "PADV2",
        "MIRROR_PAD",
        "DEPTH_TO_SPACE",
        "SPACE_TO_DEPTH",
        "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND",
        "BROADCAST_TO",
        "FILL",
        "ZEROS_LIKE",
        "TILE",
        "REVERSE_V2",
        "CAST",
        "VAR_HANDLE",
        "READ_VARIABLE",
        "ASSIGN_VARIABLE",
        "CALL_ONCE",
        "WHILE",
        "IF",
    }
)
_POOLS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
_REDUCTIONS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "ARG_MAX", "ARG_MIN"})


def _elements(shape: list[int]) -> int:
    return math.prod(max(d, 1) for d in shape) if shape else 1


def count_macs(op: Operator, tensors: list[Tensor]) -> int:
    """Multiply-accumulates of one inference through this operator (0 for other kinds)."""
    try:
        return _macs(op, tensors)
    except (ValueError, IndexError):  # a kernel of unexpected rank: count nothing, never fail
        log.warning("cannot count MACs of operator %d (%s)", op.index, op.op)
        return 0


def _macs(op: Operator, tensors: list[Tensor]) -> int:
    ins = [tensors[i] if i >= 0 else None for i in op.inputs]
    outs = [tensors[i] for i in op.outputs if i >= 0]
    if not outs:
        return 0
    out_elements = _elements(outs[0].shape)
    if op.op == "CONV_2D" and len(ins) > 1 and ins[1] is not None:
        _, kh, kw, cin_per_group = ins[1].shape
        return out_elements * kh * kw * cin_per_group
    if op.op == "DEPTHWISE_CONV_2D" and len(ins) > 1 and ins[1] is not None:
        _, kh, kw, _ = ins[1].shape
        return out_elements * kh * kw
    if op.op == "FULLY_CONNECTED" and len(ins) > 1 and ins[1] is not None:
        return out_elements * ins[1].shape[-1]
    if op.op == "TRANSPOSE_CONV" and len(ins) > 2 and ins[1] is not None and ins[2] is not None:
        cout, kh, kw, _ = ins[1].shape
        return _elements(ins[2].shape) * kh * kw * cout
    if op.op == "CONV_3D" and len(ins) > 1 and ins[1] is not None:
        kd, kh, kw, cin, _ = ins[1].shape
        return out_elements * kd * kh * kw * cin
    if op.op == "BATCH_MATMUL" and ins and ins[0] is not None:
        adjoint = bool(op.options.u8(0)) if op.options is not None else False
        shape = ins[0].shape
        depth = shape[-2] if adjoint and len(shape) > 1 else shape[-1]
        return out_elements * depth
    return 0


def count_other_ops(op: Operator, tensors: list[Tensor]) -> int:
    """Non-MAC element operations: pooling window reads, reductions, elementwise math."""
    if count_macs(op, tensors) or op.op in _NO_COMPUTE:
        return 0
    outs = [tensors[i] for i in op.outputs if i >= 0]
    if not outs:
        return 0
    out_elements = _elements(outs[0].shape)
    if op.op in _POOLS:
        if op.options is None:
            return out_elements
        return out_elements * max(op.options.i32(3), 1) * max(op.options.i32(4), 1)
    if op.op in _REDUCTIONS and op.inputs and op.inputs[0] >= 0:
        return _elements(tensors[op.inputs[0]].shape)
    return out_elements
