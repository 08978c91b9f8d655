"""Operators that run other subgraphs (WHILE, IF, CALL_ONCE): which ones, and how many times.

A WHILE body runs once per iteration. The TFLite converter writes Keras RNN loops (and
`tf.while_loop` with a static bound) as counters that start from a constant, go up by a
constant each iteration and are compared with LESS against a constant; the trip count is
read from that pattern. When the graph does not show it, the count is unknown (None).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from workbench.core.tflite_file import Operator, Subgraph, Tensor, TfliteFile

CONTROL_FLOW_OPS = frozenset({"WHILE", "IF", "CALL_ONCE"})


@dataclass
class Call:
    """One subgraph an operator runs, and how many times per run of that operator."""

    subgraph: int
    role: str  # "body", "condition", "then", "else", "init"
    runs: int | None  # None: unknown (a loop whose trip count the graph does not show)


def calls(model: TfliteFile, graph: Subgraph, op_index: int) -> list[Call]:
    """The subgraphs operator `op_index` of `graph` runs; [] for every other operator."""
    op = graph.operators[op_index]
    options = op.options
    if op.op not in CONTROL_FLOW_OPS or options is None:
        return []
    count = len(model.subgraphs)
    if op.op == "WHILE":
        cond, body = options.i32(0), options.i32(1)
        if not (0 < cond < count and 0 < body < count):
            return []
        trips = while_trip_count(model, graph, op_index)
        return [
            Call(body, "body", trips),
            Call(cond, "condition", None if trips is None else trips + 1),
        ]
    if op.op == "IF":
        branches = [Call(options.i32(0), "then", 1), Call(options.i32(1), "else", 1)]
        return [c for c in branches if 0 < c.subgraph < count]
    init = options.i32(0)
    return [Call(init, "init", 1)] if 0 < init < count else []


def loop_carried(model: TfliteFile, op: Operator) -> set[int]:
    """Positions of a WHILE operator's inputs that its body changes from one iteration to the next."""
    if op.op != "WHILE" or op.options is None or not 0 < op.options.i32(1) < len(model.subgraphs):
        return set()
    body = model.subgraphs[op.options.i32(1)]
    return {
        k
        for k in range(len(op.inputs))
        if k >= len(body.inputs) or k >= len(body.outputs) or body.inputs[k] != body.outputs[k]
    }


def while_trip_count(model: TfliteFile, graph: Subgraph, op_index: int) -> int | None:
    """Iterations of the WHILE loop at `op_index`, when its condition is `counter < bound` (or an
    AND of such) with constant start, step and bound; None when the graph does not say."""
    op = graph.operators[op_index]
    assert op.options is not None
    cond = model.subgraphs[op.options.i32(0)]
    body = model.subgraphs[op.options.i32(1)]
    start_values = [_scalar(graph.tensors[i]) if i >= 0 else None for i in op.inputs]
    counts = []
    for test in _anded_tests(cond):
        less = cond.operators[test]
        if less.op != "LESS" or len(less.inputs) != 2:
            continue
        counter, bound_tensor = less.inputs
        if counter not in cond.inputs:
            continue
        position = cond.inputs.index(counter)
        bound = _loop_constant(cond, bound_tensor, start_values, body)
        start = start_values[position] if position < len(start_values) else None
        step = _step(body, position)
        if bound is None or start is None or not step:
            continue
        counts.append(max(0, math.ceil((bound - start) / step)))
    return min(counts) if counts else None


def _anded_tests(cond: Subgraph) -> list[int]:
    """The operators whose results the condition's output ANDs together (itself when no AND)."""
    if len(cond.outputs) != 1:
        return []
    producers = {out: i for i, op in enumerate(cond.operators) for out in op.outputs}
    found: list[int] = []
    pending = [cond.outputs[0]]
    while pending:
        tensor = pending.pop()
        index = producers.get(tensor)
        if index is None:
            continue
        op = cond.operators[index]
        if op.op == "LOGICAL_AND":
            pending.extend(op.inputs)
        else:
            found.append(index)
    return found


def _loop_constant(cond: Subgraph, tensor: int, start_values: list[int | None], body: Subgraph) -> int | None:
    """A constant in the condition, or a loop variable that starts constant and the body passes on."""
    value = _scalar(cond.tensors[tensor])
    if value is not None:
        return value
    if tensor in cond.inputs:
        position = cond.inputs.index(tensor)
        unchanged = (
            position < len(body.inputs)
            and position < len(body.outputs)
            and body.inputs[position] == body.outputs[position]
        )
        if unchanged and position < len(start_values):
            return start_values[position]
    return None


def _step(body: Subgraph, position: int) -> int | None:
    """How much the body adds to loop variable `position` each iteration (ADD of a constant)."""
    if position >= len(body.inputs) or position >= len(body.outputs):
        return None
    source, result = body.inputs[position], body.outputs[position]
    for op in body.operators:
        if op.op == "ADD" and result in op.outputs and source in op.inputs and len(op.inputs) == 2:
            other = op.inputs[1] if op.inputs[0] == source else op.inputs[0]
            step = _scalar(body.tensors[other])
            return step if step and step > 0 else None
    return None


def _scalar(tensor: Tensor) -> int | None:
    """The value of a constant integer with one element."""
    formats = {"INT32": "<i", "INT64": "<q"}
    if not tensor.is_constant or tensor.dtype not in formats or tensor.elements != 1 or tensor.data is None:
        return None
    fmt = formats[tensor.dtype]
    if len(tensor.data) < struct.calcsize(fmt):
        return None
    return int(struct.unpack_from(fmt, tensor.data)[0])
