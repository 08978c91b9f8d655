"""The command line as a user runs it: JSON fields, readable tables, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SAMPLES, run_cli
from workbench.optimize.plan import Plan


def test_analyze_json_with_board(reference_models: Path) -> None:
    done = run_cli("analyze", str(reference_models / "person_detect.tflite"), "--board", "raspberry_pi_pico", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["format"] == "tflite" and data["size_bytes"] == 300_568
    assert len(data["layers"]) == 31
    assert data["tflm"]["compatible"] is True and data["tflm"]["problems"] == []
    assert data["arena_bytes"] > 0
    fit = data["fit"]
    assert fit["board"] == "raspberry_pi_pico"
    assert fit["flash_used_pct"] == round(100 * 300_568 / (2048 * 1024), 2)
    assert fit["ram_bytes"] == data["recommended_arena_bytes"]  # the arena firmware reserves: kTensorArenaSize
    assert fit["ram_used_pct"] == round(100 * data["recommended_arena_bytes"] / (264 * 1024), 2)
    assert sum(v["bytes"] for v in data["flash_breakdown"].values()) == 300_568


def test_analyze_table_is_readable(reference_models: Path) -> None:
    done = run_cli("analyze", str(reference_models / "micro_speech_quantized.tflite"))
    assert done.returncode == 0
    assert "DEPTHWISE_CONV_2D" in done.stdout and "where the flash goes" in done.stdout
    assert "tensor arena (measured by TFLM" in done.stdout


def test_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("just some text")
    for args in (
        ("analyze", str(bad)),
        ("analyze", str(tmp_path / "missing.tflite")),
        ("analyze", str(SAMPLES / "digits_int8.tflite"), "--board", "no_such_board"),
        ("run", str(SAMPLES / "digits_int8.tflite"), "--input", "1,2,3"),
    ):
        done = run_cli(*args)
        assert done.returncode == 2, args
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_boards_json() -> None:
    done = run_cli("boards", "--json")
    boards = json.loads(done.stdout)
    assert len(boards) >= 12
    assert {"id", "name", "flash_kb", "ram_kb", "flasher", "mcu", "usb_ids"} <= set(boards[0])


def test_run_quantizes_input_and_predicts_the_sample_digits() -> None:
    done = run_cli("run", str(SAMPLES / "digits_int8.tflite"), "--input", str(SAMPLES / "digits_samples.csv"), "--json")
    assert done.returncode == 0, done.stderr
    predictions = json.loads(done.stdout)
    expected = [int(x) for x in (SAMPLES / "digits_samples_labels.txt").read_text().split()]
    correct = sum(p["top"] == label for p, label in zip(predictions, expected, strict=True))
    assert len(predictions) == 10 and correct >= 8
    assert predictions[0]["runtime"] == "tflm"


def test_run_sine_model_like_the_tflm_example(reference_models: Path) -> None:
    import math

    done = run_cli("run", str(reference_models / "hello_world_int8.tflite"), "--input", "1.5708")
    assert done.returncode == 0
    value = float(done.stdout.strip().strip("[]"))
    assert abs(value - math.sin(1.5708)) < 0.2


def test_unknown_commands_and_typos_exit_2_without_opening_the_app() -> None:
    cases = {
        ("analyse", "model.tflite"): "unknown command 'analyse' (did you mean 'analyze'?)",
        ("deploy", "model.tflite"): "unknown command 'deploy'",
        ("missing/model.tflite",): "missing/model.tflite: no such file or folder",
    }
    for args, expected in cases.items():
        done = run_cli(*args, timeout=60)
        assert done.returncode == 2, args
        assert done.stderr.startswith(f"error: {expected}"), done.stderr


def test_an_output_folder_gets_a_named_file_and_a_bad_one_is_refused_before_converting(tmp_path: Path) -> None:
    from workbench.cli import output_path
    from workbench.core.errors import WorkbenchError

    assert output_path(str(tmp_path), Path("digits.keras"), Plan()) == tmp_path / "digits_int8.tflite"
    pruned = Plan(quant="float16", sparsity=0.5)
    assert (
        output_path(str(tmp_path / "new") + "/", Path("m.h5"), pruned) == tmp_path / "new" / "m_float16_pruned.tflite"
    )
    assert output_path(str(tmp_path / "x.tflite"), Path("m.h5"), Plan()) == tmp_path / "x.tflite"
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    import pytest

    with pytest.raises(WorkbenchError, match="not a writable folder"):
        output_path(str(blocker / "out.tflite"), Path("m.h5"), "int8")


def test_optimize_plan_arena_proves_the_plan_in_tflm_and_says_when_tflms_own_cannot_be_beaten(
    reference_models: Path, tmp_path: Path
) -> None:
    """person_detect: TFLM's greedy plan already meets the live-bytes bound (55,296 bytes), so the
    model is left as TFLM plans it, and the command says why."""
    out = tmp_path / "planned.tflite"
    done = run_cli("optimize", str(reference_models / "person_detect.tflite"), "--plan-arena", "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["arena_plan"]
    assert plan["tflm_head_bytes"] == plan["planned_head_bytes"] == plan["lower_bound_bytes"] == 55_296
    assert plan["saving_pct"] == 0 and plan["planned_arena_bytes"] == plan["tflm_arena_bytes"] > 55_296
    text = run_cli("optimize", str(reference_models / "person_detect.tflite"), "--plan-arena", "-o", str(out))
    assert "no plan can do better" in text.stdout
