"""Child-process side of the TFLM checks: prepare, invoke and measure a model in TFLM.

Runs only inside `workbench.core.child_main` because TFLM prints to the C-level stdout
and can abort the process on a malformed model.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from workbench.core.child import report_progress
from workbench.core.flatbuffer import root_table

_MISSING_OP = re.compile(r"Failed to get registration from op code (\S+)|Didn't find op for builtin opcode '(\S+)'")
_NODE_FAILED = re.compile(r"Node (\S+) \(number (\d+)\) failed to (prepare|invoke|init)")
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_ARENA_PART = re.compile(r"'([^']+)' used (\d+) bytes")
_PLACEHOLDER_OP = 0  # ADD: always registered in TFLM


@contextmanager
def captured_c_output() -> Iterator[list[str]]:
    """Capture what C code prints to stdout and stderr (file descriptors 1 and 2)."""
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", errors="replace").splitlines())


def _interpreter(model: bytes | bytearray, arena_size: int) -> tuple[Any, list[str]]:
    from tflite_micro.python.tflite_micro import runtime

    with captured_c_output() as lines:
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


def minimum_arena(model: bytes, upper: int) -> int:
    """The smallest arena (bytes) in which TFLM allocates every tensor: a binary search."""
    low, high = 1, upper
    while low < high:
        middle = (low + high) // 2
        interpreter, _ = _interpreter(model, middle)
        if interpreter is not None:
            high = middle
        else:
            low = middle + 1
    return low


def allocation_report(model: bytes, arena_size: int) -> dict[str, Any]:
    """TFLM's RecordingMicroAllocator report at this arena size."""
    interpreter, _ = _interpreter(model, arena_size)
    with captured_c_output() as lines:
        interpreter.print_allocations()
    parts = {}
    total = 0
    for line in lines:
        if match := _ARENA_TOTAL.search(line):
            total = int(match.group(1))
        elif match := _ARENA_PART.search(line):
            parts[match.group(1)] = int(match.group(2))
    return {"total_bytes": total, "parts": parts}


def _invoke_zeros(interpreter: Any, input_count: int) -> list[str]:
    """Run one inference on all-zero inputs; returns what TFLM printed if it failed."""
    with captured_c_output() as lines:
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

    Returns {"prepared", "missing_ops", "failures": [{"node", "op", "stage", "log"}],
    "arena_bytes", "allocation", "tflm_version"}.
    """
    from tflite_micro import __version__ as tflm_version

    with open(request["model_path"], "rb") as handle:
        model = handle.read()
    upper = max(int(request.get("arena_upper", 0)), 1 << 20, len(model) * 4)
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
    arena = minimum_arena(model, upper)
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
