"""TFLM pre-flight and arena measurement with TFLM's real interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.analysis import analyze
from workbench.core.arena import recommended_arena
from workbench.core.loading import load_model
from workbench.core.tflm import check_tflm
from workbench.tasks import null_task
from workbench.text_report import analysis_text

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


def _try(path: Path, arena: int) -> subprocess.CompletedProcess[str]:
    """TFLM's interpreter on its own, in a process of its own (no workbench code)."""
    return subprocess.run([sys.executable, "-c", ALLOCATES, str(path), str(arena)], capture_output=True, text=True)


def _crash_below(monkeypatch: pytest.MonkeyPatch, arena_bytes: int) -> None:
    """Make TFLM segfault, in the workbench's child processes, for every arena below `arena_bytes`."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent / "tflm_fault"))
    monkeypatch.setenv("TFLM_FAULT_BELOW_BYTES", str(arena_bytes))


def _allocates(path: Path, arena: int) -> bool:
    return _try(path, arena).stdout.strip().endswith("ok")


def _crashes(path: Path, arena: int) -> bool:
    return _try(path, arena).returncode < 0


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


@pytest.mark.slow
def test_lstm_arena_is_the_smallest_that_works_though_tflm_crashes_below_it(sequence_models: Path) -> None:
    """TFLM's LSTM kernel segfaults in prepare for arenas a little too small. Those sizes count as too
    small; the model is reported as running, with the smallest arena that works."""
    path = sequence_models / "lstm_fused.tflite"
    model = load_model(path)
    assert [op.op for op in model.graph.main.operators][0] == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    report = check_tflm(model, null_task())
    assert report.compatible and report.problems == []
    assert report.arena_bytes and _allocates(path, report.arena_bytes)
    assert not _allocates(path, report.arena_bytes - 1)
    # TFLM's own allocation total understates what the model needs
    assert report.allocation_total_bytes and report.allocation_total_bytes < report.arena_bytes
    # every size the search saw crash does crash TFLM on its own (none if a release fixes the kernel)
    assert all(size < report.arena_bytes and _crashes(path, size) for size in report.crashed_arenas_bytes)
    if report.crashed_arenas_bytes:
        assert report.crashes_below_bytes == report.arena_bytes and "hard fault" in report.crash_note


def test_a_probe_that_crashes_counts_as_too_small_and_the_search_goes_on(
    reference_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker segfaults for real (SIGSEGV) for every arena under 1,800 bytes, as TFLM's LSTM kernel
    does: each crash narrows the search, a fresh child goes on, and the true minimum is found."""
    path = reference_models / "hello_world_int8.tflite"
    _crash_below(monkeypatch, 1800)
    analysis = analyze(load_model(path))
    report = analysis.tflm
    assert report is not None and report.compatible and report.problems == []
    assert report.arena_bytes and _allocates(path, report.arena_bytes)
    assert not _allocates(path, report.arena_bytes - 1)
    assert len(report.crashed_arenas_bytes) >= 2 and all(size < 1800 for size in report.crashed_arenas_bytes)
    assert report.crashes_below_bytes == report.arena_bytes and "SIGSEGV" in report.crash_reason
    # said plainly, in the table and the JSON
    assert f"Below {report.arena_bytes:,} bytes TFLM can crash" in report.crash_note
    assert "hard fault" in report.crash_note
    assert f"warning: {report.crash_note}" in analysis_text(analysis)
    assert analysis.to_json()["tflm"]["crash_note"] == report.crash_note


def test_a_crash_at_the_full_arena_means_the_model_does_not_run(
    reference_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while preparing the model in the largest arena is no arena question: it does not run."""
    _crash_below(monkeypatch, 1 << 30)
    report = check_tflm(load_model(reference_models / "hello_world_int8.tflite"), null_task())
    assert not report.compatible and report.arena_bytes is None and report.crashes_below_bytes is None
    assert "crashed (SIGSEGV)" in report.problems[0].message


@pytest.mark.slow
def test_resource_variables_are_a_finding_with_a_fix(sequence_models: Path) -> None:
    """TFLM's Python interpreter brings its own resource variables and runs this model; a firmware's
    plain MicroInterpreter does not, so every resource-variable operator is named, with the fix."""
    report = analyze(load_model(sequence_models / "resource_variable.tflite")).tflm
    assert report is not None and not report.compatible
    assert report.arena_bytes  # it ran in TFLM: the findings are the graph's, not a failure
    assert {p.op for p in report.problems} == {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"}
    assert {p.subgraph for p in report.problems} == {0, 1}  # the initializing subgraph too
    assert all("MicroResourceVariables" in p.fix and "stateful=False" in p.fix for p in report.problems)
