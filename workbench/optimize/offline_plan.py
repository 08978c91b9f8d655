"""Write an arena plan into a model, where TFLM reads it: the `OfflineMemoryAllocation` metadata
(TFLM's micro_allocation_info.cc and docs/memory_management.md).

The metadata's buffer holds int32 values: the format version (1), the number of subgraphs, the
number of offsets n, then one byte offset into the arena's head for each tensor of every subgraph
in turn, or -1 for a tensor TFLM plans itself at run time (constants, variables, scratch buffers
are always planned around the offline ones). Only the tensors of the plan get offsets.

TFLM does not check an offline plan: a wrong one corrupts results on the board without a word.
So a plan is only written after `core.arena_plan.check_plan` finds nothing wrong with it, and the
model that comes out is proved again in TFLM's interpreter before it is offered (the caller's job).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.arena_plan import Buffer, check_plan
from workbench.core.errors import WorkbenchError
from workbench.optimize.strip import OFFLINE_PLAN_METADATA, pack_model, read_model

FORMAT_VERSION = 1
ONLINE = -1  # TFLM plans this tensor itself


def with_offline_plan(data: bytes, buffers: Sequence[Buffer], offsets: Sequence[int], subgraph: int = 0) -> bytes:
    """`data` with the plan (`offsets` of `buffers`, tensors of `subgraph`) as its offline memory
    allocation, replacing any it had; WorkbenchError when the plan is wrong."""
    problems = check_plan(buffers, offsets)
    if problems:
        raise WorkbenchError(f"the arena plan is wrong ({problems[0]}): it was not written", "; ".join(problems[1:]))
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = read_model(data)
    counts = [len(sub.tensors or []) for sub in model.subgraphs]
    values = [ONLINE] * sum(counts)
    start = sum(counts[:subgraph])
    for buffer, offset in zip(buffers, offsets, strict=True):
        values[start + buffer.tensor] = offset
    payload = np.array([FORMAT_VERSION, len(counts), len(values), *values], dtype="<i4").tobytes()
    stored = schema.BufferT()
    stored.data = list(payload)
    model.buffers = list(model.buffers or []) + [stored]
    metadata = [m for m in (model.metadata or []) if _name(m) != OFFLINE_PLAN_METADATA]
    entry = schema.MetadataT()
    entry.name = OFFLINE_PLAN_METADATA
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*metadata, entry]
    return pack_model(model, len(data) + len(payload) + 256)


def offline_plan_of(data: bytes) -> list[int] | None:
    """The offsets a model's offline plan gives every tensor (ONLINE for those TFLM plans), or None."""
    model = read_model(data)
    for entry in model.metadata or []:
        if _name(entry) == OFFLINE_PLAN_METADATA:
            raw = bytes(bytearray(model.buffers[entry.buffer].data))
            values = np.frombuffer(raw, dtype="<i4")
            return [int(v) for v in values[3 : 3 + int(values[2])]]
    return None


def _name(entry: object) -> str:
    name = getattr(entry, "name", b"")
    return name.decode() if isinstance(name, bytes) else str(name)
