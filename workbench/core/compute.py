"""How much arithmetic one operator does: multiply-accumulates, and other element operations.

MACs are counted for the operators that multiply weights: convolutions (2D, 3D, depthwise,
transposed), fully connected, batched matmul, and the recurrent kernels (LSTM, RNN, SVDF,
their sequence and bidirectional forms). Pooling, reductions and elementwise operators get
their own count ("ops"), since a max or an add is not a multiply-accumulate. Operators that
run a subgraph (WHILE, IF) are counted through `workbench.core.control_flow`.
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
# Recurrent kernels: the inputs that are learned multipliers. Each is applied once per time step
# and batch row, and each of its values is one multiply-accumulate (a [rows, cols] matrix times
# a vector of cols, a peephole or layer-norm vector times a vector). Input orders follow the
# TFLite kernels (lstm_shared.h, bidirectional_sequence_lstm.cc, svdf.h, basic_rnn.cc, ...).
_LSTM_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 20, 21, 22, 23)
RECURRENT_WEIGHTS: dict[str, tuple[int, ...]] = {
    # input_to_{input,forget,cell,output}, recurrent_to_{...}, cell_to_{input,forget,output}
    # (peepholes), projection, layer-norm coefficients of the four gates
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _LSTM_WEIGHTS,
    "LSTM": _LSTM_WEIGHTS,
    # forward 1-11 and 16, backward 18-28 and 33, auxiliary-input weights 40-47
    "BIDIRECTIONAL_SEQUENCE_LSTM": (*range(1, 12), 16, *range(18, 29), 33, *range(40, 48)),
    # weights_feature [filters, input], weights_time [filters, memory]
    "SVDF": (1, 2),
    # weights [units, input], recurrent_weights [units, units]
    "RNN": (1, 2),
    "UNIDIRECTIONAL_SEQUENCE_RNN": (1, 2),
    # forward weights and recurrent weights, backward ones, auxiliary-input weights
    "BIDIRECTIONAL_SEQUENCE_RNN": (1, 2, 5, 6, 10, 11),
}
# The basic LSTM kernel (LSTMOptions.kernel_type = BASIC) has one weight matrix
# [4 * cells, input + output] at input 2.
_BASIC_LSTM_WEIGHTS = (2,)
# Where their bias vectors are (int32 in quantized models).
RECURRENT_BIASES: dict[str, tuple[int, ...]] = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (12, 13, 14, 15, 17),
    "LSTM": (12, 13, 14, 15, 17),
    "BIDIRECTIONAL_SEQUENCE_LSTM": (12, 13, 14, 15, 17, 29, 30, 31, 32, 34),
    "SVDF": (3,),
    "RNN": (3,),
    "UNIDIRECTIONAL_SEQUENCE_RNN": (3,),
    "BIDIRECTIONAL_SEQUENCE_RNN": (3, 7),
}
_LSTM_KERNEL_TYPE = 3  # LSTMOptions.kernel_type
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
    if op.op == "CONV_3D_TRANSPOSE" and len(ins) > 2 and ins[1] is not None and ins[2] is not None:
        kd, kh, kw, cout, _ = ins[1].shape
        return _elements(ins[2].shape) * kd * kh * kw * cout
    if op.op == "BATCH_MATMUL" and ins and ins[0] is not None:
        adjoint = bool(op.options.u8(0)) if op.options is not None else False
        shape = ins[0].shape
        depth = shape[-2] if adjoint and len(shape) > 1 else shape[-1]
        return out_elements * depth
    if op.op in RECURRENT_WEIGHTS and ins and ins[0] is not None:
        return _recurrent_macs(op, ins)
    return 0


def _recurrent_macs(op: Operator, ins: list[Tensor | None]) -> int:
    """Weight values x (time steps x batch): the input's rows, whatever its time-major layout.

    The input is [batch, features] for the single-step kernels (LSTM, RNN, SVDF) and
    [batch, time, features] or [time, batch, features] for the sequence ones.
    """
    positions = RECURRENT_WEIGHTS[op.op]
    if op.op == "LSTM" and op.options is not None and op.options.u8(_LSTM_KERNEL_TYPE) == 1:
        positions = _BASIC_LSTM_WEIGHTS
    first = ins[0]
    assert first is not None
    rows = _elements(first.shape) // max(first.shape[-1], 1) if first.shape else 1
    weights = sum(_elements(t.shape) for i, t in enumerate(ins) if i in positions and t is not None)
    return rows * weights


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
