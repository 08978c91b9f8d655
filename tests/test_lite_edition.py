"""The lite edition (no TensorFlow): `.tflite` models work end to end, and work that needs
TensorFlow says so in one sentence. Simulated with tests/lite_edition on PYTHONPATH, which makes
every import of TensorFlow or Keras fail as it does in a bundle built without them (and reaches the
app's child processes, which keep PYTHONPATH)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

LITE = Path(__file__).parent / "lite_edition"


def run_lite(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as the lite edition runs it, with a conversion cache of its own (a cached conversion
    of another test's would open a Keras model without TensorFlow)."""
    with tempfile.TemporaryDirectory(prefix="lite-cache-") as cache:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(LITE), os.environ.get("PYTHONPATH", "")]),
            "TINYML_WORKBENCH_CACHE": cache,
        }
        return subprocess.run(
            [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
        )


def test_the_lite_edition_names_itself() -> None:
    assert "(lite edition)" in run_lite("--version").stdout


def test_a_tflite_model_is_analyzed_with_tflms_interpreter_without_tensorflow() -> None:
    done = run_lite("analyze", str(SAMPLES / "digits_int8.tflite"), "--board", "raspberry_pi_pico", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["tflm"]["compatible"] is True and data["arena_bytes"] > 0
    assert data["fit"]["board"] == "raspberry_pi_pico"


def test_work_that_needs_tensorflow_says_so_in_one_sentence(tmp_path: Path) -> None:
    for args in (
        ("analyze", str(SAMPLES / "digits.keras")),
        ("optimize", str(SAMPLES / "digits.keras"), "--quant", "int8", "-o", str(tmp_path / "int8.tflite")),
    ):
        done = run_lite(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        first = done.stderr.splitlines()[0]
        assert first.startswith("error: ") and "needs TensorFlow" in first and "lite edition" in first, done.stderr
        assert "full edition" in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "int8.tflite").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("run", "MODEL", "--input", str(SAMPLES / "digits_samples.csv"), "--json"),
        ("estimate", "MODEL", "--strip"),
        ("optimize", "MODEL", "--strip", "-o", "OUT/stripped.tflite"),
        ("export", "MODEL", "--format", "arduino", "--board", "raspberry_pi_pico", "-o", "OUT"),
        ("export", "MODEL", "--format", "cmake", "-o", "OUT"),
        ("export", "MODEL", "--format", "report", "-o", "OUT"),
        ("udev-rules",),
        ("plugins",),
    ],
    ids=lambda args: "-".join(a for a in args if not a.startswith(("MODEL", "OUT", "/")))[:40],
)
def test_what_the_lite_edition_keeps_for_tflite_models(args: tuple[str, ...], tmp_path: Path) -> None:
    """The README's list of what the lite edition keeps, command by command."""
    real = [str(SAMPLES / "digits_int8.tflite") if a == "MODEL" else a.replace("OUT", str(tmp_path)) for a in args]
    done = run_lite(*real)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "TensorFlow" not in done.stderr
