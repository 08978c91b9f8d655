"""TFLM pre-flight and arena measurement, run by TFLM's own interpreter in a child process.

The child prepares the model, runs one inference and binary-searches the smallest arena
in which `AllocateTensors()` succeeds. Known problem patterns are also found statically,
so that every failing node is reported (TFLM itself stops at the first one).

TFLM does not always fail cleanly when the arena is too small: its LSTM kernel segfaults in
prepare for a range of sizes below the one that works. A size that kills the child counts as
"does not fit"; the search goes on in a fresh child from what it already knew, and the report
says that below the measured arena the runtime crashes (a hard fault on a board) rather than
returning an error. A crash while preparing or running at the full search arena is a real
failure: that model does not run.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.arena import ARENA_MARGIN, recommended_arena
from workbench.core.child import ChildCrashed, run_in_child
from workbench.core.errors import ChildNotStarted, WorkbenchError
from workbench.core.model import Model
from workbench.core.tflite_file import Subgraph, TfliteFile
from workbench.tasks import Task

log = logging.getLogger(__name__)

REQUANTIZE = "Re-quantize the model as full int8 (Optimize page: 'Full integer (int8)')."
# A line of the arena search from the worker: ARENA_LINE + "try 3000" / "fits 3000" / "too-small 3000".
ARENA_LINE = "\x1etflm-arena "
MAX_SEARCH_CHILDREN = 64  # each crash narrows the search: about log2(arena) children at most
WORKER = "workbench.core.tflm_worker:check_job"
RESOURCE_VARIABLE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})
RESOURCE_VARIABLE_MESSAGE = (
    "resource variable (state kept between inferences): a MicroInterpreter without "
    "MicroResourceVariables fails to prepare it"
)
RESOURCE_VARIABLE_FIX = (
    "Export the model without stored state (Keras: stateful=False, or pass the state in and out as "
    "tensors), or give the firmware's MicroInterpreter a tflite::MicroResourceVariables with room "
    "for every variable and register these operators."
)

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
    subgraph: int = 0  # where `node` is: 0 is the main graph


@dataclass
class TflmReport:
    compatible: bool
    problems: list[TflmProblem]
    arena_bytes: int | None  # smallest arena TFLM accepts, measured
    recommended_arena_bytes: int | None
    allocation_total_bytes: int | None  # TFLM's RecordingMicroAllocator total at that arena
    allocation_parts: dict[str, int] = field(default_factory=dict)
    tflm_version: str = ""
    # Set when TFLM crashed, instead of failing cleanly, for some smaller arena: then it equals
    # arena_bytes, and crashed_arenas_bytes lists the sizes it crashed at.
    crashes_below_bytes: int | None = None
    crashed_arenas_bytes: list[int] = field(default_factory=list)
    crash_reason: str = ""  # how the runtime died ("it crashed (SIGSEGV)")
    crash_log: str = ""  # what TFLM printed just before it died

    @property
    def margin_percent(self) -> int:
        return round(ARENA_MARGIN * 100)

    @property
    def crash_note(self) -> str:
        """One plain sentence about the crashes below the measured arena; "" when there were none."""
        if not self.crashes_below_bytes or not self.crashed_arenas_bytes:
            return ""
        sizes = [f"{size:,}" for size in self.crashed_arenas_bytes]
        listed = ", ".join(sizes[:-1]) + (" and " if len(sizes) > 1 else "") + sizes[-1]
        said = f' (TFLM said: "{self.crash_log}")' if self.crash_log else ""
        return (
            f"Below {self.crashes_below_bytes:,} bytes TFLM can crash instead of returning an error: "
            f"{self.crash_reason or 'it crashed'} with {listed} bytes of arena{said}. On a board that is a "
            "hard fault, not a failed AllocateTensors(): never give it less than the measured arena, "
            f"and keep the recommended {self.recommended_arena_bytes or 0:,} bytes."
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["margin_percent"] = self.margin_percent
        data["crash_note"] = self.crash_note
        return data


@dataclass
class _ArenaSearch:
    """What the children's arena lines told: the bounds so far, the size in flight, the crashes."""

    low: int = 1
    high: int | None = None
    trying: int | None = None
    crashed: list[int] = field(default_factory=list)

    def hear(self, line: str) -> None:
        if not line.startswith(ARENA_LINE):
            return
        event, _, size_text = line[len(ARENA_LINE) :].partition(" ")
        try:
            size = int(size_text)
        except ValueError:
            return
        if event == "try":
            self.trying = size
        elif event == "fits":
            self.high = size if self.high is None else min(self.high, size)
            self.trying = None
        elif event == "too-small":
            self.low = max(self.low, size + 1)
            self.trying = None

    def crash_at_trying(self) -> bool:
        """Count the size in flight as too small; False when no size was being tried."""
        if self.trying is None:
            return False
        self.crashed.append(self.trying)
        self.low = max(self.low, self.trying + 1)
        self.trying = None
        return True


def model_static_problems(model: TfliteFile) -> list[TflmProblem]:
    """`static_problems` of every subgraph (those inside WHILE, IF and CALL_ONCE too)."""
    problems = []
    for index, graph in enumerate(model.subgraphs):
        for problem in static_problems(graph):
            problem.subgraph = index
            problems.append(problem)
    return problems


def static_problems(graph: Subgraph) -> list[TflmProblem]:
    """Problems recognizable from the graph alone: hybrid kernels, float16 weights, resource variables."""
    tensors = graph.tensors
    problems = []
    for op in graph.operators:
        if op.op in RESOURCE_VARIABLE_OPS:
            problems.append(TflmProblem(op.index, op.op, RESOURCE_VARIABLE_MESSAGE, RESOURCE_VARIABLE_FIX))
            continue
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
    """Prepare, run and measure the model in TFLM (child process); report every problem.

    A child that dies while trying an arena size is replaced by a fresh one that searches on
    from what the first had found; a crash anywhere else is reported as a problem.
    """
    graph = model.graph.main
    problems = model_static_problems(model.graph)
    flagged = {p.node for p in problems if p.subgraph == 0}
    search = _ArenaSearch()
    crash_reason = crash_log = ""
    with tempfile.TemporaryDirectory(prefix="workbench-tflm-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model.tflite)
        probe_log = Path(tmp) / "probe.log"
        for _ in range(MAX_SEARCH_CHILDREN):
            request = {
                "model_path": str(path),
                "input_count": len(graph.inputs),
                "arena_upper": arena_upper(model.size_bytes),
                "arena_low": search.low,
                "arena_high": search.high,
                "probe_log": str(probe_log),
            }
            try:
                result = run_in_child(
                    WORKER, request, task, f"TFLM check of {model.name}", timeout_s=300, on_line=search.hear
                )
            except ChildCrashed as error:
                if not search.crash_at_trying():  # it died preparing or running the model: a real failure
                    problems.append(TflmProblem(None, "", error.message, error.hint))
                    return TflmReport(False, problems, None, None, None)
                crash_reason = crash_reason or error.process.reason
                crash_log = crash_log or _last_words(probe_log)
                log.warning(
                    "measuring the arena of %s: with %d bytes TFLM died (%s), so that size is too small; "
                    "searching on in a new process. TFLM's last words: %s",
                    model.name,
                    search.crashed[-1],
                    error.process.reason,
                    _last_words(probe_log) or "none",
                )
                continue
            except ChildNotStarted:
                raise  # the app's own failure, never a verdict on the model
            except WorkbenchError as error:
                problems.append(TflmProblem(None, "", error.message, error.hint))
                return TflmReport(False, problems, None, None, None)
            report = _report(graph, result, problems, flagged)
            if search.crashed and report.arena_bytes:
                report.crashes_below_bytes = report.arena_bytes
                report.crashed_arenas_bytes = sorted(search.crashed)
                report.crash_reason = crash_reason
                report.crash_log = crash_log
            return report
    problems.append(
        TflmProblem(
            None,
            "",
            f"TFLM crashed {len(search.crashed)} times while measuring the arena of {model.name}",
            "Details are in the log.",
        )
    )
    return TflmReport(False, problems, None, None, None)


def arena_upper(model_bytes: int) -> int:
    """The arena the model is prepared and run in, and the top of the search: 1 MB, or 4x the model."""
    return max(1 << 20, model_bytes * 4)


def _last_words(probe_log: Path) -> str:
    """The last line TFLM printed before it died, from the probe's log file."""
    try:
        lines = [line.strip() for line in probe_log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _report(
    graph: Subgraph, result: dict[str, Any], problems: list[TflmProblem], flagged: set[int | None]
) -> TflmReport:
    """The child's findings in plain language, after the ones read from the graph."""
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
    problems.sort(key=lambda p: (p.node is None, p.subgraph, p.node or 0))
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
