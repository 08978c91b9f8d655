"""TFLM pre-flight and arena measurement with TFLM's real interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.analysis import analyze
from workbench.core.loading import load_model
from workbench.core.tflm import recommended_arena

ALLOCATES = """
import sys
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], 'rb').read()
try:
    runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[2]))
    print('ok')
except RuntimeError:
    print('fail')
"""


def _allocates(path: Path, arena: int) -> bool:
    done = subprocess.run([sys.executable, "-c", ALLOCATES, str(path), str(arena)], capture_output=True, text=True)
    return done.stdout.strip().endswith("ok")


@pytest.mark.parametrize("name", ["person_detect", "micro_speech_quantized", "hello_world_int8"])
def test_arena_is_the_smallest_that_tflm_accepts(reference_models: Path, name: str) -> None:
    path = reference_models / f"{name}.tflite"
    report = analyze(load_model(path)).tflm
    assert report is not None and report.arena_bytes
    assert _allocates(path, report.arena_bytes)
    assert not _allocates(path, report.arena_bytes - 1)
    # TFLM's own allocation report never exceeds what it needed to allocate
    assert report.allocation_total_bytes and report.allocation_total_bytes <= report.arena_bytes
    assert report.recommended_arena_bytes == recommended_arena(report.arena_bytes)
    assert report.recommended_arena_bytes % 1024 == 0 and report.recommended_arena_bytes >= report.arena_bytes * 1.1


def test_person_detect_arena_equals_tflm_allocation_report(reference_models: Path) -> None:
    report = analyze(load_model(reference_models / "person_detect.tflite")).tflm
    assert report is not None
    assert report.arena_bytes == report.allocation_total_bytes


def test_dynamic_range_model_is_flagged_on_every_hybrid_node(built_models: Path) -> None:
    report = analyze(load_model(built_models / "mlp_dynamic.tflite")).tflm
    assert report is not None and not report.compatible
    hybrid = [p for p in report.problems if "hybrid" in p.message]
    # The converter leaves kernels under 1024 values in float: only the first two Dense are hybrid.
    assert [p.node for p in hybrid] == [0, 1]
    assert all("full int8" in p.fix for p in hybrid)


def test_float16_weights_are_flagged(built_models: Path) -> None:
    report = analyze(load_model(built_models / "small_cnn_float16.tflite")).tflm
    assert report is not None and not report.compatible
    assert {p.op for p in report.problems} == {"DEQUANTIZE"}


def test_operator_without_tflm_kernel_is_named(built_models: Path) -> None:
    report = analyze(load_model(built_models / "topk.tflite")).tflm
    assert report is not None and not report.compatible
    assert [(p.node, p.op) for p in report.problems] == [(0, "TOPK_V2")]
    assert "no kernel" in report.problems[0].message


def test_full_int8_model_passes(built_models: Path) -> None:
    report = analyze(load_model(built_models / "small_cnn_int8.tflite")).tflm
    assert report is not None and report.compatible and report.problems == []


def test_per_channel_dense_without_bias_is_named_before_tflm_crashes_on_it(built_models: Path) -> None:
    """TFLM segfaults on this model; the child dies, the app names the node and the fix."""
    report = analyze(load_model(built_models / "dense_no_bias_int8.tflite")).tflm
    assert report is not None and not report.compatible
    first = report.problems[0]
    assert (first.node, first.op) == (0, "FULLY_CONNECTED") and "without a bias" in first.message
    assert "per tensor" in first.fix
