"""Which `tflite::MicroMutableOpResolver` method registers each operator a model uses.

TFLM names its methods after the operators (CONV_2D -> AddConv2D) with exceptions that no
rule covers (PADV2 -> AddPadV2, CUMSUM -> AddCumSum, UNIDIRECTIONAL_SEQUENCE_LSTM ->
AddUnidirectionalSequenceLSTM, its signal-processing custom operators SignalWindow ->
AddWindow), so the names are a table, checked in the tests against the method list of TFLM's
own tensorflow/lite/micro/micro_mutable_op_resolver.h. An operator that is not in the table
has no kernel in TFLM: exporting it is an error that names it, not a line that fails to
compile on the board.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import TfliteFile
from workbench.core.tflm_ops import CUSTOM_OP_METHODS

# Builtin operator (TFLite schema name) -> MicroMutableOpResolver method.
BUILTIN_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "MAXIMUM": "AddMaximum",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile",
    "ZEROS_LIKE": "AddZerosLike",
}

# Custom operator (its custom code in the model) -> the method that registers TFLM's kernel for it.
CUSTOM_METHODS: dict[str, str] = CUSTOM_OP_METHODS

# Operators whose kernels need more than the resolver: said in the notes of an export.
RESOURCE_VARIABLE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"})


@dataclass(frozen=True)
class OpRegistration:
    """One distinct operator of a model and the resolver call that registers it."""

    op: str  # builtin name ("CONV_2D") or custom code ("TFLite_Detection_PostProcess")
    custom: bool
    method: str  # "AddConv2D"


def model_operators(graph: TfliteFile) -> list[tuple[str, bool]]:
    """The distinct operators of every subgraph (those inside WHILE and IF too), as
    (name, is_custom), in the order they first appear."""
    seen: dict[tuple[str, bool], None] = {}
    for subgraph in graph.subgraphs:
        for op in subgraph.operators:
            custom = op.custom_code is not None and op.op == op.custom_code
            seen.setdefault((op.op, custom), None)
    return list(seen)


def resolver_registrations(graph: TfliteFile, where: str) -> list[OpRegistration]:
    """The resolver calls the model needs, one per distinct operator, sorted by method name.

    `where` names the model in the error. Raises WorkbenchError naming every operator that
    TFLM has no kernel for (custom operators without a TFLM kernel included).
    """
    registrations = []
    missing_builtin: list[str] = []
    missing_custom: list[str] = []
    for name, custom in model_operators(graph):
        method = (CUSTOM_METHODS if custom else BUILTIN_METHODS).get(name)
        if method is None:
            (missing_custom if custom else missing_builtin).append(name)
        else:
            registrations.append(OpRegistration(name, custom, method))
    if missing_builtin or missing_custom:
        parts = []
        if missing_builtin:
            parts.append(f"operator{'s' if len(missing_builtin) > 1 else ''} {', '.join(missing_builtin)}")
        if missing_custom:
            names = ", ".join(f"'{name}'" for name in missing_custom)
            parts.append(f"custom operator{'s' if len(missing_custom) > 1 else ''} {names}")
        raise WorkbenchError(
            f"{where} uses {' and '.join(parts)}, which TFLM's op resolver cannot register",
            "TFLM has no kernel for it: change the model so that the converter does not write it (the "
            "Inspect page shows which layer became which operator), or write the kernel yourself and "
            "register it with AddCustom() in your firmware.",
            details="TFLM registers: " + ", ".join(sorted([*BUILTIN_METHODS, *CUSTOM_METHODS])),
        )
    if not registrations:
        raise WorkbenchError(f"{where} has no operators", "There is nothing for TFLM to run: export a real model.")
    return sorted(registrations, key=lambda r: r.method)
