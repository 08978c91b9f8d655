"""Stripping keeps what TFLM reads at run time: an offline memory plan survives, and TFLM still
places the tensors where the plan says (the arena it needs does not change)."""

from __future__ import annotations

import struct
from pathlib import Path

import flatbuffers

from tests.tflite_builder import schema
from workbench.core.loading import load_model
from workbench.core.tflm import check_tflm
from workbench.optimize.strip import OFFLINE_PLAN_METADATA, strip_model
from workbench.tasks import Task

PLANNED_GAP_BYTES = 64 * 1024  # the plan puts the model's input this far into the arena


def with_offline_plan(data: bytes, offsets: list[int]) -> bytes:
    """The model with an OfflineMemoryAllocation entry: version 1, subgraph 0, one offset per
    tensor (-1: planned by TFLM at run time), as TFLM's docs/memory_management.md describes it."""
    tfl = schema()
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(bytearray(data), 0))
    plan = tfl.BufferT()
    plan.data = list(struct.pack(f"<3I{len(offsets)}i", 1, 0, len(offsets), *offsets))
    model.buffers.append(plan)
    entry = tfl.MetadataT()
    entry.name = OFFLINE_PLAN_METADATA
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    builder = flatbuffers.Builder(len(data) * 2)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _metadata(data: bytes) -> dict[str, bytes]:
    tfl = schema()
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(bytearray(data), 0))
    return {
        (m.name.decode() if isinstance(m.name, bytes) else m.name): bytes(bytearray(model.buffers[m.buffer].data))
        for m in model.metadata or []
    }


def _arena(tmp_path: Path, name: str, data: bytes) -> int:
    path = tmp_path / name
    path.write_bytes(data)
    report = check_tflm(load_model(path), Task())
    assert report.arena_bytes is not None, report.problems
    return report.arena_bytes


def test_strip_keeps_an_offline_memory_plan_that_tflm_follows(reference_models: Path, tmp_path: Path) -> None:
    original = (reference_models / "hello_world_float.tflite").read_bytes()
    graph = schema().Model.GetRootAsModel(bytearray(original), 0).Subgraphs(0)
    tensors, input_index = graph.TensorsLength(), graph.Inputs(0)
    offsets = [-1] * tensors
    offsets[input_index] = PLANNED_GAP_BYTES
    planned = with_offline_plan(original, offsets)

    stripped = strip_model(planned)

    assert _metadata(stripped)[OFFLINE_PLAN_METADATA] == _metadata(planned)[OFFLINE_PLAN_METADATA]
    plain_arena = _arena(tmp_path, "plain.tflite", original)
    planned_arena = _arena(tmp_path, "planned.tflite", planned)
    assert planned_arena > plain_arena + PLANNED_GAP_BYTES // 2  # TFLM reads the plan...
    assert _arena(tmp_path, "stripped.tflite", stripped) == planned_arena  # ...and still does once stripped
