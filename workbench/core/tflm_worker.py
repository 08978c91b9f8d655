"""Child-process side of the TFLM checks: prepare, invoke and measure a model in TFLM.

Runs only inside `workbench.core.child_main` because TFLM prints to the C-level stdout
and can abort the process on a malformed model. Some kernels do worse than abort: TFLM's
LSTM dereferences tensors it failed to allocate and segfaults when the arena is a little
too small. So the arena search says each size before trying it, and what came of it, on
its own lines (`ARENA_LINE`): when the child dies, the parent knows which size killed it
and resumes the search in a fresh child (`workbench.core.tflm`).
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.child import report_progress
from workbench.core.flatbuffer import root_table
from workbench.core.native_output import captured_native_output
from workbench.core.tflm import ARENA_LINE

_MISSING_OP = re.compile(r"Failed to get registration from op code (\S+)|Didn't find op for builtin opcode '(\S+)'")
_NODE_FAILED = re.compile(r"Node (\S+) \(number (\d+)\) failed to (prepare|invoke|init)")
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_ARENA_PART = re.compile(r"'([^']+)' used (\d+) bytes")
_ARENA_HEAD = re.compile(r"Arena allocation head (\d+) bytes")
_PLACEHOLDER_OP = 0  # ADD: always registered in TFLM


def _interpreter(model: bytes | bytearray, arena_size: int, log_path: str | None = None) -> tuple[Any, list[str]]:
    from tflite_micro.python.tflite_micro import runtime

    with captured_native_output(log_path=log_path) as lines:
        try:
            interpreter = runtime.Interpreter.from_bytes(bytes(model), arena_size=arena_size)
        except (RuntimeError, ValueError):
            interpreter = None
    return interpreter, lines


def _opcodes(model: bytes) -> list[tuple[str, int | None, int | None]]:
    """For each OperatorCode: its builtin name and the absolute offsets of its deprecated byte
    and int32 builtin code (None where the field is absent)."""
    from workbench.core.tflite_enums import BUILTIN_OPERATORS

    out = []
    for code in root_table(model).tables(1):
        dep = code._field(0)
        new = code._field(3)
        name = BUILTIN_OPERATORS.get(max(code.u8(0), code.i32(3)), "")
        out.append((name, code.pos + dep if dep else None, code.pos + new if new else None))
    return out


def find_unregistered_ops(model: bytes, arena_size: int) -> list[str]:
    """Every builtin op of the model that this TFLM build has no kernel for.

    TFLM stops at the first missing kernel, so each one found is swapped for a kernel it
    has (in a copy) and the model is tried again, until none is missing.
    """
    patched = bytearray(model)
    opcodes = _opcodes(model)
    names = [name for name, _, _ in opcodes]
    missing: list[str] = []
    for _ in range(len(opcodes) + 1):
        interpreter, lines = _interpreter(patched, arena_size)
        found = next((m for m in map(_MISSING_OP.search, lines) if m), None)
        if interpreter is not None or found is None:
            break
        name = found.group(1) or found.group(2)
        missing.append(name)
        indexes = [i for i, n in enumerate(names) if n == name]
        if not indexes:
            break
        for i in indexes:
            _, dep, new = opcodes[i]
            if dep is not None:
                patched[dep] = _PLACEHOLDER_OP
            if new is not None:
                struct.pack_into("<i", patched, new, _PLACEHOLDER_OP)
            names[i] = "ADD"
    return missing


def _say(event: str, arena_size: int) -> None:
    print(f"{ARENA_LINE}{event} {arena_size}", file=sys.stderr, flush=True)


def minimum_arena(model: bytes, low: int, high: int, log_path: str | None = None) -> int:
    """The smallest arena (bytes) in [low, high] in which TFLM allocates every tensor: a binary
    search. Each size is announced before it is tried ("try"), then "fits" or "too-small"."""
    while low < high:
        middle = (low + high) // 2
        _say("try", middle)
        interpreter, _ = _interpreter(model, middle, log_path)
        if interpreter is not None:
            _say("fits", middle)
            high = middle
        else:
            _say("too-small", middle)
            low = middle + 1
    return low


def allocation_report(model: bytes, arena_size: int) -> dict[str, Any]:
    """TFLM's RecordingMicroAllocator report at this arena size."""
    interpreter, _ = _interpreter(model, arena_size)
    with captured_native_output() as lines:
        interpreter.print_allocations()
    parts = {}
    total = head = 0
    for line in lines:
        if match := _ARENA_TOTAL.search(line):
            total = int(match.group(1))
        elif match := _ARENA_HEAD.search(line):
            head = int(match.group(1))
        elif match := _ARENA_PART.search(line):
            parts[match.group(1)] = int(match.group(2))
    return {"total_bytes": total, "head_bytes": head, "parts": parts}


def plan_proof_job(request: dict[str, Any]) -> dict[str, Any]:
    """Both models of `request` ("original", "planned": paths) in TFLM: the head each allocates,
    each one's smallest arena, and whether all their outputs are bit-identical on the same random
    inputs (`samples` of them; `input_count` and `output_count` say how many the model has)."""
    models = {name: Path(request[name]).read_bytes() for name in ("original", "planned")}
    heads, arenas, outputs = {}, {}, {}
    for name, model in models.items():
        report = allocation_report(model, 1 << 24)
        heads[name] = report["head_bytes"]
        arenas[name] = minimum_arena(model, 0, report["total_bytes"] + 1024)
        interpreter, lines = _interpreter(model, 1 << 24)
        if interpreter is None:
            return {"error": f"TFLM cannot allocate the {name} model", "details": "\n".join(lines)}
        outputs[name] = _outputs_on_samples(
            interpreter, int(request.get("samples", 8)), int(request["input_count"]), int(request["output_count"])
        )
    return {"heads": heads, "arenas": arenas, "identical": outputs["original"] == outputs["planned"]}


def _outputs_on_samples(interpreter: Any, count: int, input_count: int, output_count: int) -> list[bytes]:
    """The raw bytes of every output for `count` random inputs (a fixed seed, every input set)."""
    rng = np.random.default_rng(2026)
    results = []
    for _ in range(count):
        for index in range(input_count):
            details = interpreter.get_input_details(index)
            dtype, shape = np.dtype(details["dtype"]), details["shape"]
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                sample = rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
            else:
                sample = rng.standard_normal(shape).astype(dtype)
            interpreter.set_input(sample, index)
        interpreter.invoke()
        results += [np.ascontiguousarray(interpreter.get_output(i)).tobytes() for i in range(output_count)]
    return results


def _invoke_zeros(interpreter: Any, input_count: int) -> list[str]:
    """Run one inference on all-zero inputs; returns what TFLM printed if it failed."""
    with captured_native_output() as lines:
        try:
            for index in range(input_count):
                details = interpreter.get_input_details(index)
                interpreter.set_input(np.zeros(details["shape"], dtype=details["dtype"]), index)
            interpreter.invoke()
            lines.clear()
        except (RuntimeError, ValueError) as error:
            lines.append(str(error))
    return lines


def check_job(request: dict[str, Any]) -> dict[str, Any]:
    """Prepare the model in TFLM, measure its arena and run it once.

    The request names the model and may bound the arena search: "arena_upper" (the arena
    prepared and run in), "arena_low" and "arena_high" (what an earlier, crashed search
    already knew), "probe_log" (a file that keeps TFLM's output of the size being tried).
    Returns {"prepared", "missing_ops", "failures": [{"node", "op", "stage", "log"}],
    "arena_bytes", "allocation", "tflm_version"}.
    """
    from tflite_micro import __version__ as tflm_version

    with open(request["model_path"], "rb") as handle:
        model = handle.read()
    upper = max(int(request.get("arena_upper", 0)), 1 << 20, len(model) * 4)
    low = max(int(request.get("arena_low") or 1), 1)
    high = min(int(request.get("arena_high") or upper), upper)
    report_progress(0.1, "Preparing in TFLM")
    missing = find_unregistered_ops(model, upper)
    result: dict[str, Any] = {
        "prepared": False,
        "missing_ops": missing,
        "failures": [],
        "arena_bytes": None,
        "allocation": None,
        "tflm_version": tflm_version,
    }
    if missing:
        return result
    interpreter, lines = _interpreter(model, upper)
    if interpreter is None:
        result["failures"] = _failures(lines, "prepare")
        return result
    result["prepared"] = True
    report_progress(0.3, "Running one inference in TFLM")
    failure_lines = _invoke_zeros(interpreter, int(request.get("input_count", 1)))
    if failure_lines:
        result["failures"] = _failures(failure_lines, "invoke")
    report_progress(0.5, "Measuring the tensor arena")
    arena = minimum_arena(model, low, high, request.get("probe_log"))
    result["arena_bytes"] = arena
    result["allocation"] = allocation_report(model, arena)
    report_progress(1.0, "TFLM check done")
    return result


def _failures(lines: list[str], stage: str) -> list[dict[str, Any]]:
    """Turn TFLM's log into failures: the node it names, and the lines that explain it."""
    failures = []
    reasons: list[str] = []
    for line in lines:
        match = _NODE_FAILED.search(line)
        if match:
            failures.append(
                {
                    "node": int(match.group(2)),
                    "op": match.group(1),
                    "stage": match.group(3),
                    "log": [r for r in reasons if r.strip()],
                }
            )
            reasons = []
        else:
            reasons.append(line.strip())
    if not failures:
        failures.append(
            {
                "node": None,
                "op": None,
                "stage": stage,
                "log": [r for r in reasons if r.strip()] or [f"TFLM failed to {stage}"],
            }
        )
    return failures
