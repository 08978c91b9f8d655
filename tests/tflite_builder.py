"""Hand-built one-operator TFLite models, for operators no converter writes from Keras (SVDF, the
bidirectional and plain RNN/LSTM kernels).

Written with the object API of the TFLite schema that ships with tflite-micro, loaded from its
file so that neither TensorFlow nor the TFLM runtime is imported into the test process.
"""

from __future__ import annotations

import importlib.util
import math
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any


@dataclass
class T:
    """A tensor of the model: constant ones get non-zero float data, variable ones are state."""

    shape: list[int]
    constant: bool = False
    variable: bool = False


@cache
def schema() -> ModuleType:
    spec = importlib.util.find_spec("tflite_micro")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "tensorflow/lite/micro/python/schema_py_generated.py"
    module_spec = importlib.util.spec_from_file_location("tflite_schema_for_tests", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def one_op_model(op: str, inputs: list[T | None], outputs: list[T], options: str = "", **fields: Any) -> bytes:
    """A float32 model of one builtin operator `op`; None inputs are omitted optional ones (-1).

    `options` names the builtin options table (e.g. "SVDFOptions"), `fields` set its fields
    by their object-API names (e.g. rank=2).
    """
    import flatbuffers

    fb = schema()
    tensors: list[Any] = []
    buffers = [fb.BufferT()]

    def add(spec: T) -> int:
        tensor = fb.TensorT()
        tensor.shape = list(spec.shape)
        tensor.type = fb.TensorType.FLOAT32
        tensor.name = f"t{len(tensors)}"
        tensor.isVariable = spec.variable
        tensor.buffer = 0
        if spec.constant:
            count = math.prod(spec.shape)
            buffer = fb.BufferT()
            buffer.data = list(struct.pack(f"<{count}f", *[0.01 * (i % 7 + 1) for i in range(count)]))
            buffers.append(buffer)
            tensor.buffer = len(buffers) - 1
        tensors.append(tensor)
        return len(tensors) - 1

    input_ids = [-1 if spec is None else add(spec) for spec in inputs]
    output_ids = [add(spec) for spec in outputs]
    operator = fb.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = input_ids
    operator.outputs = output_ids
    if options:
        table = getattr(fb, f"{options}T")()
        for name, value in fields.items():
            assert hasattr(table, name), f"{options} has no field {name}"
            setattr(table, name, value)
        operator.builtinOptionsType = getattr(fb.BuiltinOptions, options)
        operator.builtinOptions = table
    graph = fb.SubGraphT()
    graph.tensors = tensors
    graph.operators = [operator]
    graph.inputs = [i for i, spec in zip(input_ids, inputs, strict=True) if spec and not spec.constant][:1]
    graph.outputs = output_ids
    graph.name = "main"
    code = fb.OperatorCodeT()
    builtin = getattr(fb.BuiltinOperator, op)
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = 1
    model = fb.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [graph]
    model.buffers = buffers
    model.description = "hand-built for tests"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
