"""Parse a `.tflite` flatbuffer into plain dataclasses, and account for every byte of it.

Only the parts of the TFLite schema the workbench needs are read. Field numbers follow
the TFLite schema (tensorflow/compiler/mlir/lite/schema/schema.fbs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.core.flatbuffer import ByteLedger, FlatBufferError, Table, file_identifier, root_table
from workbench.core.tflite_enums import BUILTIN_OPERATORS, TENSOR_TYPES

if TYPE_CHECKING:
    import numpy as np

TFLITE_IDENTIFIER = b"TFL3"

# Element size in bytes per tensor type name (sub-byte types are packed; see tensor_bytes).
DTYPE_BYTES: dict[str, float] = {
    "FLOAT32": 4,
    "FLOAT16": 2,
    "BFLOAT16": 2,
    "FLOAT64": 8,
    "INT32": 4,
    "UINT32": 4,
    "INT64": 8,
    "UINT64": 8,
    "INT16": 2,
    "UINT16": 2,
    "INT8": 1,
    "UINT8": 1,
    "BOOL": 1,
    "INT4": 0.5,
    "UINT4": 0.5,
    "INT2": 0.25,
    "COMPLEX64": 8,
    "COMPLEX128": 16,
    "FLOAT8_E4M3FN": 1,
    "FLOAT8_E5M2": 1,
    "STRING": 1,
    "RESOURCE": 0,
    "VARIANT": 0,
}
NUMPY_DTYPES: dict[str, str] = {
    "FLOAT32": "float32",
    "FLOAT16": "float16",
    "FLOAT64": "float64",
    "INT32": "int32",
    "UINT32": "uint32",
    "INT64": "int64",
    "UINT64": "uint64",
    "INT16": "int16",
    "UINT16": "uint16",
    "INT8": "int8",
    "UINT8": "uint8",
    "BOOL": "bool",
}

# Operators whose input at this index is a bias vector (the rest of their constants are weights).
BIAS_INPUT: dict[str, int] = {
    "CONV_2D": 2,
    "DEPTHWISE_CONV_2D": 2,
    "FULLY_CONNECTED": 2,
    "CONV_3D": 2,
    "TRANSPOSE_CONV": 3,
}

# Flash breakdown categories, in display order.
FLASH_CATEGORIES = (
    "weights",
    "biases",
    "quantization",
    "tensor_names",
    "signatures_metadata",
    "graph_structure",
)


@dataclass
class Quantization:
    scales: list[float]
    zero_points: list[int]
    axis: int

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: list[int]
    shape_signature: list[int]
    dtype: str
    buffer: int
    quantization: Quantization | None
    data: bytes | None  # constant contents, None for activations and inputs
    is_variable: bool = False
    data_offset: int | None = None  # where the constant contents start in the file

    @property
    def is_constant(self) -> bool:
        return self.data is not None and len(self.data) > 0

    @property
    def elements(self) -> int:
        return math.prod(max(d, 1) for d in self.shape) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return tensor_bytes(self.dtype, self.elements)

    def array(self) -> np.ndarray:
        """The constant contents as a numpy array of the tensor's shape."""
        import numpy as np

        if self.data is None or self.dtype not in NUMPY_DTYPES:
            raise ValueError(f"tensor {self.name} has no readable constant data")
        return np.frombuffer(self.data, dtype=NUMPY_DTYPES[self.dtype]).reshape(self.shape)


@dataclass
class Operator:
    index: int
    op: str  # builtin name such as CONV_2D, or the custom code for CUSTOM ops
    custom_code: str | None
    version: int
    inputs: list[int]
    outputs: list[int]
    options: Table | None = field(default=None, repr=False)


@dataclass
class Subgraph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


@dataclass
class TfliteFile:
    """The parts of a .tflite model the workbench reads, plus where its bytes go."""

    size_bytes: int
    version: int
    description: str
    subgraphs: list[Subgraph]
    metadata_names: list[str]
    signature_keys: list[str]
    flash_breakdown: dict[str, int]

    @property
    def main(self) -> Subgraph:
        return self.subgraphs[0]


def tensor_bytes(dtype: str, elements: int) -> int:
    per = DTYPE_BYTES.get(dtype, 4)
    return math.ceil(elements * per)


def parse_tflite(data: bytes) -> TfliteFile:
    """Parse TFLite flatbuffer bytes. Raises FlatBufferError when they are not a valid model."""
    if len(data) < 16:
        raise FlatBufferError(f"only {len(data)} bytes; too short to be a TFLite model")
    if file_identifier(data) != TFLITE_IDENTIFIER:
        raise FlatBufferError("it has no TFLite file identifier ('TFL3'); not a TFLite flatbuffer")
    ledger = ByteLedger(len(data))
    root = root_table(data, ledger)
    version = root.u32(0)
    buffers = root.tables(4)
    opcodes = []
    for code in root.tables(1):
        builtin = max(code.u8(0), code.i32(3))
        custom = code.string(1)
        opcodes.append((BUILTIN_OPERATORS.get(builtin, f"BUILTIN_{builtin}"), custom, code.i32(2, 1)))
    if not opcodes and not root.has(2):
        raise FlatBufferError("it has no operators and no subgraphs")

    subgraphs = []
    roles: dict[int, str] = {}  # buffer index -> weights/biases
    for sg in root.tables(2):
        tensor_tables = sg.tables(0)
        operators = []
        for index, op_table in enumerate(sg.tables(3)):
            opcode_index = op_table.u32(0)
            if opcode_index >= len(opcodes):
                raise FlatBufferError(f"operator {index} names opcode {opcode_index} of {len(opcodes)}")
            name, custom, op_version = opcodes[opcode_index]
            operators.append(
                Operator(
                    index,
                    custom if name == "CUSTOM" and custom else name,
                    custom,
                    op_version,
                    op_table.ints(1),
                    op_table.ints(2),
                    op_table.table(4),
                )
            )
        tensors = []
        for index, tt in enumerate(tensor_tables):
            tensors.append(_tensor(index, tt, buffers))
            tt.claim_vector(3, 1, "tensor_names", extra=1)
            quant = tt.table(4)
            if quant is not None and (quant.has(0) or quant.has(2)):
                for field_index, size in ((0, 4), (1, 4), (2, 4), (3, 8)):
                    quant.claim_vector(field_index, size, "quantization")
                quant.claim_self("quantization")
        for op in operators:
            bias_at = BIAS_INPUT.get(op.op)
            for position, tensor_index in enumerate(op.inputs):
                if 0 <= tensor_index < len(tensors) and tensors[tensor_index].is_constant:
                    role = "biases" if position == bias_at else "weights"
                    roles.setdefault(tensors[tensor_index].buffer, role)
        sg.claim_vector(4, 1, "tensor_names", extra=1)
        subgraphs.append(Subgraph(sg.string(4) or "", tensors, operators, sg.ints(1), sg.ints(2)))
    if not subgraphs:
        raise FlatBufferError("it has no subgraph")

    metadata_names = []
    for meta in root.tables(6):
        metadata_names.append(meta.string(0) or "")
        meta.claim_vector(0, 1, "signatures_metadata", extra=1)
        meta.claim_self("signatures_metadata")
        buffer_index = meta.u32(1)
        if buffer_index < len(buffers):
            roles[buffer_index] = "signatures_metadata"
    root.claim_vector(3, 1, "signatures_metadata", extra=1)  # description
    signature_keys = []
    for sig in root.tables(7):
        signature_keys.append(sig.string(2) or "")
        _claim_signature(sig)
    root.claim_vector(7, 4, "signatures_metadata")
    root.claim_vector(6, 4, "signatures_metadata")
    for buffer_index, role in roles.items():
        if buffer_index < len(buffers):
            buffers[buffer_index].claim_vector(0, 1, role)
    # Remaining constant buffers that no operator reads (rare) still hold weights.
    for buffer_index, buf in enumerate(buffers):
        if buffer_index not in roles:
            buf.claim_vector(0, 1, "weights")

    totals = ledger.totals()
    breakdown = {name: totals.get(name, 0) for name in FLASH_CATEGORIES if name != "graph_structure"}
    breakdown["graph_structure"] = len(data) - sum(breakdown.values())
    return TfliteFile(len(data), version, root.string(3) or "", subgraphs, metadata_names, signature_keys, breakdown)


def _tensor(index: int, tt: Table, buffers: list[Table]) -> Tensor:
    dtype = TENSOR_TYPES.get(tt.u8(1), f"TYPE_{tt.u8(1)}")
    buffer_index = tt.u32(2)
    data = None
    data_offset = None
    if 0 < buffer_index < len(buffers):
        span = buffers[buffer_index].vector_span(0, 1)
        if span is not None and span[1]:
            data_offset, length = span
            data = bytes(tt.data[data_offset : data_offset + length])
    quant = None
    qt = tt.table(4)
    if qt is not None:
        scales = qt.scalars(2, "f", 4)
        if scales:
            quant = Quantization(
                [float(s) for s in scales], [int(z) for z in qt.scalars(3, "q", 8)] or [0] * len(scales), qt.i32(6)
            )
    shape = tt.ints(0)
    signature = tt.ints(7) or list(shape)
    return Tensor(
        index,
        tt.string(3) or f"tensor_{index}",
        shape,
        signature,
        dtype,
        buffer_index,
        quant,
        data,
        bool(tt.u8(5)),
        data_offset,
    )


def _claim_signature(sig: Table) -> None:
    for maps in (0, 1):
        for tensor_map in sig.tables(maps):
            tensor_map.claim_vector(0, 1, "signatures_metadata", extra=1)
            tensor_map.claim_self("signatures_metadata")
        sig.claim_vector(maps, 4, "signatures_metadata")
    sig.claim_vector(2, 1, "signatures_metadata", extra=1)
    sig.claim_vector(3, 1, "signatures_metadata", extra=1)
    sig.claim_self("signatures_metadata")
