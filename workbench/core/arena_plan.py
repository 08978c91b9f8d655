"""Where each tensor goes in the arena's head: TFLM's own plan, and a smaller one.

TFLM plans the head (the activations) with its GreedyMemoryPlanner: buffers sorted by size,
largest first, each put at the lowest offset where it overlaps no buffer alive at the same time.
That is fast but not optimal. This module computes, for one subgraph:

- `buffer_lifetimes`: the buffers TFLM plans and when each is alive, as TFLM's
  AllocationInfoBuilder marks them (the subgraph's inputs at time 0, operator i at time i + 1, the
  outputs at the end; constants and zero-sized tensors are not planned; variables are, by TFLM,
  outside the head);
- `live_bytes_peak`: the most bytes alive at once, a lower bound for any plan;
- `greedy_plan`: TFLM's plan, step for step (its stable size sort, its first-fit walk);
- `better_plan`: the best of several placements (orders by size, by lifetime, by start, with
  first fit and best fit), never worse than TFLM's;
- `check_plan`: no two buffers alive at the same time overlap, every offset aligned.

Writing a plan into the model (TFLM's `OfflineMemoryAllocation` metadata) and proving it with
TFLM's interpreter are separate steps; a plan is only ever a list of offsets until then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.core.tflite_file import TfliteFile

ALIGNMENT = 16  # TFLM aligns every head buffer's size and offset to MicroArenaBufferAlignment()


@dataclass(frozen=True)
class Buffer:
    """One planned buffer: the tensor it holds, its aligned size and its first and last time."""

    tensor: int
    size: int
    first: int
    last: int

    def overlaps_in_time(self, other: Buffer) -> bool:
        return not (self.first > other.last or other.first > self.last)


@dataclass(frozen=True)
class ArenaPlan:
    """Byte offsets into the head, one per buffer (in the buffers' order), and the head's size."""

    offsets: tuple[int, ...]
    head_bytes: int
    method: str


def aligned(size: int) -> int:
    return (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def buffer_lifetimes(graph: TfliteFile, subgraph: int = 0) -> list[Buffer]:
    """The buffers TFLM plans in `subgraph`, with their lifetimes as TFLM marks them, in tensor order."""
    sub = graph.subgraphs[subgraph]
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def created(tensor: int, time: int) -> None:
        first.setdefault(tensor, time)

    def used(tensor: int, time: int) -> None:
        last[tensor] = time

    for tensor in sub.inputs:
        created(tensor, 0)
        used(tensor, 0)
    time = 0
    for op in sub.operators:
        time += 1
        for tensor in op.outputs:
            if tensor >= 0:
                created(tensor, time)
        for tensor in op.inputs:
            if tensor >= 0:
                used(tensor, time)
        for tensor in op.outputs:
            if tensor >= 0:
                used(tensor, time)
    for tensor in sub.outputs:
        created(tensor, time)
        used(tensor, time)
    buffers = []
    for index, info in enumerate(sub.tensors):
        if info.is_constant or info.is_variable or info.nbytes == 0:
            continue
        if index not in first:  # never written: an unused tensor, not planned
            continue
        buffers.append(Buffer(index, aligned(info.nbytes), first[index], last.get(index, first[index])))
    return buffers


def live_bytes_peak(buffers: Sequence[Buffer]) -> int:
    """The most bytes alive at one time: no plan's head can be smaller."""
    if not buffers:
        return 0
    end = max(b.last for b in buffers)
    return max(sum(b.size for b in buffers if b.first <= t <= b.last) for t in range(end + 1))


def head_bytes(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((offset + b.size for b, offset in zip(buffers, offsets, strict=True)), default=0)


def greedy_plan(buffers: Sequence[Buffer]) -> ArenaPlan:
    """TFLM's GreedyMemoryPlanner: sizes sorted largest first (equal sizes in reverse tensor order,
    as TFLM's own sort leaves them), each buffer at the first offset whose gap to the next buffer
    alive at the same time holds it."""
    # TFLM fills its sort array from the end (the last buffer first), then bubble-sorts it by size:
    # equal sizes end up in reverse tensor order. Python's sort is stable too.
    order = sorted(reversed(range(len(buffers))), key=lambda i: -buffers[i].size)
    offsets = _place(buffers, order, _first_fit)
    return ArenaPlan(tuple(offsets), head_bytes(buffers, offsets), "TFLM's greedy planner")


def better_plan(buffers: Sequence[Buffer]) -> ArenaPlan:
    """The smallest head found by several orders and two ways of fitting; TFLM's own plan is one
    of the candidates, so the result is never larger than it."""
    candidates = [greedy_plan(buffers)]
    orders: dict[str, Callable[[int], tuple[int, ...]]] = {
        "size, then longest-lived": lambda i: (-buffers[i].size, -(buffers[i].last - buffers[i].first), i),
        "longest-lived first": lambda i: (-(buffers[i].last - buffers[i].first), -buffers[i].size, i),
        "bytes x time": lambda i: (-buffers[i].size * (buffers[i].last - buffers[i].first + 1), i),
        "earliest first": lambda i: (buffers[i].first, -buffers[i].size, i),
    }
    for name, key in orders.items():
        order = sorted(range(len(buffers)), key=key)
        for fit_name, fit in (("first fit", _first_fit), ("best fit", _best_fit)):
            offsets = _place(buffers, order, fit)
            candidates.append(ArenaPlan(tuple(offsets), head_bytes(buffers, offsets), f"{name}, {fit_name}"))
    return min(candidates, key=lambda plan: plan.head_bytes)


def check_plan(buffers: Sequence[Buffer], offsets: Sequence[int]) -> list[str]:
    """Why the plan is wrong (empty when it is right): misaligned offsets, and buffers alive at the
    same time that share bytes."""
    problems = [
        f"tensor {b.tensor}: offset {o} is not a multiple of {ALIGNMENT}"
        for b, o in zip(buffers, offsets, strict=True)
        if o % ALIGNMENT or o < 0
    ]
    for i, a in enumerate(buffers):
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if a.overlaps_in_time(b) and offsets[i] < offsets[j] + b.size and offsets[j] < offsets[i] + a.size:
                problems.append(f"tensors {a.tensor} and {b.tensor} are alive at the same time and share bytes")
    return problems


Fit = Callable[[int, list[tuple[int, int]]], int]


def _place(buffers: Sequence[Buffer], order: Sequence[int], fit: Fit) -> list[int]:
    offsets = [0] * len(buffers)
    placed: list[int] = []
    for index in order:
        wanted = buffers[index]
        busy = sorted((offsets[j], offsets[j] + buffers[j].size) for j in placed if buffers[j].overlaps_in_time(wanted))
        offsets[index] = fit(wanted.size, busy)
        placed.append(index)
    return offsets


def _first_fit(size: int, busy: list[tuple[int, int]]) -> int:
    """The lowest offset, walking the busy ranges by offset, whose gap to the next one holds `size`
    (TFLM's walk)."""
    candidate = 0
    for start, end in busy:
        if start - candidate >= size:
            return candidate
        candidate = max(candidate, end)
    return candidate


def _best_fit(size: int, busy: list[tuple[int, int]]) -> int:
    """The offset of the smallest gap that holds `size` (or the end of everything)."""
    best: tuple[int, int] | None = None
    candidate = 0
    for start, end in busy:
        gap = start - candidate
        if gap >= size and (best is None or gap < best[0]):
            best = (gap, candidate)
        candidate = max(candidate, end)
    return best[1] if best is not None else candidate


def plan_note(graph: TfliteFile) -> tuple[str, bool]:
    """One sentence on what planning the arena could win for this model, from the graph alone, and
    whether it wins anything ("" for a model with several subgraphs, which is not planned yet)."""
    if len(graph.subgraphs) != 1:
        return "", False
    buffers = buffer_lifetimes(graph)
    greedy, better = greedy_plan(buffers), better_plan(buffers)
    if better.head_bytes >= greedy.head_bytes:
        return (
            f"TFLM's plan for the activations ({greedy.head_bytes:,} bytes) is already the smallest possible: "
            f"that much is alive at once."
            if greedy.head_bytes <= live_bytes_peak(buffers)
            else f"TFLM plans {greedy.head_bytes:,} bytes for the activations; no better plan was found."
        ), False
    saving = 100.0 * (greedy.head_bytes - better.head_bytes) / greedy.head_bytes
    return (
        f"TFLM plans {greedy.head_bytes:,} bytes for the activations; the workbench can plan {better.head_bytes:,} "
        f"(-{saving:.0f}%): optimize --plan-arena writes it into the model."
    ), True
