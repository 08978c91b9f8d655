"""Fixtures of the export tests: models ready to deploy, and the host and Arm compilers.

`deploy_model_factory(path, measure=False)` gives the DeployModel of a .tflite as the workbench
analyzes it (with TFLM's measured arena when `measure`; tests asking for that are slow, since
TFLM runs in a child process). Each (path, measure) is built once per session.
`host_compiler` and `arm_compiler` compile C and C++ with warnings as errors; the test is skipped,
saying why, when the compiler is not installed (CI installs both).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from workbench.export.api import DeployModel, deploy_model_from_file

ROOT = Path(__file__).resolve().parents[2]
SHARED_MODELS = ROOT.parent / "shared" / "models"
SAMPLES = ROOT / "resources" / "samples"
DATA = Path(__file__).with_name("data")

# The reference models by name: TFLM's own examples, and the shipped sample (which has labels).
MODEL_PATHS: dict[str, Path] = {
    "hello_world_float": SHARED_MODELS / "hello_world_float.tflite",
    "hello_world_int8": SHARED_MODELS / "hello_world_int8.tflite",
    "micro_speech_quantized": SHARED_MODELS / "micro_speech_quantized.tflite",
    "person_detect": SHARED_MODELS / "person_detect.tflite",
    "digits_int8": SAMPLES / "digits_int8.tflite",
}

DeployModelFactory = Callable[..., DeployModel]


def build_deploy_model(path: Path, *, measure: bool) -> DeployModel:
    """The DeployModel of `path` as analyzed (measured by TFLM in a child when `measure`)."""
    return deploy_model_from_file(path, measure=measure)


@pytest.fixture(scope="session")
def deploy_model_factory() -> DeployModelFactory:
    """`make(path_or_name, measure=False) -> DeployModel`, built once per session for each pair.

    A name is one of MODEL_PATHS ("person_detect", "digits_int8", ...).
    """
    built: dict[tuple[Path, bool], DeployModel] = {}

    def make(model: str | Path, measure: bool = False) -> DeployModel:
        path = MODEL_PATHS[model] if isinstance(model, str) and model in MODEL_PATHS else Path(model)
        key = (path.resolve(), measure)
        if key not in built:
            built[key] = build_deploy_model(path, measure=measure)
        return built[key]

    return make


WARNINGS = ("-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class Compiler:
    """A C compiler and its C++ sibling, with the flags every compile uses."""

    c: str
    cxx: str
    flags: tuple[str, ...]

    def compile(self, source: Path, output: Path, *extra: str, includes: Sequence[Path] = ()) -> Path:
        """Compile `source` (C for .c, else C++) to an object file; the test fails with the
        compiler's messages when it does not compile warning-free."""
        is_c = source.suffix == ".c"
        standard = "-std=c11" if is_c else "-std=c++17"
        argv = [
            self.c if is_c else self.cxx,
            standard,
            *WARNINGS,
            *self.flags,
            *(f"-I{folder}" for folder in includes),
            *extra,
            "-c",
            str(source),
            "-o",
            str(output),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(argv)}\n{done.stderr}"
        return output

    def link(self, objects: Sequence[Path], output: Path, *, cxx: bool) -> Path:
        """Link objects into a program with the C (or, with `cxx`, the C++) driver."""
        argv = [self.cxx if cxx else self.c, *(str(o) for o in objects), "-o", str(output)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(argv)}\n{done.stderr}"
        return output


def _compiler(c: str, cxx: str, flags: tuple[str, ...]) -> Compiler:
    missing = [tool for tool in (c, cxx) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (CI installs it: .ci/run)")
    return Compiler(c, cxx, flags)


@pytest.fixture(scope="session")
def host_compiler() -> Compiler:
    """gcc and g++ for this machine (-Wall -Wextra -Werror)."""
    return _compiler("gcc", "g++", ())


@pytest.fixture(scope="session")
def arm_compiler() -> Compiler:
    """arm-none-eabi-gcc/g++ for a Cortex-M4 (-mcpu=cortex-m4 -mthumb -Os -Wall -Wextra -Werror)."""
    return _compiler("arm-none-eabi-gcc", "arm-none-eabi-g++", ("-mcpu=cortex-m4", "-mthumb", "-Os"))


def tflm_resolver_methods() -> list[str]:
    """The Add... methods of TFLM's MicroMutableOpResolver, read from tests/export/data (see its header)."""
    lines = (DATA / "tflm_op_resolver_methods.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="session")
def resolver_methods() -> list[str]:
    """TFLM's MicroMutableOpResolver methods, as extracted into tests/export/data."""
    return tflm_resolver_methods()


def _tensor(fb: Any, name: str, shape: list[int], buffer: int, dtype: str) -> Any:
    tensor = fb.TensorT()
    tensor.shape = shape
    tensor.type = getattr(fb.TensorType, dtype)
    tensor.name = name
    tensor.buffer = buffer
    return tensor


def hand_built_model(
    subgraphs: list[list[tuple[str, list[int], list[int]]]],
    tensors: list[list[tuple[str, list[int], float | None, str]]],
) -> bytes:
    """A float model from plain lists, for graphs no converter writes from a few lines of Keras.

    `tensors[g]` are (name, shape, constant_value or None, dtype) of subgraph g; `subgraphs[g]` its
    operators as (op, inputs, outputs), where op is a builtin name, "WHILE:cond:body", or
    "CUSTOM:<code>". Each subgraph's inputs are its non-constant tensors no operator writes, its
    outputs those no operator reads.
    """
    import struct

    import flatbuffers

    from tests.tflite_builder import schema

    fb = schema()
    buffers = [fb.BufferT()]
    codes: list[str] = []
    graphs = []
    for index, (ops, specs) in enumerate(zip(subgraphs, tensors, strict=True)):
        graph = fb.SubGraphT()
        graph.name = f"subgraph_{index}"
        graph.tensors = []
        for name, shape, value, dtype in specs:
            buffer = 0
            if value is not None:
                data = fb.BufferT()
                data.data = list(struct.pack("<f" if dtype == "FLOAT32" else "<i", value))
                buffers.append(data)
                buffer = len(buffers) - 1
            graph.tensors.append(_tensor(fb, name, shape, buffer, dtype))
        graph.operators = []
        written: set[int] = set()
        read: set[int] = set()
        for op, inputs, outputs in ops:
            key = op.split(":")[0] if op.startswith("WHILE") else op
            if key not in codes:
                codes.append(key)
            operator = fb.OperatorT()
            operator.opcodeIndex = codes.index(key)
            operator.inputs = inputs
            operator.outputs = outputs
            if op.startswith("WHILE:"):
                _, cond, body = op.split(":")
                options = fb.WhileOptionsT()
                options.condSubgraphIndex = int(cond)
                options.bodySubgraphIndex = int(body)
                operator.builtinOptionsType = fb.BuiltinOptions.WhileOptions
                operator.builtinOptions = options
            graph.operators.append(operator)
            written.update(outputs)
            read.update(inputs)
        graph.inputs = [i for i, spec in enumerate(specs) if spec[2] is None and i not in written]
        graph.outputs = [i for i in sorted(written) if i not in read]
        graphs.append(graph)
    opcodes = []
    for key in codes:
        code = fb.OperatorCodeT()
        if key.startswith("CUSTOM:"):
            code.builtinCode = fb.BuiltinOperator.CUSTOM
            code.customCode = key.split(":", 1)[1]
        else:
            code.builtinCode = getattr(fb.BuiltinOperator, key)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        opcodes.append(code)
    model = fb.ModelT()
    model.version = 3
    model.operatorCodes = opcodes
    model.subgraphs = graphs
    model.buffers = buffers
    model.description = "hand-built for the export tests"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def while_loop_model() -> bytes:
    """x -> WHILE (x < 10: x = x + 1): ADD and LESS live only in the loop's subgraphs."""
    return hand_built_model(
        [
            [("WHILE:1:2", [0], [1])],
            [("LESS", [0, 1], [2])],
            [("ADD", [0, 1], [2])],
        ],
        [
            [("x", [1], None, "FLOAT32"), ("y", [1], None, "FLOAT32")],
            [("a", [1], None, "FLOAT32"), ("limit", [1], 10.0, "FLOAT32"), ("go_on", [1], None, "BOOL")],
            [("a", [1], None, "FLOAT32"), ("one", [1], 1.0, "FLOAT32"), ("b", [1], None, "FLOAT32")],
        ],
    )


def one_op_model(op: str) -> bytes:
    """x -> op(x, x): a one-operator model (op a builtin name or "CUSTOM:<code>")."""
    return hand_built_model(
        [[(op, [0, 0], [1])]],
        [[("x", [1, 4], None, "FLOAT32"), ("y", [1, 4], None, "FLOAT32")]],
    )


@pytest.fixture(scope="session")
def hand_built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bytes], Path]:
    """`save(name, tflite_bytes) -> path` of a .tflite in a session folder."""
    folder = tmp_path_factory.mktemp("hand_built")

    def save(name: str, data: bytes) -> Path:
        path = folder / f"{name}.tflite"
        path.write_bytes(data)
        return path

    return save
