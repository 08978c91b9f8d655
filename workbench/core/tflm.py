"""TFLM pre-flight and arena measurement, run by TFLM's own interpreter in a child process.

The child prepares the model, runs one inference and binary-searches the smallest arena
in which `AllocateTensors()` succeeds. Known problem patterns are also found statically,
so that every failing node is reported (TFLM itself stops at the first one).
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.model import Model
from workbench.core.tflite_file import Subgraph
from workbench.tasks import Task

ARENA_MARGIN = 0.10  # recommended arena = measured + 10%, rounded up to whole KB
REQUANTIZE = "Re-quantize the model as full int8 (Optimize page: 'Full integer (int8)')."

_WEIGHTED_OPS = frozenset(
    {
        "FULLY_CONNECTED",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "TRANSPOSE_CONV",
        "CONV_3D",
        "BATCH_MATMUL",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "SVDF",
        "EMBEDDING_LOOKUP",
    }
)
_TYPE_NOT_SUPPORTED = re.compile(r"Type (\w+) \((\d+)\) not supported|(\w+) is not supported", re.I)


@dataclass
class TflmProblem:
    node: int | None
    op: str
    message: str
    fix: str


@dataclass
class TflmReport:
    compatible: bool
    problems: list[TflmProblem]
    arena_bytes: int | None  # smallest arena TFLM accepts, measured
    recommended_arena_bytes: int | None
    allocation_total_bytes: int | None  # TFLM's RecordingMicroAllocator total at that arena
    allocation_parts: dict[str, int] = field(default_factory=dict)
    tflm_version: str = ""

    @property
    def margin_percent(self) -> int:
        return round(ARENA_MARGIN * 100)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["margin_percent"] = self.margin_percent
        return data


def recommended_arena(measured_bytes: int) -> int:
    """Measured arena plus the margin, rounded up to a whole kilobyte."""
    return int(math.ceil(measured_bytes * (1 + ARENA_MARGIN) / 1024) * 1024)


def static_problems(graph: Subgraph) -> list[TflmProblem]:
    """Problems recognizable from the graph alone: hybrid kernels and float16 weights."""
    tensors = graph.tensors
    problems = []
    for op in graph.operators:
        ins = [tensors[i] for i in op.inputs if i >= 0]
        activations = [t for t in ins if not t.is_constant]
        constants = [t for t in ins if t.is_constant]
        if (
            op.op in _WEIGHTED_OPS
            and activations
            and activations[0].dtype == "FLOAT32"
            and any(t.dtype in ("INT8", "UINT8", "INT4") for t in constants)
        ):
            problems.append(
                TflmProblem(
                    op.index,
                    op.op,
                    f"float32 input with {constants[0].dtype.lower()} weights: a dynamic-range (hybrid) "
                    "model; TFLM has no hybrid kernels",
                    REQUANTIZE,
                )
            )
        elif op.op in _WEIGHTED_OPS and activations and activations[0].dtype == "UINT8":
            problems.append(
                TflmProblem(
                    op.index,
                    op.op,
                    "uint8 (TensorFlow 1 style) quantization; TFLM's kernels expect int8",
                    REQUANTIZE,
                )
            )
        elif (
            op.op == "FULLY_CONNECTED"
            and len(op.inputs) > 1
            and op.inputs[1] >= 0
            and tensors[op.inputs[1]].quantization is not None
            and tensors[op.inputs[1]].quantization.per_channel  # type: ignore[union-attr]
            and (len(op.inputs) < 3 or op.inputs[2] < 0)
        ):
            problems.append(
                TflmProblem(
                    op.index,
                    op.op,
                    "per-channel quantized weights without a bias: TFLM's fully connected kernel crashes on this",
                    "Quantize dense layers per tensor (Optimize: expert option, --per-tensor-dense), "
                    "or give the layer a bias.",
                )
            )
        elif op.op == "DEQUANTIZE" and constants and constants[0].dtype == "FLOAT16":
            problems.append(
                TflmProblem(
                    op.index,
                    op.op,
                    "float16 weights are expanded at run time; TFLM cannot dequantize float16",
                    "Convert as float32, or re-quantize as full int8.",
                )
            )
    return problems


def _plain(failure: dict[str, Any]) -> tuple[str, str]:
    """A failure's TFLM log in plain language, and what to do about it."""
    log = " ".join(failure.get("log") or [])
    op = failure.get("op") or "the model"
    if "filter type" in log and "FLOAT32" in log:
        return (f"{log.strip()} - a dynamic-range (hybrid) model; TFLM has no hybrid kernels", REQUANTIZE)
    match = _TYPE_NOT_SUPPORTED.search(log)
    if match:
        kind = (match.group(1) or match.group(3) or "this").lower()
        return (f"TFLM's {op} kernel does not support {kind} tensors", REQUANTIZE)
    if "Failed to resize buffer" in log or "arena" in log.lower():
        return ("the tensor arena is too small", "Give the interpreter a larger arena.")
    if "was not true" in log:
        check = log.split("was not true")[0].split()[-8:]
        return (f"TFLM's {op} kernel refused this tensor combination ({' '.join(check)})", REQUANTIZE)
    stage = failure.get("stage", "prepare")
    return (
        f"TFLM failed to {stage} {op}" + (f": {log.strip()[:160]}" if log.strip() else ""),
        "Check the operator's types and shapes against the TFLM kernel.",
    )


def check_tflm(model: Model, task: Task) -> TflmReport:
    """Prepare, run and measure the model in TFLM (child process); report every problem."""
    graph = model.graph.main
    problems = static_problems(graph)
    flagged = {p.node for p in problems}
    with tempfile.TemporaryDirectory(prefix="workbench-tflm-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model.tflite)
        try:
            result = run_in_child(
                "workbench.core.tflm_worker:check_job",
                {"model_path": str(path), "input_count": len(graph.inputs)},
                task,
                f"TFLM check of {model.name}",
                timeout_s=300,
            )
        except WorkbenchError as error:
            problems.append(TflmProblem(None, "", error.message, error.hint))
            return TflmReport(False, problems, None, None, None)
    for name in result["missing_ops"]:
        for op in graph.operators:
            if op.op == name and op.index not in flagged:
                flagged.add(op.index)
                problems.append(
                    TflmProblem(
                        op.index,
                        op.op,
                        f"TFLM has no kernel for {op.op}",
                        "Replace this layer with operators TFLM supports, or add a kernel to your firmware.",
                    )
                )
    for failure in result["failures"]:
        if failure.get("node") is not None and failure["node"] in flagged:
            continue
        if failure.get("node") is None and problems:
            continue
        message, fix = _plain(failure)
        node = failure.get("node")
        op_name = (
            graph.operators[node].op if node is not None and node < len(graph.operators) else (failure.get("op") or "")
        )
        problems.append(TflmProblem(node, op_name, message, fix))
    problems.sort(key=lambda p: (p.node is None, p.node or 0))
    arena = result.get("arena_bytes")
    allocation = result.get("allocation") or {}
    return TflmReport(
        compatible=not problems and bool(result["prepared"]),
        problems=problems,
        arena_bytes=arena,
        recommended_arena_bytes=recommended_arena(arena) if arena else None,
        allocation_total_bytes=allocation.get("total_bytes"),
        allocation_parts=allocation.get("parts", {}),
        tflm_version=result.get("tflm_version", ""),
    )
