"""The app as a person starts it: `tinyml-workbench gui MODEL` in its own process (QApplication,
the embedded graph, the event loop), running for seconds without a crash or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLES


def test_the_gui_starts_opens_a_model_and_keeps_running(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TINYML_WORKBENCH_HOME": str(home)}
    app = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "workbench", "gui", str(SAMPLES / "digits_int8.tflite")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        code = app.wait(timeout=12)  # it should still be running
    except subprocess.TimeoutExpired:
        code = None
    finally:
        app.terminate()
        output, _ = app.communicate(timeout=30)
    assert code is None, f"the app ended with {code}:\n{output[-3000:]}"
    assert "Traceback" not in output and "Fatal Python error" not in output, output[-3000:]
    log = (home / "workbench.log").read_text()
    assert "the window is shown" in log and "opened " in log and "Traceback" not in log
